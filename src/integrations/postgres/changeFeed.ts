import type { Observable } from 'rxjs';
import { EventChannel } from '../../behaviors/EventChannel.js';
import {
  checkFunction,
  checkInteger,
  checkObject,
  checkOneOf,
  checkSignal,
  show,
} from '../../errors/validate.js';
import type { ChangePositionSource } from './changePosition.js';
import type { Database } from './Database.js';
import { outboxNames, type OutboxNames, type OutboxOptions } from './outboxNames.js';

/** One change read from the outbox. int8 and xid8 values are decimal strings on every driver. */
export interface ChangeItem<P = unknown> {
  /** The outbox row's id: unique and stable across redeliveries, for idempotent consumers. */
  readonly id: string;
  /** The id of the transaction that wrote the row (`xid8`). Items come in `(txid, id)` order. */
  readonly txid: string;
  readonly topic: string;
  /** `'insert'`, `'update'` or `'delete'` for trigger rows; what the writer chose otherwise. */
  readonly op: string;
  /** The row (after the change; the deleted row for a delete), or what the writer wrote. */
  readonly payload: P;
  /** The row before an update or delete, from triggers; otherwise null. */
  readonly old: unknown;
  readonly createdAt: Date;
}

/** What a change feed reports on its `events`. */
export type ChangeFeedEvent =
  | {
      readonly type: 'page';
      readonly consumer: string;
      readonly rows: number;
      readonly durationMs: number;
    }
  | { readonly type: 'wake'; readonly consumer: string; readonly reason: 'notify' | 'poll' }
  | { readonly type: 'ack'; readonly consumer: string; readonly txid: string; readonly id: string }
  | { readonly type: 'ackError'; readonly consumer: string; readonly error: unknown };

/** Options of {@link changeFeed}. */
export interface ChangeFeedOptions extends OutboxOptions {
  /** The consumer's name: its cursor is stored under it. Required. One reader per name at a time. */
  readonly consumer: string;
  /** Read only these topics. Default: every topic. */
  readonly topics?: readonly string[];
  /** Most rows one query reads. Default: 1000. */
  readonly pageSize?: number;
  /**
   * How long to wait, after reading nothing, before reading again when no NOTIFY arrives: the
   * correctness floor (a lost notification, a row held back by an open transaction). Default: 1000.
   */
  readonly pollIntervalMs?: number;
  /** LISTEN for the outbox's NOTIFY wake-ups. Default: true (false: polling only). */
  readonly notify?: boolean;
  /**
   * When an item counts as processed, so the cursor may pass it:
   * - `'manual'` (default): when you call `feed.ack(item)` (which acknowledges every item
   *   delivered before it too). Safe behind buffering or parallel stages: ack in the sink.
   * - `'onPull'`: pulling item n+1 acknowledges item n. Right only when whoever iterates the feed
   *   has finished item n before asking for the next (a `for await` loop over the feed); a stage
   *   that reads ahead (batch, parallel) would acknowledge items it has not processed.
   * In both modes the last item delivered before the feed ends (break, abort, error) is not
   * acknowledged unless you acked it: it is delivered again to the next reader.
   */
  readonly ack?: 'manual' | 'onPull';
  /** Write the cursor once this many items were acknowledged since the last write. Default: 100. */
  readonly ackBatchSize?: number;
  /** …or this long after the first unwritten acknowledgement, in ms. Default: 1000. */
  readonly ackIntervalMs?: number;
  /** Ends the feed: a pending `next()` rejects with the signal's reason; acks are written. */
  readonly signal?: AbortSignal;
  /** For tests: the timer used for polling and ack batching. Default: the global `setTimeout`. */
  readonly setTimeout?: (callback: () => void, ms: number) => unknown;
  /** For tests: clears what `setTimeout` returned. Default: the global `clearTimeout`. */
  readonly clearTimeout?: (handle: unknown) => void;
}

type Position = { txid: string; id: string };

type Row = {
  id: string;
  txid: string;
  topic: string;
  op: string;
  payload: unknown;
  old: unknown;
  created_at: Date | string;
};

const START: Position = { txid: '0', id: '0' };

function after(a: Position, b: Position): boolean {
  const ta = BigInt(a.txid);
  const tb = BigInt(b.txid);
  return ta > tb || (ta === tb && BigInt(a.id) > BigInt(b.id));
}

/**
 * A resumable, at-least-once change feed: reads the outbox in pages **only when its consumer
 * pulls** and the previous page is drained. Returned by {@link changeFeed}; an `AsyncIterable`
 * (iterate it once) that a stream handler can return.
 */
