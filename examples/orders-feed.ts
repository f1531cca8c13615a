/**
 * fs-mediator orders feed (`npm start`): the integration diagram of the original spec, end to
 * end, on an embedded database — no server to install.
 *
 * ```text
 *  writer ─INSERT─▶ orders ─trigger─▶ outbox ─changeFeed (pages, on pull)─▶ 'orders.changes'
 *     ─▶ batch(100 | 100 ms) ─▶ parallel(send(EnrichOrders), 4) ─┬─▶ NDJSON export segments
 *                                                                 │   (each finished atomically,
 *                                                                 │    then the feed is acked)
 *                                                                 └─▶ WebSocket /live (live view)
 *  /metrics (Prometheus), /health, a live page at /, a progress line
 * ```
 *
 * - **Database**: PGlite (PostgreSQL in WASM) with its data in `--data-dir`, or a real PostgreSQL
 *   when `DATABASE_URL` is set. Everything lives in the schema `fs_mediator_demo`.
 * - **Writer**: inserts orders at `--rate` a second, in one transaction per 100 ms.
 * - **Change feed**: the consumer `orders-export` reads the outbox in `(txid, id)` order, a page
 *   at a time when the pipeline pulls, woken by NOTIFY.
 * - **Export**: segments `orders-000001.ndjson`, … of up to 10,000 rows or 5 s each. A segment is
 *   written to `<name>.partial`, fsynced and renamed; only then is the feed acknowledged up to its
 *   last row. Kill the job (even `kill -9`) and start it again: the feed redelivers from the last
 *   finished segment and the export resumes the partial segment, skipping the rows it already
 *   holds — no row is lost, none is written twice.
 * - **WebSocket**: `/live` serves the stream `orders` to any number of clients; a slow client
 *   loses frames (`dropOldest`, counted, visible as `seq` gaps) and never slows the export.
 *
 * ```text
 * tsx examples/orders-feed.ts [--items N] [--duration S] [--rate R] [--port P] [--data-dir DIR]
 * ```
 *
 * {@link runOrdersFeed} is the job itself, so spec/e2e/orders-feed.spec.ts runs the same code.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Subject } from 'rxjs';
import {
  batch,
  createMediator,
  handler,
  HealthPresets,
  instrument,
  isAbortError,
  parallel,
  Query,
  retry,
  StreamMonitor,
  StreamRequest,
  streamHealth,
  timeout,
  type HealthStatus,
} from 'fs-mediator';
import { exportToFile, type FileExportEvent } from 'fs-mediator/file';
import {
  changeFeed,
  changePosition,
  compareChangePositions,
  connect,
  installOutbox,
  watchTable,
  type ChangeFeed,
  type ChangeFeedEvent,
  type ChangeItem,
  type Database,
} from 'fs-mediator/postgres';
import { metricsHandler, prometheusMetrics } from 'fs-mediator/prometheus';
import { serveWebSocket } from 'fs-mediator/websocket';
import { isMain, positiveSeconds, runJobCli, UsageError, wholeNumber } from './support/cli.js';
import {
  count,
  ProgressLine,
  RateWindow,
  seconds,
  stopConditions,
  type Output,
} from './support/terminal.js';
import { LIVE_PAGE } from './support/livePage.js';

export { UsageError };

// ---------------------------------------------------------------------------------------------
// The schema, the messages and the handlers

const SCHEMA = 'fs_mediator_demo';
const CONSUMER = 'orders-export';
const BATCH_SIZE = 100;
const BATCH_WAIT_MS = 100;
const CONCURRENCY = 4;
const SEGMENT_ROWS = 10_000;
const SEGMENT_MS = 5_000;
const WRITES_PER_SECOND = 10;

/** An order row as the capture trigger writes it to the outbox (`to_jsonb(NEW)`). */
export interface OrderRow {
  readonly id: number;
  readonly customer: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unit_price: number;
  readonly region: 'eu' | 'us' | 'apac';
  readonly created_at: string;
}

/** What the job exports and serves: the change, priced and enriched. */
export interface EnrichedOrder {
  /** The change's position in the feed (`txid/id`): the export's resume key. */
  readonly position: string;
  /** The outbox row id: stable across redeliveries, for idempotent readers. */
  readonly changeId: string;
  readonly op: string;
  readonly orderId: number;
  readonly customer: string;
  readonly tier: 'bronze' | 'silver' | 'gold';
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly region: string;
  /** Price with the region's tax and the tier's discount. */
  readonly total: number;
  readonly committedAt: string;
}

