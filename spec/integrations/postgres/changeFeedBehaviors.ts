/**
 * The change-feed behaviours every Database must show: run on PGlite by changeFeed.spec.ts
 * (`npm test`) and on a real PostgreSQL by changeFeed.services.spec.ts (`npm run test:services`).
 */
import { expect, it } from '@jest/globals';
import {
  changeFeed,
  ConsumerBusyError,
  installOutbox,
  isConsumerBusyError,
  publish,
  uninstallOutbox,
  unwatchTable,
  watchTable,
  type ChangeFeed,
  type ChangeFeedEvent,
  type ChangeItem,
  type Database,
} from 'fs-mediator/postgres';
import { createMediator, handler, StreamRequest } from '../../../src/index.js';

let tables = 0;
/** A fresh outbox per test, so tests sharing one database do not see each other's rows. */
export async function freshOutbox(db: Database): Promise<string> {
  const table = `outbox_${process.pid}_${++tables}`;
  await installOutbox(db, { table });
  return table;
}

/** A timer the spec fires by hand, with a count of the pending ones. */
export function manualTimers() {
  const pending = new Map<number, () => void>();
  let next = 0;
  return {
    setTimeout: (callback: () => void): unknown => {
      const id = ++next;
      pending.set(id, callback);
      return id;
    },
    clearTimeout: (handle: unknown): void => void pending.delete(handle as number),
    get count() {
      return pending.size;
    },
    fireAll() {
      const callbacks = [...pending.values()];
      pending.clear();
      for (const callback of callbacks) callback();
    },
  };
}

export async function take<P>(feed: ChangeFeed<P>, n: number): Promise<ChangeItem<P>[]> {
  const items: ChangeItem<P>[] = [];
  for (let i = 0; i < n; i++) {
    const result = await feed.next();
    if (result.done) break;
    items.push(result.value);
  }
  return items;
}

function pages(feed: ChangeFeed<unknown>): Array<Extract<ChangeFeedEvent, { type: 'page' }>> {
  const seen: Array<Extract<ChangeFeedEvent, { type: 'page' }>> = [];
  feed.events.subscribe((e) => {
    if (e.type === 'page') seen.push(e);
  });
  return seen;
}

async function publishMany(db: Database, table: string, n: number, topic = 'orders') {
  for (let i = 1; i <= n; i++) await publish(db, topic, { n: i }, { table });
}

async function storedCursor(db: Database, table: string, consumer: string) {
  const rows = await db.query<{ id: string }>(
    `SELECT id::text AS id FROM ${table}_cursors WHERE consumer = $1`,
    [consumer],
  );
  return rows[0]?.id;
}

const ns = (items: ChangeItem<unknown>[]) => items.map((i) => (i.payload as { n: number }).n);

