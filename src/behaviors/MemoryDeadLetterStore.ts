import { checkInteger, checkObject } from '../errors/validate.js';
import {
  checkIds,
  checkQuery,
  type CheckedQuery,
  type AppendResult,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetterStore,
} from './DeadLetter.js';

/** Options of {@link MemoryDeadLetterStore}. */
export interface MemoryDeadLetterStoreOptions {
  /**
   * Most letters kept (a whole number ≥ 1). When full, appending evicts the oldest letter: it is
   * counted in `dropped` and returned from `append()`, which the policy announces as a
   * `'dropped'` event. Default: 1000.
   */
  readonly capacity?: number;
}

const NO_EVICTION: AppendResult = Object.freeze({ evicted: Object.freeze([]) });

/**
 * A bounded in-process dead-letter store: letters are kept by reference, oldest first, and lost
 * when the process ends. The default store of `deadLetters()`. Reads see a snapshot taken when
 * the read starts, so a replay that removes letters as it goes is safe.
 *
 * @example
 * ```ts
 * const store = new MemoryDeadLetterStore({ capacity: 500 });
 * const policy = deadLetters({ store });
 * // later
 * console.log(await store.count(), store.dropped);
 * ```
 */
export class MemoryDeadLetterStore implements DeadLetterStore {
  /** The capacity in letters. */
  readonly capacity: number;
  /** Insertion order is age order: the first entry is the oldest. */
  readonly #letters = new Map<string, DeadLetter>();
  #dropped = 0;

  constructor(options: MemoryDeadLetterStoreOptions = {}) {
    checkObject('options', options);
    this.capacity =
      options.capacity === undefined ? 1000 : checkInteger('capacity', options.capacity, 1);
  }

  /** Letters evicted because the store was full, since it was created. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The number of letters held, synchronously (`count()` is the store-neutral form). */
  get size(): number {
    return this.#letters.size;
  }

  append(letter: DeadLetter): Promise<AppendResult> {
    const letters = this.#letters;
    letters.delete(letter.id); // the same id again counts as the newest
    letters.set(letter.id, letter);
    if (letters.size <= this.capacity) return Promise.resolve(NO_EVICTION);
    const evicted: DeadLetter[] = [];
    while (letters.size > this.capacity) {
      const [id, oldest] = letters.entries().next().value as [string, DeadLetter];
      letters.delete(id);
      this.#dropped++;
      evicted.push(oldest);
    }
    return Promise.resolve({ evicted });
  }

  read(query?: DeadLetterQuery): AsyncIterable<DeadLetter> {
    const checked = checkQuery(query);
    return this.#read([...this.#letters.values()], checked);
  }

  async *#read(
    letters: readonly DeadLetter[],
    { filter, limit }: CheckedQuery,
  ): AsyncGenerator<DeadLetter, void, undefined> {
    let n = 0;
    for (const letter of letters) {
      if (n >= limit) return;
      if (filter !== undefined && !filter(letter)) continue;
      n++;
      yield letter;
    }
  }

  async list(query?: DeadLetterQuery): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for await (const letter of this.read(query)) out.push(letter);
    return out;
  }

  remove(ids: Iterable<string>): Promise<void> {
    try {
      for (const id of checkIds(ids)) this.#letters.delete(id);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve();
  }

  count(): Promise<number> {
    return Promise.resolve(this.#letters.size);
  }
}
