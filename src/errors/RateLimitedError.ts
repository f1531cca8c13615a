import { brand, hasBrand } from './brand.js';

const BRAND = brand('RateLimitedError');

/**
 * A rate limit refused a call rather than make it wait: its wait queue was full, or the wait
 * would have been longer than the limit's `maxWaitMs`. {@link RateLimitedError.retryAfterMs}
 * says when a token will be free. The handler never ran.
 *
 * @example
 * ```ts
 * try { await mediator.send(new SendSms(to, text)); }
 * catch (error) { if (isRateLimitedError(error)) return later(error.retryAfterMs); throw error; }
 * ```
 */
export class RateLimitedError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'RateLimitedError';

  constructor(
    /** The limit's key: the message name, or `'*'` for a global limit. */
    readonly key: string,
    /** Milliseconds until the limit would admit this call. */
    readonly retryAfterMs: number,
  ) {
    super(`Rate limit '${key}' exceeded; a slot frees in ${Math.ceil(retryAfterMs)} ms.`);
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link RateLimitedError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * if (isRateLimitedError(e)) res.set('Retry-After', String(Math.ceil(e.retryAfterMs / 1000)));
 * ```
 */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return hasBrand(error, BRAND);
}
