import { checkInteger, checkOneOf, show } from '../errors/validate.js';

/**
 * The backoff options shared by every retrying part (`tryMap`'s `retry`, the `retry()` policy).
 * @internal
 */
export interface BackoffOptions {
  readonly delayMs?: number;
  readonly backoff?: 'fixed' | 'exponential';
  readonly maxDelayMs?: number;
  readonly jitter?: boolean;
}

/** Checked backoff options, ready for {@link backoffDelay}. @internal */
export interface Backoff {
  /** The first retry's wait, in whole ms. */
  readonly delayMs: number;
  /** True: doubles per retry; false: every retry waits `delayMs`. */
  readonly exponential: boolean;
  /** Upper bound of one wait before jitter, in whole ms (never above {@link MAX_TIMER_MS}). */
  readonly maxDelayMs: number;
  /** Full jitter: a random whole number of ms in `[0, delay]`. */
  readonly jitter: boolean;
}

/** Node clamps longer timers to 1 ms; a wait never needs to be longer than this anyway. @internal */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Validates the backoff fields of `options`, naming each as `prefix + field` in errors
 * (`'retry.delayMs'`…). `defaults` fills in a field that is absent.
 * @internal
 */
export function checkBackoff(
  prefix: string,
  options: BackoffOptions,
  defaults: { readonly delayMs: number; readonly maxDelayMs: number },
): Backoff {
  if (options.jitter !== undefined && typeof options.jitter !== 'boolean') {
    throw new TypeError(`Option '${prefix}jitter' must be a boolean, got ${show(options.jitter)}.`);
  }
  return {
    delayMs:
      options.delayMs === undefined
        ? defaults.delayMs
        : checkInteger(`${prefix}delayMs`, options.delayMs, 0),
    exponential:
      options.backoff === undefined ||
      checkOneOf(`${prefix}backoff`, options.backoff, ['fixed', 'exponential']) === 'exponential',
    maxDelayMs: Math.min(
      MAX_TIMER_MS,
      options.maxDelayMs === undefined
        ? defaults.maxDelayMs
        : checkInteger(`${prefix}maxDelayMs`, options.maxDelayMs, 0, true),
    ),
    jitter: options.jitter ?? true,
  };
}

/**
 * The wait before attempt `attempt` (≥ 2) without jitter: `delayMs × 2^(attempt-2)` (exponential)
 * or `delayMs` (fixed), at most `maxDelayMs`.
 * @internal
 */
export function backoffCeiling(backoff: Backoff, attempt: number): number {
  const { delayMs } = backoff;
  const base =
    backoff.exponential && delayMs > 0 ? delayMs * 2 ** Math.min(attempt - 2, 52) : delayMs;
  return Math.min(backoff.maxDelayMs, base);
}

/**
 * The wait before attempt `attempt` (≥ 2), in whole ms: {@link backoffCeiling}, also capped to
 * `cap`, then with full jitter a random whole number in `[0, that]`.
 * @internal
 */
export function backoffDelay(backoff: Backoff, attempt: number, cap = MAX_TIMER_MS): number {
  const delay = Math.min(cap, backoffCeiling(backoff, attempt));
  return backoff.jitter ? Math.floor(Math.random() * (delay + 1)) : delay;
}
