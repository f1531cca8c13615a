/**
 * The integrations' performance (issue 7, Performance): change-feed throughput and commit →
 * delivery latency on PGlite (and on PostgreSQL when `DATABASE_URL` is set), WebSocket fan-out to
 * 10 local clients with and without a stalled one, and file-export throughput. All three are
 * reports: measured once, in a fresh process, on real databases, sockets and files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
import { exportToFile } from '../../src/integrations/file/index.js';
import {
  changeFeed,
  connect,
  installOutbox,
  publish,
  uninstallOutbox,
  type ChangeFeedEvent,
  type Database,
} from '../../src/integrations/postgres/index.js';
import { serveWebSocket, type SlowClientPolicy } from '../../src/integrations/websocket/index.js';
import type { Report, ReportCase, ReportRow, SuiteCase } from '../harness.js';
import {
  BenchClient,
  count,
  MB,
  megabytes,
  memoryAfterGc,
  percentile,
  perSecond,
  within,
  type Memory,
} from './integrationFixtures.js';

// ---------------------------------------------------------------------------------------------
// Change feed: throughput to a no-op consumer, and commit → delivery latency

/** Rows per INSERT … SELECT generate_series (one transaction, one txid each) when pre-filling. */
const FILL_CHUNK = 1000;

/** What one database measured. */
interface FeedFigures {
  readonly rows: number;
  readonly fillMs: number;
  readonly readMs: number;
  readonly latencies: readonly number[];
  readonly notifyWakes: number;
  readonly pollWakes: number;
}

/** Fills the outbox with `rows` order rows, FILL_CHUNK per transaction. */
async function fillOutbox(db: Database, table: string, rows: number): Promise<void> {
  for (let from = 1; from <= rows; from += FILL_CHUNK) {
    await db.query(
      `INSERT INTO ${table} (topic, op, payload)
SELECT 'orders', 'insert', jsonb_build_object('id', g, 'customer', 'c' || (g % 100), 'total', (g % 1000) * 1.5, 'status', 'paid')
FROM generate_series($1::int, $2::int) AS g`,
      [from, Math.min(rows, from + FILL_CHUNK - 1)],
    );
  }
}

/** Resolves on the next of `events` matching `match`. */
function nextEvent(
  events: Observable<ChangeFeedEvent>,
  match: (event: ChangeFeedEvent) => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    const subscription = events.subscribe((event) => {
      if (!match(event)) return;
      queueMicrotask(() => subscription.unsubscribe());
      resolve();
    });
  });
}

/**
 * Pre-fills the outbox, times a `changeFeed` read to the end by a no-op `for await`, then
 * measures commit → delivery latency with the consumer waiting at the head.
 */
async function measureFeed(db: Database, rows: number, samples: number): Promise<FeedFigures> {
  const table = `bench_outbox_${process.pid}`;
  await uninstallOutbox(db, { table });
  await installOutbox(db, { table });
  try {
    const fillStarted = performance.now();
    await fillOutbox(db, table, rows);
    const fillMs = performance.now() - fillStarted;

    const feed = changeFeed(db, { consumer: 'throughput', table, pageSize: 1000, ack: 'onPull' });
    let read = 0;
    const readStarted = performance.now();
    for await (const _item of feed) if (++read >= rows) break; // break writes the cursor
    const readMs = performance.now() - readStarted;
    if (read !== rows) throw new Error(`The change feed delivered ${read} of ${rows} rows.`);

    // The latency consumer starts at the head: its cursor is set to the last row.
    await db.query(
      `INSERT INTO ${table}_cursors (consumer, txid, id)
SELECT 'latency', txid, id FROM ${table} ORDER BY txid DESC, id DESC LIMIT 1`,
    );
    const latencyFeed = changeFeed(db, { consumer: 'latency', table, ack: 'onPull' });
    let notifyWakes = 0;
    let pollWakes = 0;
    const wakes = latencyFeed.events.subscribe((event) => {
      if (event.type !== 'wake') return;
      if (event.reason === 'notify') notifyWakes++;
      else pollWakes++;
    });
    const latencies: number[] = [];
    let arrived: ((at: number) => void) | undefined;
    const consumer = (async () => {
      let received = 0;
      for await (const _item of latencyFeed) {
        arrived?.(performance.now());
        if (++received >= samples) break;
      }
    })();
    consumer.catch(() => undefined); // awaited below; a failure then also times out the writer
    try {
      for (let i = 0; i < samples; i++) {
        // An empty page means the consumer has caught up and is about to wait for a wake-up.
        await within(
          nextEvent(latencyFeed.events, (e) => e.type === 'page' && e.rows === 0),
          5000,
          'the latency consumer to reach the head',
        );
        const delivery = new Promise<number>((resolve) => (arrived = resolve));
        const committing = performance.now();
        await publish(db, 'latency', { sample: i }, { table });
        latencies.push((await within(delivery, 5000, `latency sample ${i}`)) - committing);
      }
      await consumer;
    } finally {
      wakes.unsubscribe();
      await latencyFeed.close();
    }
    return { rows, fillMs, readMs, latencies, notifyWakes, pollWakes };
  } finally {
    await uninstallOutbox(db, { table });
  }
}

