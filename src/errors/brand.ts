/**
 * Brands let `isX()` guards recognise errors created by another copy of this package (two
 * versions in one `node_modules` tree), where `instanceof` would fail. `Symbol.for` keys are
 * shared by every copy in the process.
 * @internal
 */
export function brand(name: string): symbol {
  return Symbol.for(`fs-mediator.${name}`);
}

/** @internal */
export function hasBrand(value: unknown, key: symbol): boolean {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[key] === true
  );
}
