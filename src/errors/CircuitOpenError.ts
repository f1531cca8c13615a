import { brand, hasBrand } from './brand.js';

const BRAND = brand('CircuitOpenError');

/**
 * Why a circuit breaker refused a call:
 * - `'open'`: it broke and its break duration has not passed;
 * - `'halfOpen'`: it is letting a few trial calls through and every trial slot is taken;
 * - `'isolated'`: someone called `isolate()`, and it stays open until released.
 *
 * @example
 * ```ts
 * const state: CircuitRejection = 'open';
 * ```
 */
export type CircuitRejection = 'open' | 'halfOpen' | 'isolated';

/**
 * A circuit breaker refused the call without running it. {@link CircuitOpenError.retryAfterMs}
 * says when the breaker will next let a trial through (Infinity while isolated), so a retry
 * outside the breaker can wait for it instead of hammering an open circuit.
 *
 * @example
 * ```ts
 * try { await mediator.send(new GetQuote(sku)); }
 * catch (error) {
 *   if (isCircuitOpenError(error)) return cachedQuote(sku, error.retryAfterMs);
 *   throw error;
 * }
 * ```
 */
export class CircuitOpenError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'CircuitOpenError';

  constructor(
    /** The breaker's key: the message name unless the breaker was given a `key` function. */
    readonly key: string,
    /** Why the call was refused. */
    readonly state: CircuitRejection,
    /** Milliseconds until the breaker lets a trial call through; Infinity while isolated. */
    readonly retryAfterMs: number,
  ) {
    super(
      state === 'isolated'
        ? `Circuit '${key}' is isolated: calls are refused until it is reset.`
        : state === 'halfOpen'
          ? `Circuit '${key}' is half-open and every trial slot is taken; retry in ${Math.ceil(retryAfterMs)} ms.`
          : `Circuit '${key}' is open; it lets a trial call through in ${Math.ceil(retryAfterMs)} ms.`,
    );
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link CircuitOpenError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * if (isCircuitOpenError(e)) res.status(503).set('Retry-After', String(Math.ceil(e.retryAfterMs / 1000)));
 * ```
 */
export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return hasBrand(error, BRAND);
}