function feedRow(label: string, figures: FeedFigures): ReportRow {
  const { rows, readMs, latencies } = figures;
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const max = Math.max(...latencies);
  const rate = (rows * 1000) / readMs;
  return {
    cells: [
      label,
      count(rows),
      readMs.toFixed(0),
      perSecond(rate),
      p50.toFixed(2),
      p99.toFixed(2),
      max.toFixed(2),
      `${latencies.length} (${figures.notifyWakes} notify, ${figures.pollWakes} poll)`,
    ],
    data: {
      database: label,
      rows,
      fillMs: figures.fillMs,
      readMs,
      rowsPerSecond: rate,
      latencyP50Ms: p50,
      latencyP99Ms: p99,
      latencyMaxMs: max,
      samples: latencies.length,
      notifyWakes: figures.notifyWakes,
      pollWakes: figures.pollWakes,
    },
  };
}

async function serverVersion(db: Database): Promise<string> {
  const [row] = await db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
  return row?.v.split(' ')[0] ?? '?';
}

const changeFeedReport: ReportCase = {
  kind: 'report',
  name: 'integration-change-feed',
  title:
    'change feed (outbox): rows/s to a no-op for-await consumer, pages of 1,000; commit → delivery latency with NOTIFY wake-up',
  async run({ quick }): Promise<Report> {
    const rows = quick ? 5_000 : 100_000;
    const samples = quick ? 50 : 500;
    const result: ReportRow[] = [];

    const pglite = await connect({ dataDir: 'memory://' });
    try {
      const version = await serverVersion(pglite);
      result.push(
        feedRow(
          `PGlite (PostgreSQL ${version}, in memory)`,
          await measureFeed(pglite, rows, samples),
        ),
      );
    } finally {
      await pglite.close();
    }

    const url = process.env['DATABASE_URL'];
    if (url !== undefined && url !== '') {
      const server = await connect({ url });
      try {
        const version = await serverVersion(server);
        result.push(
          feedRow(`PostgreSQL ${version} (pg)`, await measureFeed(server, rows, samples)),
        );
      } finally {
        await server.close();
      }
    } else {
      result.push({
        cells: ['PostgreSQL: skipped, DATABASE_URL not set', '—', '—', '—', '—', '—', '—', '—'],
        data: { database: 'PostgreSQL', skipped: true },
      });
    }

    return {
      columns: [
        'database',
        'rows',
        'read ms',
        'rows/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'samples (wake-ups)',
      ],
      rows: result,
      notes: [
        `rows/s: the outbox pre-filled with ${count(rows)} order rows (INSERT … SELECT generate_series, ${count(FILL_CHUNK)} rows per transaction), then read from the start by changeFeed({ pageSize: 1000, ack: 'onPull' }) and a for-await loop doing nothing with each item, until the last row; includes the cursor writes (default ackBatchSize 100) and the final one at break.`,
        `p50/p99/max: commit → delivery latency over ${samples} samples = performance.now() when the consumer's for-await receives the row − performance.now() just before publish() (one INSERT, autocommit); each row is committed only once the consumer has caught up and read an empty page, i.e. it waits at the head for the NOTIFY wake-up (poll floor 1,000 ms). wake-ups: how the waiting consumer was woken. Percentiles are nearest-rank: with 50 samples (quick) p99 is the maximum.`,
        'PGlite: one in-memory instance for the whole case (start-up not timed). PostgreSQL: run only when DATABASE_URL is set (pg Pool for queries, a dedicated LISTEN connection); a table bench_outbox_<pid> is created and dropped.',
      ],
    };
  },
};

