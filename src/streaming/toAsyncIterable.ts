import type { Observable } from 'rxjs';
import { checkObject } from '../errors/validate.js';
import { checkStageBuffer } from './checkStageBuffer.js';
import { ObservableIterator } from './ObservableIterator.js';
import type { OverflowStrategy } from './OverflowStrategy.js';
import { pullSourceOf } from './pullable.js';
import { StreamMonitor } from './StreamMonitor.js';
import { DEFAULT_PIPELINE } from './StreamPipelineOptions.js';

/** Options of {@link toAsyncIterable}. */
export interface ToAsyncIterableOptions {
  /** Items a push source may get ahead of the loop. Default: 1000. */
  readonly bufferCapacity?: number;
  /** What a full buffer does with the next item. Default: `'error'` (a `BufferOverflowError`). */
  readonly overflow?: Exclude<OverflowStrategy, 'block'>;
  /** Records the buffer's occupancy, drops and waits under `name`. */
  readonly monitor?: StreamMonitor;
  /** The stream's name in the monitor's stats. Default: `'observable'`. */
  readonly name?: string;
}

/**
 * Reads any Observable with `for await`, through the same bounded bridge `createStream()` uses:
 * a push source waits in a ring buffer of `bufferCapacity` items and a full buffer applies
 * `overflow` (never an unbounded queue, unlike `eachValueFrom` or IxJS `from`); a `pullable()`
 * source, and pull sources behind synchronous operators, are read only as fast as the loop reads.
 * Subscribes on the loop's first read; `break` unsubscribes at once.
 *
 * @example
 * ```ts
 * for await (const price of toAsyncIterable(prices$, { bufferCapacity: 100, overflow: 'latest' })) {
 *   await render(price); // while rendering, only the newest prices are kept
 * }
 * ```
 */
export function toAsyncIterable<T>(
  source: Observable<T>,
  options: ToAsyncIterableOptions = {},
): AsyncIterable<T> {
  checkObject('options', options);
  const checked = checkStageBuffer(
    'toAsyncIterable',
    options,
    'an Observable cannot be paused (use pullable() for a pull source).',
  );
  const capacity = checked.capacity ?? DEFAULT_PIPELINE.bufferCapacity;
  const overflow = checked.overflow ?? 'error';
  const pull = pullSourceOf<T>(source);
  return {
    [Symbol.asyncIterator]: () =>
      pull?.() ??
      new ObservableIterator(
        source,
        capacity,
        overflow,
        options.monitor,
        options.name ?? 'observable',
      ),
  };
}
