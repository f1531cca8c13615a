/**
 * The integration diagram end to end, with no server: embedded PGlite (one in-memory database
 * for the file, a fresh schema per test) → change feed → mediator stream → real `ws` clients on
 * port 0 and NDJSON exports in temp directories.
 *
 * What the unit specs under spec/integrations/ already prove with synthetic sources (each slow
 * client policy with one healthy client, resume from a hand-written partial file, the feed's
 * cursor) is proven here again with the change feed as the source, several clients at once,
 * and a kill between processing and acknowledgement.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import {
  changeFeed,
  connect as connectDatabase,
  publish,
  type ChangeFeed,
  type ChangeItem,
  type Database,
} from 'fs-mediator/postgres';
import { exportToFile } from 'fs-mediator/file';
import {
  serveWebSocket,
  type SlowClientPolicy,
  type WebSocketSink,
  type WebSocketSinkEvent,
} from 'fs-mediator/websocket';
import { batch, createMediator, handler, StreamRequest } from '../../src/index.js';
import {
  duplicates,
  fileSize,
  freshShop,
  untilAsync,
  type OrderRow,
  type Shop,
} from '../helpers/integrations.js';
import { listDir, useTempDir } from '../integrations/file/fileFixtures.js';
import {
  connect,
  settled,
  terminateClients,
  until,
  type Received,
  type TestClient,
} from '../integrations/websocket/wsClients.js';

/** The changes of the test's outbox, read as consumer `consumer`. */
class OrderChanges extends StreamRequest<ChangeItem<OrderRow>> {
  constructor(readonly consumer: string) {
    super();
  }
}

/** A frame as the live feed sends it: the change's stable id plus the order, padded. */
interface LiveOrder {
  readonly id: string;
  readonly order: number;
  readonly pad: string;
}

class LiveOrders extends StreamRequest<LiveOrder> {
  constructor(readonly consumer: string) {
    super();
  }
}

/** An export line: the change's stable id and the order it carries. */
interface ExportedOrder {
  readonly id: string;
  readonly order: number;
  readonly customer: string;
}

let db: Database;
beforeAll(async () => {
  db = await connectDatabase({ dataDir: 'memory://' });
}, 30_000);
afterAll(() => db.close());

const shops: Shop[] = [];
const sinks: WebSocketSink[] = [];
const feeds: ChangeFeed<OrderRow>[] = [];

async function newShop(): Promise<Shop> {
  const shop = await freshShop(db);
  shops.push(shop);
  return shop;
}

/** A feed on the test's outbox, closed after the test. Polls every 50 ms as the floor. */
function feedOf(shop: Shop, options: Omit<Parameters<typeof changeFeed>[1], 'table'>) {
  const feed = changeFeed<OrderRow>(db, { pollIntervalMs: 50, ...shop.outbox, ...options });
  feeds.push(feed);
  return feed;
}

async function serve(options: Parameters<typeof serveWebSocket>[0]) {
  const sink = await serveWebSocket(options);
  sinks.push(sink);
  const events: WebSocketSinkEvent[] = [];
  sink.events.subscribe((event) => events.push(event));
  return { sink, events };
}

afterEach(async () => {
  terminateClients();
  await Promise.all(sinks.splice(0).map((sink) => sink.close()));
  await Promise.all(feeds.splice(0).map((feed) => feed.close()));
  for (const shop of shops.splice(0)) await shop.drop();
});

/** The first `count` items of `source`; returning closes the source (and so the feed). */
async function* first<T>(source: AsyncIterable<T>, count: number): AsyncGenerator<T> {
  if (count <= 0) return;
  let n = 0;
  for await (const item of source) {
    yield item;
    if (++n === count) return;
  }
}

const readLines = async <T>(path: string): Promise<T[]> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const seqs = (frames: readonly Received[]): number[] => frames.map((frame) => frame.seq!);

