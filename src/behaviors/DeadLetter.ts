import { checkFunction, checkInteger, checkObject, show } from '../errors/validate.js';

/**
 * What failed for good: a request (`send()`), a whole stream (`createStream()`), or one item of
 * a stream that `tryMap` gave up on.
 *
 * @example
 * ```ts
 * const kind: DeadLetterKind = 'request';
 * ```
 */
export type DeadLetterKind = 'request' | 'stream' | 'item';

/**
 * The error of a dead letter, reduced to what survives JSON. A thrown value that is not an
 * `Error` gets `name` `'NonError'` and its `String()` as `message`.
 *
 * @example
 * ```ts
 * const error: DeadLetterError = { name: 'TypeError', message: 'boom', code: 'E_BOOM' };
 * ```
 */
export interface DeadLetterError {
  readonly name: string;
  readonly message: string;
  /** The stack, when the error had one. */
  readonly stack?: string;
  /** The error's `code` (Node's `ENOENT`, a driver's SQLSTATE…), when it had a string or number one. */
  readonly code?: string | number;
}

/**
 * One dead letter: a message (or stream item) that finally failed, with enough to inspect it and
 * to re-dispatch it. Stores return letters as they were appended (the file store: as JSON read
 * them back).
 *
 * @example
 * ```ts
 * const letters: DeadLetter[] = await policy.store.list({ filter: (l) => l.kind === 'request' });
 * for (const { messageName, error, attempts } of letters) report(messageName, error.message, attempts);
 * ```
 */
export interface DeadLetter {
  /** A random UUID. */
  readonly id: string;
  readonly kind: DeadLetterKind;
  /** The message's stable name (for an item: the name of the stream request it came from). */
  readonly messageName: string;
  /** The message's fields (the policy's `payload` option); for an item letter, the item. */
  readonly payload: unknown;
  /** The error the call finally failed with. */
  readonly error: DeadLetterError;
  /** Attempts made, the first one included (as recorded by a retry behavior; else 1). */
  readonly attempts: number;
  /** The failed call's correlation id (an item letter has one only when `itemErrors` was given it). */
  readonly correlationId?: string;
  /** When the failure was recorded: an ISO 8601 string. */
  readonly time: string;
  /** Stream letters: how many items the stream had delivered before it failed. */
  readonly delivered?: number;
  /** Item letters: the item's position in the stream, from 0. */
  readonly index?: number;
}

/**
 * Which letters a store read returns, oldest first.
 *
 * @example
 * ```ts
 * await store.list({ filter: (letter) => letter.messageName === 'orders.place', limit: 100 });
 * ```
 */
export interface DeadLetterQuery {
  /** Keep only letters this returns true for. Default: every letter. */
  readonly filter?: (letter: DeadLetter) => boolean;
  /** At most this many letters (a whole number ≥ 1, or Infinity). Default: Infinity. */
  readonly limit?: number;
}

/**
 * What an append did beside storing the letter: a bounded store reports the letters it evicted
 * to make room, so the policy can count and announce them.
 *
 * @example
 * ```ts
 * const { evicted } = (await store.append(letter)) ?? { evicted: [] };
 * ```
 */
export interface AppendResult {
  /** Letters removed to make room, oldest first. */
  readonly evicted: readonly DeadLetter[];
}

/**
 * Where dead letters go. Every method is asynchronous; a store must keep appends in the order
 * they were called, and a read must see every append that completed before the read started.
 * Built in: {@link MemoryDeadLetterStore} (bounded) and {@link FileDeadLetterStore} (NDJSON).
 *
 * @example
 * ```ts
 * class SqlDeadLetterStore implements DeadLetterStore {
 *   async append(letter: DeadLetter) { await sql`insert into dead_letters ${sql(toRow(letter))}`; }
 *   async *read(query?: DeadLetterQuery) { yield* (await sql`select * from dead_letters order by time`).map(fromRow); }
 *   async list(query?: DeadLetterQuery) { const out = []; for await (const l of this.read(query)) out.push(l); return out; }
 *   async remove(ids: Iterable<string>) { await sql`delete from dead_letters where id in ${sql([...ids])}`; }
 *   async count() { return (await sql`select count(*) from dead_letters`)[0].count; }
 * }
 * ```
 */
export interface DeadLetterStore {
  /** Stores one letter. May resolve with the letters it evicted to make room. */
  append(letter: DeadLetter): Promise<AppendResult | void>;
  /** The letters, oldest first, as they are read (a file store does not hold them all in memory). */
  read(query?: DeadLetterQuery): AsyncIterable<DeadLetter>;
  /** The letters, oldest first, collected into an array: mind `limit` on a large store. */
  list(query?: DeadLetterQuery): Promise<DeadLetter[]>;
  /** Removes these letters; ids the store does not hold are ignored. */
  remove(ids: Iterable<string>): Promise<void>;
  /** How many letters the store holds. */
  count(): Promise<number>;
}

/** A validated {@link DeadLetterQuery}. @internal */
export interface CheckedQuery {
  readonly filter: ((letter: DeadLetter) => boolean) | undefined;
  readonly limit: number;
}

/** Validates a read's query (`TypeError`/`RangeError` naming the option). @internal */
export function checkQuery(query: DeadLetterQuery | undefined, prefix = ''): CheckedQuery {
  checkObject(prefix === '' ? 'query' : prefix.slice(0, -1), query);
  checkFunction(`${prefix}filter`, query?.filter);
  return {
    filter: query?.filter,
    limit:
      query?.limit === undefined ? Infinity : checkInteger(`${prefix}limit`, query.limit, 1, true),
  };
}

/** The ids of a `remove()` call, checked: strings only. @internal */
export function checkIds(ids: Iterable<string>): string[] {
  if (
    typeof ids !== 'object' ||
    ids === null ||
    typeof (ids as Iterable<string>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`remove() needs an iterable of letter ids, got ${show(ids)}.`);
  }
  const list = [...ids];
  for (const id of list) {
    if (typeof id !== 'string') {
      throw new TypeError(`remove() needs letter ids (strings), got ${show(id)} in the list.`);
    }
  }
  return list;
}
