import { brand, hasBrand } from './brand.js';

const BRAND = brand('BufferOverflowError');

/**
 * A push source (one that cannot be paused, like a Subject or a socket) produced more items than
 * the stream's buffer holds while the consumer was busy, under the `'error'` overflow strategy.
 * Raise `bufferCapacity` or choose a lossy strategy if losing items is acceptable.
 *
 * @example
 * ```ts
 * for await (const tick of mediator.createStream(new Ticks(), { bufferCapacity: 16 })) {
 *   await slowWork(tick); // a fast push source overflows: BufferOverflowError (capacity 16)
 * }
 * ```
 */
export class BufferOverflowError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'BufferOverflowError';

  constructor(
    /** The buffer's capacity, in items. */
    readonly capacity: number,
  ) {
    super(
      `A push source overflowed the stream buffer (capacity ${capacity}) under the 'error' strategy: the consumer is slower than the producer.`,
    );
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link BufferOverflowError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * if (isBufferOverflowError(e)) console.warn(`buffer of ${e.capacity} overflowed`);
 * ```
 */
export function isBufferOverflowError(error: unknown): error is BufferOverflowError {
  return hasBrand(error, BRAND);
}