describe('a change committed in the database', () => {
  const tmp = useTempDir();

  it('reaches a real ws client and the NDJSON export, with the same stable id', async () => {
    const shop = await newShop();
    const mediator = createMediator({
      handlers: [
        handler(OrderChanges, (request, context) =>
          feedOf(shop, { consumer: request.consumer, signal: context.signal, ack: 'onPull' }),
        ),
      ],
    });
    const { sink } = await serve({
      streams: {
        'orders.live': (params, signal) =>
          mediator.createStream(new OrderChanges(`ws-${String(params['view'])}`), { signal }),
      },
    });
    const client = await connect(sink.url);
    client.send({ subscribe: 'orders.live', params: { view: 'all' } });
    await client.frame((f) => f.subscribed === true);
    const path = tmp.file('orders.ndjson');
    const exported = exportToFile(first(mediator.createStream(new OrderChanges('export')), 2), {
      path,
      format: 'ndjson',
    });

    // One change through the trigger on `orders`, one written by the application.
    await db.query(`INSERT INTO ${shop.orders} (customer, total) VALUES ('alice', 42)`);
    const published = await publish(
      db,
      'orders',
      { id: 1000, customer: 'bob', total: 7 },
      shop.outbox,
    );

    const ids = await shop.outboxIds();
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(published.id);
    const expected = [
      {
        id: ids[0],
        topic: 'orders',
        op: 'insert',
        payload: { id: 1, customer: 'alice', total: 42 },
      },
      {
        id: ids[1],
        topic: 'orders',
        op: 'insert',
        payload: { id: 1000, customer: 'bob', total: 7 },
      },
    ];

    expect(await exported).toMatchObject({ path, rows: 2 });
    const lines = await readLines<ChangeItem<OrderRow>>(path);
    expect(lines).toEqual(expected.map((change) => expect.objectContaining(change)));
    expect(await listDir(tmp.dir)).toEqual(['orders.ndjson']); // no temp file left behind

    await until(() => client.data().length === 2);
    expect(client.data()).toEqual(
      expected.map((change, i) => ({
        stream: 'orders.live',
        seq: i + 1,
        data: expect.objectContaining(change),
      })),
    );
    // Both sinks carry the same txid for the same id: the very same outbox row.
    expect(client.data().map((f) => (f.data as ChangeItem).txid)).toEqual(lines.map((l) => l.txid));
  });
});

