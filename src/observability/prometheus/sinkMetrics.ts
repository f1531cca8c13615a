import type { Observable, Subscription } from 'rxjs';
import type { SeriesLabels } from './CellHistogram.js';
import { HistogramCell } from './HistogramCell.js';
import type { MetricRegistrar } from './MetricRegistrar.js';

/**
 * What the adapter needs of a sink's or source's event: its `type`. The fields each type carries
 * are read where present: a WebSocket sink's (`sink`, `clientId`, `stream`, `bytes`, `depth`,
 * `lagItems`, `lagMs`, `reason`, `code`), a file export's (`path`, `rows`, `bytes`) and a change
 * feed's (`consumer`, `rows`, `durationMs`, `reason`). Other types are ignored.
 *
 * @example
 * ```ts
 * const event: SinkEventLike = { type: 'progress', path: '/tmp/orders.ndjson', rows: 1000, bytes: 51200 };
 * ```
 */
export interface SinkEventLike {
  readonly type: string;
}

/**
 * A WebSocket client as a sink's `clientsSnapshot()` describes it now (the fields the adapter
 * reads; `serveWebSocket()`'s sink gives more).
 *
 * @example
 * ```ts
 * const client: ClientSnapshotLike = { depth: 1000, bufferedAmount: 1_048_576 };
 * ```
 */
export interface ClientSnapshotLike {
  /** Frames queued for the client now. */
  readonly depth: number;
  /** Bytes its socket holds not yet written to the kernel. */
  readonly bufferedAmount: number;
}

/**
 * A sink or source as the adapter sees it: anything with `events` — `serveWebSocket()`'s sink,
 * `exportToFile()`'s run, a `changeFeed()` — and an optional `name` for the `sink` (or
 * `consumer`) label. Its events are read, and a WebSocket sink's `clientsSnapshot()` when
 * scraped; the integration modules are never loaded.
 *
 * @example
 * ```ts
 * const run = exportToFile(rows, { path: '/var/exports/orders.ndjson', format: 'ndjson' });
 * const sinks: MetricsSink[] = [wsSink, feed, { name: 'orders-export', events: run.events }];
 * ```
 */
export interface MetricsSink {
  readonly events: Observable<SinkEventLike>;
  /**
   * The `sink` label of its metrics (the `consumer` label for a change feed). Default: the
   * WebSocket sink's `name` option, the change feed's `consumer`, `'file'` for a file export
   * (never the path, which may change from run to run).
   */
  readonly name?: string | undefined;
  /**
   * The WebSocket clients connected now (`serveWebSocket()`'s sink has it). When present, the
   * client gauges (`sink_clients`, `sink_client_queue_depth_max`, `sink_queued_frames`,
   * `sink_buffered_bytes`) of this entry are read from it at scrape time rather than from the
   * depths the events last reported, which go stale when a client's queue fills and stops moving.
   */
  clientsSnapshot?(): readonly ClientSnapshotLike[];
}

/** Buckets of the sink histograms, in seconds. @internal */
export interface SinkBuckets {
  readonly sinkLag: readonly number[];
  readonly changeFeedPage: readonly number[];
}

/** Field reads on events whose shape depends on their type. */
type Fields = Readonly<Record<string, unknown>>;
const text = (value: unknown, fallback = ''): string =>
  typeof value === 'string' ? value : fallback;
const num = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : 0;

/** Items, bytes and drops of one `kind`/`sink`/`stream`. */
class Flow {
  items = 0;
  bytes = 0;
  dropped = 0;
  constructor(
    readonly kind: string,
    readonly labels: SeriesLabels,
  ) {}
}

/** A WebSocket client's last reported queue depth, lag and socket buffer. */
interface ClientState {
  depth: number;
  lagItems: number;
  bufferedAmount: number;
}

/** An entry with `clientsSnapshot()`. */
type LiveSink = MetricsSink & Required<Pick<MetricsSink, 'clientsSnapshot'>>;

