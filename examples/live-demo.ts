/**
 * fs-mediator live demo (`npm start`): a long-running streaming job with backpressure you can
 * watch, scrape and stop.
 *
 * - **orders.export**: an async generator producing order records (as many as asked, or
 *   forever) → `batch(500)` → `parallel(price, 4)`, which prices each batch with a request sent
 *   through the mediator (retry + timeout; the simulated pricing service fails every 25th call
 *   once) → a deliberately slow sink (one simulated write per batch). The sink is the bottleneck:
 *   the parallel stage sits at 100 % of its capacity and the generator waits; nothing is lost.
 * - **prices.watch**: a push feed of price ticks (an Observable that cannot be paused) read by a
 *   slow dashboard through a 256-tick buffer with overflow `'dropOldest'`: here backpressure
 *   means drops, counted.
 *
 * While it runs, `/metrics` (Prometheus) and `/health` are served, a progress line shows
 * throughput, buffer utilisation, drops and health, and Ctrl-C (SIGINT) or SIGTERM stops it
 * cleanly with a summary (a second Ctrl-C forces exit). Options:
 *
 * ```text
 * tsx examples/live-demo.ts [--items N] [--duration S] [--port P]
 *   --items N      stop after N orders        (env DEMO_ITEMS)
 *   --duration S   stop after S seconds       (env DEMO_DURATION)
 *   --port P       metrics port, 0 = any free (env METRICS_PORT; default 9464)
 * ```
 *
 * {@link runDemo} is the job itself, so spec/e2e/live-demo.spec.ts runs the same code.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Observable } from 'rxjs';
import {
  batch,
  Command,
  createMediator,
  handler,
  HealthPresets,
  instrument,
  isAbortError,
  parallel,
  retry,
  StreamMonitor,
  StreamRequest,
  streamHealth,
  timeout,
  type HealthStatus,
  type StageStats,
} from 'fs-mediator';
import { prometheusMetrics, serveMetrics, type MetricsServer } from 'fs-mediator/prometheus';
import { isMain, positiveSeconds, runJobCli, UsageError, wholeNumber } from './support/cli.js';
import {
  count,
  percent,
  ProgressLine,
  RateWindow,
  seconds,
  stopConditions,
  type Output,
} from './support/terminal.js';

export { UsageError };

// ---------------------------------------------------------------------------------------------
// The messages and handlers of the job

/** An order record, as a database cursor would yield it. */
export interface Order {
  readonly id: number;
  readonly customer: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unitPrice: number;
}

/** Streams orders: `limit` of them, or forever. */
export class ExportOrders extends StreamRequest<Order> {
  static readonly messageName = 'orders.export';
  constructor(readonly limit = Infinity) {
    super();
  }
}

/** Prices one batch of orders at the (simulated, sometimes failing) pricing service. */
export class PriceOrders extends Command<{ readonly orders: number; readonly total: number }> {
  static readonly messageName = 'orders.price';
  constructor(readonly orders: readonly Order[]) {
    super();
  }
}

/** A price tick from a market feed that pushes whether or not anyone keeps up. */
export interface PriceTick {
  readonly sku: string;
  readonly price: number;
}

/** Streams price ticks, pushed ~10,000 a second, until the caller stops. */
export class WatchPrices extends StreamRequest<PriceTick> {
  static readonly messageName = 'prices.watch';
}

const SKUS = ['book', 'pen', 'lamp', 'desk', 'chair', 'mug', 'cable', 'phone'];

async function* generateOrders(limit: number, signal: AbortSignal): AsyncGenerator<Order> {
  for (let id = 0; id < limit && !signal.aborted; id++) {
    yield {
      id,
      customer: `c-${id % 9973}`,
      sku: SKUS[id % SKUS.length]!,
      quantity: 1 + (id % 5),
      unitPrice: 5 + (id % 20),
    };
  }
}

/** The pricing service: a little work and an I/O turn; every 25th call fails (retried). */
function pricingService() {
  let calls = 0;
  return async (orders: readonly Order[]) => {
    if (++calls % 25 === 0) throw new Error('pricing service: 503 Service Unavailable (simulated)');
    let total = 0;
    for (const order of orders) total += order.quantity * order.unitPrice;
    await nextTurn();
    return { orders: orders.length, total };
  };
}

/** A push feed: 50 ticks every 5 ms, whatever the reader does. */
function priceFeed(): Observable<PriceTick> {
  return new Observable<PriceTick>((subscriber) => {
    let n = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 50; i++, n++) {
        subscriber.next({ sku: SKUS[n % SKUS.length]!, price: 10 + ((n * 7) % 13) });
      }
    }, 5);
    return () => clearInterval(timer);
  });
}

// ---------------------------------------------------------------------------------------------
// The job

