import { isObservable, type Observable } from 'rxjs';
import { ObservableIterator } from './ObservableIterator.js';
import { SyncIterableIterator } from './SyncIterableIterator.js';

/** How an Observable source is buffered when read with `for await`. @internal */
export interface BridgeOptions {
  readonly bufferCapacity: number;
}

/**
 * Opens any stream source as an AsyncIterator, or returns undefined when the value is not one.
 * An AsyncIterable is used as it is (consumer pull is native to it); an Observable goes through
 * the bounded bridge; a sync Iterable is adapted.
 * @internal
 */
export function toAsyncIterator<T>(
  source: unknown,
  options: BridgeOptions,
): AsyncIterator<T> | undefined {
  if (typeof source !== 'object' || source === null) {
    return undefined;
  }
  if (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
    return (source as AsyncIterable<T>)[Symbol.asyncIterator]();
  }
  if (isObservable(source)) {
    return new ObservableIterator(source as Observable<T>, options.bufferCapacity);
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
