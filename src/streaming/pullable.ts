import type { Observable } from 'rxjs';
import { SyncIterableIterator } from './SyncIterableIterator.js';
import { toObservable } from './toObservable.js';

const PULL = Symbol.for('fs-mediator.pull');

/**
 * The library's pull-aware Observable: reads `source` one item at a time, only as fast as the
 * subscriber (or the nearest parallel stage, or a `for await` loop through the mediator) asks.
 * Unlike RxJS `from(asyncIterable)`, which reads as fast as synchronous operators accept, a
 * `pullable` never runs ahead of a slow stage. Read with `for await` through the mediator, it is
 * unwrapped to its iterator: no buffer at all.
 *
 * @param source - An AsyncIterable or Iterable, opened anew for each subscription.
 * @example
 * ```ts
 * handler(ExportOrders, () => pullable(db.cursor('select * from orders')))
 * // with parallel(enrich, { concurrency: 4 }) downstream, at most 4 rows are read ahead
 * ```
 */
export function pullable<T>(source: AsyncIterable<T> | Iterable<T>): Observable<T> {
  const open = (): AsyncIterator<T> => openIterable(source);
  return Object.defineProperty(toObservable(open), PULL, { value: open });
}

/** The iterator behind a {@link pullable} Observable, or undefined for any other value. @internal */
export function pullSourceOf<T>(value: unknown): (() => AsyncIterator<T>) | undefined {
  return typeof value === 'object' && value !== null
    ? ((value as Record<symbol, (() => AsyncIterator<T>) | undefined>)[PULL] ?? undefined)
    : undefined;
}

function openIterable<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  return typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function'
    ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
    : new SyncIterableIterator(source as Iterable<T>);
}