/** Something to write the output to: `process.stdout`, or a fake in a test. */
export type DemoOutput = Output;

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Stop after this many orders. Default: no limit. */
  readonly items?: number;
  /** Stop after this many ms. Default: no limit (then only `signal` stops it). */
  readonly durationMs?: number;
  /** The metrics port; 0 picks a free one. Default: 9464. */
  readonly port?: number;
  /** The metrics address. Default: `'127.0.0.1'`. */
  readonly host?: string;
  /** Where the progress and the summary go. */
  readonly out: DemoOutput;
  /** Redraw one progress line in place (a terminal), or print plain periodic lines. */
  readonly isTTY: boolean;
  /** The terminal's width: a redrawn line is cut to it. Default: no limit. */
  readonly columns?: number;
  /** Stops the job early (Ctrl-C); the summary is still returned. */
  readonly signal?: AbortSignal;
  /** How often the progress is shown, in ms. Default: 250 on a terminal, 1,000 otherwise. */
  readonly progressEveryMs?: number;
  /** The slow sink's time per batch of 500 orders, in ms. Default: 2. */
  readonly sinkDelayMs?: number;
}

/** What {@link runDemo} returns. */
export interface DemoSummary {
  /** What ended the job: all `items` were written, `durationMs` passed, or `signal` aborted. */
  readonly stoppedBy: 'items' | 'duration' | 'signal';
  /** Orders written by the sink. */
  readonly items: number;
  readonly batches: number;
  readonly durationMs: number;
  /** `items` per second over the whole run. */
  readonly itemsPerSecond: number;
  /** The highest utilisation (0–1) of the orders' parallel stage seen. */
  readonly peakUtilisation: number;
  /** Time the parallel stage held results the sink had not taken yet, in ms. */
  readonly producerWaitMs: number;
  /** Price ticks the dashboard read, and those the full buffer dropped. */
  readonly ticks: number;
  readonly drops: number;
  /** The highest utilisation (0–1) of the ticks' buffer seen. */
  readonly ticksPeakUtilisation: number;
  /** Pricing calls the retry policy repeated. */
  readonly retries: number;
  /** The stream health at the last check while the job ran, and the worst seen. */
  readonly health: HealthStatus;
  readonly worstHealth: HealthStatus;
  /** Where the metrics were served. */
  readonly url: string;
}

