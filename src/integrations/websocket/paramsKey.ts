/**
 * A stable key for stream parameters (JSON with object keys sorted), so that clients sending equal
 * parameters in any key order share one upstream. Params come from `JSON.parse`, so every value is
 * JSON-representable.
 * @internal
 */
export function paramsKey(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(paramsKey).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${paramsKey(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