/** The clients of one subscribed entry: client ids are unique within one sink only. */
interface ClientSource {
  /** As reported by the entry's events. */
  readonly clients: Map<number, ClientState>;
  /** The entry, when it has `clientsSnapshot()`: read at scrape time instead of the depths above. */
  readonly live: LiveSink | undefined;
}

/** A sink's client gauges at one scrape. */
interface ClientTotals {
  clients: number;
  depthMax: number;
  queued: number;
  lagMax: number;
  buffered: number;
}

class WebSocketSeries {
  readonly lag: HistogramCell;
  readonly disconnects = new Map<string, number>();
  readonly clientErrors = new Map<string, number>();
  readonly sources: ClientSource[] = [];
  constructor(bounds: readonly number[]) {
    this.lag = new HistogramCell(bounds);
  }

  /** Adds up the clients of every source: live ones from their snapshot, others as reported. */
  totals(): ClientTotals {
    const t: ClientTotals = { clients: 0, depthMax: 0, queued: 0, lagMax: 0, buffered: 0 };
    for (const { clients, live } of this.sources) {
      for (const c of clients.values()) t.lagMax = Math.max(t.lagMax, c.lagItems);
      const snapshot = readSnapshot(live);
      if (snapshot !== undefined) {
        t.clients += snapshot.length;
        for (const c of snapshot) add(t, num(c.depth), num(c.bufferedAmount));
      } else {
        t.clients += clients.size;
        for (const c of clients.values()) add(t, c.depth, c.bufferedAmount);
      }
    }
    return t;
  }
}

const add = (t: ClientTotals, depth: number, buffered: number): void => {
  t.depthMax = Math.max(t.depthMax, depth);
  t.queued += depth;
  t.buffered += buffered;
};

/** The entry's snapshot; undefined (falling back to events) if it throws or returns no array. */
function readSnapshot(live: LiveSink | undefined): readonly ClientSnapshotLike[] | undefined {
  if (live === undefined) return undefined;
  try {
    const snapshot = live.clientsSnapshot();
    return Array.isArray(snapshot) ? snapshot : undefined;
  } catch {
    return undefined; // a failing sink must not fail the whole scrape
  }
}

const hasSnapshot = (entry: MetricsSink): entry is LiveSink =>
  typeof (entry as { clientsSnapshot?: unknown }).clientsSnapshot === 'function';

class FeedSeries {
  rows = 0;
  pages = 0;
  cursorWrites = 0;
  cursorWriteErrors = 0;
  readonly wakeups = new Map<string, number>();
  readonly page: HistogramCell;
  constructor(bounds: readonly number[]) {
    this.page = new HistogramCell(bounds);
  }
}

const EXPORT_OUTCOMES = ['finished', 'failed', 'aborted'] as const;
type ExportOutcome = (typeof EXPORT_OUTCOMES)[number];

const increment = (counts: Map<string, number>, key: string): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1);
};

/**
 * The sink and source metrics: one subscription per entry, and per event a `Map` lookup and a
 * few additions (the last `sink`/`stream` pair is remembered, so a run of `'sent'` events skips
 * even that). prom-client is read only when scraped. Labels are configured names (sinks, streams,
 * consumers) and fixed sets (kinds, reasons, error codes, outcomes); never client ids or paths:
 * per-client queue depth and lag are published as the max (and sum) over connected clients.
 * @internal
 */