// ---------------------------------------------------------------------------------------------
// WebSocket fan-out: 10 local clients, all healthy or one stalled

const CLIENTS = 10;
const STREAM = 'orders';

/**
 * ~2 KB per message (an order with a long description). A paused client on loopback absorbs
 * about 5 MB (kernel buffers, then the sink's 1 MiB bufferedAmount) before its queue fills: with
 * 2 KB frames that happens within the first half of even the quick run.
 */
const DESCRIPTION = 'x'.repeat(1900);

/** The fast source: `n` order-like items, released once every client has subscribed. */
async function* orders(n: number, gate: Promise<void>): AsyncGenerator<object> {
  await gate;
  for (let id = 1; id <= n; id++) {
    yield { id, customer: `c${id % 100}`, total: id % 1000, description: DESCRIPTION };
  }
}

interface FanoutRun {
  readonly policy: SlowClientPolicy;
  readonly stalled: boolean;
  readonly messages: number;
  /** Per client (index 0 is the stalled one in a stalled run): messages/s over the whole run. */
  readonly rates: readonly number[];
  /** The same, leaving out each client's longest pause between two frames. */
  readonly steadyRates: readonly number[];
  readonly totalRate: number;
  readonly longestPauseMs: number;
  readonly healthyGotAll: boolean;
  readonly before: Memory;
  /** Three quarters through the run. */
  readonly late: Memory;
  readonly end: Memory;
  readonly stalledReceived: number;
  readonly stalledGaps: number;
  readonly stalledClose: number | null;
}

async function fanout(
  policy: SlowClientPolicy,
  stalled: boolean,
  messages: number,
): Promise<FanoutRun> {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const sink = await serveWebSocket({
    streams: { [STREAM]: () => orders(messages, gate) },
    policy,
  });
  const clients: BenchClient[] = [];
  try {
    // Let the previous run's sockets finish closing.
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let i = 0; i < CLIENTS; i++) {
      const stall = stalled && i === 0;
      clients.push(await BenchClient.open(sink.url, STREAM, { stall, trackSeq: stall }));
    }
    await within(Promise.all(clients.map((c) => c.subscribed)), 5000, 'the subscriptions');
    const healthy = stalled ? clients.slice(1) : clients;
    // Three quarters in, a stalled client has long been left behind (see DESCRIPTION).
    let late: Memory | undefined;
    const lateAt = Math.floor(messages * 0.75);
    clients[1]!.onData = (client) => {
      if (client.received === lateAt) late = memoryAfterGc();
    };
    const before = memoryAfterGc();
    const started = performance.now();
    open();
    await within(
      Promise.all(healthy.map((c) => c.ended)),
      60_000,
      'the healthy clients to receive every message',
    );
    const ends = await Promise.all(clients.map((c) => (healthy.includes(c) ? c.ended : NaN)));
    const end = memoryAfterGc();
    const rates = clients.map((c, i) => (c.received * 1000) / (ends[i]! - started));
    const steadyRates = clients.map(
      (c, i) => (c.received * 1000) / (ends[i]! - started - c.longestPause),
    );
    const last = Math.max(...ends.filter((at) => !Number.isNaN(at)));
    const run = {
      policy,
      stalled,
      messages,
      rates,
      steadyRates,
      totalRate: (healthy.reduce((sum, c) => sum + c.received, 0) * 1000) / (last - started),
      longestPauseMs: Math.max(...healthy.map((c) => c.longestPause)),
      healthyGotAll: healthy.every((c) => c.received === messages),
      before,
      late: late ?? end,
      end,
    };
    if (!stalled) return { ...run, stalledReceived: 0, stalledGaps: 0, stalledClose: null };
    // Let the stalled client read again: it gets what the kernel and its queue still hold. A
    // client that never filled its queue would get the end frame under either policy.
    const slow = clients[0]!;
    slow.resume();
    const close = await within(
      Promise.race([slow.ended.then(() => null), slow.closed]),
      10_000,
      'the stalled client to catch up',
    );
    return { ...run, stalledReceived: slow.received, stalledGaps: slow.gaps, stalledClose: close };
  } finally {
    for (const client of clients) client.terminate();
    await sink.close();
  }
}

