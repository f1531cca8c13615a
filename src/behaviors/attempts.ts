/**
 * How many attempts a failed call made before its error escaped a retry behavior, keyed by the
 * error object; read by the dead-letter behavior outside it. Errors that are not objects cannot
 * be keyed and count as one attempt.
 * @internal
 */
const ATTEMPTS = new WeakMap<object, number>();

/** @internal Records that `error` ended a call after `attempts` attempts. */
export function recordAttempts(error: unknown, attempts: number): void {
  if (typeof error === 'object' && error !== null) ATTEMPTS.set(error, attempts);
}

/** @internal Attempts recorded for `error` by a retry behavior; 1 when none was. */
export function attemptsOf(error: unknown): number {
  return (typeof error === 'object' && error !== null && ATTEMPTS.get(error)) || 1;
}
