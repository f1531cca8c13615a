/**
 * The Prometheus adapter's exposition passes `promtool check metrics` (issue 6, point 2): the
 * parser and the linter of Prometheus itself (Debian's `prometheus` package, installed and put on
 * PROMTOOL by scripts/services.sh). Every metric family the adapter offers is fed by a real
 * mediator: requests that succeed and fail, retries and a give-up, a circuit that breaks, a stream
 * that completes, one that is cancelled, one whose buffer drops items (live buffer gauges read
 * mid-stream), notification handlers and a health check. A lint warning fails the spec like a
 * parse error: promtool's output must be empty.
 *
 * Run with `npm run test:services`.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { from } from 'rxjs';
import {
  circuitBreaker,
  createMediator,
  handler,
  retry,
  StreamMonitor,
  StreamRequest,
  timeout,
} from '../../../src/index.js';
import { instrument } from '../../../src/observability/instrument.js';
import { streamHealth } from '../../../src/observability/streamHealth.js';
import { prometheusMetrics, serveMetrics } from '../../../src/observability/prometheus/index.js';
import { ExportOrders, GetOrder, order, OrderPlaced, PlaceOrder } from '../../helpers/orders.js';
import { run, serviceEnv, type RunResult } from '../../helpers/services.js';

/** Numbers pushed all at once by an Observable: a push source, so the bridge buffers them. */
class Ticks extends StreamRequest<number> {
  constructor(readonly count: number) {
    super();
  }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A mediator with every metric source plugged into one fresh registry. */
function observedMediator() {
  const telemetry = instrument({ progress: { everyItems: 100 } });
  const retries = retry({ maxAttempts: 2, delayMs: 1, jitter: false });
  const breaker = circuitBreaker({
    failureRatio: 0.5,
    minimumThroughput: 2,
    breakDurationMs: 60_000,
  });
  const limit = timeout({ ms: 5_000 });
  const monitor = new StreamMonitor();
  const health = streamHealth({ instrumentation: telemetry });
  const metrics = prometheusMetrics({
    registry: new Registry(),
    instrumentation: telemetry,
    policies: [retries, breaker, limit],
    monitors: [monitor],
    health,
  });
  cleanups.push(
    () => metrics.close(),
    () => health.close(),
  );
  const mediator = createMediator({
    handlers: [
      handler(GetOrder, (q) => order(q.id)),
      handler(PlaceOrder, () => {
        throw new Error('out of stock');
      }),
      handler(ExportOrders, async function* () {
        for (let i = 0; i < 250; i++) yield order(String(i));
      }),
      handler(Ticks, (t) => from(Array.from({ length: t.count }, (_, i) => i))),
      handler(OrderPlaced, () => undefined, { name: 'SendConfirmation' }),
      handler(OrderPlaced, () => undefined, { name: 'AuditOrder' }),
    ],
    behaviors: [telemetry, retries, breaker, limit],
    streams: { monitor },
  });
  return { mediator, metrics };
}

/** Sends every kind of call through the mediator; returns the exposition read mid-stream. */
async function drive({ mediator, metrics }: ReturnType<typeof observedMediator>): Promise<string> {
  for (const id of ['1', '2', '3']) await mediator.send(new GetOrder(id));
  // The first fails twice (one retry): two failures open the breaker, which rejects the others.
  for (let i = 0; i < 3; i++) {
    await expect(mediator.send(new PlaceOrder('book', 1))).rejects.toBeInstanceOf(Error);
  }
  let exported = 0;
  for await (const _ of mediator.createStream(new ExportOrders())) exported++;
  expect(exported).toBe(250);
  // Cancelled after 5 items.
  for await (const item of mediator.createStream(new ExportOrders())) if (item.id === '4') break;
  await mediator.publish(new OrderPlaced('1'));

  // 250 ticks pushed at once into a buffer of 100: 150 dropped; read the exposition while the
  // bridge still holds the rest, so the live buffer gauges have samples.
  const stream = mediator.createStream(new Ticks(250), {
    bufferCapacity: 100,
    overflow: 'dropNewest',
  });
  const ticks = stream[Symbol.asyncIterator]();
  expect((await ticks.next()).value).toBe(0);
  const midStream = await metrics.registry.metrics();
  let delivered = 1;
  while (!(await ticks.next()).done) delivered++;
  expect(delivered).toBe(100);
  return midStream;
}

/** promtool's verdict, with what it printed, for a readable failure. */
async function promtoolCheck(exposition: string): Promise<RunResult> {
  return run(serviceEnv('PROMTOOL'), ['check', 'metrics'], exposition);
}

/** The families present in an exposition (`# TYPE` lines). */
function families(exposition: string): string[] {
  return [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
}

describe('prometheusMetrics() exposition under promtool check metrics', () => {
  it('passes with no lint problem, read mid-stream with every source fed', async () => {
    const observed = observedMediator();
    const exposition = await drive(observed);

    // promtool accepts an empty input: make sure everything is there and fed.
    expect(families(exposition).sort()).toEqual([...observed.metrics.metricNames].sort());
    expect(exposition).toContain(
      'fs_mediator_requests_total{message="GetOrder",outcome="success"} 3',
    );
    expect(exposition).toContain('fs_mediator_stream_items_total{message="ExportOrders"} 255');
    expect(exposition).toMatch(/^fs_mediator_retries_total\{.*\} 1$/m);
    expect(exposition).toMatch(/^fs_mediator_circuit_transitions_total\{.*to="open"\} 1$/m);
    expect(exposition).toMatch(/^fs_mediator_stream_buffer_occupancy\{.*stream="Ticks".*\} [1-9]/m);
    expect(exposition).toMatch(
      /^fs_mediator_stream_items_dropped_total\{.*stream="Ticks".*\} 150$/m,
    );
    expect(exposition).toMatch(
      /^fs_mediator_notification_handlers_total\{.*handler="AuditOrder".*\} 1$/m,
    );

    expect(await promtoolCheck(exposition)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('passes on the body serveMetrics() answers a plain scrape with', async () => {
    const observed = observedMediator();
    await drive(observed);
    const server = await serveMetrics({ registry: observed.metrics.registry, port: 0 });
    cleanups.push(() => server.close());

    const response = await fetch(server.url, { headers: { accept: 'text/plain' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await response.text();
    expect(body).toContain('fs_mediator_stream_items_total{message="ExportOrders"} 255');
    expect(body).toContain('fs_mediator_stream_items_total{message="Ticks"} 100');

    expect(await promtoolCheck(body)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('fails the check on a broken exposition (the check is real)', async () => {
    const result = await promtoolCheck('# TYPE items counter\nitems 3\n');
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/_total/);
  });
});
