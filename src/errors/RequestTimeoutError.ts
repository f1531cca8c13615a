import { brand, hasBrand } from './brand.js';

const BRAND = brand('RequestTimeoutError');

/**
 * A `timeout()` behavior gave up on a request after {@link RequestTimeoutError.ms}
 * milliseconds. The handler's signal was aborted with this error as its reason. Its name is not
 * `TimeoutError`, so `isAbortError()` is false for it: a timeout is a failure (a circuit breaker
 * counts it, a retry retries it), not a cancellation by the caller.
 *
 * @example
 * ```ts
 * try { await mediator.send(new GetQuote(sku)); }
 * catch (error) { if (isRequestTimeoutError(error)) return staleQuote(sku); throw error; }
 * ```
 */
export class RequestTimeoutError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'RequestTimeoutError';

  constructor(
    /** The message name of the request that timed out. */
    readonly messageName: string,
    /** The limit, in milliseconds. */
    readonly ms: number,
  ) {
    super(`Request '${messageName}' timed out after ${ms} ms.`);
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link RequestTimeoutError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * if (isRequestTimeoutError(e)) metrics.timeouts.inc({ message: e.messageName });
 * ```
 */
export function isRequestTimeoutError(error: unknown): error is RequestTimeoutError {
  return hasBrand(error, BRAND);
}