const BATCH_SIZE = 500;
const CONCURRENCY = 4;
const TICK_BUFFER = 256;
const SEVERITY: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/**
 * Runs the demo job until `items` orders are written, `durationMs` passes or `signal` aborts,
 * serving `/metrics` and `/health` meanwhile, and returns its summary (also printed to `out`).
 * Everything it started is stopped before it returns: streams, timers, the server.
 *
 * @example
 * ```ts
 * const summary = await runDemo({ items: 100_000, port: 0, out: process.stdout, isTTY: false });
 * console.log(summary.itemsPerSecond);
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { items = Infinity, durationMs = Infinity, out, isTTY } = options;
  const progressEveryMs = options.progressEveryMs ?? (isTTY ? 250 : 1000);
  const sinkDelayMs = options.sinkDelayMs ?? 2;

  // Observability: one instrument() layer, a monitor of the buffers, policies with events.
  const telemetry = instrument({ progress: { everyItems: 50_000, everyMs: 1000 } });
  const monitor = new StreamMonitor();
  const retries = retry({ for: [PriceOrders], maxAttempts: 4, delayMs: 2 });
  const deadline = timeout({ for: [PriceOrders], ms: 1000 });
  const health = streamHealth({ instrumentation: telemetry, ...HealthPresets.RealTime });
  const metrics = prometheusMetrics({
    instrumentation: telemetry,
    policies: [retries, deadline],
    monitors: [monitor],
    health,
  });
  let server: MetricsServer;
  try {
    server = await serveMetrics({
      registry: metrics.registry,
      health,
      port: options.port ?? 9464,
      ...(options.host === undefined ? {} : { host: options.host }),
    });
  } catch (error) {
    metrics.close();
    health.close();
    throw error;
  }

  const price = pricingService();
  const mediator = createMediator({
    handlers: [
      handler(ExportOrders, (request, { signal }) => generateOrders(request.limit, signal)),
      handler(PriceOrders, (command) => price(command.orders)),
      handler(WatchPrices, () => priceFeed()),
    ],
    // Outermost first: instrument sees every call whole, retry wraps the timeout.
    behaviors: [telemetry, retries, deadline],
    streams: { monitor, maxDegreeOfParallelism: CONCURRENCY },
  });

  // One controller stops everything: the caller's signal, the duration, or the end of the orders.
  const stop = new AbortController();
  let stoppedBy: DemoSummary['stoppedBy'] = 'items';
  const stopBy = (reason: DemoSummary['stoppedBy']): void => {
    if (stop.signal.aborted) return;
    stoppedBy = reason;
    stop.abort();
  };
  const onAbort = (): void => stopBy('signal');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const durationTimer =
    durationMs === Infinity ? undefined : setTimeout(() => stopBy('duration'), durationMs);

  // What the progress line and the summary read.
  let written = 0;
  let batches = 0;
  let ticks = 0;
  let retried = 0;
  let peak = 0;
  let ticksPeak = 0;
  let producerWaitMs = 0;
  let status: HealthStatus = 'healthy';
  let worst: HealthStatus = 'healthy';
  const retrySubscription = retries.events.subscribe((e) => {
    if (e.type === 'retry') retried++;
  });
  const drops = (): number => monitor.dropTotals().reduce((sum, d) => sum + d.dropped, 0);
  let ordersStage: StageStats | undefined;
  let ticksStage: StageStats | undefined;
  const sample = (): void => {
    for (const stage of monitor.snapshot()) {
      if (stage.stream === ExportOrders.messageName) {
        ordersStage = stage;
        peak = Math.max(peak, stage.utilisation);
        producerWaitMs = stage.producerWaitMs;
      } else if (stage.stream === WatchPrices.messageName) {
        ticksStage = stage;
        ticksPeak = Math.max(ticksPeak, stage.utilisation);
      }
    }
  };

  const startedAt = performance.now();
  const line = new ProgressLine(out, isTTY, options.columns);
  const rate = new RateWindow(1000, startedAt);
  const healthSubscription = health.events.subscribe((e) => {
    if (e.type === 'statusChange') {
      line.note(
        `health: ${e.from} → ${e.to}${e.reasons.length ? ` (${e.reasons.join(' ')})` : ''}`,
      );
    }
  });
  /** Shows the progress; `final`: after the streams ended, when health has nothing to check. */
  const tick = (final = false): void => {
    sample();
    if (!final) {
      status = health.check().status;
      if (SEVERITY[status] > SEVERITY[worst]) worst = status;
    }
    const now = performance.now();
    line.show(
      [
        seconds(now - startedAt).padStart(6),
        `${count(written).padStart(10)} orders`,
        `${count(rate.add(now, written)).padStart(7)}/s`,
        `buffer ${percent(ordersStage?.utilisation ?? 0).padStart(4)}`,
        `dropped ${count(drops())}`,
        status,
        `retries ${count(retried)}`,
        `ticks buffer ${percent(ticksStage?.utilisation ?? 0)}`,
      ].join('  '),
    );
  };

  out.write(
    [
      'fs-mediator live demo',
      `  orders.export → batch(${BATCH_SIZE}) → parallel(price, ${CONCURRENCY}) → slow sink (${sinkDelayMs} ms per batch): lossless, the producer waits`,
      `  prices.watch (push, ~10,000 ticks/s) → ${TICK_BUFFER}-tick buffer, 'dropOldest' → slow dashboard: lossy, ticks are dropped`,
      `  metrics: ${server.url}`,
      `  health:  ${server.url.replace(/\/metrics$/, '/health')}`,
      `  stops ${stopConditions(items, durationMs, 'orders')}`,
      '',
    ].join('\n'),
  );
  const progressTimer = setInterval(() => tick(), progressEveryMs);

  // The dashboard: reads ticks slowly (1 ms each) from a small lossy buffer.
  const dashboard = (async () => {
    for await (const _tick of mediator.createStream(new WatchPrices(), {
      signal: stop.signal,
      bufferCapacity: TICK_BUFFER,
      overflow: 'dropOldest',
    })) {
      await sleep(1, undefined, { signal: stop.signal });
      ticks++;
    }
  })().catch((error: unknown) => {
    if (!stop.signal.aborted) throw error;
  });

  let failure: unknown;
  try {
    const priced = mediator.createStream(new ExportOrders(items), { signal: stop.signal }).pipe(
      batch<Order>(BATCH_SIZE),
      parallel((orders: Order[], { signal }) => mediator.send(new PriceOrders(orders), { signal })),
    );
    for await (const result of priced) {
      await sleep(sinkDelayMs, undefined, { signal: stop.signal }); // the slow write
      written += result.orders;
      batches++;
      sample();
    }
  } catch (error) {
    if (!(stop.signal.aborted && (isAbortError(error) || error === stop.signal.reason))) {
      failure = error;
    }
  }
  const endedAt = performance.now();

  // Tear down, in order: streams, timers and subscriptions, then the server.
  stopBy(stoppedBy);
  await dashboard.catch((error: unknown) => {
    failure ??= error;
  });
  clearInterval(progressTimer);
  clearTimeout(durationTimer);
  options.signal?.removeEventListener('abort', onAbort);
  if (failure === undefined) tick(true);
  line.end();
  retrySubscription.unsubscribe();
  healthSubscription.unsubscribe();
  await server.close();
  metrics.close();
  health.close();
  if (failure !== undefined) throw failure;

  const durationMsTotal = endedAt - startedAt;
  const summary: DemoSummary = {
    stoppedBy,
    items: written,
    batches,
    durationMs: durationMsTotal,
    itemsPerSecond: durationMsTotal > 0 ? (written * 1000) / durationMsTotal : 0,
    peakUtilisation: peak,
    producerWaitMs,
    ticks,
    drops: drops(),
    ticksPeakUtilisation: ticksPeak,
    retries: retried,
    health: status,
    worstHealth: worst,
    url: server.url,
  };
  out.write(formatSummary(summary));
  return summary;
}