/** Mean over clients 2–10, the clients that are healthy in both runs. */
const meanOfHealthy = (rates: readonly number[]): number =>
  rates.slice(1).reduce((a, b) => a + b, 0) / (rates.length - 1);

/**
 * A row of the fan-out table; a stalled run is compared with the mean of the all-healthy runs just
 * before and after it (`around`), which cancels a drift of the machine's speed.
 */
function fanoutRow(run: FanoutRun, around: readonly FanoutRun[] = []): ReportRow {
  const perClient = meanOfHealthy(run.rates);
  const mean = (pick: (r: FanoutRun) => number): number =>
    around.reduce((sum, r) => sum + pick(r), 0) / around.length;
  const ratio = around.length > 0 ? perClient / mean((r) => meanOfHealthy(r.rates)) : undefined;
  const steadyRatio =
    around.length > 0
      ? meanOfHealthy(run.steadyRates) / mean((r) => meanOfHealthy(r.steadyRates))
      : undefined;
  const stalledCell = !run.stalled
    ? '—'
    : run.stalledClose !== null
      ? `closed ${run.stalledClose} after ${count(run.stalledReceived)}`
      : `got ${count(run.stalledReceived)}, ${count(run.stalledGaps)} dropped`;
  const heap = `${megabytes(run.end.heap - run.before.heap)} (${megabytes(run.end.heap - run.late.heap)})`;
  return {
    cells: [
      run.policy,
      run.stalled ? `9 + 1 stalled` : `${CLIENTS} healthy`,
      count(run.messages),
      perSecond(perClient),
      perSecond(run.totalRate),
      ratio === undefined ? '—' : `${ratio.toFixed(2)}×`,
      steadyRatio === undefined ? '—' : `${steadyRatio.toFixed(2)}×`,
      run.longestPauseMs.toFixed(0),
      run.healthyGotAll ? 'yes' : 'NO',
      stalledCell,
      heap,
      megabytes(run.end.external - run.before.external),
      megabytes(run.end.rss - run.before.rss),
    ],
    data: {
      policy: run.policy,
      stalledClient: run.stalled,
      messagesPerClient: run.messages,
      perClientMessagesPerSecond: perClient,
      perClientSteadyMessagesPerSecond: meanOfHealthy(run.steadyRates),
      totalMessagesPerSecond: run.totalRate,
      rateVsHealthyRuns: ratio ?? null,
      steadyRateVsHealthyRuns: steadyRatio ?? null,
      longestPauseMs: run.longestPauseMs,
      healthyClientsGotAll: run.healthyGotAll,
      stalledReceived: run.stalled ? run.stalledReceived : null,
      stalledGaps: run.stalled ? run.stalledGaps : null,
      stalledCloseCode: run.stalledClose,
      heapBeforeBytes: run.before.heap,
      heapThreeQuartersBytes: run.late.heap,
      heapEndBytes: run.end.heap,
      externalBeforeBytes: run.before.external,
      externalEndBytes: run.end.external,
      rssBeforeBytes: run.before.rss,
      rssEndBytes: run.end.rss,
    },
  };
}

