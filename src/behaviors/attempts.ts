import type { HandlerContext } from '../core/HandlerContext.js';

/**
 * How many attempts a failed call made before its error escaped a retry behavior, read by the
 * dead-letter behavior outside it. Keyed by the call's context (the same object for both when
 * no behavior between them runs the rest of the pipeline under another signal) and checked
 * against the error, so two calls failing with one shared error object never see each other's
 * count.
 * @internal
 */
const ATTEMPTS = new WeakMap<
  HandlerContext,
  { readonly error: unknown; readonly attempts: number }
>();

/** @internal Records that `error` ended the call of `context` after `attempts` attempts. */
export function recordAttempts(context: HandlerContext, error: unknown, attempts: number): void {
  ATTEMPTS.set(context, { error, attempts });
}

/** @internal Attempts recorded for the call of `context` failing with `error`; 1 when none was. */
export function attemptsOf(context: HandlerContext, error: unknown): number {
  const recorded = ATTEMPTS.get(context);
  return recorded !== undefined && recorded.error === error ? recorded.attempts : 1;
}
