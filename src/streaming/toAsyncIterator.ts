import { isObservable, type Observable } from 'rxjs';
import { ObservableIterator } from './ObservableIterator.js';
import type { OverflowStrategy } from './OverflowStrategy.js';
import { pullSourceOf } from './pullable.js';
import type { StreamMonitor } from './StreamMonitor.js';
import { SyncIterableIterator } from './SyncIterableIterator.js';

/** How a push (Observable) source is buffered when read with `for await`. @internal */
export interface BridgeOptions {
  readonly bufferCapacity: number;
  readonly overflow: OverflowStrategy;
  readonly monitor?: StreamMonitor | undefined;
}

/**
 * Opens any stream source as an AsyncIterator, or returns undefined when the value is not one.
 * An AsyncIterable is used as it is (consumer pull is native to it), and so is the iterator
 * behind a `pullable()` Observable; any other Observable goes through the bounded bridge; a sync
 * Iterable is adapted. Throws a TypeError for `'block'` on a push source, which cannot be paused.
 * @internal
 */
export function toAsyncIterator<T>(
  source: unknown,
  options: BridgeOptions,
  stream?: string,
): AsyncIterator<T> | undefined {
  if (typeof source !== 'object' || source === null) {
    return undefined;
  }
  if (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
    return (source as AsyncIterable<T>)[Symbol.asyncIterator]();
  }
  if (isObservable(source)) {
    const pull = pullSourceOf<T>(source);
    if (pull !== undefined) return pull();
    if (options.overflow === 'block') {
      throw new TypeError(
        "Overflow strategy 'block' needs a pull source (an AsyncIterable, a generator or pullable(…)), but this stream's source is a push Observable, which cannot be paused. Choose 'error' or a lossy strategy.",
      );
    }
    return new ObservableIterator(
      source as Observable<T>,
      options.bufferCapacity,
      options.overflow,
      options.monitor,
      stream,
    );
  }
  if (typeof (source as Iterable<T>)[Symbol.iterator] === 'function') {
    return new SyncIterableIterator(source as Iterable<T>);
  }
  return undefined;
}

/** True for a thenable. @internal */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value instanceof Promise ||
    ((typeof value === 'object' || typeof value === 'function') &&
      value !== null &&
      typeof (value as PromiseLike<unknown>).then === 'function')
  );
}
