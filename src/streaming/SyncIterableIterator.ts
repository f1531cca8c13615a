/**
 * Presents a synchronous iterator (an array, a `function*` generator) as an async one: each
 * `next()` runs the sync `next()` and wraps its result, so a throwing generator rejects instead
 * of throwing, and `return()` reaches the generator's `finally`.
 * @internal
 */
export class SyncIterableIterator<T> implements AsyncIterator<T> {
  readonly #iterator: Iterator<T>;

  constructor(iterable: Iterable<T>) {
    this.#iterator = iterable[Symbol.iterator]();
  }

  next(): Promise<IteratorResult<T>> {
    try {
      return Promise.resolve(this.#iterator.next());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  return(): Promise<IteratorResult<T>> {
    try {
      this.#iterator.return?.();
      return Promise.resolve({ value: undefined, done: true });
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