const websocketFanoutReport: ReportCase = {
  kind: 'report',
  name: 'integration-websocket-fanout',
  title: `serveWebSocket: one fast source fanned out to ${CLIENTS} local ws clients, all healthy vs one stalled`,
  async run({ quick }): Promise<Report> {
    const messages = quick ? 5_000 : 30_000;
    const load = os.loadavg()[0]!;
    // Warm-up, not reported (exercises the drop path too): after a short healthy one, the first
    // measured run still came out up to 1.5× slower than the later healthy runs.
    await fanout('dropOldest', true, 5_000);
    // Healthy, stalled, healthy, stalled, healthy: each stalled run between two healthy ones.
    const healthy1 = await fanout('dropOldest', false, messages);
    const dropOldest = await fanout('dropOldest', true, messages);
    const healthy2 = await fanout('disconnect', false, messages);
    const disconnect = await fanout('disconnect', true, messages);
    const healthy3 = await fanout('dropOldest', false, messages);
    const rows = [
      fanoutRow(healthy1),
      fanoutRow(dropOldest, [healthy1, healthy2]),
      fanoutRow(healthy2),
      fanoutRow(disconnect, [healthy2, healthy3]),
      fanoutRow(healthy3),
    ];
    return {
      columns: [
        'policy',
        'clients',
        'msgs/client',
        'msg/s per client',
        'msg/s total',
        'vs healthy',
        'steady vs healthy',
        'longest pause ms',
        'all received',
        'stalled client',
        'heap Δ MB (¾→end)',
        'external Δ MB',
        'RSS Δ MB',
      ],
      rows,
      notes: [
        `Source: an async* of ${count(messages)} items of ~2 KB JSON, shared by all clients (one upstream pull). Sink defaults: clientQueue 1000, maxBufferedBytes 1 MiB, stallMs 200, closeGraceMs 1000, no compression. Clients: ws in the same process as the sink, counting frames without parsing them; ${os.cpus().length} cores, load average ${load.toFixed(1)} at the start (other processes skew the rates).`,
        'stalled: client 1 stops reading its TCP socket (net.Socket pause()) once subscribed; its kernel buffers fill (~5 MB on loopback), then its queue, then the sink treats it as stalled and goes on without it.',
        "msg/s per client: mean over clients 2–10 (healthy in both runs) of frames ÷ time from the release of the source to that client's end frame; total: the healthy clients' frames ÷ time to the last end frame.",
        "vs healthy: per-client msg/s of the stalled run ÷ the mean of the all-healthy runs just before and after it (1.00× = unaffected; lone healthy runs vary by ±25 % on this machine, and no policy applies to them); steady: the same leaving out each client's longest pause, which in a stalled run is the one-time wait of stallMs before the sink goes on without the stalled client. longest pause: the longest gap between two frames at a healthy client. all received: every healthy client got every message.",
        'stalled client: after the run it reads again; dropOldest: what it then received and the seq gaps (frames dropped for it); disconnect: its close code (1013 = too slow; 1006 = terminated after closeGraceMs) and the frames read before.',
        'heap Δ: heapUsed after gc() once the healthy clients have finished (the stalled client still connected and not reading) − before the source started; in brackets, from three quarters through to the end (flat: a stalled client costs a bounded queue, not memory per message). Expected bound for the stalled client: clientQueue × ~2 KB ≈ 2 MB of heap plus up to maxBufferedBytes (1 MiB) of Buffers. external (Buffers) and RSS likewise, start → end.',
      ],
    };
  },
};

// ---------------------------------------------------------------------------------------------
// File export: rows/s for NDJSON and CSV, and heap growth

interface ExportRow {
  readonly id: number;
  readonly customer: string;
  readonly total: number;
  readonly status: string;
  readonly note: string;
}

