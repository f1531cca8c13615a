import { Registry, type RegistryContentType } from 'prom-client';
import type { Observable, Subscription } from 'rxjs';
import { checkObject, show } from '../../errors/validate.js';
import type { MediatorEvent } from '../MediatorEvent.js';
import { eventMetrics, type EventBuckets } from './eventMetrics.js';
import type { HealthSource } from './HealthSource.js';
import { healthMetrics } from './healthMetrics.js';
import { checkRegistry } from './checkRegistry.js';
import { MetricRegistrar } from './MetricRegistrar.js';
import { monitorMetrics, type MetricsMonitor } from './monitorMetrics.js';
import { policyMetrics, type MetricsPolicy } from './policyMetrics.js';
import { sinkMetrics, type MetricsSink, type SinkBuckets } from './sinkMetrics.js';

/** Histogram buckets of {@link prometheusMetrics}, in seconds (upper bounds, increasing). */
export interface MetricBuckets {
  /** For `request_duration_seconds`. Default: 1 ms to 10 s (1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s). */
  readonly request?: readonly number[];
  /** For `stream_duration_seconds`. Default: 10 ms to 1 h (0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600 s). */
  readonly stream?: readonly number[];
  /** For `stream_first_item_seconds`. Default: 1 ms to 30 s (1, 5, 10, 50, 100, 250, 500 ms, 1, 2.5, 5, 10, 30 s). */
  readonly firstItem?: readonly number[];
  /** For `sink_lag_seconds`. Default: 1 ms to 30 s (1, 5, 10, 50, 100, 250, 500 ms, 1, 2.5, 5, 10, 30 s). */
  readonly sinkLag?: readonly number[];
  /** For `changefeed_page_duration_seconds`. Default: as `request`, 1 ms to 10 s. */
  readonly changeFeedPage?: readonly number[];
}

/** Options of {@link prometheusMetrics}. Every source is optional; give the ones you use. */
export interface PrometheusMetricsOptions {
  /**
   * The registry to register the metrics in. Default: a new `Registry` (read it from the
   * result). prom-client's global `register` is used only if you pass it.
   */
  readonly registry?: Registry<RegistryContentType>;
  /**
   * Put before every metric name: letters, digits and underscores, not starting with a digit or
   * `__` (colons are reserved for recording rules). End it with `_`. Default: `'fs_mediator_'`.
   */
  readonly prefix?: string;
  /** Histogram buckets, in seconds. Default: see {@link MetricBuckets}. */
  readonly buckets?: MetricBuckets;
  /** `instrument()`'s result (or anything with its `events`): request, stream and notification metrics. Default: none. */
  readonly instrumentation?: { readonly events: Observable<MediatorEvent> };
  /** Resilience policies (retry, circuitBreaker, timeout, bulkhead, rateLimit, memoryGuard, deadLetters). Default: none. */
  readonly policies?: readonly MetricsPolicy[];
  /** Stream monitors, read when scraped: buffer occupancy, capacity, utilisation, drops, waits. Default: none. */
  readonly monitors?: readonly MetricsMonitor[];
  /** A health check (e.g. `streamHealth()`), run when scraped: `stream_health_status`. Default: none. */
  readonly health?: HealthSource;
  /**
   * Sinks and sources whose `events` to count: `serveWebSocket()`'s sink, `exportToFile()`'s run,
   * `changeFeed()`s — or `{ name, events }` to set the `sink` (`consumer`) label (see
   * {@link MetricsSink}). Default: none. Each event costs a `Map` lookup and a few additions;
   * counts start when the adapter subscribes (a file export's are complete if it is created
   * before the next tick, its rows and bytes being cumulative). A WebSocket sink's client gauges
   * are read from its `clientsSnapshot()` when scraped (once per scrape), so a client whose queue
   * filled and stopped moving (under `'block'`, or one that stopped reading) shows as full; an
   * entry without that method falls back to the depths its events last reported. Labels are
   * configured names and fixed sets, never client ids or paths. Metrics (after the prefix):
   *
   * | name | type | labels | meaning |
   * | --- | --- | --- | --- |
   * | `sink_items_total` | counter | `kind`, `sink`, `stream` | Items written: WebSocket data frames sent (one per client and item; `kind="websocket"`, by `stream`), rows handed to an export file (`kind="file"`, no `stream`). A failed or aborted export's rows are counted too. |
   * | `sink_bytes_total` | counter | `kind`, `sink`, `stream` | Bytes written: WebSocket data frame text, bytes the export file took. |
   * | `sink_dropped_total` | counter | `kind`, `sink`, `stream` | Frames dropped from slow clients' queues under `'dropOldest'` (WebSocket only). |
   * | `sink_clients` | gauge | `sink` | WebSocket clients connected now (from `clientsSnapshot()`; without it, those seen since the adapter subscribed). |
   * | `sink_client_queue_depth_max` | gauge | `sink` | Largest client queue depth (frames) now, from `clientsSnapshot()`; without it, as each client last reported it (`'sent'`, `'drop'`, `'slowClient'`), forgotten when it disconnects. |
   * | `sink_queued_frames` | gauge | `sink` | Sum of those depths over the connected clients. |
   * | `sink_buffered_bytes` | gauge | `sink` | Bytes the clients' sockets hold not yet written to the kernel, together (`bufferedAmount`: now from `clientsSnapshot()`, else as last reported by `'sent'`/`'slowClient'`). |
   * | `sink_client_lag_items_max` | gauge | `sink` | Largest client lag in items (items the stream produced after the frame last sent to it), as each client last reported it (`'sent'`; events only). |
   * | `sink_lag_seconds` | histogram | `sink` | Time frames waited in a client's queue before being sent (buckets `sinkLag`). |
   * | `sink_disconnects_total` | counter | `sink`, `reason` | Clients gone, by reason: `closed`, `heartbeat`, `slow`, `shutdown`. |
   * | `sink_client_errors_total` | counter | `sink`, `code` | Error frames answering client messages, by code (`malformed_message`, `bad_request`, `unknown_stream`, …). |
   * | `sink_exports_total` | counter | `sink`, `outcome` | File export runs ended: `finished`, `failed`, `aborted`. |
   * | `changefeed_rows_total` | counter | `consumer` | Rows a change feed read from the outbox. |
   * | `changefeed_pages_total` | counter | `consumer` | Pages (queries) read, empty ones included. |
   * | `changefeed_page_duration_seconds` | histogram | `consumer` | Time to read one page (buckets `changeFeedPage`). |
   * | `changefeed_wakeups_total` | counter | `consumer`, `reason` | Wake-ups after an empty page: `notify`, `poll`. |
   * | `changefeed_cursor_writes_total` | counter | `consumer` | Cursor writes (each acknowledges every item up to it; `'ack'` events). |
   * | `changefeed_cursor_write_errors_total` | counter | `consumer` | Failed cursor writes (`'ackError'`; the items come again later). |
   */
  readonly sinks?: readonly MetricsSink[];
}

