import { brand, hasBrand } from './brand.js';

const BRAND = brand('BulkheadRejectedError');

/**
 * A bulkhead refused a call: every slot was taken and its wait queue was full
 * (`reason: 'queueFull'`), or the call waited in the queue longer than allowed
 * (`reason: 'queueTimeout'`). The handler never ran.
 *
 * @example
 * ```ts
 * try { await mediator.send(new RenderReport(id)); }
 * catch (error) { if (isBulkheadRejectedError(error)) return res.status(503).end(); throw error; }
 * ```
 */
export class BulkheadRejectedError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'BulkheadRejectedError';

  constructor(
    /** The bulkhead's key: the message name, or `'*'` for a global bulkhead. */
    readonly key: string,
    /** Why: no room in the queue, or the wait in it ran out. */
    readonly reason: 'queueFull' | 'queueTimeout',
    /** The bulkhead's `maxConcurrent`. */
    readonly maxConcurrent: number,
    /** The bulkhead's `maxQueue`. */
    readonly maxQueue: number,
  ) {
    super(
      reason === 'queueFull'
        ? `Bulkhead '${key}' is full: ${maxConcurrent} running and ${maxQueue} waiting.`
        : `Bulkhead '${key}': the call waited too long for one of ${maxConcurrent} slots.`,
    );
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link BulkheadRejectedError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * if (isBulkheadRejectedError(e)) metrics.rejected.inc({ key: e.key });
 * ```
 */
export function isBulkheadRejectedError(error: unknown): error is BulkheadRejectedError {
  return hasBrand(error, BRAND);
}
