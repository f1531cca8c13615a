/**
 * Option checks shared by every configurable part. Each throws at configuration time, naming the
 * option and the value it got.
 * @internal
 */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number') return String(value); // JSON would show NaN and Infinity as null
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** @internal A whole number ≥ `min`; `Infinity` too when `allowInfinity`. */
export function checkInteger(
  option: string,
  value: unknown,
  min: number,
  allowInfinity = false,
): number {
  if (typeof value !== 'number') {
    throw new TypeError(`Option '${option}' must be a number, got ${show(value)}.`);
  }
  const ok = (allowInfinity && value === Infinity) || (Number.isInteger(value) && value >= min);
  if (!ok) {
    throw new RangeError(
      `Option '${option}' must be a whole number ≥ ${min}${allowInfinity ? ' or Infinity' : ''}, got ${show(value)}.`,
    );
  }
  return value;
}

/** @internal One of a fixed set of strings. */
export function checkOneOf<T extends string>(
  option: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `Option '${option}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${show(value)}.`,
    );
  }
  return value as T;
}

/** @internal An AbortSignal, or undefined. */
export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new TypeError(`Option 'signal' must be an AbortSignal, got ${show(value)}.`);
}

/** @internal A string, or undefined. */
export function checkOptionalString(option: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new TypeError(`Option '${option}' must be a string, got ${show(value)}.`);
}

/** @internal A function, or undefined. */
export function checkFunction(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`Option '${option}' must be a function, got ${show(value)}.`);
  }
}

/** @internal A plain options object, or undefined. */
export function checkObject(option: string, value: unknown): void {
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    throw new TypeError(`Option '${option}' must be an object, got ${show(value)}.`);
  }
}
