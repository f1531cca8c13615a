import { brand, hasBrand } from './brand.js';

const BRAND = brand('StreamTimeoutError');

/**
 * Which limit of a `streamTimeout()` stage fired:
 * - `'first'`: the first item did not arrive within `firstMs` of the first read;
 * - `'idle'`: the next item (or the first one, when `firstMs` was not given) kept the consumer
 *   waiting longer than `idleMs`;
 * - `'total'`: the stream did not complete within `totalMs` of the first read.
 *
 * @example
 * ```ts
 * const kind: StreamTimeoutKind = 'idle';
 * ```
 */
export type StreamTimeoutKind = 'first' | 'idle' | 'total';

const WHAT: Readonly<Record<StreamTimeoutKind, (ms: number) => string>> = {
  first: (ms) => `the first item did not arrive within ${ms} ms (firstMs)`,
  idle: (ms) => `no item arrived for ${ms} ms while the consumer waited (idleMs)`,
  total: (ms) => `the stream did not complete within ${ms} ms (totalMs)`,
};

/**
 * A `streamTimeout()` stage gave up on its stream: {@link StreamTimeoutError.kind} says which
 * limit fired and {@link StreamTimeoutError.ms} what it was. By the time the consumer sees this
 * error the source has been closed, so the handler's signal is aborted.
 *
 * @example
 * ```ts
 * try {
 *   for await (const row of mediator.createStream(new ExportOrders()).pipe(streamTimeout({ idleMs: 5000 }))) {
 *     write(row);
 *   }
 * } catch (error) {
 *   if (error instanceof StreamTimeoutError) retryLater(error.kind); // 'first' | 'idle' | 'total'
 * }
 * ```
 */
export class StreamTimeoutError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'StreamTimeoutError';

  constructor(
    /** Which limit fired. */
    readonly kind: StreamTimeoutKind,
    /** That limit, in milliseconds. */
    readonly ms: number,
  ) {
    super(`Stream timed out: ${WHAT[kind](ms)}.`);
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link StreamTimeoutError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * if (isStreamTimeoutError(e) && e.kind === 'first') console.warn(`no data within ${e.ms} ms`);
 * ```
 */
export function isStreamTimeoutError(error: unknown): error is StreamTimeoutError {
  return hasBrand(error, BRAND);
}
