/**
 * An internal fast path between the library's own iterators: a stage that wants many items (a
 * `batch()`) asks its source for the items it can hand over *right now* — buffered items of a push
 * source, the next items of a synchronous iterable — in one call instead of one promise per item.
 * It never changes what `next()` later reports: a source that ends or fails during the call keeps
 * that for its next `next()`.
 * @internal
 */
export const TAKE_SYNC = Symbol('fs-mediator.takeSync');

/** @internal */
export interface SyncTaker<T> {
  /** Moves up to `max` items available without waiting into `into`. */
  [TAKE_SYNC](into: T[], max: number): void;
}

/** The iterator's sync-take method, if it has one. @internal */
export function syncTakerOf<T>(iterator: AsyncIterator<T>): SyncTaker<T> | undefined {
  return typeof (iterator as Partial<SyncTaker<T>>)[TAKE_SYNC] === 'function'
    ? (iterator as unknown as SyncTaker<T>)
    : undefined;
}