describe('kill and resume', () => {
  const tmp = useTempDir();

  it('loses no row when a consumer acking after processing is killed mid-stream and restarted', async () => {
    const shop = await newShop();
    const opened: ChangeFeed<OrderRow>[] = [];
    const mediator = createMediator({
      handlers: [
        handler(OrderChanges, (request, context) => {
          const feed = feedOf(shop, {
            consumer: request.consumer,
            signal: context.signal,
            pageSize: 7,
            ackBatchSize: 3,
          });
          opened.push(feed);
          return feed;
        }),
      ],
    });
    for (let t = 0; t < 4; t++) await shop.insertOrders(10, `t${t}-`);

    // Run 1: batches of 4 are written to the sink, then acknowledged. After 20 rows the process
    // dies between writing a batch and acknowledging it.
    const processed: string[] = [];
    let acked = 0;
    const kill = new AbortController();
    const run1 = (async () => {
      const stream = mediator
        .createStream(new OrderChanges('sink'), { signal: kill.signal })
        .pipe(batch({ size: 4, maxWaitMs: 20 }));
      for await (const changes of stream) {
        processed.push(...changes.map((change) => change.id));
        if (processed.length >= 20) {
          kill.abort();
          continue;
        }
        opened[0]!.ack(changes.at(-1)!);
        acked = processed.length;
      }
    })();
    await expect(run1).rejects.toMatchObject({ name: 'AbortError' });
    await opened[0]!.close(); // the acknowledged position is written before the restart
    const unacked = processed.slice(acked);
    expect(unacked.length).toBeGreaterThan(0);
    expect(await shop.storedCursor('sink')).toBe(processed[acked - 1]);

    // The writer goes on while the consumer is down.
    await shop.insertOrders(15, 'late-');
    const all = await shop.outboxIds();
    expect(all).toHaveLength(55);

    // Run 2: same consumer name, until every row has been processed.
    const run2 = mediator
      .createStream(new OrderChanges('sink'))
      .pipe(batch({ size: 4, maxWaitMs: 20 }));
    for await (const changes of run2) {
      processed.push(...changes.map((change) => change.id));
      opened[1]!.ack(changes.at(-1)!);
      if (all.every((id) => processed.includes(id))) break;
    }
    await opened[1]!.close(); // break closes the source in the background

    expect([...new Set(processed)].sort()).toEqual([...all].sort()); // nothing missing
    // At least once: only the processed-but-unacknowledged tail came twice, and all of it did.
    expect(duplicates(processed)).toEqual(unacked);
    expect(processed.length).toBe(all.length + unacked.length);
    expect(await shop.storedCursor('sink')).toBe(all.at(-1));
  });

  it('loses no row when killed without a chance to write its acknowledgements (a crash)', async () => {
    const shop = await newShop();
    await shop.insertOrders(30);
    // A crashed process never flushes: only cursor writes by ackBatchSize reached the database.
    const crashed = feedOf(shop, {
      consumer: 'crashy',
      pageSize: 8,
      ackBatchSize: 5,
      ackIntervalMs: 60_000,
    });
    const processed: string[] = [];
    for (let i = 0; i < 13; i++) {
      const { value } = await crashed.next();
      processed.push(value!.id);
      crashed.ack(value!);
    }
    await untilAsync(async () => (await shop.storedCursor('crashy')) === processed[9]);
    // Abandoned here: no return(), no flush (it is closed after the test). Its process is gone,
    // so its lease on the consumer name lapses before the restarted reader claims it.
    await shop.expireLeases();

    const restarted = feedOf(shop, { consumer: 'crashy' });
    const all = await shop.outboxIds();
    while (!all.every((id) => processed.includes(id))) {
      const { value } = await restarted.next();
      processed.push(value!.id);
      restarted.ack(value!);
    }
    expect([...new Set(processed)].sort()).toEqual([...all].sort());
    // Redelivered: what was acknowledged but not yet written (fewer than ackBatchSize).
    expect(duplicates(processed)).toEqual(processed.slice(10, 13));
  });

  it('exportToFile with resume finishes with every row exactly once after a killed first run', async () => {
    const shop = await newShop();
    await shop.insertOrders(40);
    const path = tmp.file('orders.ndjson');
    const partial = `${path}.partial`;
    const idOf = (row: ExportedOrder) => row.id;
    const asRow = (change: ChangeItem<OrderRow>): ExportedOrder => ({
      id: change.id,
      order: change.payload.id,
      customer: change.payload.customer,
    });

    // Run 1: killed once rows have reached the disk. The feed is acknowledged only when an export
    // has finished (the partial file, not the cursor, is the checkpoint in between).
    const kill = new AbortController();
    const feed1 = feedOf(shop, { consumer: 'exporter', signal: kill.signal, pageSize: 16 });
    async function* killedRun(): AsyncGenerator<ExportedOrder> {
      let n = 0;
      for await (const change of feed1) {
        yield asRow(change);
        if (++n === 25) {
          await untilAsync(async () => (await fileSize(partial)) > 0);
          kill.abort(); // the pending feed.next() rejects: the run dies mid-stream
        }
      }
    }
    await expect(
      exportToFile(killedRun(), { path, format: 'ndjson', resume: { idOf }, signal: kill.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    await feed1.close();
    expect(await listDir(tmp.dir)).toEqual(['orders.ndjson.partial']);
    expect(await shop.storedCursor('exporter')).toBeUndefined();

    await shop.insertOrders(20, 'late-');
    const all = await shop.outboxIds();

    // Run 2: the feed replays from the cursor; the export skips what the partial file holds.
    const feed2 = feedOf(shop, { consumer: 'exporter' });
    let last: ChangeItem<OrderRow> | undefined;
    async function* untilCaughtUp(): AsyncGenerator<ExportedOrder> {
      for await (const change of feed2) {
        last = change;
        yield asRow(change);
        if (change.id === all.at(-1)) return;
      }
    }
    const kept = (await readLines<ExportedOrder>(partial)).map(idOf);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(all.length);
    const result = await exportToFile(untilCaughtUp(), {
      path,
      format: 'ndjson',
      resume: { idOf },
    });
    feed2.ack(last!); // the export's rows are on disk: the cursor may pass them
    await feed2.flush();

    expect((await readLines<ExportedOrder>(path)).map(idOf)).toEqual(all);
    expect(result.resumedAfter).toBe(kept.at(-1));
    expect(result.rows).toBe(all.length - all.indexOf(kept.at(-1)!) - 1);
    expect(await listDir(tmp.dir)).toEqual(['orders.ndjson']);
    expect(await shop.storedCursor('exporter')).toBe(all.at(-1));
  });
});

describe('a stalled WebSocket client behind the change feed', () => {
  const total = 400;
  const clientQueue = 8;
  /** 64 KiB per frame, so a stalled reader fills the kernel buffers within a few hundred items. */
  const pad = 'x'.repeat(65_536);

  /**
   * One shared live stream over a fresh outbox: the handler pulls the feed (counting pulls), pads
   * each change into a frame and ends after `total`. Client 1 subscribes and stalls, clients 2
   * and 3 subscribe, then `total` orders are committed in one transaction.
   */
  async function stalledSetup(policy: SlowClientPolicy) {
    const shop = await newShop();
    const pulls = { count: 0 };
    const mediator = createMediator({
      handlers: [
        handler(LiveOrders, (request, context) =>
          (async function* () {
            const feed = feedOf(shop, {
              consumer: request.consumer,
              signal: context.signal,
              ack: 'onPull',
              pageSize: 100,
            });
            for await (const change of feed) {
              pulls.count++;
              yield { id: change.id, order: change.payload.id, pad };
              if (pulls.count === total) return;
            }
          })(),
        ),
      ],
    });
    const { sink, events } = await serve({
      streams: {
        'orders.live': (params, signal) =>
          mediator.createStream(new LiveOrders(String(params['consumer'])), { signal }),
      },
      policy,
      clientQueue,
      stallMs: 50,
      maxBufferedBytes: 65_536,
      closeGraceMs: 3000,
    });
    const clients: TestClient[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await connect(sink.url);
      client.send({ subscribe: 'orders.live', params: { consumer: 'live' } });
      await client.frame((f) => f.subscribed === true);
      if (i === 0) client.stall();
      clients.push(client);
    }
    expect(sink.upstreams).toBe(1);
    await shop.insertOrders(total);
    const ids = await shop.outboxIds();
    const [stalled, ...healthy] = clients as [TestClient, TestClient, TestClient];
    const of = (type: WebSocketSinkEvent['type'], clientId: number) =>
      events.filter((e) => e.type === type && 'clientId' in e && e.clientId === clientId);
    return { ids, pulls, events, of, stalled, healthy };
  }

  /** Waits until the stream is over for a client: its end frame, or its socket closed. */
  const streamOver = (client: TestClient) =>
    until(
      () =>
        client.frames.some((f) => f.end === true) ||
        client.socket.readyState === client.socket.CLOSED,
    );

  /** Asserts a client got every change, in order, seq 1..total with its stable id, then the end. */
  async function expectEverything(client: TestClient, ids: readonly string[]) {
    await streamOver(client);
    expect(seqs(client.data())).toEqual(range(1, total));
    expect(client.data().map((f) => (f.data as LiveOrder).id)).toEqual(ids);
    expect(client.frames.at(-1)).toEqual({ stream: 'orders.live', end: true });
  }

  it("'dropOldest': the healthy clients get every seq; the stalled one sees gaps once resumed", async () => {
    const { ids, of, stalled, healthy } = await stalledSetup('dropOldest');
    for (const client of healthy) await streamOver(client);
    expect([of('drop', 2), of('drop', 3)]).toEqual([[], []]); // the healthy ones lost nothing
    for (const client of healthy) await expectEverything(client, ids);

    const drops = of('drop', 1) as Extract<WebSocketSinkEvent, { type: 'drop' }>[];
    expect(drops.length).toBeGreaterThan(0);
    expect(Math.max(...drops.map((e) => e.depth))).toBeLessThanOrEqual(clientQueue + 1);

    stalled.resume();
    await stalled.frame((f) => f.end === true);
    const got = seqs(stalled.data());
    expect(got.every((seq, i) => i === 0 || seq > got[i - 1]!)).toBe(true);
    expect(got.some((seq, i) => i > 0 && seq > got[i - 1]! + 1)).toBe(true); // a visible gap
    expect(got.length + drops.length).toBe(total);
    const dropped = new Set(drops.map((e) => e.seq));
    expect(got.filter((seq) => dropped.has(seq))).toEqual([]);
    // seq n is the n-th change: the client can tell which rows it missed.
    expect(stalled.data().every((f) => (f.data as LiveOrder).id === ids[f.seq! - 1])).toBe(true);
  }, 15_000);

  it("'disconnect': the stalled client is closed with 1013; the healthy ones get everything", async () => {
    const { ids, events, of, stalled, healthy } = await stalledSetup('disconnect');
    await until(() => of('slowClient', 1).length > 0);
    stalled.resume(); // it catches up with what the kernel holds and reads the close frame
    expect(await stalled.closed).toBe(1013);
    for (const client of healthy) await streamOver(client);
    expect([of('slowClient', 2), of('slowClient', 3)]).toEqual([[], []]); // nor disconnected
    for (const client of healthy) await expectEverything(client, ids);

    await until(() => of('disconnect', 1).length > 0);
    expect(of('disconnect', 1)[0]).toMatchObject({ reason: 'slow', code: 1013 });
    expect(of('terminate', 1)).toEqual([]); // closed within closeGraceMs, not terminated
    expect(events.filter((e) => e.type === 'slowClient' || e.type === 'disconnect')).toHaveLength(
      2,
    );
    expect(stalled.data().length).toBeLessThan(total);
  }, 15_000);

  it("'block': the stalled client paces the feed; once it resumes nobody has lost anything", async () => {
    const { ids, pulls, of, stalled, healthy } = await stalledSetup('block');
    const pulled = await settled(() => pulls.count);
    expect(pulled).toBeLessThan(total); // held back by the stalled client
    // Pulled from the feed no further than the stalled client's queue (+1 in hand) beyond what
    // the sink had sent it.
    expect(pulled - of('sent', 1).length).toBeLessThanOrEqual(clientQueue + 1);
    for (const client of healthy) expect(client.data().length).toBeLessThanOrEqual(pulled);

    stalled.resume();
    for (const client of [stalled, ...healthy]) await expectEverything(client, ids);
    expect(of('drop', 1)).toEqual([]);
  }, 15_000);
});