/** Order rows; every tenth note has a comma and quotes, so CSV quoting is exercised. */
async function* exportRows(n: number, onRow?: (id: number) => void): AsyncGenerator<ExportRow> {
  for (let id = 1; id <= n; id++) {
    onRow?.(id);
    yield {
      id,
      customer: `c${id % 100}`,
      total: (id % 1000) * 1.5,
      status: id % 3 === 0 ? 'shipped' : 'paid',
      note: id % 10 === 0 ? 'size "L", gift wrap' : 'standard',
    };
  }
}

const fileExportReport: ReportCase = {
  kind: 'report',
  name: 'integration-file-export',
  title: 'exportToFile: rows/s to NDJSON and CSV (atomic: temp file, fsync, rename), heap growth',
  async run({ quick }): Promise<Report> {
    const n = quick ? 20_000 : 200_000;
    const dir = await mkdtemp(join(tmpdir(), 'fs-mediator-bench-export-'));
    const rows: ReportRow[] = [];
    try {
      await exportToFile(exportRows(1000), { path: join(dir, 'warm.ndjson'), format: 'ndjson' });
      await exportToFile(exportRows(1000), { path: join(dir, 'warm.csv'), format: 'csv' });
      for (const format of ['ndjson', 'csv'] as const) {
        // Timed run: nothing else in the loop.
        const timed = await exportToFile(exportRows(n), {
          path: join(dir, `timed.${format}`),
          format,
        });
        // Memory run: the source forces a GC and reads the heap every tenth of the rows.
        const before = memoryAfterGc();
        let peak = before.heap;
        const sampleEvery = Math.max(1, Math.floor(n / 10));
        const sampled = await exportToFile(
          exportRows(n, (id) => {
            if (id % sampleEvery === 0) peak = Math.max(peak, memoryAfterGc().heap);
          }),
          { path: join(dir, `memory.${format}`), format },
        );
        const after = memoryAfterGc();
        if (timed.rows !== n || sampled.rows !== n) {
          throw new Error(`exportToFile wrote ${timed.rows} and ${sampled.rows} rows of ${n}.`);
        }
        const rate = (n * 1000) / timed.durationMs;
        rows.push({
          cells: [
            format,
            count(n),
            (timed.bytes / MB).toFixed(1),
            timed.durationMs.toFixed(0),
            perSecond(rate),
            ((timed.bytes / MB / timed.durationMs) * 1000).toFixed(1),
            megabytes(peak - before.heap),
            megabytes(after.heap - before.heap),
          ],
          data: {
            format,
            rows: n,
            bytes: timed.bytes,
            durationMs: timed.durationMs,
            rowsPerSecond: rate,
            heapBeforeBytes: before.heap,
            heapPeakBytes: peak,
            heapAfterBytes: after.heap,
          },
        });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return {
      columns: [
        'format',
        'rows',
        'MB',
        'ms',
        'rows/s',
        'MB/s',
        'heap peak Δ MB',
        'heap after Δ MB',
      ],
      rows,
      notes: [
        `Source: an async* of ${count(n)} order rows (5 fields; every tenth note needs CSV quoting). exportToFile defaults: highWaterMark 16, fsync true; CSV through csv-stringify with a header row. Written to a temp dir on the local disk, removed afterwards.`,
        "ms and rows/s: the result's durationMs (open, write through pipeline, fsync, rename, fsync of the directory) of a run with nothing else in the loop.",
        'heap peak Δ: a second run whose source forces a gc() and reads heapUsed every tenth of the rows, peak − before; after Δ: heapUsed after gc() once the export has finished − before. Flat = independent of the row count.',
      ],
    };
  },
};

/**
 * The integration reports of issue 7 (register in run.ts's SUITE).
 *
 * @example
 * ```ts
 * const SUITE: readonly SuiteCase[] = [...dispatchCases, ...integrationCases];
 * ```
 */
export const integrationCases: readonly SuiteCase[] = [
  changeFeedReport,
  websocketFanoutReport,
  fileExportReport,
];