export class ChangeFeed<P = unknown> implements AsyncIterableIterator<ChangeItem<P>> {
  readonly #db: Database;
  readonly #names: OutboxNames;
  readonly #consumer: string;
  readonly #topics: readonly string[] | undefined;
  readonly #pageSize: number;
  readonly #pollMs: number;
  readonly #notify: boolean;
  readonly #ackOnPull: boolean;
  readonly #ackBatch: number;
  readonly #ackMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #setTimeout: (callback: () => void, ms: number) => unknown;
  readonly #clearTimeout: (handle: unknown) => void;
  readonly #channel = new EventChannel<ChangeFeedEvent>();
  readonly #sql: string;

  #started = false;
  #ended = false;
  #endReason: unknown = undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #page: ChangeItem<P>[] = [];
  #index = 0;
  #readPosition: Position = START;
  #lastDelivered: ChangeItem<P> | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #notified = false;
  #wake: ((reason: 'notify' | 'poll' | 'end') => void) | undefined;
  #pollTimer: unknown;
  #acked: Position | undefined;
  #stored: Position = START;
  #unwritten = 0;
  #ackTimer: unknown;
  #writing: Promise<void> | undefined;
  #removeAbort: (() => void) | undefined;
  #ending: Promise<void> | undefined;

  /** @internal Use {@link changeFeed}. */
  constructor(db: Database, options: ChangeFeedOptions) {
    checkObject('options', options);
    if (typeof options.consumer !== 'string' || options.consumer === '') {
      throw new TypeError(
        `Option 'consumer' must be a non-empty string, got ${show(options.consumer)}.`,
      );
    }
    if (
      options.topics !== undefined &&
      (!Array.isArray(options.topics) || !options.topics.every((t) => typeof t === 'string'))
    ) {
      throw new TypeError(
        `Option 'topics' must be an array of strings, got ${show(options.topics)}.`,
      );
    }
    checkFunction('setTimeout', options.setTimeout);
    checkFunction('clearTimeout', options.clearTimeout);
    this.#db = db;
    this.#names = outboxNames(options);
    this.#consumer = options.consumer;
    this.#topics = options.topics ? [...options.topics] : undefined;
    this.#pageSize = checkInteger('pageSize', options.pageSize ?? 1000, 1);
    this.#pollMs = checkInteger('pollIntervalMs', options.pollIntervalMs ?? 1000, 1);
    this.#notify = options.notify ?? true;
    if (typeof this.#notify !== 'boolean') {
      throw new TypeError(`Option 'notify' must be a boolean, got ${show(options.notify)}.`);
    }
    this.#ackOnPull = checkOneOf('ack', options.ack ?? 'manual', ['manual', 'onPull']) === 'onPull';
    this.#ackBatch = checkInteger('ackBatchSize', options.ackBatchSize ?? 100, 1);
    this.#ackMs = checkInteger('ackIntervalMs', options.ackIntervalMs ?? 1000, 0);
    this.#signal = checkSignal(options.signal);
    this.#setTimeout = options.setTimeout ?? ((cb, ms) => setTimeout(cb, ms));
    this.#clearTimeout =
      options.clearTimeout ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    // Only rows of transactions that have ended: every txid below the snapshot's xmin is
    // committed (or aborted, and its rows invisible), so no row can appear later below the cursor.
    this.#sql = `SELECT o.id::text AS id, o.txid::text AS txid, o.topic, o.op, o.payload, o.old, o.created_at
FROM ${this.#names.outbox} AS o
WHERE (o.txid, o.id) > ($1::xid8, $2::bigint)
  AND o.txid < pg_snapshot_xmin(pg_current_snapshot())${this.#topics ? '\n  AND o.topic = ANY($4::text[])' : ''}
ORDER BY o.txid, o.id -- the columns, not the text aliases of the same names
LIMIT $3`;
  }

  /** What the feed does (pages read, wake-ups, cursor writes), for metrics. Never completes. */
  get events(): Observable<ChangeFeedEvent> {
    return this.#channel.events;
  }

  /** The consumer's name. */
  get consumer(): string {
    return this.#consumer;
  }

  /** The position last written to the cursor table (`'0'`s before any). */
  get storedCursor(): Readonly<Position> {
    return this.#stored;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ChangeItem<P>>> {
    const result = this.#queue.then(() => this.#next());
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async return(): Promise<IteratorResult<ChangeItem<P>>> {
    await this.#endAndFlush();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<ChangeItem<P>>> {
    await this.#end(undefined);
    throw error;
  }

  /**
   * Marks `item` and every item delivered before it as processed; the cursor is written in
   * batches (`ackBatchSize`, `ackIntervalMs`) and when the feed ends. Ack in delivery order.
   * Only `txid` and `id` are read, so a row copied from an item (or a parsed
   * {@link changePosition}) will do. Acks after the feed ended are written by `flush()`.
   */
  ack(item: ChangePositionSource): void {
    const position = { txid: item.txid, id: item.id };
    if (this.#acked ? !after(position, this.#acked) : !after(position, this.#stored)) return;
    this.#acked = position;
    this.#unwritten++;
    if (this.#unwritten >= this.#ackBatch) void this.#write();
    else if (this.#ackTimer === undefined && !this.#ended) {
      this.#ackTimer = this.#setTimeout(() => {
        this.#ackTimer = undefined;
        void this.#write();
      }, this.#ackMs);
    }
  }

  /** Same as {@link ChangeFeed.ack}: acknowledging an item acknowledges all before it. */
  ackUpTo(item: ChangePositionSource): void {
    this.ack(item);
  }

  /** Writes the acknowledged position now; rejects when the write fails. */
  async flush(): Promise<void> {
    if (this.#ackTimer !== undefined) this.#clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    while (this.#writing) await this.#writing.catch(() => undefined);
    if (this.#acked) await this.#write(true);
  }

  /**
   * Ends the feed (like `return()`): stops listening and timers, writes acknowledged items —
   * also those acknowledged after the feed ended (call it again, or `flush()`, for those).
   */
  async close(): Promise<void> {
    await this.#endAndFlush();
  }

  /** Ends the feed, then writes acks that came after it ended (a sink finishing its last rows). */
  async #endAndFlush(): Promise<void> {
    await this.#end(undefined);
    if (this.#acked) await this.flush().catch(() => undefined); // failures: 'ackError' events
  }

  async #next(): Promise<IteratorResult<ChangeItem<P>>> {
    if (this.#ended) return this.#finished();
    if (this.#ackOnPull && this.#lastDelivered) this.ack(this.#lastDelivered);
    try {
      if (!this.#started) await this.#start();
      while (this.#index >= this.#page.length) {
        this.#notified = false;
        const got = await this.#read();
        if (this.#ended) return this.#finished();
        if (got) break;
        if (!this.#notified) await this.#wait();
        if (this.#ended) return this.#finished();
      }
    } catch (error) {
      if (this.#ended) return this.#finished();
      await this.#end(undefined);
      throw error;
    }
    const item = this.#page[this.#index]!;
    this.#page[this.#index++] = undefined as never; // let delivered items go
    this.#lastDelivered = item;
    return { done: false, value: item };
  }

  /** Settles once the feed has cleaned up (acks written), so the caller may rely on the cursor. */
  async #finished(): Promise<IteratorResult<ChangeItem<P>>> {
    await this.#ending;
    if (this.#endReason !== undefined) throw this.#endReason;
    return { done: true, value: undefined };
  }

  async #start(): Promise<void> {
    this.#started = true;
    const signal = this.#signal;
    if (signal) {
      if (signal.aborted) {
        await this.#end(signal.reason);
        return;
      }
      const onAbort = (): void => void this.#end(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#removeAbort = () => signal.removeEventListener('abort', onAbort);
    }
    const rows = await this.#db.query<Position>(
      `SELECT txid::text AS txid, id::text AS id FROM ${this.#names.cursors} WHERE consumer = $1`,
      [this.#consumer],
    );
    if (rows[0]) this.#readPosition = this.#stored = { txid: rows[0].txid, id: rows[0].id };
    if (this.#notify && !this.#ended) {
      const unlisten = await this.#db.listen(this.#names.channel, () => this.#onNotify());
      if (this.#ended) await unlisten();
      else this.#unlisten = unlisten;
    }
  }

  async #read(): Promise<boolean> {
    const started = performance.now();
    const params: unknown[] = [this.#readPosition.txid, this.#readPosition.id, this.#pageSize];
    if (this.#topics) params.push(this.#topics);
    const rows = await this.#db.query<Row>(this.#sql, params);
    if (this.#channel.observed) {
      this.#channel.emit({
        type: 'page',
        consumer: this.#consumer,
        rows: rows.length,
        durationMs: performance.now() - started,
      });
    }
    if (rows.length === 0) return false;
    const page: ChangeItem<P>[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      page[i] = {
        id: r.id,
        txid: r.txid,
        topic: r.topic,
        op: r.op,
        payload: r.payload as P,
        old: r.old ?? null,
        createdAt: r.created_at instanceof Date ? r.created_at : new Date(r.created_at),
      };
    }
    const last = page[page.length - 1]!;
    this.#readPosition = { txid: last.txid, id: last.id };
    this.#page = page;
    this.#index = 0;
    return true;
  }

  #onNotify(): void {
    this.#notified = true;
    this.#wake?.('notify');
  }

  #wait(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = (reason) => {
        this.#wake = undefined;
        if (this.#pollTimer !== undefined) this.#clearTimeout(this.#pollTimer);
        this.#pollTimer = undefined;
        if (reason !== 'end' && this.#channel.observed) {
          this.#channel.emit({ type: 'wake', consumer: this.#consumer, reason });
        }
        resolve();
      };
      this.#pollTimer = this.#setTimeout(() => {
        this.#pollTimer = undefined;
        this.#wake?.('poll');
      }, this.#pollMs);
    });
  }

  #end(reason: unknown): Promise<void> {
    this.#ending ??= this.#cleanUp(reason);
    return this.#ending;
  }

  async #cleanUp(reason: unknown): Promise<void> {
    this.#ended = true;
    this.#endReason = reason;
    this.#removeAbort?.();
    this.#removeAbort = undefined;
    this.#page = [];
    this.#index = 0;
    this.#wake?.('end');
    if (this.#ackTimer !== undefined) this.#clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    await unlisten?.().catch(() => undefined);
    try {
      await this.flush();
    } catch {
      // Reported as an 'ackError' event; those items are delivered again to the next reader.
    }
  }

  /** Writes the acknowledged position; one write at a time. */
  #write(throwOnError = false): Promise<void> {
    if (this.#writing) return this.#writing;
    const position = this.#acked;
    if (!position) return Promise.resolve();
    if (this.#ackTimer !== undefined) this.#clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const count = this.#unwritten;
    this.#unwritten = 0;
    const t = this.#names.cursors;
    const writing = this.#db
      .query(
        `INSERT INTO ${t} (consumer, txid, id, updated_at) VALUES ($1, $2::xid8, $3::bigint, now())
ON CONFLICT (consumer) DO UPDATE SET txid = EXCLUDED.txid, id = EXCLUDED.id, updated_at = now()
WHERE (${t}.txid, ${t}.id) < (EXCLUDED.txid, EXCLUDED.id)`,
        [this.#consumer, position.txid, position.id],
      )
      .then(
        () => {
          this.#writing = undefined;
          this.#stored = position;
          if (this.#acked === position) this.#acked = undefined;
          if (this.#channel.observed) {
            this.#channel.emit({ type: 'ack', consumer: this.#consumer, ...position });
          }
          // Acks that came in meanwhile.
          if (this.#acked && (this.#unwritten >= this.#ackBatch || this.#ended)) void this.#write();
        },
        (error: unknown) => {
          this.#writing = undefined;
          this.#unwritten += count;
          if (this.#channel.observed) {
            this.#channel.emit({ type: 'ackError', consumer: this.#consumer, error });
          }
          if (throwOnError) throw error;
        },
      );
    this.#writing = writing;
    return writing;
  }
}

/**
 * Reads the outbox as a resumable, at-least-once stream of {@link ChangeItem}s for one named
 * consumer — return it from a stream handler, or `for await` it.
 *
 * - **Consumer pull**: a page (`pageSize` rows) is read only when the consumer asks for an item
 *   and the previous page is drained. After reading nothing it waits for a NOTIFY wake-up or
 *   `pollIntervalMs`, whichever comes first (the timer is the correctness floor).
 * - **No gap loss**: rows are read in `(txid, id)` order and only those whose transaction id is
 *   below the current snapshot's xmin, i.e. whose transaction has ended. A row written by a
 *   transaction that commits after a later row's is therefore never skipped (an `id > cursor`
 *   reader would skip it). The price: a long-running transaction anywhere in the database holds
 *   the feed back until it ends.
 * - **At-least-once**: the cursor (`<table>_cursors`) moves only over acknowledged items (see
 *   `ack`), written in batches and when the feed ends. A reader that stops, crashes or is killed
 *   resumes from the stored cursor: items after it are delivered again (duplicates are possible;
 *   use `item.id` to make processing idempotent). Nothing acknowledged is ever re-read, nothing
 *   unacknowledged is ever skipped.
 * - Ending: `break`/`return()`, `close()` or `signal` stops listening and timers and writes the
 *   acknowledged position; a `next()` pending when the signal aborts rejects with its reason. A
 *   query error ends the feed and rejects `next()` with it (retry by opening a new feed). The
 *   Database stays open.
 * - One reader per consumer name at a time (two would both deliver every item).
 *
 * @example
 * ```ts
 * const feed = changeFeed<Order>(db, { consumer: 'exporter', topics: ['orders'], signal });
 * for await (const change of feed) {
 *   await exportRow(change.payload);
 *   feed.ack(change); // processed: the cursor may pass it
 * }
 * ```
 */
export function changeFeed<P = unknown>(db: Database, options: ChangeFeedOptions): ChangeFeed<P> {
  return new ChangeFeed<P>(db, options);
}
