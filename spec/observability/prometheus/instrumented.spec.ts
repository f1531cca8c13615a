import { afterEach, describe, expect, it } from '@jest/globals';
import type { Registry } from 'prom-client';
import { createMediator, handler, StreamRequest, type HandlerContext } from '../../../src/index.js';
import { instrument } from '../../../src/observability/instrument.js';
import {
  prometheusMetrics,
  type PrometheusMetrics,
} from '../../../src/observability/prometheus/index.js';
import { StreamMonitor } from '../../../src/streaming/StreamMonitor.js';
import { deferred, flushMicrotasks, type Deferred } from '../../helpers/deferred.js';
import { ExportOrders, GetOrder, order, OrderPlaced, type Order } from '../../helpers/orders.js';

async function value(registry: Registry, name: string, labels: Record<string, string>) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const sample = metric?.values.find((v) =>
    Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
  );
  return sample?.value;
}

let metrics: PrometheusMetrics | undefined;
afterEach(() => metrics?.close());

describe('prometheusMetrics with instrument()', () => {
  it('publishes what a real mediator does: requests, a stream and its items, notification handlers', async () => {
    const telemetry = instrument({ progress: { everyItems: 100, everyMs: Infinity } });
    const monitor = new StreamMonitor();
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (query: GetOrder) => {
          if (query.id === 'boom') throw new Error('boom');
          return order(query.id);
        }),
        handler(ExportOrders, () => Array.from({ length: 250 }, (_, i) => order(String(i)))),
        handler(OrderPlaced, (_e: OrderPlaced, _c: HandlerContext) => undefined),
      ],
      behaviors: [telemetry],
      streams: { monitor },
    });
    metrics = prometheusMetrics({ instrumentation: telemetry, monitors: [monitor] });
    const registry = metrics.registry as Registry;

    await mediator.send(new GetOrder('1'));
    await expect(mediator.send(new GetOrder('boom'))).rejects.toThrow('boom');
    let seen = 0;
    for await (const _ of mediator.createStream(new ExportOrders())) {
      seen++;
      if (seen === 150) {
        expect(await value(registry, 'fs_mediator_stream_items_total', {})).toBe(100);
        expect(await value(registry, 'fs_mediator_streams_active', {})).toBe(1);
      }
    }
    await mediator.publish(new OrderPlaced('o-1'));

    const r = 'fs_mediator_requests_total';
    expect(await value(registry, r, { message: 'GetOrder', outcome: 'success' })).toBe(1);
    expect(await value(registry, r, { message: 'GetOrder', outcome: 'failure' })).toBe(1);
    expect(
      await value(registry, 'fs_mediator_stream_items_total', { message: 'ExportOrders' }),
    ).toBe(250);
    expect(
      await value(registry, 'fs_mediator_streams_ended_total', {
        message: 'ExportOrders',
        outcome: 'completed',
      }),
    ).toBe(1);
    expect(await value(registry, 'fs_mediator_streams_active', { message: 'ExportOrders' })).toBe(
      0,
    );
    expect(
      await value(registry, 'fs_mediator_stream_first_item_seconds', {
        message: 'ExportOrders',
        le: '+Inf',
      }),
    ).toBe(1);
    expect(
      await value(registry, 'fs_mediator_notification_handlers_total', {
        message: 'OrderPlaced',
        outcome: 'success',
      }),
    ).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE fs_mediator_stream_buffer_utilisation_ratio gauge');
  });
});

describe('prometheusMetrics with instrument(): regressions', () => {
  it('keeps requests_in_flight exact when it subscribes while an earlier call is running', async () => {
    const telemetry = instrument();
    const gates = new Map<string, Deferred<Order>>([
      ['x', deferred<Order>()],
      ['y', deferred<Order>()],
    ]);
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q: GetOrder) => gates.get(q.id)!.promise)],
      behaviors: [telemetry],
    });
    const early = telemetry.events.subscribe(() => undefined); // e.g. winstonLogging, made first
    const x = mediator.send(new GetOrder('x')); // its start is seen by `early` only
    await flushMicrotasks();
    metrics = prometheusMetrics({ instrumentation: telemetry });
    const y = mediator.send(new GetOrder('y'));
    await flushMicrotasks();
    const registry = metrics.registry as Registry;
    const name = 'fs_mediator_requests_in_flight';
    expect(await value(registry, name, { message: 'GetOrder' })).toBe(1);
    gates.get('x')!.resolve(order('x'));
    await x;
    expect(await value(registry, name, { message: 'GetOrder' })).toBe(1); // y still runs
    gates.get('y')!.resolve(order('y'));
    await y;
    expect(await value(registry, name, { message: 'GetOrder' })).toBe(0);
    early.unsubscribe();
  });

  it('keeps streams_active exact when it subscribes while an earlier stream is running', async () => {
    class Feed extends StreamRequest<number> {}
    const telemetry = instrument({ progress: { everyMs: Infinity } });
    const mediator = createMediator({
      handlers: [
        handler(Feed, async function* () {
          yield 1;
          yield 2;
        }),
      ],
      behaviors: [telemetry],
    });
    const early = telemetry.events.subscribe(() => undefined);
    const a = mediator.createStream(new Feed())[Symbol.asyncIterator]();
    await a.next(); // stream a started, seen by `early` only
    metrics = prometheusMetrics({ instrumentation: telemetry });
    const registry = metrics.registry as Registry;
    const b = mediator.createStream(new Feed())[Symbol.asyncIterator]();
    await b.next();
    await a.return!();
    expect(await value(registry, 'fs_mediator_streams_active', { message: 'Feed' })).toBe(1);
    await b.return!();
    expect(await value(registry, 'fs_mediator_streams_active', { message: 'Feed' })).toBe(0);
    early.unsubscribe();
  });
});