/**
 * What {@link prometheusMetrics} returns.
 *
 * @example
 * ```ts
 * const metrics: PrometheusMetrics = prometheusMetrics({ instrumentation: telemetry });
 * console.log(metrics.metricNames);
 * ```
 */
export interface PrometheusMetrics {
  /** The registry holding the metrics (the one given, or the one made). */
  readonly registry: Registry<RegistryContentType>;
  /** The full names of the metrics registered. */
  readonly metricNames: readonly string[];
  /** Unsubscribes from every source and removes the metrics it registered. Idempotent. */
  close(): void;
}

const DEFAULT_BUCKETS: EventBuckets & SinkBuckets = {
  request: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  stream: [0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600],
  firstItem: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  sinkLag: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  changeFeedPage: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
};

/**
 * Publishes the mediator's telemetry as prom-client metrics (issue 6, point 1): requests, streams
 * and notification handlers from `instrument()`'s events; buffers from `StreamMonitor`s;
 * retries, circuits, rejections, timeouts and dead letters from the policies' events; stream
 * health from a health check; items, bytes, drops, client queues and lag of the WebSocket and
 * file sinks, and the change feeds' reads, from their events (issue 7, point 4). Core code
 * imports no prom-client: this adapter subscribes to it.
 *
 * - **Cheap on the call path**: an event costs a `Map` lookup and a few additions on the
 *   adapter's own counts; prom-client is only touched when scraped (each metric's `collect()`).
 *   Nothing happens per stream item: item counts come with progress and end events.
 * - **Bounded labels**: message names, handler names, policy names, circuit keys, stages,
 *   strategies, outcomes and reasons; never payloads or correlation ids. Circuit keys label only
 *   `circuit_state`, and only for the circuits a breaker holds when scraped (capped by its
 *   `maxKeys`): series of evicted circuits disappear. `circuit_transitions_total` has no key.
 * - **Names** follow Prometheus conventions: base units (`_seconds`), `_total` for counters,
 *   `_ratio` for 0–1 values. See the README's metrics reference for the whole list.
 *
 * Values come from the adapter's counts, so `registry.resetMetrics()` does not reset them.
 *
 * @param options - See {@link PrometheusMetricsOptions}.
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { serveMetrics, prometheusMetrics } from 'fs-mediator/prometheus';
 *
 * const telemetry = instrument();
 * const breaker = circuitBreaker();
 * const monitor = new StreamMonitor();
 * const mediator = createMediator({ handlers, behaviors: [telemetry, breaker], streams: { monitor } });
 * const metrics = prometheusMetrics({ registry: new Registry(), instrumentation: telemetry, policies: [breaker], monitors: [monitor] });
 * const server = await serveMetrics({ registry: metrics.registry });
 * console.log(`metrics at ${server.url}`);
 * ```
 */