/** Registers the shared behaviour specs; `db()` returns the spec file's one Database. */
export function changeFeedBehaviors(db: () => Database): void {
  it('installs and removes the outbox idempotently, one trigger per watched table', async () => {
    const table = `outbox_${process.pid}_idem`;
    const watched = `watched_${process.pid}`;
    await db().query(`DROP TABLE IF EXISTS ${watched}`);
    await db().query(`CREATE TABLE ${watched} (id int PRIMARY KEY, status text)`);
    await installOutbox(db(), { table });
    await installOutbox(db(), { table });
    await watchTable(db(), watched, { table, topic: 'w' });
    await watchTable(db(), watched, { table, topic: 'w' });
    await db().query(`INSERT INTO ${watched} VALUES (1, 'new')`);
    expect(await db().query(`SELECT topic FROM ${table}`)).toEqual([{ topic: 'w' }]);

    await unwatchTable(db(), watched, { table });
    await unwatchTable(db(), watched, { table });
    await db().query(`INSERT INTO ${watched} VALUES (2, 'new')`);
    expect(await db().query(`SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: 1 }]);

    await uninstallOutbox(db(), { table });
    await uninstallOutbox(db(), { table });
    const left = await db().query(
      `SELECT relname FROM pg_class WHERE relname LIKE $1 UNION ALL
       SELECT proname FROM pg_proc WHERE proname LIKE $1`,
      [`${table}%`],
    );
    expect(left).toEqual([]);
    await db().query(`DROP TABLE ${watched}`);
  });

  it('delivers trigger rows in commit order with op, payload, old and string ids', async () => {
    const table = await freshOutbox(db());
    const watched = `orders_${process.pid}`;
    await db().query(`DROP TABLE IF EXISTS ${watched}`);
    await db().query(`CREATE TABLE ${watched} (id int PRIMARY KEY, status text)`);
    await watchTable(db(), watched, { table, topic: 'orders' });
    await db().query(`INSERT INTO ${watched} VALUES (1, 'new'), (2, 'new')`);
    await db().query(`UPDATE ${watched} SET status = 'paid' WHERE id = 1`);
    await db().query(`DELETE FROM ${watched} WHERE id = 2`);

    const feed = changeFeed(db(), { consumer: 'c', table });
    const items = await take(feed, 4);
    await feed.return();
    expect(items.map(({ op, payload, old, topic }) => ({ op, payload, old, topic }))).toEqual([
      { op: 'insert', payload: { id: 1, status: 'new' }, old: null, topic: 'orders' },
      { op: 'insert', payload: { id: 2, status: 'new' }, old: null, topic: 'orders' },
      {
        op: 'update',
        payload: { id: 1, status: 'paid' },
        old: { id: 1, status: 'new' },
        topic: 'orders',
      },
      {
        op: 'delete',
        payload: { id: 2, status: 'new' },
        old: { id: 2, status: 'new' },
        topic: 'orders',
      },
    ]);
    for (const item of items) {
      expect(item.id).toMatch(/^\d+$/);
      expect(item.txid).toMatch(/^\d+$/);
      expect(item.createdAt).toBeInstanceOf(Date);
    }
    expect(new Set(items.map((i) => i.id)).size).toBe(4);
    // The two inserts were one transaction.
    expect(items[0]!.txid).toBe(items[1]!.txid);
    expect(BigInt(items[2]!.txid)).toBeGreaterThan(BigInt(items[1]!.txid));
    await db().query(`DROP TABLE ${watched}`);
  });

  it('reads a page only when the consumer pulls and the previous page is drained', async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 25);
    const feed = changeFeed(db(), { consumer: 'c', table, pageSize: 10 });
    const seen = pages(feed);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(0); // nothing read before the first pull

    expect(ns(await take(feed, 1))).toEqual([1]);
    expect(seen.map((p) => p.rows)).toEqual([10]);
    expect(ns(await take(feed, 9))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(1); // drained, but nobody asked: no read ahead

    expect(ns(await take(feed, 1))).toEqual([11]);
    expect(seen.map((p) => p.rows)).toEqual([10, 10]);
    expect(ns(await take(feed, 14))).toEqual([
      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    ]);
    expect(seen.map((p) => p.rows)).toEqual([10, 10, 5]);
    await feed.return();
  });

  it('orders by number, not text, within a transaction and across pages', async () => {
    // Regression: ORDER BY txid, id once sorted by the text aliases ('10' before '2').
    const table = await freshOutbox(db());
    await db().query(
      `INSERT INTO ${table} (topic, payload) SELECT 't', to_jsonb(g) FROM generate_series(1, 25) g`,
    );
    const feed = changeFeed<number>(db(), { consumer: 'c', table, pageSize: 7 });
    const items = await take(feed, 25);
    await feed.return();
    expect(items.map((i) => i.payload)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('filters by topic', async () => {
    const table = await freshOutbox(db());
    await publish(db(), 'a', { n: 1 }, { table });
    await publish(db(), 'b', { n: 2 }, { table });
    await publish(db(), 'a', { n: 3 }, { table });
    const feed = changeFeed(db(), { consumer: 'c', table, topics: ['a'] });
    expect(ns(await take(feed, 2))).toEqual([1, 3]);
    await feed.return();
  });

  it('resumes from the stored cursor: unacknowledged items come again, nothing is lost', async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 10);
    const kill = new AbortController();
    const first = changeFeed(db(), { consumer: 'c', table, pageSize: 4, signal: kill.signal });
    const items = await take(first, 5);
    first.ack(items[2]!); // processed 1–3; 4 and 5 were received but not processed
    kill.abort(); // killed mid-stream
    await expect(first.next()).rejects.toMatchObject({ name: 'AbortError' });
    expect(await storedCursor(db(), table, 'c')).toBe(items[2]!.id);

    const second = changeFeed(db(), { consumer: 'c', table });
    const again = await take(second, 7);
    expect(ns(again)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(again[0]!.id).toBe(items[3]!.id); // the same stable id on redelivery
    await second.return(); // nothing acknowledged: the cursor stays
    expect(await storedCursor(db(), table, 'c')).toBe(items[2]!.id);

    // Another consumer has its own cursor.
    const other = changeFeed(db(), { consumer: 'other', table });
    expect(ns(await take(other, 1))).toEqual([1]);
    await other.return();
  });

  it("with ack 'onPull', pulling the next item acknowledges the previous one", async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 6);
    const first = changeFeed(db(), { consumer: 'c', table, ack: 'onPull' });
    await take(first, 3); // 1 and 2 processed; 3 received only
    await first.return();
    const second = changeFeed(db(), { consumer: 'c', table, ack: 'onPull' });
    expect(ns(await take(second, 4))).toEqual([3, 4, 5, 6]);
    await second.return();
  });

  it('writes acks that arrive after the feed ended when closed again (a sink finishing late)', async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 3);
    const feed = changeFeed(db(), { consumer: 'c', table });
    const items = await take(feed, 3);
    await feed.return(); // the pipeline ended the feed; the sink still holds items 1–3
    expect(await storedCursor(db(), table, 'c')).toBe('0'); // the lease's row: no position yet
    feed.ack(items[2]!); // the sink finished them
    await feed.close();
    expect(await storedCursor(db(), table, 'c')).toBe(items[2]!.id);
  });

  it('batches cursor writes: every ackBatchSize items, after ackIntervalMs, and at the end', async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 5);
    const timers = manualTimers();
    const feed = changeFeed(db(), { consumer: 'c', table, ackBatchSize: 2, ...timers });
    const acks: string[] = [];
    feed.events.subscribe((e) => {
      if (e.type === 'ack') acks.push(e.id);
    });
    const items = await take(feed, 5);
    feed.ack(items[0]!);
    expect(timers.count).toBe(2); // the interval timer (and the lease's renewal)
    expect(await storedCursor(db(), table, 'c')).toBe('0');
    feed.ack(items[1]!); // batch full: written now
    await feed.flush();
    expect(await storedCursor(db(), table, 'c')).toBe(items[1]!.id);
    expect(timers.count).toBe(1); // the lease's renewal

    feed.ack(items[2]!);
    timers.fireAll(); // the interval passed
    await feed.flush();
    expect(await storedCursor(db(), table, 'c')).toBe(items[2]!.id);

    feed.ack(items[3]!);
    feed.ack(items[1]!); // an older item changes nothing
    await feed.return(); // written at the end
    expect(await storedCursor(db(), table, 'c')).toBe(items[3]!.id);
    expect(acks).toEqual([items[1]!.id, items[2]!.id, items[3]!.id]);
    expect(timers.count).toBe(0);
  });

  it('a NOTIFY wakes a waiting feed without waiting for the poll timer', async () => {
    const table = await freshOutbox(db());
    const feed = changeFeed(db(), { consumer: 'c', table, pollIntervalMs: 60_000 });
    const wakes: string[] = [];
    feed.events.subscribe((e) => {
      if (e.type === 'wake') wakes.push(e.reason);
    });
    const pending = feed.next();
    await new Promise((r) => setTimeout(r, 50)); // it has read nothing and waits
    const started = performance.now();
    await publish(db(), 'orders', { n: 1 }, { table });
    const result = await pending;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result.value?.payload).toEqual({ n: 1 });
    expect(wakes).toEqual(['notify']);
    await feed.return();
  });

  it('without NOTIFY the poll timer is the floor', async () => {
    const table = await freshOutbox(db());
    const timers = manualTimers();
    const feed = changeFeed(db(), { consumer: 'c', table, notify: false, ...timers });
    const pending = feed.next();
    while (timers.count < 2) await new Promise((r) => setTimeout(r, 5)); // lease + poll
    await publish(db(), 'orders', { n: 1 }, { table });
    await new Promise((r) => setTimeout(r, 30));
    let settled = false;
    void pending.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false); // no wake-up but the timer
    timers.fireAll();
    expect((await pending).value?.payload).toEqual({ n: 1 });
    await feed.return();
  });

  it('abort ends a waiting feed: rejects next(), stops listening and timers, writes acks', async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 1);
    let listening = 0;
    const base = db();
    const watched: Database = {
      kind: base.kind,
      query: (sql, params) => base.query(sql, params),
      listen: async (channel, onNotify) => {
        const stop = await base.listen(channel, onNotify);
        listening++;
        return async () => {
          listening--;
          await stop();
        };
      },
      close: () => base.close(),
    };
    const timers = manualTimers();
    const controller = new AbortController();
    const feed = changeFeed(watched, {
      consumer: 'c',
      table,
      signal: controller.signal,
      ...timers,
    });
    const [item] = await take(feed, 1);
    feed.ack(item!);
    const pending = feed.next();
    while (timers.count < 3) await new Promise((r) => setTimeout(r, 5)); // ack, lease, poll timers
    expect(listening).toBe(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await feed.close();
    expect(listening).toBe(0);
    expect(timers.count).toBe(0);
    expect(await storedCursor(db(), table, 'c')).toBe(item!.id);
    await expect(feed.next()).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('is a stream handler source: createStream delivers the changes', async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 3);
    class OrderChanges extends StreamRequest<ChangeItem<{ n: number }>> {}
    const mediator = createMediator({
      handlers: [
        handler(OrderChanges, (_request, context) =>
          changeFeed<{ n: number }>(db(), {
            consumer: 'm',
            table,
            signal: context.signal,
            ack: 'onPull',
          }),
        ),
      ],
    });
    const got: number[] = [];
    for await (const change of mediator.createStream(new OrderChanges())) {
      got.push(change.payload.n);
      if (got.length === 3) break;
    }
    expect(got).toEqual([1, 2, 3]);
  });

  it('validates its options', () => {
    expect(() => changeFeed(db(), {} as never)).toThrow(TypeError);
    expect(() => changeFeed(db(), { consumer: 'c', pageSize: 0 })).toThrow(RangeError);
    expect(() => changeFeed(db(), { consumer: 'c', pollIntervalMs: 1.5 })).toThrow(
      /pollIntervalMs/,
    );
    expect(() => changeFeed(db(), { consumer: 'c', ack: 'never' as never })).toThrow(TypeError);
    expect(() => changeFeed(db(), { consumer: 'c', table: 'Bad-Name' })).toThrow(RangeError);
    expect(() => changeFeed(db(), { consumer: 'c', leaseMs: 999 })).toThrow(/leaseMs/);
    expect(() => changeFeed(db(), { consumer: 'c', whenBusy: 'steal' as never })).toThrow(
      /whenBusy/,
    );
  });

  it('upgrades a cursor table from an older install with the lease columns', async () => {
    const table = `outbox_${process.pid}_old`;
    await db().query(`DROP TABLE IF EXISTS ${table}_cursors`);
    await db().query(
      `CREATE TABLE ${table}_cursors (consumer text PRIMARY KEY, txid xid8 NOT NULL, id bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    await db().query(`INSERT INTO ${table}_cursors (consumer, txid, id) VALUES ('c', '0', 0)`);
    await installOutbox(db(), { table });
    await installOutbox(db(), { table });
    const columns = await db().query<{ name: string }>(
      `SELECT column_name::text AS name FROM information_schema.columns
       WHERE table_name = $1 ORDER BY ordinal_position`,
      [`${table}_cursors`],
    );
    expect(columns.map((c) => c.name)).toEqual([
      'consumer',
      'txid',
      'id',
      'updated_at',
      'owner',
      'lease_until',
    ]);
    await publishMany(db(), table, 1);
    const feed = changeFeed(db(), { consumer: 'c', table });
    expect(ns(await take(feed, 1))).toEqual([1]);
    await feed.return();
    await uninstallOutbox(db(), { table });
  });

  it('one reader per consumer: a second one fails while the first reads, then reads on', async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 3);
    const first = changeFeed(db(), { consumer: 'c', table });
    const leases: string[] = [];
    first.events.subscribe((e) => {
      if (e.type === 'lease') leases.push(e.state);
    });
    const [one] = await take(first, 1);
    first.ack(one!);

    const second = changeFeed(db(), { consumer: 'c', table });
    const busy: unknown = await second.next().catch((error: unknown) => error);
    expect(busy).toBeInstanceOf(ConsumerBusyError);
    expect(isConsumerBusyError(busy)).toBe(true);
    const error = busy as ConsumerBusyError;
    expect(error).toMatchObject({ name: 'ConsumerBusyError', consumer: 'c', lost: false });
    expect(error.leaseUntil).toBeInstanceOf(Date);
    expect(error.message).toContain("'c'");
    expect(await second.next()).toEqual({ done: true, value: undefined });

    // A different name does not interfere, and the first reader goes on.
    const other = changeFeed(db(), { consumer: 'other', table });
    expect(ns(await take(other, 3))).toEqual([1, 2, 3]);
    expect(ns(await take(first, 1))).toEqual([2]);
    await other.return();
    await first.return(); // writes the ack of 1, releases the lease
    expect(leases).toEqual(['acquired', 'released']);
    expect(
      await db().query(`SELECT owner, lease_until FROM ${table}_cursors WHERE consumer = 'c'`),
    ).toEqual([{ owner: null, lease_until: null }]);

    const third = changeFeed(db(), { consumer: 'c', table });
    expect(ns(await take(third, 2))).toEqual([2, 3]); // on from the stored cursor
    await third.return();
  });

  it('two readers starting at once: exactly one gets the consumer', async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 1);
    const feeds = [0, 1, 2].map(() => changeFeed(db(), { consumer: 'c', table }));
    const results = await Promise.allSettled(feeds.map((f) => f.next()));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(isConsumerBusyError(r.reason)).toBe(true);
    }
    await Promise.all(feeds.map((f) => f.return()));
  });

  it("with whenBusy 'wait', a second reader takes over once the first has ended", async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 2);
    const first = changeFeed(db(), { consumer: 'c', table });
    await take(first, 1);
    const timers = manualTimers();
    const second = changeFeed(db(), { consumer: 'c', table, whenBusy: 'wait', ...timers });
    const pending = second.next();
    while (timers.count === 0) await new Promise((r) => setTimeout(r, 5)); // busy: waits
    timers.fireAll();
    while (timers.count === 0) await new Promise((r) => setTimeout(r, 5)); // busy again
    await first.return(); // nothing acknowledged
    timers.fireAll();
    expect((await pending).value?.payload).toEqual({ n: 1 });
    await second.return();
  });

  it('an expired lease is taken over; the old reader then fails and cannot move the cursor', async () => {
    const table = await freshOutbox(db());
    await publishMany(db(), table, 4);
    const age = () =>
      db().query(
        `UPDATE ${table}_cursors SET lease_until = now() - interval '1 second' WHERE consumer = 'c'`,
      );
    const timers = manualTimers();
    const old = changeFeed(db(), { consumer: 'c', table, ...timers });
    const leases: string[] = [];
    old.events.subscribe((e) => {
      if (e.type === 'lease') leases.push(e.state);
    });
    const items = await take(old, 2);
    await age(); // the old reader was blocked for longer than leaseMs

    const next = changeFeed(db(), { consumer: 'c', table });
    expect(ns(await take(next, 1))).toEqual([1]);

    old.ack(items[1]!); // its next cursor write is refused
    await expect(old.flush()).rejects.toMatchObject({ name: 'ConsumerBusyError', lost: true });
    await expect(old.next()).rejects.toMatchObject({ name: 'ConsumerBusyError', lost: true });
    expect(leases).toEqual(['acquired', 'lost']);
    expect(timers.count).toBe(0);
    expect(await storedCursor(db(), table, 'c')).toBe('0');
    await old.close();
    expect(
      await db().query(`SELECT count(*)::int AS n FROM ${table}_cursors WHERE owner IS NOT NULL`),
    ).toEqual([{ n: 1 }]); // the old reader did not release the new one's lease

    // A reader waiting for rows loses its lease at its next renewal.
    await next.return();
    const idle = manualTimers();
    const waiting = changeFeed(db(), { consumer: 'c', table, notify: false, ...idle });
    const all = await take(waiting, 4);
    expect(ns(all)).toEqual([1, 2, 3, 4]);
    waiting.ack(all[3]!);
    await waiting.flush();
    const pending = waiting.next();
    while (idle.count < 2) await new Promise((r) => setTimeout(r, 5)); // lease + poll
    await age();
    const taker = changeFeed(db(), { consumer: 'c', table });
    const taken = taker.next(); // takes the lease over, then waits for rows
    while (
      (await db().query(`SELECT owner FROM ${table}_cursors WHERE lease_until > now()`)).length ===
      0
    ) {
      await new Promise((r) => setTimeout(r, 5));
    }
    idle.fireAll(); // the renewal is refused
    await expect(pending).rejects.toMatchObject({ name: 'ConsumerBusyError', lost: true });
    await taker.return();
    await expect(taken).resolves.toEqual({ done: true, value: undefined });
  });
}