/** Streams the changes of `orders` for a named consumer (the change feed). */
export class OrderChanges extends StreamRequest<ChangeItem<OrderRow>> {
  static readonly messageName = 'orders.changes';
  constructor(readonly consumer: string) {
    super();
  }
}

/** Enriches a batch of changes (the simulated customer and tax lookups). */
export class EnrichOrders extends Query<EnrichedOrder[]> {
  static readonly messageName = 'orders.enrich';
  constructor(readonly changes: readonly ChangeItem<OrderRow>[]) {
    super();
  }
}

const TAX: Record<string, number> = { eu: 0.2, us: 0.08, apac: 0.1 };
const TIERS = ['bronze', 'silver', 'gold'] as const;
const DISCOUNT: Record<EnrichedOrder['tier'], number> = { bronze: 0, silver: 0.05, gold: 0.1 };

function enrich(change: ChangeItem<OrderRow>): EnrichedOrder {
  const row = change.payload;
  const tier = TIERS[Number(row.customer.slice(2)) % TIERS.length]!;
  const gross = row.quantity * row.unit_price * (1 + (TAX[row.region] ?? 0));
  return {
    position: changePosition(change),
    changeId: change.id,
    op: change.op,
    orderId: Number(row.id),
    customer: row.customer,
    tier,
    sku: row.sku,
    quantity: row.quantity,
    unitPrice: row.unit_price,
    region: row.region,
    total: Math.round(gross * (1 - DISCOUNT[tier]) * 100) / 100,
    committedAt: change.createdAt.toISOString(),
  };
}

/** Creates the demo schema, the orders table, the outbox and its trigger. Idempotent. */
export async function setUpSchema(db: Database): Promise<void> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA}.orders (
  id bigserial PRIMARY KEY,
  customer text NOT NULL,
  sku text NOT NULL,
  quantity int NOT NULL,
  unit_price numeric(10, 2) NOT NULL,
  region text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)`);
  await installOutbox(db, { schema: SCHEMA });
  await watchTable(db, `${SCHEMA}.orders`, { schema: SCHEMA, topic: 'orders' });
}

/** Inserts `n` random orders in one statement (one transaction). */
async function insertOrders(db: Database, n: number): Promise<void> {
  await db.query(
    `INSERT INTO ${SCHEMA}.orders (customer, sku, quantity, unit_price, region)
SELECT 'c-' || (random() * 999)::int,
       (ARRAY['book','pen','lamp','desk','chair','mug','cable','phone'])[1 + floor(random() * 8)::int],
       1 + floor(random() * 5)::int,
       round((5 + random() * 95)::numeric, 2),
       (ARRAY['eu','us','apac'])[1 + floor(random() * 3)::int]