export function prometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  checkObject('options', options);
  const registry = checkRegistry(options.registry) ?? new Registry();
  const prefix = checkPrefix(options.prefix ?? 'fs_mediator_');
  checkObject('buckets', options.buckets);
  const buckets: EventBuckets & SinkBuckets = {
    request: checkBuckets('buckets.request', options.buckets?.request) ?? DEFAULT_BUCKETS.request,
    stream: checkBuckets('buckets.stream', options.buckets?.stream) ?? DEFAULT_BUCKETS.stream,
    firstItem:
      checkBuckets('buckets.firstItem', options.buckets?.firstItem) ?? DEFAULT_BUCKETS.firstItem,
    sinkLag: checkBuckets('buckets.sinkLag', options.buckets?.sinkLag) ?? DEFAULT_BUCKETS.sinkLag,
    changeFeedPage:
      checkBuckets('buckets.changeFeedPage', options.buckets?.changeFeedPage) ??
      DEFAULT_BUCKETS.changeFeedPage,
  };
  const { instrumentation, health } = options;
  checkObject('instrumentation', instrumentation);
  if (instrumentation !== undefined) checkEvents('instrumentation', instrumentation);
  const policies = checkArray('policies', options.policies);
  policies.forEach((policy, i) => checkEvents(`policies[${i}]`, policy));
  const monitors = checkArray('monitors', options.monitors);
  monitors.forEach((monitor, i) =>
    checkMethods(`monitors[${i}]`, monitor, 'snapshot', 'dropTotals'),
  );
  checkObject('health', health);
  if (health !== undefined) checkMethods('health', health, 'check');
  const sinks = checkArray('sinks', options.sinks);
  sinks.forEach((sink, i) => {
    checkEvents(`sinks[${i}]`, sink);
    const name: unknown = sink.name;
    if (name !== undefined && (typeof name !== 'string' || name === '')) {
      throw new TypeError(
        `Option 'sinks[${i}].name' must be a non-empty string, got ${show(name)}.`,
      );
    }
  });

  const registrar = new MetricRegistrar(registry as Registry, prefix);
  const subscriptions: Subscription[] = [];
  try {
    if (instrumentation !== undefined) {
      subscriptions.push(eventMetrics(registrar, instrumentation.events, buckets));
    }
    if (policies.length > 0) subscriptions.push(...policyMetrics(registrar, policies));
    if (monitors.length > 0) monitorMetrics(registrar, monitors);
    if (health !== undefined) healthMetrics(registrar, health);
    if (sinks.length > 0) subscriptions.push(...sinkMetrics(registrar, sinks, buckets));
  } catch (error) {
    // A name already taken in the registry: leave it as it was.
    for (const s of subscriptions) s.unsubscribe();
    registrar.removeAll();
    throw error;
  }

  const metricNames = registrar.names;
  let open = true;
  return {
    registry,
    metricNames,
    close() {
      if (!open) return;
      open = false;
      for (const s of subscriptions) s.unsubscribe();
      registrar.removeAll();
    },
  };
}

const PREFIX = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') {
    throw new TypeError(`Option 'prefix' must be a string, got ${show(prefix)}.`);
  }
  if (prefix !== '' && (!PREFIX.test(prefix) || prefix.startsWith('__'))) {
    throw new TypeError(
      `Option 'prefix' must be a Prometheus metric name prefix (letters, digits and '_', not starting with a digit or '__'), got ${show(prefix)}.`,
    );
  }
  return prefix;
}

function checkBuckets(option: string, buckets: unknown): readonly number[] | undefined {
  if (buckets === undefined) return undefined;
  if (!Array.isArray(buckets)) {
    throw new TypeError(`Option '${option}' must be an array of numbers, got ${show(buckets)}.`);
  }
  if (buckets.length === 0) {
    throw new RangeError(`Option '${option}' must hold at least one bucket, got [].`);
  }
  let previous = 0;
  for (const bound of buckets as unknown[]) {
    if (typeof bound !== 'number') {
      throw new TypeError(`Option '${option}' must be an array of numbers, got ${show(buckets)}.`);
    }
    if (!Number.isFinite(bound) || bound <= previous) {
      throw new RangeError(
        `Option '${option}' must hold finite bounds > 0 in increasing order, got ${show(buckets)}.`,
      );
    }
    previous = bound;
  }
  return [...(buckets as number[])];
}

function checkArray<T>(option: string, value: readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new TypeError(`Option '${option}' must be an array, got ${show(value)}.`);
  }
  return value;
}

function checkEvents(option: string, source: unknown): void {
  const events = (source as { events?: unknown } | null)?.events as
    { subscribe?: unknown } | undefined;
  if (typeof events?.subscribe !== 'function') {
    throw new TypeError(
      `Option '${option}' must have an 'events' Observable, got ${show(source)}.`,
    );
  }
}

function checkMethods(option: string, source: unknown, ...methods: string[]): void {
  for (const method of methods) {
    if (typeof (source as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new TypeError(
        `Option '${option}' must have a '${method}()' method, got ${show(source)}.`,
      );
    }
  }
}
