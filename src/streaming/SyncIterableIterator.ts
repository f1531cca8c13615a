import { TAKE_SYNC, type SyncTaker } from './takeSync.js';
import { DONE } from './DONE.js';

/**
 * Presents a synchronous iterator (an array, a `function*` generator) as an async one: each
 * `next()` runs the sync `next()` and wraps its result, so a throwing generator rejects instead
 * of throwing, and `return()` reaches the generator's `finally`. A `batch()` downstream takes
 * many items in one synchronous call (see {@link TAKE_SYNC}).
 * @internal
 */
export class SyncIterableIterator<T> implements AsyncIterator<T>, SyncTaker<T> {
  readonly #iterator: Iterator<T>;
  /** Set when a sync take met the end or an error: the next `next()` reports it. */
  #ended: { readonly error: unknown; readonly failed: boolean } | undefined;

  constructor(iterable: Iterable<T>) {
    // An array is read by index: a batch of 100 is then a copy, not 100 iterator steps.
    this.#iterator = Array.isArray(iterable)
      ? new ArrayCursor(iterable as T[])
      : iterable[Symbol.iterator]();
  }

  next(): Promise<IteratorResult<T>> {
    const ended = this.#ended;
    if (ended !== undefined) {
      this.#ended = { error: undefined, failed: false };
      return ended.failed ? Promise.reject(ended.error) : Promise.resolve(DONE);
    }
    try {
      return Promise.resolve(this.#iterator.next());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  [TAKE_SYNC](into: T[], max: number): void {
    if (this.#ended !== undefined) return;
    const iterator = this.#iterator;
    if (iterator instanceof ArrayCursor) {
      if (iterator.take(into, max)) this.#ended = { error: undefined, failed: false };
      return;
    }
    try {
      for (let taken = 0; taken < max; taken++) {
        const result = iterator.next();
        if (result.done === true) {
          this.#ended = { error: undefined, failed: false };
          return;
        }
        into.push(result.value);
      }
    } catch (error) {
      this.#ended = { error, failed: true };
    }
  }

  return(): Promise<IteratorResult<T>> {
    try {
      this.#iterator.return?.();
      return Promise.resolve(DONE);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** Iterates an array by index, like the array's own iterator, and can take many at once. */
class ArrayCursor<T> implements Iterator<T> {
  #index = 0;

  constructor(readonly array: readonly T[]) {}

  next(): IteratorResult<T> {
    const array = this.array;
    return this.#index < array.length
      ? { value: array[this.#index++] as T, done: false }
      : { value: undefined, done: true };
  }

  /** Moves up to `max` items into `into`; true when the array is exhausted. */
  take(into: T[], max: number): boolean {
    const array = this.array;
    const end = Math.min(array.length, this.#index + max);
    for (let i = this.#index; i < end; i++) into.push(array[i] as T);
    this.#index = end;
    return end === array.length;
  }

  return(): IteratorResult<T> {
    this.#index = this.array.length;
    return { value: undefined, done: true };
  }
}
