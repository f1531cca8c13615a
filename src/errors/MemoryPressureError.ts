import { brand, hasBrand } from './brand.js';

const BRAND = brand('MemoryPressureError');

/**
 * A memory guard refused to start a stream (or a request) because the heap was above its high
 * watermark. It admits work again once the heap falls below the low watermark.
 *
 * @example
 * ```ts
 * try { for await (const row of mediator.createStream(new ExportOrders())) write(row); }
 * catch (error) { if (isMemoryPressureError(error)) return res.status(503).end(); throw error; }
 * ```
 */
export class MemoryPressureError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'MemoryPressureError';

  constructor(
    /** Heap in use when the call was refused, in bytes. */
    readonly heapUsedBytes: number,
    /** The guard's high watermark, in bytes. */
    readonly highWaterBytes: number,
  ) {
    super(
      `Memory guard: heap in use is ${Math.round(heapUsedBytes / 1048576)} MiB, above the ${Math.round(highWaterBytes / 1048576)} MiB high watermark; new work is refused until it falls below the low watermark.`,
    );
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link MemoryPressureError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * if (isMemoryPressureError(e)) log.warn('shedding load', { heap: e.heapUsedBytes });
 * ```
 */
export function isMemoryPressureError(error: unknown): error is MemoryPressureError {
  return hasBrand(error, BRAND);
}