export function sinkMetrics(
  registrar: MetricRegistrar,
  sinks: readonly MetricsSink[],
  buckets: SinkBuckets,
): Subscription[] {
  const flows = new Map<string, Flow>();
  const sockets = new Map<string, WebSocketSeries>();
  const exports = new Map<string, Record<ExportOutcome, number>>();
  const feeds = new Map<string, FeedSeries>();

  const flow = (kind: string, sink: string, stream: string | undefined): Flow => {
    const key = `${kind}\u0000${sink}\u0000${stream ?? ''}`;
    let f = flows.get(key);
    if (f === undefined) {
      const labels: SeriesLabels = stream === undefined ? { kind, sink } : { kind, sink, stream };
      flows.set(key, (f = new Flow(kind, labels)));
    }
    return f;
  };
  const socket = (sink: string): WebSocketSeries => {
    let s = sockets.get(sink);
    if (s === undefined) sockets.set(sink, (s = new WebSocketSeries(buckets.sinkLag)));
    return s;
  };
  const feed = (consumer: string): FeedSeries => {
    let s = feeds.get(consumer);
    if (s === undefined) feeds.set(consumer, (s = new FeedSeries(buckets.changeFeedPage)));
    return s;
  };

  registerMetrics(registrar, { flows, sockets, exports, feeds }, buckets);

  const subscribe = (entry: MetricsSink): Subscription => {
    const live = hasSnapshot(entry) ? entry : undefined;
    // A live entry's series exists before its first event (its snapshot has clients to show),
    // so its label cannot wait for an event's `sink`: the WebSocket sink's default name.
    const name = entry.name ?? (live !== undefined ? 'websocket' : undefined);
    // Remembered lookups: a sink's events mostly repeat the same sink and stream.
    let lastSink: string | undefined;
    let lastStream: string | undefined;
    let lastFlow: Flow | undefined;
    let lastSeries: WebSocketSeries | undefined;
    let lastClients: Map<number, ClientState> | undefined;
    const clientsBySink = new Map<string, Map<number, ClientState>>();
    // Cumulative rows and bytes of the file export runs going on, by path.
    const runs = new Map<string, { rows: number; bytes: number }>();

    const webSocket = (sink: string): WebSocketSeries => {
      if (lastSeries === undefined || sink !== lastSink) {
        lastSeries = socket(sink);
        let clients = clientsBySink.get(sink);
        if (clients === undefined) {
          clientsBySink.set(sink, (clients = new Map()));
          lastSeries.sources.push({ clients, live });
        }
        lastClients = clients;
        lastSink = sink;
        lastFlow = undefined;
      }
      return lastSeries;
    };
    const sentFlow = (sink: string, stream: string): Flow => {
      webSocket(sink);
      if (lastFlow === undefined || stream !== lastStream) {
        lastFlow = flow('websocket', sink, stream);
        lastStream = stream;
      }
      return lastFlow;
    };
    const client = (id: number): ClientState => {
      let c = lastClients!.get(id);
      if (c === undefined) lastClients!.set(id, (c = { depth: 0, lagItems: 0, bufferedAmount: 0 }));
      return c;
    };
    const fileRun = (e: Fields, outcome: ExportOutcome | undefined): void => {
      const sink = name ?? 'file';
      const path = text(e.path);
      const run = runs.get(path) ?? { rows: 0, bytes: 0 };
      const rows = num(e.rows);
      const bytes = num(e.bytes);
      // Events carry the run's totals so far: count what is new since the last one.
      const f = flow('file', sink, undefined);
      f.items += Math.max(0, rows - run.rows);
      f.bytes += Math.max(0, bytes - run.bytes);
      if (outcome === undefined) {
        run.rows = Math.max(run.rows, rows);
        run.bytes = Math.max(run.bytes, bytes);
        runs.set(path, run);
        return;
      }
      runs.delete(path);
      let counts = exports.get(sink);
      if (counts === undefined)
        exports.set(sink, (counts = { finished: 0, failed: 0, aborted: 0 }));
      counts[outcome]++;
    };

    const onEvent = (event: SinkEventLike): void => {
      const e = event as SinkEventLike & Fields;
      switch (e.type) {
        // WebSocket sink
        case 'sent': {
          const f = sentFlow(name ?? text(e.sink), text(e.stream));
          f.items++;
          f.bytes += num(e.bytes);
          lastSeries!.lag.observe(num(e.lagMs) / 1000);
          const c = client(num(e.clientId));
          c.depth = num(e.depth);
          c.lagItems = num(e.lagItems);
          c.bufferedAmount = num(e.bufferedAmount);
          break;
        }
        case 'drop':
          sentFlow(name ?? text(e.sink), text(e.stream)).dropped++;
          client(num(e.clientId)).depth = num(e.depth);
          break;
        case 'slowClient': {
          webSocket(name ?? text(e.sink));
          const c = client(num(e.clientId));
          c.depth = num(e.depth);
          c.bufferedAmount = num(e.bufferedAmount);
          break;
        }
        case 'connect':
          webSocket(name ?? text(e.sink));
          client(num(e.clientId));
          break;
        case 'disconnect': {
          const series = webSocket(name ?? text(e.sink));
          lastClients!.delete(num(e.clientId));
          increment(series.disconnects, text(e.reason));
          break;
        }
        case 'clientError':
          increment(webSocket(name ?? text(e.sink)).clientErrors, text(e.code));
          break;
        // File export
        case 'progress':
          fileRun(e, undefined);
          break;
        case 'finished':
        case 'failed':
        case 'aborted':
          fileRun(e, e.type);
          break;
        // Change feed
        case 'page': {
          const series = feed(name ?? text(e.consumer));
          const rows = num(e.rows);
          series.pages++;
          series.rows += rows;
          series.page.observe(num(e.durationMs) / 1000);
          break;
        }
        case 'wake':
          increment(feed(name ?? text(e.consumer)).wakeups, text(e.reason));
          break;
        case 'ack':
          feed(name ?? text(e.consumer)).cursorWrites++;
          break;
        case 'ackError':
          feed(name ?? text(e.consumer)).cursorWriteErrors++;
          break;
      }
    };
    if (live !== undefined) webSocket(name!);
    return entry.events.subscribe({ next: onEvent, error: () => {} });
  };
  return sinks.map(subscribe);
}