FROM generate_series(1, $1::int)`,
    [n],
  );
}

/** Writes `limit` orders (or forever) at `rate` a second until `signal` aborts. */
async function writeOrders(
  db: Database,
  rate: number,
  limit: number,
  signal: AbortSignal,
  onWritten: (n: number) => void,
): Promise<void> {
  let written = 0;
  let owed = 0;
  const startedAt = performance.now();
  for (let tick = 1; written < limit && !signal.aborted; tick++) {
    owed += rate / WRITES_PER_SECOND;
    const n = Math.min(Math.floor(owed), limit - written);
    if (n > 0) {
      await insertOrders(db, n);
      owed -= n;
      written += n;
      onWritten(n);
    }
    // Keep the pace from the start, not from the last write: slow inserts do not lower the rate.
    const due = startedAt + (tick * 1000) / WRITES_PER_SECOND - performance.now();
    if (due > 0) await sleep(due, undefined, { signal }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Export segments

/**
 * The highest segment number in `dir`, whether it is still partial, and the position of the last
 * row of the last finished segment (`'0/0'` when there is none): every change up to it is on disk
 * under a final name, whatever the feed's cursor says (a kill between a segment's rename and its
 * acknowledgement leaves the cursor behind it).
 */
async function lastSegment(dir: string): Promise<{ n: number; partial: boolean; floor: string }> {
  let n = 0;
  let partial = false;
  let finished = 0;
  for (const name of await readdir(dir)) {
    const match = /^orders-(\d{6})\.ndjson(\.partial)?$/.exec(name);
    if (match === null) continue;
    const k = Number(match[1]);
    if (match[2] === undefined) finished = Math.max(finished, k);
    if (k > n || (k === n && match[2] !== undefined)) {
      n = k;
      partial = match[2] !== undefined;
    }
  }
  let floor = '0/0';
  if (finished > 0) {
    const lines = (await readFile(segmentPath(dir, finished), 'utf8')).trimEnd().split('\n');
    const last = lines[lines.length - 1];
    if (last) floor = (JSON.parse(last) as EnrichedOrder).position;
  }
  return { n, partial, floor };
}

function segmentPath(dir: string, n: number): string {
  return join(dir, `orders-${String(n).padStart(6, '0')}.ndjson`);
}

/**
 * Rows pulled from the enriched stream one segment at a time: `first()` then `rest()` yield up to
 * `SEGMENT_ROWS` rows or until `SEGMENT_MS` after the segment's first row, then returns without
 * ending the stream, so the next segment goes on from the same upstream.
 */
class Segmenter {
  readonly #source: AsyncIterator<EnrichedOrder[]>;
  #rows: EnrichedOrder[] = [];
  #index = 0;
  #pending: Promise<IteratorResult<EnrichedOrder[]>> | undefined;
  #done = false;
  /** The position of the last row handed out. */
  lastPosition = '0/0';
  /**
   * Rows at or before this position are in a finished segment already: they are dropped (and
   * `onSkipped` is told, so the feed may pass them) rather than written again.
   */
  floor = '0/0';

  constructor(
    source: AsyncIterable<EnrichedOrder[]>,
    private readonly stopSignal: AbortSignal,
    private readonly onPulled: (order: EnrichedOrder) => void,
    private readonly onSkipped: (order: EnrichedOrder) => void,
  ) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** Waits for the first row of the next segment; undefined when the stream ended. */
  async first(): Promise<EnrichedOrder | undefined> {
    return this.#take(Infinity);
  }

  /** The rest of a segment begun with `first`: at most `max` rows, until `deadline`. */
  async *rest(first: EnrichedOrder, max: number, deadline: number): AsyncGenerator<EnrichedOrder> {
    yield first;
    for (let n = 1; n < max; n++) {
      const row = await this.#take(deadline);
      if (row === undefined) return;
      yield row;
    }
  }

  async close(): Promise<void> {
    this.#done = true;
    await this.#source.return?.();
  }

  /**
   * The next row after the floor, or undefined at the end of the stream or when `deadline`
   * passes first (the pull then stays pending for the next call).
   */
  async #take(deadline: number): Promise<EnrichedOrder | undefined> {
    for (;;) {
      while (this.#index >= this.#rows.length) {
        if (this.#done) return undefined;
        this.#pending ??= this.#source.next();
        const wait = deadline - performance.now();
        if (wait <= 0 && deadline !== Infinity) return undefined;
        let result: IteratorResult<EnrichedOrder[]> | undefined;
        try {
          result =
            deadline === Infinity ? await this.#pending : await raceTimer(this.#pending, wait);
        } catch (error) {
          // Stopping aborts the pull: the segment ends with what it has, and is finished.
          if (!this.stopSignal.aborted) throw error;
          this.#pending = undefined;
          this.#done = true;
          return undefined;
        }
        if (result === undefined) return undefined; // the deadline
        this.#pending = undefined;
        if (result.done === true) {
          this.#done = true;
          return undefined;
        }
        this.#rows = result.value;
        this.#index = 0;
      }
      const row = this.#rows[this.#index++]!;
      if (compareChangePositions(row.position, this.floor) <= 0) {
        this.onSkipped(row);
        continue;
      }
      this.lastPosition = row.position;
      this.onPulled(row);
      return row;
    }
  }
}

/** `promise`'s result, or undefined if `ms` pass first (the timer is cleared either way). */
async function raceTimer<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The job

/** Options of {@link runOrdersFeed}. */
export interface OrdersFeedOptions {
  /** Stop once this many changes are exported (and the writer after writing this many). Default: no limit. */
  readonly items?: number;
  /** Stop after this many ms. Default: no limit (then only `signal` stops it). */
  readonly durationMs?: number;
  /** Orders written per second. Default: 1,000. */
  readonly rate?: number;
  /** A PostgreSQL connection string; when absent, PGlite in `workDir`. Default: none. */
  readonly databaseUrl?: string;
  /** An open database to use instead (left open afterwards), e.g. an in-memory PGlite in a test. Default: none. */
  readonly database?: Database;
  /** The work directory: PGlite's data (`pglite/`) and the export segments (`export/`). Default: `<tmp>/fs-mediator-orders-feed`. */
  readonly workDir?: string;
  /** HTTP port of the page, `/live`, `/metrics` and `/health`; 0 picks a free one. Default: 9464. */
  readonly port?: number;
  /** Where the progress and the summary go. */
  readonly out: Output;
  /** Redraw one progress line in place (a terminal), or print plain periodic lines. */
  readonly isTTY: boolean;
  /** The terminal's width: a redrawn line is cut to it. Default: no limit. */
  readonly columns?: number;
  /** Stops the job early (Ctrl-C); the summary is still returned. */
  readonly signal?: AbortSignal;
  /** How often the progress is shown, in ms. Default: 250 on a terminal, 1,000 otherwise. */
  readonly progressEveryMs?: number;
  /** The simulated lookup time of one enrichment call, in ms. Default: 2. */
  readonly enrichDelayMs?: number;
}

/** What {@link runOrdersFeed} returns. */
export interface OrdersFeedSummary {
  readonly stoppedBy: 'items' | 'duration' | 'signal';
  readonly database: 'pglite' | 'pg';
  /** Orders the writer inserted in this run. */
  readonly written: number;
  /** Changes written to finished export segments (and acknowledged) in this run. */
  readonly exported: number;
  /** Rows this run appended to partial segments of an earlier run. */
  readonly resumedRows: number;
  /** The segments this run finished. */
  readonly segments: readonly string[];
  /** Frames sent to WebSocket clients, and those dropped for slow clients. */
  readonly wsSent: number;
  readonly wsDrops: number;
  readonly durationMs: number;
  /** `exported` per second over the run. */
  readonly exportedPerSecond: number;
  /** The worst stream health seen. */
  readonly worstHealth: HealthStatus;
  /** The page (`/`); `/live`, `/metrics` and `/health` are on the same server. */
  readonly url: string;
}

const SEVERITY: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/**
 * Runs the orders feed until `items` changes are exported, `durationMs` passes or `signal`
 * aborts, and returns its summary (also printed to `out`). Everything it started is stopped
 * before it returns: the writer, the feed, the sinks, the server and the database.
 *
 * @example
 * ```ts
 * const summary = await runOrdersFeed({ items: 5_000, port: 0, out: process.stdout, isTTY: false });
 * console.log(summary.segments);
 * ```
 */
export async function runOrdersFeed(options: OrdersFeedOptions): Promise<OrdersFeedSummary> {
  const { items = Infinity, durationMs = Infinity, rate = 1000, out, isTTY } = options;
  const progressEveryMs = options.progressEveryMs ?? (isTTY ? 250 : 1000);
  const enrichDelayMs = options.enrichDelayMs ?? 2;
  const workDir = options.workDir ?? join(tmpdir(), 'fs-mediator-orders-feed');
  const exportDir = join(workDir, 'export');
  await mkdir(exportDir, { recursive: true });

  const db =
    options.database ??
    (await connect(
      options.databaseUrl ? { url: options.databaseUrl } : { dataDir: join(workDir, 'pglite') },
    ));
  const teardown: (() => unknown)[] = options.database ? [] : [() => db.close()];
  const runTeardown = async (): Promise<void> => {
    for (const step of teardown.reverse()) await step();
  };
  try {
    await setUpSchema(db);
    return await runJob();
  } finally {
    await runTeardown();
  }

  async function runJob(): Promise<OrdersFeedSummary> {
    // Observability: events from every part; the adapter turns them into metrics.
    const telemetry = instrument({ progress: { everyItems: 10_000, everyMs: 1000 } });
    const monitor = new StreamMonitor();
    const retries = retry({ for: [EnrichOrders], maxAttempts: 3, delayMs: 5 });
    const deadline = timeout({ for: [EnrichOrders], ms: 2000 });
    const health = streamHealth({ instrumentation: telemetry, ...HealthPresets.RealTime });
    teardown.push(() => health.close());

    // One controller stops everything: the caller's signal, the duration, or the items.
    const stop = new AbortController();
    let stoppedBy: OrdersFeedSummary['stoppedBy'] = 'items';
    const stopBy = (reason: OrdersFeedSummary['stoppedBy']): void => {
      if (stop.signal.aborted) return;
      stoppedBy = reason;
      stop.abort();
    };

    let feed: ChangeFeed<OrderRow> | undefined;
    // The feed is opened by its handler and each export segment is a run of its own: their
    // events are forwarded to one stream each, which the metrics adapter reads.
    const feedEvents = new Subject<ChangeFeedEvent>();
    const exportEvents = new Subject<FileExportEvent>();
    const mediator = createMediator({
      handlers: [
        handler(OrderChanges, (request, { signal }) => {
          feed = changeFeed<OrderRow>(db, {
            consumer: request.consumer,
            topics: ['orders'],
            schema: SCHEMA,
            pollIntervalMs: 500,
            // After a kill -9 the dead reader's lease holds the name for up to leaseMs: wait it out.
            leaseMs: 10_000,
            whenBusy: 'wait',
            signal,
          });
          feed.events.subscribe((e) => feedEvents.next(e));
          return feed;
        }),
        handler(EnrichOrders, async (query, { signal }) => {
          await sleep(enrichDelayMs, undefined, { signal });
          return query.changes.map(enrich);
        }),
      ],
      behaviors: [telemetry, retries, deadline],
      streams: { monitor },
    });

    // The live view: every change the export pulls is offered to the WebSocket clients.
    const live = new Subject<EnrichedOrder>();
    const server = createServer();
    // Torn down in reverse: the sink closes its WebSocket clients before the server stops
    // (which waits for every socket, upgraded ones included).
    teardown.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const sink = await serveWebSocket({
      server,
      path: '/live',
      streams: { orders: () => live.asObservable() },
      policy: 'dropOldest',
      name: 'orders-live',
    });
    teardown.push(() => sink.close());
    const metrics = prometheusMetrics({
      instrumentation: telemetry,
      policies: [retries, deadline],
      monitors: [monitor],
      health,
      sinks: [sink, { name: 'orders-export', events: exportEvents }, { events: feedEvents }],
    });
    teardown.push(() => metrics.close());
    const serveMetrics = metricsHandler(metrics.registry);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path === '/metrics') serveMetrics(req, res);
      else if (path === '/health') {
        const report = health.check();
        res.writeHead(report.status === 'unhealthy' ? 503 : 200, {
          'content-type': 'application/json',
        });
        res.end(JSON.stringify(report));
      } else if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(LIVE_PAGE);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('Not Found\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 9464, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    // What the progress line and the summary read.
    let written = 0;
    let pulled = 0;
    let exported = 0;
    let resumedRows = 0;
    let wsSent = 0;
    let wsDrops = 0;
    let worst: HealthStatus = 'healthy';
    const segments: string[] = [];
    const sinkEvents = sink.events.subscribe((e) => {
      if (e.type === 'sent') wsSent++;
      else if (e.type === 'drop') wsDrops++;
    });
    teardown.push(() => sinkEvents.unsubscribe());

    const onAbort = (): void => stopBy('signal');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    teardown.push(() => options.signal?.removeEventListener('abort', onAbort));
    const durationTimer =
      durationMs === Infinity ? undefined : setTimeout(() => stopBy('duration'), durationMs);
    teardown.push(() => clearTimeout(durationTimer));

    const startedAt = performance.now();
    const line = new ProgressLine(out, isTTY, options.columns);
    const rateWindow = new RateWindow(2000, startedAt);
    const tick = (): void => {
      const status = health.check().status;
      if (SEVERITY[status] > SEVERITY[worst]) worst = status;
      const now = performance.now();
      line.show(
        [
          seconds(now - startedAt).padStart(6),
          `written ${count(written)}`,
          `exported ${count(exported)}`,
          `${count(rateWindow.add(now, exported)).padStart(6)}/s`,
          `in flight ${count(pulled - exported)}`,
          `ws clients ${sink.clients}`,
          `sent ${count(wsSent)}`,
          `dropped ${count(wsDrops)}`,
          status,
        ].join('  '),
      );
    };
    out.write(
      [
        'fs-mediator orders feed',
        `  database   ${db.kind === 'pg' ? 'PostgreSQL' : options.database ? 'PGlite' : `PGlite in ${join(workDir, 'pglite')}`}`,
        `  writer     ${count(rate)} orders/s → ${SCHEMA}.orders → outbox (trigger)`,
        `  pipeline   changeFeed('${CONSUMER}') → batch(${BATCH_SIZE} | ${BATCH_WAIT_MS} ms) → parallel(enrich, ${CONCURRENCY})`,
        `  export     ${exportDir}/orders-NNNNNN.ndjson (segments of ${count(SEGMENT_ROWS)} rows or ${SEGMENT_MS / 1000} s; acked when finished)`,
        `  live page  ${url}   WebSocket ${url.replace(/^http/, 'ws')}live   metrics ${url}metrics`,
        `  stops      ${stopConditions(items, durationMs, 'changes')}`,
        '',
      ].join('\n'),
    );
    const progressTimer = setInterval(tick, progressEveryMs);
    teardown.push(() => clearInterval(progressTimer));

    const writer = writeOrders(db, rate, items, stop.signal, (n) => (written += n)).catch(
      (error: unknown) => {
        if (!stop.signal.aborted) throw error;
      },
    );

    const enriched = mediator
      .createStream(new OrderChanges(CONSUMER), { signal: stop.signal })
      .pipe(
        batch<ChangeItem<OrderRow>>({ size: BATCH_SIZE, maxWaitMs: BATCH_WAIT_MS }),
        parallel(
          (changes: ChangeItem<OrderRow>[], { signal }) =>
            mediator.send(new EnrichOrders(changes), { signal }),
          { concurrency: CONCURRENCY },
        ),
      );
    const ack = (position: string): void => {
      const [txid, id] = position.split('/') as [string, string];
      feed?.ack({ txid, id });
    };
    const segmenter = new Segmenter(
      enriched,
      stop.signal,
      (order) => {
        pulled++;
        live.next(order);
      },
      (order) => ack(order.position), // already in a finished segment: the feed may pass it
    );

    let failure: unknown;
    try {
      const previous = await lastSegment(exportDir);
      let n = previous.partial ? previous.n : previous.n + 1;
      segmenter.floor = previous.floor;
      while (exported < items && !stop.signal.aborted) {
        const first = await segmenter.first();
        if (first === undefined) break;
        const path = segmentPath(exportDir, n);
        const room = Math.min(SEGMENT_ROWS, items - exported);
        const run = exportToFile(segmenter.rest(first, room, performance.now() + SEGMENT_MS), {
          path,
          format: 'ndjson',
          progressEvery: 500,
          resume: { idOf: (row) => row.position, compareIds: compareChangePositions },
        });
        const forwarding = run.events.subscribe((e) => exportEvents.next(e));
        const result = await Promise.resolve(run).finally(() => forwarding.unsubscribe());
        // The segment is on disk under its final name: now the feed may pass its rows.
        const last =
          result.resumedAfter !== undefined &&
          compareChangePositions(String(result.resumedAfter), segmenter.lastPosition) > 0
            ? String(result.resumedAfter)
            : segmenter.lastPosition;
        segmenter.floor = last; // rows up to here that are still on their way are not written again
        ack(last);
        await feed?.flush();
        exported += result.rows;
        if (result.resumedAfter !== undefined) resumedRows += result.rows;
        segments.push(path);
        n++;
      }
    } catch (error) {
      if (!(stop.signal.aborted && (isAbortError(error) || error === stop.signal.reason))) {
        failure = error;
      }
    }
    const endedAt = performance.now();
    stopBy(stoppedBy);
    await segmenter.close().catch(() => undefined);
    await writer.catch((error: unknown) => {
      failure ??= error;
    });
    live.complete();
    tick();
    line.end();
    if (failure !== undefined) throw failure;

    const duration = endedAt - startedAt;
    const summary: OrdersFeedSummary = {
      stoppedBy,
      database: db.kind === 'pg' ? 'pg' : 'pglite',
      written,
      exported,
      resumedRows,
      segments,
      wsSent,
      wsDrops,
      durationMs: duration,
      exportedPerSecond: duration > 0 ? (exported * 1000) / duration : 0,
      worstHealth: worst,
      url,
    };
    out.write(formatSummary(summary));
    return summary;
  }
}

/** The summary as printed. */
export function formatSummary(s: OrdersFeedSummary): string {
  const why = { items: 'all items exported', duration: 'duration reached', signal: 'interrupted' }[
    s.stoppedBy
  ];
  return [
    `summary (${why})`,
    `  database           ${s.database === 'pg' ? 'PostgreSQL' : 'PGlite'}`,
    `  orders written     ${count(s.written)}`,
    `  changes exported   ${count(s.exported)} (${count(s.exportedPerSecond)}/s)${s.resumedRows > 0 ? `, of which ${count(s.resumedRows)} completed an interrupted segment` : ''}`,
    `  segments finished  ${s.segments.length}${s.segments.length > 0 ? ` (last: ${s.segments[s.segments.length - 1]})` : ''}`,
    `  websocket          ${count(s.wsSent)} frames sent, ${count(s.wsDrops)} dropped for slow clients`,
    `  duration           ${seconds(s.durationMs)}`,
    `  worst health       ${s.worstHealth}`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The command line

export const USAGE = `usage: tsx examples/orders-feed.ts [--items N] [--duration S] [--rate R] [--port P] [--work-dir DIR]
  --items N       stop after N changes are exported (whole number ≥ 1; env DEMO_ITEMS)
  --duration S    stop after S seconds (> 0; env DEMO_DURATION)
  --rate R        orders written per second (whole number ≥ 1; default 1000; env DEMO_RATE)
  --port P        HTTP port of the page, /live, /metrics and /health; 0 for a free one (env PORT; default 9464)
  --work-dir DIR  PGlite data and export segments (env DEMO_WORK_DIR; default <tmp>/fs-mediator-orders-feed)
  --help          show this