/** The summary as printed. */
export function formatSummary(s: DemoSummary): string {
  const why = {
    items: 'all orders written',
    duration: 'duration reached',
    signal: 'interrupted',
  }[s.stoppedBy];
  return [
    `summary (${why})`,
    `  orders written     ${count(s.items)} in ${count(s.batches)} batches`,
    `  duration           ${seconds(s.durationMs)}`,
    `  average rate       ${count(s.itemsPerSecond)} orders/s`,
    `  peak buffer        ${percent(s.peakUtilisation)} (parallel stage); producer waited ${seconds(s.producerWaitMs)} (${percent(s.durationMs > 0 ? s.producerWaitMs / s.durationMs : 0)} of the run)`,
    `  price ticks        ${count(s.ticks)} read, ${count(s.drops)} dropped (peak buffer ${percent(s.ticksPeakUtilisation)})`,
    `  pricing retries    ${count(s.retries)}`,
    `  health             ${s.health}${s.worstHealth === s.health ? '' : ` (worst seen: ${s.worstHealth})`}`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The command line

export const USAGE = `usage: tsx examples/live-demo.ts [--items N] [--duration S] [--port P]
  --items N      stop after N orders (whole number ≥ 1; env DEMO_ITEMS)
  --duration S   stop after S seconds (> 0, fractions allowed; env DEMO_DURATION)
  --port P       serve /metrics and /health on port P, 0 for a free one (env METRICS_PORT; default 9464)
  --help         show this
With neither --items nor --duration it runs until Ctrl-C.`;

/** What the command line asks for. */
export interface DemoArgs {
  readonly help: boolean;
  readonly items?: number;
  readonly durationMs?: number;
  /** Undefined when neither `--port` nor `METRICS_PORT` was given. */
  readonly port?: number;
}

/**
 * Reads the options from `argv` (without node and the script) and `env`; the command line wins.
 * Throws a {@link UsageError} naming the bad option and value.
 *
 * @example
 * ```ts
 * parseDemoArgs(['--items', '200000'], {}); // { help: false, items: 200000 }
 * ```
 */
export function parseDemoArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DemoArgs {
  let values: { items?: string; duration?: string; port?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        items: { type: 'string' },
        duration: { type: 'string' },
        port: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const pick = (flag: string | undefined, name: string): [string, string] | undefined => {
    if (flag !== undefined) return [`--${name}`, flag];
    const key = { items: 'DEMO_ITEMS', duration: 'DEMO_DURATION', port: 'METRICS_PORT' }[name]!;
    const fromEnv = env[key];
    return fromEnv === undefined || fromEnv.trim() === '' ? undefined : [key, fromEnv];
  };
  const items = pick(values.items, 'items');
  const duration = pick(values.duration, 'duration');
  const port = pick(values.port, 'port');
  const itemCount = items && wholeNumber(items, 1, Number.MAX_SAFE_INTEGER, 'a whole number ≥ 1');
  const durationS = duration && positiveSeconds(duration);
  const portNumber = port && wholeNumber(port, 0, 65_535, 'a port from 0 to 65535');
  return {
    help: values.help === true,
    ...(itemCount === undefined ? {} : { items: itemCount }),
    ...(durationS === undefined ? {} : { durationMs: Math.round(durationS * 1000) }),
    ...(portNumber === undefined ? {} : { port: portNumber }),
  };
}

// Run when executed, not when imported (the e2e spec imports runDemo).
if (isMain(import.meta.url)) {
  process.exitCode = await runJobCli({
    name: 'live-demo',
    usage: USAGE,
    defaultPort: 9464,
    parse: parseDemoArgs,
    run: (args, io) =>
      runDemo({
        ...(args.items === undefined ? {} : { items: args.items }),
        ...(args.durationMs === undefined ? {} : { durationMs: args.durationMs }),
        ...io,
      }),
  });
}