interface SinkState {
  readonly flows: Map<string, Flow>;
  readonly sockets: Map<string, WebSocketSeries>;
  readonly exports: Map<string, Record<ExportOutcome, number>>;
  readonly feeds: Map<string, FeedSeries>;
}

/** Registers every sink metric, each reading `state` when scraped. */
function registerMetrics(registrar: MetricRegistrar, state: SinkState, buckets: SinkBuckets): void {
  const { flows, sockets, exports, feeds } = state;
  const flowCounter = (name: string, help: string, value: (f: Flow) => number | undefined) =>
    registrar.counter(name, help, ['kind', 'sink', 'stream'], (emit) => {
      for (const f of flows.values()) {
        const v = value(f);
        if (v !== undefined) emit(f.labels, v);
      }
    });
  flowCounter(
    'sink_items_total',
    'Items sinks wrote, by kind: WebSocket data frames sent (one per client and item, by stream), rows handed to an export file.',
    (f) => f.items,
  );
  flowCounter(
    'sink_bytes_total',
    'Bytes sinks wrote, by kind: WebSocket data frame text (by stream), bytes an export file took.',
    (f) => f.bytes,
  );
  flowCounter(
    'sink_dropped_total',
    "Frames a WebSocket sink dropped from slow clients' queues under 'dropOldest', by stream.",
    (f) => (f.kind === 'websocket' ? f.dropped : undefined),
  );

  // prom-client runs every collect() of a scrape in one synchronous pass: the totals (and so
  // each sink's clientsSnapshot()) are computed once for all the client gauges of that scrape.
  let scrape: Map<string, ClientTotals> | undefined;
  const totals = (): Map<string, ClientTotals> => {
    if (scrape === undefined) {
      scrape = new Map();
      for (const [sink, series] of sockets) scrape.set(sink, series.totals());
      // A resolved promise, not queueMicrotask: fake timers must not keep a stale scrape.
      void Promise.resolve().then(() => (scrape = undefined));
    }
    return scrape;
  };
  const clientGauge = (name: string, help: string, value: (t: ClientTotals) => number) =>
    registrar.gauge(name, help, ['sink'], (emit) => {
      for (const [sink, t] of totals()) emit({ sink }, value(t));
    });
  clientGauge(
    'sink_clients',
    'Clients connected to a WebSocket sink (now, from its clientsSnapshot(); else seen since the adapter subscribed).',
    (t) => t.clients,
  );
  clientGauge(
    'sink_client_queue_depth_max',
    "Largest queue depth (frames) among a WebSocket sink's connected clients (now, from its clientsSnapshot(); else as each last reported it).",
    (t) => t.depthMax,
  );
  clientGauge(
    'sink_queued_frames',
    "Frames queued for a WebSocket sink's connected clients together (now, from its clientsSnapshot(); else as each last reported it).",
    (t) => t.queued,
  );
  clientGauge(
    'sink_buffered_bytes',
    "Bytes a WebSocket sink's client sockets hold not yet written to the kernel, together (bufferedAmount; now, from its clientsSnapshot(); else as each last reported it).",
    (t) => t.buffered,
  );
  clientGauge(
    'sink_client_lag_items_max',
    "Largest lag (items the stream produced since the frame last sent) among a WebSocket sink's connected clients, as each last reported it.",
    (t) => t.lagMax,
  );
  registrar.histogram(
    'sink_lag_seconds',
    "Time frames waited in a WebSocket client's queue before being sent.",
    ['sink'],
    buckets.sinkLag,
    (emit) => {
      for (const [sink, series] of sockets) {
        if (series.lag.count > 0) emit({ sink }, series.lag);
      }
    },
  );
  const byKey = (
    name: string,
    help: string,
    label: string,
    read: (s: WebSocketSeries) => Map<string, number>,
  ) =>
    registrar.counter(name, help, ['sink', label], (emit) => {
      for (const [sink, series] of sockets) {
        for (const [key, value] of read(series)) emit({ sink, [label]: key }, value);
      }
    });
  byKey(
    'sink_disconnects_total',
    'WebSocket clients gone, by reason (closed, heartbeat, slow, shutdown).',
    'reason',
    (s) => s.disconnects,
  );
  byKey(
    'sink_client_errors_total',
    'Error frames a WebSocket sink answered client messages with, by code.',
    'code',
    (s) => s.clientErrors,
  );

  registrar.counter(
    'sink_exports_total',
    'File export runs ended, by outcome (finished, failed, aborted).',
    ['sink', 'outcome'],
    (emit) => {
      for (const [sink, counts] of exports) {
        for (const outcome of EXPORT_OUTCOMES) emit({ sink, outcome }, counts[outcome]);
      }
    },
  );

  const feedCounter = (name: string, help: string, value: (s: FeedSeries) => number) =>
    registrar.counter(name, help, ['consumer'], (emit) => {
      for (const [consumer, series] of feeds) emit({ consumer }, value(series));
    });
  feedCounter('changefeed_rows_total', 'Rows a change feed read from the outbox.', (s) => s.rows);
  feedCounter(
    'changefeed_pages_total',
    'Pages (queries) a change feed read, empty ones included.',
    (s) => s.pages,
  );
  feedCounter(
    'changefeed_cursor_writes_total',
    "Writes of a change feed consumer's cursor (each acknowledges every item up to it).",
    (s) => s.cursorWrites,
  );
  feedCounter(
    'changefeed_cursor_write_errors_total',
    "Failed writes of a change feed consumer's cursor (the items are delivered again later).",
    (s) => s.cursorWriteErrors,
  );
  registrar.counter(
    'changefeed_wakeups_total',
    'Change feed wake-ups after an empty page, by reason (notify, poll).',
    ['consumer', 'reason'],
    (emit) => {
      for (const [consumer, series] of feeds) {
        for (const [reason, value] of series.wakeups) emit({ consumer, reason }, value);
      }
    },
  );
  registrar.histogram(
    'changefeed_page_duration_seconds',
    'Time a change feed took to read one page.',
    ['consumer'],
    buckets.changeFeedPage,
    (emit) => {
      for (const [consumer, series] of feeds) {
        if (series.page.count > 0) emit({ consumer }, series.page);
      }
    },
  );
}
