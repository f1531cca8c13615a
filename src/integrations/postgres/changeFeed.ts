import { randomUUID } from 'node:crypto';
import type { Observable } from 'rxjs';
import { EventChannel } from '../../behaviors/EventChannel.js';
import { ConsumerBusyError } from '../../errors/ConsumerBusyError.js';
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
  | { readonly type: 'ackError'; readonly consumer: string; readonly error: unknown }
  | {
      readonly type: 'lease';
      readonly consumer: string;
      readonly state: 'acquired' | 'renewed' | 'lost' | 'released';
    };

/** Options of {@link changeFeed}. */
export interface ChangeFeedOptions extends OutboxOptions {
  /**
   * The consumer's name: its cursor is stored under it. Required. One reader per name at a time:
   * the feed takes the name's lease on its first read (see `leaseMs`, `whenBusy`).
   */
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
  /**
   * How long the consumer's lease lasts unless renewed, in ms. The feed renews it every third of
   * that while open (and with each cursor write); a reader that cannot renew in time (blocked
   * process, database unreachable) may be taken over, and then ends with a `ConsumerBusyError`
   * (`lost` true) without moving the new reader's cursor. Default: 30000. At least 1000.
   */
  readonly leaseMs?: number;
  /**
   * When another live reader holds the consumer's lease at the first read: `'fail'` (default)
   * rejects it with a `ConsumerBusyError`; `'wait'` tries again every `pollIntervalMs` until the
   * lease is free (or the feed ends).
   */
  readonly whenBusy?: 'fail' | 'wait';
  /** Ends the feed: a pending `next()` rejects with the signal's reason; acks are written. */
  readonly signal?: AbortSignal;
  /** For tests: the timer used for polling, ack batching and lease renewal. Default: the global `setTimeout`. */
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
  readonly #owner = randomUUID();
  readonly #leaseMs: number;
  readonly #waitWhenBusy: boolean;

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
  /** The claim in flight or done: resolves true when this feed holds the lease. */
  #claim: Promise<boolean> | undefined;
  #holding = false;
  #renewedAt = 0;
  #renewing: Promise<boolean> | undefined;
  #leaseTimer: unknown;

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
    this.#leaseMs = checkInteger('leaseMs', options.leaseMs ?? 30_000, 1000);
    this.#waitWhenBusy =
      checkOneOf('whenBusy', options.whenBusy ?? 'fail', ['fail', 'wait']) === 'wait';
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
      if (this.#ended) return this.#finished();
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
    this.#claim = this.#claimLease();
    if (!(await this.#claim)) return;
    if (this.#notify && !this.#ended) {
      const unlisten = await this.#db.listen(this.#names.channel, () => this.#onNotify());
      if (this.#ended) await unlisten();
      else this.#unlisten = unlisten;
    }
  }

  /**
   * Takes the consumer's lease (creating its cursor row at the start, `(0, 0)`, when missing) and
   * reads the cursor. False when the feed ended meanwhile; throws ConsumerBusyError when another
   * live reader holds the lease and `whenBusy` is `'fail'`.
   */
  async #claimLease(): Promise<boolean> {
    const t = this.#names.cursors;
    for (;;) {
      const rows = await this.#db.query<Position>(
        `INSERT INTO ${t} AS c (consumer, txid, id, owner, lease_until)
VALUES ($1, '0'::xid8, 0, $2, now() + $3::double precision * interval '1 millisecond')
ON CONFLICT (consumer) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
WHERE c.owner IS NULL OR c.owner = EXCLUDED.owner OR COALESCE(c.lease_until < now(), true)
RETURNING c.txid::text AS txid, c.id::text AS id`,
        [this.#consumer, this.#owner, this.#leaseMs],
      );
      const row = rows[0];
      if (row) {
        this.#holding = true;
        this.#renewedAt = performance.now();
        this.#readPosition = this.#stored = { txid: row.txid, id: row.id };
        this.#emitLease('acquired');
        if (this.#ended) return false; // #cleanUp releases it once this claim settled
        this.#scheduleRenewal();
        return true;
      }
      if (!this.#waitWhenBusy) {
        const held = await this.#db.query<{ until: Date | string | null }>(
          `SELECT lease_until AS until FROM ${t} WHERE consumer = $1`,
          [this.#consumer],
        );
        const until = held[0]?.until;
        throw new ConsumerBusyError(
          this.#consumer,
          until == null ? undefined : until instanceof Date ? until : new Date(until),
        );
      }
      if (this.#ended) return false;
      await this.#wait(false); // a busy consumer's name: try again after a poll interval
      if (this.#ended) return false;
    }
  }

  #scheduleRenewal(): void {
    if (this.#leaseTimer !== undefined) this.#clearTimeout(this.#leaseTimer);
    this.#leaseTimer = this.#setTimeout(
      () => {
        this.#leaseTimer = undefined;
        this.#renew().catch((error: unknown) => void this.#end(error));
      },
      Math.floor(this.#leaseMs / 3),
    );
    // A forgotten open feed must not keep the process alive (the lease then simply expires).
    (this.#leaseTimer as { unref?: () => void } | undefined)?.unref?.();
  }

  /**
   * Extends the lease by `leaseMs`. False when it was lost (the feed then ends with a
   * ConsumerBusyError); rejects when the query fails.
   */
  #renew(): Promise<boolean> {
    if (this.#renewing) return this.#renewing;
    const renewing = this.#db
      .query(
        `UPDATE ${this.#names.cursors}
SET lease_until = now() + $3::double precision * interval '1 millisecond'
WHERE consumer = $1 AND owner = $2
RETURNING 1 AS held`,
        [this.#consumer, this.#owner, this.#leaseMs],
      )
      .then(
        (rows) => {
          this.#renewing = undefined;
          if (rows.length === 0) {
            this.#loseLease();
            return false;
          }
          this.#renewedAt = performance.now();
          this.#emitLease('renewed');
          if (!this.#ended) this.#scheduleRenewal();
          return true;
        },
        (error: unknown) => {
          this.#renewing = undefined;
          throw error;
        },
      );
    this.#renewing = renewing;
    return renewing;
  }

  /** Another reader took the consumer over: stop delivering, end with ConsumerBusyError. */
  #loseLease(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.#emitLease('lost');
    void this.#end(new ConsumerBusyError(this.#consumer, undefined, true));
  }

  #emitLease(state: 'acquired' | 'renewed' | 'lost' | 'released'): void {
    if (this.#channel.observed)
      this.#channel.emit({ type: 'lease', consumer: this.#consumer, state });
  }

  async #read(): Promise<boolean> {
    // Timers may have been held up (a blocked event loop): make sure the lease is still ours
    // before reading a page that would be delivered.
    if (performance.now() - this.#renewedAt >= this.#leaseMs / 3 && !(await this.#renew())) {
      return false;
    }
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

  /**
   * Waits for a NOTIFY, `pollIntervalMs` or the end of the feed; `report`: emit the `'wake'` event
   * (after an empty page, not while waiting for a busy consumer's lease).
   */
  #wait(report = true): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = (reason) => {
        this.#wake = undefined;
        if (this.#pollTimer !== undefined) this.#clearTimeout(this.#pollTimer);
        this.#pollTimer = undefined;
        if (report && reason !== 'end' && this.#channel.observed) {
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
    if (this.#leaseTimer !== undefined) this.#clearTimeout(this.#leaseTimer);
    this.#leaseTimer = undefined;
    const unlisten = this.#unlisten;
    this.#unlisten = undefined;
    await unlisten?.().catch(() => undefined);
    try {
      await this.flush();
    } catch {
      // Reported as an 'ackError' event; those items are delivered again to the next reader.
    }
    await this.#claim?.catch(() => false);
    await this.#renewing?.catch(() => false);
    if (this.#holding) {
      this.#holding = false;
      try {
        await this.#db.query(
          `UPDATE ${this.#names.cursors} SET owner = NULL, lease_until = NULL
WHERE consumer = $1 AND owner = $2`,
          [this.#consumer, this.#owner],
        );
        this.#emitLease('released');
      } catch {
        // The lease then expires after leaseMs.
      }
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
    // Only while this feed holds the consumer's lease (renewing it), or after it released it
    // and nobody took it since (acks written after the feed ended): never over another reader.
    const writing = this.#db
      .query<{ mine: boolean }>(
        `INSERT INTO ${t} AS c (consumer, txid, id, updated_at) VALUES ($1, $2::xid8, $3::bigint, now())
ON CONFLICT (consumer) DO UPDATE SET
  txid = CASE WHEN (c.txid, c.id) < (EXCLUDED.txid, EXCLUDED.id) THEN EXCLUDED.txid ELSE c.txid END,
  id = CASE WHEN (c.txid, c.id) < (EXCLUDED.txid, EXCLUDED.id) THEN EXCLUDED.id ELSE c.id END,
  updated_at = now(),
  lease_until = CASE WHEN c.owner = $4
    THEN now() + $5::double precision * interval '1 millisecond' ELSE c.lease_until END
WHERE c.owner = $4 OR c.owner IS NULL
RETURNING c.owner IS NOT DISTINCT FROM $4 AS mine`,
        [this.#consumer, position.txid, position.id, this.#owner, this.#leaseMs],
      )
      .then((rows) => {
        if (rows.length > 0) {
          if (rows[0]!.mine) this.#renewedAt = performance.now();
          return;
        }
        const error = new ConsumerBusyError(this.#consumer, undefined, true);
        this.#loseLease();
        throw error;
      })
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
 * - **One reader per consumer name**: on its first read the feed takes the consumer's lease in
 *   the cursor table (`owner`, `lease_until`), renews it every `leaseMs / 3` while open and
 *   releases it when it ends. A second feed under a live reader's name rejects its first `next()`
 *   with a {@link ConsumerBusyError} (or waits, with `whenBusy: 'wait'`); a lease not renewed for
 *   `leaseMs` (a crashed or blocked reader) may be taken over, and the reader that lost it ends
 *   with a `ConsumerBusyError` (`lost` true) and can no longer move the cursor.
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
