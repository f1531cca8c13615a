/** Command-line parsing shared by the examples: errors that name the bad option and value. */

/** A bad command line: the message says what is wrong; exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * `text` (from option or variable `name`) as a whole number in `[min, max]`.
 * @throws UsageError naming `name`, `what` was expected and the text given.
 */
export function wholeNumber(
  [name, text]: [string, string],
  min: number,
  max: number,
  what: string,
) {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be ${what}, got '${text}'.`);
  }
  return n;
}

/**
 * `text` (from option or variable `name`) as a number of seconds > 0 that `setTimeout` can wait.
 * @throws UsageError naming `name` and the text given.
 */
export function positiveSeconds([name, text]: [string, string]): number {
  const n = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
  // Up to ~24 days: what setTimeout can wait.
  if (!(n > 0) || n * 1000 > 2 ** 31 - 1) {
    throw new UsageError(`${name} must be a number of seconds > 0, got '${text}'.`);
  }
  return n;
}