DATABASE_URL=postgres://… runs against that PostgreSQL instead of PGlite.
With neither --items nor --duration it runs until Ctrl-C.`;

/** What the command line asks for. */
export interface OrdersFeedArgs {
  readonly help: boolean;
  readonly items?: number;
  readonly durationMs?: number;
  readonly rate?: number;
  readonly port?: number;
  readonly workDir?: string;
  readonly databaseUrl?: string;
}

/**
 * Reads the options from `argv` (without node and the script) and `env`; the command line wins.
 * Throws a {@link UsageError} naming the bad option and value.
 *
 * @example
 * ```ts
 * parseOrdersFeedArgs(['--items', '5000'], {}); // { help: false, items: 5000 }
 * ```
 */
export function parseOrdersFeedArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): OrdersFeedArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        items: { type: 'string' },
        duration: { type: 'string' },
        rate: { type: 'string' },
        port: { type: 'string' },
        'work-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const ENV: Record<string, string> = {
    items: 'DEMO_ITEMS',
    duration: 'DEMO_DURATION',
    rate: 'DEMO_RATE',
    port: 'PORT',
    'work-dir': 'DEMO_WORK_DIR',
  };
  const pick = (name: string): [string, string] | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return [`--${name}`, flag];
    const fromEnv = env[ENV[name]!];
    return fromEnv === undefined || fromEnv.trim() === '' ? undefined : [ENV[name]!, fromEnv];
  };
  const items = pick('items');
  const duration = pick('duration');
  const rate = pick('rate');
  const port = pick('port');
  const workDir = pick('work-dir');
  const databaseUrl = env['DATABASE_URL']?.trim();
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new UsageError(
      `DATABASE_URL must start with postgres:// or postgresql://, got '${databaseUrl}'.`,
    );
  }
  const max = Number.MAX_SAFE_INTEGER;
  return {
    help: values['help'] === true,
    ...(items && { items: wholeNumber(items, 1, max, 'a whole number ≥ 1') }),
    ...(duration && { durationMs: Math.round(positiveSeconds(duration) * 1000) }),
    ...(rate && { rate: wholeNumber(rate, 1, 1_000_000, 'a whole number from 1 to 1000000') }),
    ...(port && { port: wholeNumber(port, 0, 65_535, 'a port from 0 to 65535') }),
    ...(workDir && { workDir: workDir[1] }),
    ...(databaseUrl ? { databaseUrl } : {}),
  };
}

// Run when executed, not when imported (the e2e spec imports runOrdersFeed).
if (isMain(import.meta.url)) {
  process.exitCode = await runJobCli({
    name: 'orders-feed',
    usage: USAGE,
    defaultPort: 9464,
    parse: parseOrdersFeedArgs,
    run: ({ help: _help, ...jobOptions }, io) => runOrdersFeed({ ...jobOptions, ...io }),
  });
}
