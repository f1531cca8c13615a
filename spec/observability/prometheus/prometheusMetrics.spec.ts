import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { register as globalRegister, Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { circuitBreaker } from '../../../src/behaviors/circuitBreaker.js';
import { createMediator, handler, Query } from '../../../src/index.js';
import type { HandlerContext } from '../../../src/core/HandlerContext.js';
import type { MediatorEvent } from '../../../src/observability/MediatorEvent.js';
import {
  prometheusMetrics,
  type MetricsMonitor,
  type PolicyEventLike,
  type PrometheusMetrics,
} from '../../../src/observability/prometheus/index.js';
import type { DropTotal, StageStats } from '../../../src/streaming/StreamMonitor.js';

const context = (messageName: string): HandlerContext => ({
  messageName,
  correlationId: 'never-a-label',
  signal: new AbortController().signal,
});
const base = (messageName: string) => ({
  messageName,
  message: { secret: 'payload' },
  context: context(messageName),
});

type Values = Record<string, number>;

/** The samples of one metric, keyed `name{label="value",…}` in the order prom-client gives. */
async function samples(registry: Registry, name: string): Promise<Values> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const out: Values = {};
  for (const v of metric.values as { labels: object; value: number; metricName?: string }[]) {
    const labels = Object.entries(v.labels)
      .map(([k, x]) => `${k}="${String(x)}"`)
      .join(',');
    out[`${v.metricName ?? name}{${labels}}`] = v.value;
  }
  return out;
}

let adapters: PrometheusMetrics[] = [];
function make(options: Parameters<typeof prometheusMetrics>[0] = {}): PrometheusMetrics {
  const metrics = prometheusMetrics(options);
  adapters.push(metrics);
  return metrics;
}
afterEach(() => {
  for (const a of adapters) a.close();
  adapters = [];
  jest.useRealTimers();
});

describe('prometheusMetrics', () => {
  describe('requests', () => {
    it('counts settled requests by message and outcome, and keeps the in-flight gauge', async () => {
      jest.useFakeTimers();
      const events = new Subject<MediatorEvent>();
      const { registry } = make({ instrumentation: { events } });
      events.next({ type: 'requestStart', ...base('GetOrder') });
      events.next({ type: 'requestStart', ...base('GetOrder') });
      events.next({ type: 'requestStart', ...base('PlaceOrder') });
      expect(await samples(registry as Registry, 'fs_mediator_requests_in_flight')).toEqual({
        'fs_mediator_requests_in_flight{message="GetOrder"}': 2,
        'fs_mediator_requests_in_flight{message="PlaceOrder"}': 1,
      });

      events.next({
        type: 'requestEnd',
        ...base('GetOrder'),
        startedAt: performance.now(),
        outcome: 'success',
        durationMs: 3,
      });
      events.next({
        type: 'requestEnd',
        ...base('GetOrder'),
        startedAt: performance.now(),
        outcome: 'failure',
        durationMs: 40,
        error: new Error('x'),
      });
      events.next({
        type: 'requestEnd',
        ...base('PlaceOrder'),
        startedAt: performance.now(),
        outcome: 'cancelled',
        durationMs: 1,
      });

      expect(await samples(registry as Registry, 'fs_mediator_requests_total')).toEqual({
        'fs_mediator_requests_total{message="GetOrder",outcome="success"}': 1,
        'fs_mediator_requests_total{message="GetOrder",outcome="failure"}': 1,
        'fs_mediator_requests_total{message="GetOrder",outcome="cancelled"}': 0,
        'fs_mediator_requests_total{message="PlaceOrder",outcome="success"}': 0,
        'fs_mediator_requests_total{message="PlaceOrder",outcome="failure"}': 0,
        'fs_mediator_requests_total{message="PlaceOrder",outcome="cancelled"}': 1,
      });
      expect(await samples(registry as Registry, 'fs_mediator_requests_in_flight')).toEqual({
        'fs_mediator_requests_in_flight{message="GetOrder"}': 0,
        'fs_mediator_requests_in_flight{message="PlaceOrder"}': 0,
      });
    });

    it('observes durations in seconds in the request histogram', async () => {
      const events = new Subject<MediatorEvent>();
      const { registry } = make({ instrumentation: { events } });
      for (const durationMs of [0.5, 3, 3, 700, 20_000]) {
        events.next({
          type: 'requestEnd',
          ...base('GetOrder'),
          startedAt: performance.now(),
          outcome: 'success',
          durationMs,
        });
      }
      const h = await samples(registry as Registry, 'fs_mediator_request_duration_seconds');
      const b = (le: string) =>
        h[
          `fs_mediator_request_duration_seconds_bucket{message="GetOrder",outcome="success",le="${le}"}`
        ];
      expect([b('0.001'), b('0.0025'), b('0.005'), b('0.5'), b('1'), b('10'), b('+Inf')]).toEqual([
        1, 1, 3, 3, 4, 4, 5,
      ]);
      expect(
        h['fs_mediator_request_duration_seconds_count{message="GetOrder",outcome="success"}'],
      ).toBe(5);
      expect(
        h['fs_mediator_request_duration_seconds_sum{message="GetOrder",outcome="success"}'],
      ).toBeCloseTo(20.7065, 6);
      // Outcomes never seen have no histogram series (their counter shows 0).
      expect(Object.keys(h).some((k) => k.includes('outcome="failure"'))).toBe(false);
    });

    it('never lets the in-flight gauge go below zero (calls that started before it subscribed)', async () => {
      const events = new Subject<MediatorEvent>();
      const { registry } = make({ instrumentation: { events } });
      events.next({
        type: 'requestEnd',
        ...base('GetOrder'),
        startedAt: performance.now(),
        outcome: 'success',
        durationMs: 1,
      });
      events.next({ type: 'requestStart', ...base('GetOrder') });
      expect(await samples(registry as Registry, 'fs_mediator_requests_in_flight')).toEqual({
        'fs_mediator_requests_in_flight{message="GetOrder"}': 1,
      });
    });

    it('uses the buckets it is given', async () => {
      const events = new Subject<MediatorEvent>();
      const { registry } = make({
        instrumentation: { events },
        buckets: { request: [0.1, 1], stream: [60], firstItem: [0.5] },
      });
      events.next({
        type: 'requestEnd',
        ...base('GetOrder'),
        startedAt: performance.now(),
        outcome: 'success',
        durationMs: 50,
      });
      events.next({ type: 'streamStart', ...base('ExportOrders') });
      events.next({ type: 'streamFirstItem', ...base('ExportOrders'), afterMs: 100 });
      events.next({
        type: 'streamEnd',
        ...base('ExportOrders'),
        startedAt: performance.now(),
        outcome: 'completed',
        items: 1,
        itemsSinceLast: 1,
        durationMs: 100,
      });
      const les = async (name: string) =>
        Object.keys(await samples(registry as Registry, name))
          .filter((k) => k.includes('_bucket'))
          .map((k) => /le="([^"]+)"/.exec(k)![1]);
      expect(await les('fs_mediator_request_duration_seconds')).toEqual(['0.1', '1', '+Inf']);
      expect(await les('fs_mediator_stream_duration_seconds')).toEqual(['60', '+Inf']);
      expect(await les('fs_mediator_stream_first_item_seconds')).toEqual(['0.5', '+Inf']);
    });
  });

  describe('streams', () => {
    it('counts starts, ends by outcome, items from progress and end reports, and active streams', async () => {
      jest.useFakeTimers();
      const events = new Subject<MediatorEvent>();
      const { registry } = make({ instrumentation: { events } });
      const r = registry as Registry;
      events.next({ type: 'streamStart', ...base('ExportOrders') });
      events.next({ type: 'streamStart', ...base('ExportOrders') });
      events.next({ type: 'streamFirstItem', ...base('ExportOrders'), afterMs: 7 });
      events.next({
        type: 'streamProgress',
        ...base('ExportOrders'),
        items: 10_000,
        itemsSinceLast: 10_000,
        elapsedMs: 1_000,
      });
      events.next({
        type: 'streamProgress',
        ...base('ExportOrders'),
        items: 20_000,
        itemsSinceLast: 10_000,
        elapsedMs: 2_000,
      });
      expect(await samples(r, 'fs_mediator_stream_items_total')).toEqual({
        'fs_mediator_stream_items_total{message="ExportOrders"}': 20_000,
      });
      expect(await samples(r, 'fs_mediator_streams_active')).toEqual({
        'fs_mediator_streams_active{message="ExportOrders"}': 2,
      });

      events.next({
        type: 'streamEnd',
        ...base('ExportOrders'),
        startedAt: performance.now(),
        outcome: 'completed',
        items: 20_500,
        itemsSinceLast: 500,
        durationMs: 2_500,
      });
      events.next({
        type: 'streamEnd',
        ...base('ExportOrders'),
        startedAt: performance.now(),
        outcome: 'failed',
        items: 3,
        itemsSinceLast: 3,
        durationMs: 40,
        error: new Error('x'),
      });

      expect(await samples(r, 'fs_mediator_stream_items_total')).toEqual({
        'fs_mediator_stream_items_total{message="ExportOrders"}': 20_503,
      });
      expect(await samples(r, 'fs_mediator_streams_started_total')).toEqual({
        'fs_mediator_streams_started_total{message="ExportOrders"}': 2,
      });
      expect(await samples(r, 'fs_mediator_streams_ended_total')).toEqual({
        'fs_mediator_streams_ended_total{message="ExportOrders",outcome="completed"}': 1,
        'fs_mediator_streams_ended_total{message="ExportOrders",outcome="failed"}': 1,
        'fs_mediator_streams_ended_total{message="ExportOrders",outcome="cancelled"}': 0,
      });
      expect(await samples(r, 'fs_mediator_streams_active')).toEqual({
        'fs_mediator_streams_active{message="ExportOrders"}': 0,
      });
      const duration = await samples(r, 'fs_mediator_stream_duration_seconds');
      expect(
        duration[
          'fs_mediator_stream_duration_seconds_sum{message="ExportOrders",outcome="completed"}'
        ],
      ).toBe(2.5);
      expect(
        duration[
          'fs_mediator_stream_duration_seconds_count{message="ExportOrders",outcome="failed"}'
        ],
      ).toBe(1);
      const first = await samples(r, 'fs_mediator_stream_first_item_seconds');
      expect(first['fs_mediator_stream_first_item_seconds_sum{message="ExportOrders"}']).toBe(
        0.007,
      );
      expect(
        first['fs_mediator_stream_first_item_seconds_bucket{message="ExportOrders",le="0.01"}'],
      ).toBe(1);
      expect(
        first['fs_mediator_stream_first_item_seconds_bucket{message="ExportOrders",le="0.005"}'],
      ).toBe(0);
    });

    it('counts notification handler runs by message, handler and outcome', async () => {
      const events = new Subject<MediatorEvent>();
      const { registry } = make({ instrumentation: { events } });
      const end = (handlerName: string, outcome: 'success' | 'failure') =>
        events.next({
          type: 'notificationEnd',
          ...base('OrderPlaced'),
          handlerName,
          startedAt: performance.now(),
          outcome,
          durationMs: 1,
        });
      end('mailer', 'success');
      end('mailer', 'success');
      end('audit', 'failure');
      expect(
        await samples(registry as Registry, 'fs_mediator_notification_handlers_total'),
      ).toEqual({
        'fs_mediator_notification_handlers_total{message="OrderPlaced",handler="mailer",outcome="success"}': 2,
        'fs_mediator_notification_handlers_total{message="OrderPlaced",handler="mailer",outcome="failure"}': 0,
        'fs_mediator_notification_handlers_total{message="OrderPlaced",handler="mailer",outcome="cancelled"}': 0,
        'fs_mediator_notification_handlers_total{message="OrderPlaced",handler="audit",outcome="success"}': 0,
        'fs_mediator_notification_handlers_total{message="OrderPlaced",handler="audit",outcome="failure"}': 1,
        'fs_mediator_notification_handlers_total{message="OrderPlaced",handler="audit",outcome="cancelled"}': 0,
      });
    });

    it('never puts payloads or correlation ids in labels', async () => {
      const events = new Subject<MediatorEvent>();
      const { registry } = make({ instrumentation: { events } });
      events.next({ type: 'requestStart', ...base('GetOrder') });
      events.next({
        type: 'requestEnd',
        ...base('GetOrder'),
        startedAt: performance.now(),
        outcome: 'success',
        durationMs: 1,
      });
      events.next({ type: 'streamStart', ...base('ExportOrders') });
      const text = await registry.metrics();
      expect(text).not.toContain('never-a-label');
      expect(text).not.toContain('payload');
    });
  });

  describe('policies', () => {
    function policy() {
      return { events: new Subject<PolicyEventLike & Record<string, unknown>>() };
    }

    it('counts retries, give-ups, timeouts, rejections of each kind and dead letters', async () => {
      const retry = policy();
      const limits = policy();
      const letters = policy();
      const { registry } = make({ policies: [retry, limits, letters] });
      const r = registry as Registry;
      const ev = (p: ReturnType<typeof policy>, e: Record<string, unknown>) =>
        p.events.next({ messageName: 'GetOrder', policy: 'p', ...e } as PolicyEventLike &
          Record<string, unknown>);

      ev(retry, { type: 'retry', attempt: 2, delayMs: 10 });
      ev(retry, { type: 'retry', attempt: 3, delayMs: 20 });
      ev(retry, { type: 'giveUp', attempts: 3, reason: 'attempts' });
      ev(limits, { type: 'timeout', kind: 'request', ms: 100 });
      ev(limits, { type: 'timeout', kind: 'idle', ms: 100 });
      ev(limits, { type: 'reject', reason: 'queueFull', key: 'GetOrder', running: 1, queued: 0 });
      ev(limits, {
        type: 'reject',
        reason: 'queueTimeout',
        key: 'GetOrder',
        running: 1,
        queued: 0,
      });
      ev(limits, { type: 'reject', reason: 'maxWait', key: 'GetOrder', retryAfterMs: 5 });
      ev(limits, { type: 'reject', reason: 'tripped', heapUsedBytes: 1 });
      ev(limits, { type: 'reject', key: 'GetOrder', state: 'open', retryAfterMs: 5 });
      ev(limits, { type: 'queued', key: 'GetOrder' }); // not a metric
      ev(letters, { type: 'deadLetter', letter: { kind: 'request' } });
      ev(letters, { type: 'deadLetter', letter: { kind: 'item' } });
      ev(letters, { type: 'dropped', reason: 'evicted', letter: { kind: 'item' } });
      ev(letters, { type: 'storeError', error: new Error('disk') });

      const p = 'message="GetOrder",policy="p"';
      expect(await samples(r, 'fs_mediator_retries_total')).toEqual({
        [`fs_mediator_retries_total{${p}}`]: 2,
      });
      expect(await samples(r, 'fs_mediator_retry_give_ups_total')).toEqual({
        [`fs_mediator_retry_give_ups_total{${p},reason="attempts"}`]: 1,
      });
      expect(await samples(r, 'fs_mediator_timeouts_total')).toEqual({
        [`fs_mediator_timeouts_total{${p},kind="request"}`]: 1,
        [`fs_mediator_timeouts_total{${p},kind="idle"}`]: 1,
      });
      expect(await samples(r, 'fs_mediator_bulkhead_rejections_total')).toEqual({
        [`fs_mediator_bulkhead_rejections_total{${p},reason="queueFull"}`]: 1,
        [`fs_mediator_bulkhead_rejections_total{${p},reason="queueTimeout"}`]: 1,
      });
      expect(await samples(r, 'fs_mediator_rate_limit_rejections_total')).toEqual({
        [`fs_mediator_rate_limit_rejections_total{${p},reason="maxWait"}`]: 1,
      });
      expect(await samples(r, 'fs_mediator_memory_guard_rejections_total')).toEqual({
        [`fs_mediator_memory_guard_rejections_total{${p},reason="tripped"}`]: 1,
      });
      expect(await samples(r, 'fs_mediator_circuit_rejections_total')).toEqual({
        [`fs_mediator_circuit_rejections_total{${p}}`]: 1,
      });
      expect(await samples(r, 'fs_mediator_dead_letters_total')).toEqual({
        [`fs_mediator_dead_letters_total{${p},kind="request"}`]: 1,
        [`fs_mediator_dead_letters_total{${p},kind="item"}`]: 1,
      });
      expect(await samples(r, 'fs_mediator_dead_letters_dropped_total')).toEqual({
        [`fs_mediator_dead_letters_dropped_total{${p},reason="evicted"}`]: 1,
      });
      expect(await samples(r, 'fs_mediator_dead_letter_store_errors_total')).toEqual({
        [`fs_mediator_dead_letter_store_errors_total{${p}}`]: 1,
      });
    });

    it('reads circuit states from a real breaker and counts its transitions', async () => {
      const breaker = circuitBreaker({ name: 'payments' });
      const { registry } = make({ policies: [breaker] });
      const r = registry as Registry;
      breaker.isolate('ChargeCard');
      const states = await samples(r, 'fs_mediator_circuit_state');
      expect(states).toEqual({
        'fs_mediator_circuit_state{policy="payments",key="ChargeCard",state="closed"}': 0,
        'fs_mediator_circuit_state{policy="payments",key="ChargeCard",state="open"}': 0,
        'fs_mediator_circuit_state{policy="payments",key="ChargeCard",state="halfOpen"}': 0,
        'fs_mediator_circuit_state{policy="payments",key="ChargeCard",state="isolated"}': 1,
      });
      breaker.reset('ChargeCard');
      expect(
        (await samples(r, 'fs_mediator_circuit_state'))[
          'fs_mediator_circuit_state{policy="payments",key="ChargeCard",state="closed"}'
        ],
      ).toBe(1);
      expect(await samples(r, 'fs_mediator_circuit_transitions_total')).toEqual({
        'fs_mediator_circuit_transitions_total{policy="payments",from="closed",to="isolated"}': 1,
        'fs_mediator_circuit_transitions_total{policy="payments",from="isolated",to="closed"}': 1,
      });
    });
  });

  describe('monitors', () => {
    const stage = (s: Partial<StageStats>): StageStats => ({
      stage: 'bridge',
      stream: 'ExportOrders',
      capacity: 16,
      buffered: 0,
      utilisation: 0,
      inFlight: 0,
      overflow: 'block',
      dropped: 0,
      itemsIn: 0,
      itemsOut: 0,
      producerWaitMs: 0,
      consumerWaitMs: 0,
      ...s,
    });

    it('reads occupancy, capacity, utilisation and waits when scraped, adding up stages of one stream', async () => {
      let live: StageStats[] = [
        stage({ buffered: 4, producerWaitMs: 1500, consumerWaitMs: 250 }),
        stage({ buffered: 12, producerWaitMs: 500 }),
        stage({ stage: 'parallel', capacity: 8, buffered: 2, overflow: 'block' }),
      ];
      const drops: DropTotal[] = [
        { stream: 'Ticks', stage: 'bridge', strategy: 'dropOldest', dropped: 0 },
      ];
      const monitor: MetricsMonitor = { snapshot: () => live, dropTotals: () => drops };
      const { registry } = make({ monitors: [monitor] });
      const r = registry as Registry;
      const bridge = 'stream="ExportOrders",stage="bridge"';
      const parallel = 'stream="ExportOrders",stage="parallel"';
      expect(await samples(r, 'fs_mediator_stream_buffer_occupancy')).toEqual({
        [`fs_mediator_stream_buffer_occupancy{${bridge}}`]: 16,
        [`fs_mediator_stream_buffer_occupancy{${parallel}}`]: 2,
      });
      expect(await samples(r, 'fs_mediator_stream_buffer_capacity')).toEqual({
        [`fs_mediator_stream_buffer_capacity{${bridge}}`]: 32,
        [`fs_mediator_stream_buffer_capacity{${parallel}}`]: 8,
      });
      expect(await samples(r, 'fs_mediator_stream_buffer_utilisation_ratio')).toEqual({
        [`fs_mediator_stream_buffer_utilisation_ratio{${bridge}}`]: 0.5,
        [`fs_mediator_stream_buffer_utilisation_ratio{${parallel}}`]: 0.25,
      });
      expect(await samples(r, 'fs_mediator_stream_producer_wait_seconds')).toEqual({
        [`fs_mediator_stream_producer_wait_seconds{${bridge}}`]: 2,
        [`fs_mediator_stream_producer_wait_seconds{${parallel}}`]: 0,
      });
      expect(await samples(r, 'fs_mediator_stream_consumer_wait_seconds')).toMatchObject({
        [`fs_mediator_stream_consumer_wait_seconds{${bridge}}`]: 0.25,
      });
      expect(await samples(r, 'fs_mediator_stream_items_dropped_total')).toEqual({
        'fs_mediator_stream_items_dropped_total{stream="Ticks",stage="bridge",strategy="dropOldest"}': 0,
      });

      // The next scrape sees the stages as they are then: closed stages disappear.
      live = [stage({ buffered: 1 })];
      drops[0] = { ...drops[0]!, dropped: 7 };
      expect(await samples(r, 'fs_mediator_stream_buffer_utilisation_ratio')).toEqual({
        [`fs_mediator_stream_buffer_utilisation_ratio{${bridge}}`]: 1 / 16,
      });
      expect(await samples(r, 'fs_mediator_stream_items_dropped_total')).toEqual({
        'fs_mediator_stream_items_dropped_total{stream="Ticks",stage="bridge",strategy="dropOldest"}': 7,
      });
    });

    it('reads each monitor once per scrape', async () => {
      let reads = 0;
      const monitor: MetricsMonitor = {
        snapshot: () => (reads++, [stage({ buffered: 1 })]),
        dropTotals: () => [],
      };
      const { registry } = make({ monitors: [monitor] });
      await registry.metrics();
      expect(reads).toBe(1);
      await registry.metrics();
      expect(reads).toBe(2);
    });
  });

  describe('health', () => {
    it('exposes the status of the check when scraped, one series per status', async () => {
      let status: 'healthy' | 'degraded' | 'unhealthy' = 'healthy';
      const { registry } = make({ health: { check: () => ({ status }) } });
      const r = registry as Registry;
      expect(await samples(r, 'fs_mediator_stream_health_status')).toEqual({
        'fs_mediator_stream_health_status{status="healthy"}': 1,
        'fs_mediator_stream_health_status{status="degraded"}': 0,
        'fs_mediator_stream_health_status{status="unhealthy"}': 0,
      });
      status = 'unhealthy';
      expect(
        (await samples(r, 'fs_mediator_stream_health_status'))[
          'fs_mediator_stream_health_status{status="unhealthy"}'
        ],
      ).toBe(1);
    });
  });

  describe('registry and prefix', () => {
    it('makes its own registry and never touches the global one', async () => {
      const before = globalRegister.getMetricsAsArray().length;
      const events = new Subject<MediatorEvent>();
      const metrics = make({
        instrumentation: { events },
        policies: [{ events: new Subject<PolicyEventLike>() }],
        monitors: [{ snapshot: () => [], dropTotals: () => [] }],
        health: { check: () => ({ status: 'healthy' }) },
      });
      expect(metrics.registry).toBeInstanceOf(Registry);
      expect(metrics.registry).not.toBe(globalRegister);
      expect(globalRegister.getMetricsAsArray()).toHaveLength(before);
      expect(await globalRegister.metrics()).not.toContain('fs_mediator_');
      expect(metrics.metricNames.every((n) => n.startsWith('fs_mediator_'))).toBe(true);
    });

    it('registers in the registry it is given, under the prefix it is given', async () => {
      const registry = new Registry();
      const events = new Subject<MediatorEvent>();
      const metrics = make({ registry, prefix: 'shop_', instrumentation: { events } });
      expect(metrics.registry).toBe(registry);
      expect(registry.getSingleMetric('shop_requests_total')).toBeDefined();
      expect(await registry.metrics()).toContain('# TYPE shop_request_duration_seconds histogram');
      make({ registry, prefix: '', monitors: [], instrumentation: { events } });
      expect(registry.getSingleMetric('requests_total')).toBeDefined();
    });

    it.each([
      ['1abc', TypeError],
      ['a-b_', TypeError],
      ['app:', TypeError],
      ['__reserved_', TypeError],
      ['é_', TypeError],
      [42, TypeError],
    ])('rejects the prefix %p', (prefix, type) => {
      expect(() => prometheusMetrics({ prefix: prefix as string })).toThrow(type);
      expect(() => prometheusMetrics({ prefix: prefix as string })).toThrow(/'prefix'/);
    });

    it('rejects bad options, naming them', () => {
      const bad = (options: unknown) => () =>
        prometheusMetrics(options as Parameters<typeof prometheusMetrics>[0]);
      expect(bad({ registry: {} })).toThrow(
        new TypeError(`Option 'registry' must be a prom-client Registry, got {}.`),
      );
      expect(bad({ buckets: { request: [] } })).toThrow(RangeError);
      expect(bad({ buckets: { request: [1, 1] } })).toThrow(RangeError);
      expect(bad({ buckets: { stream: [0, 1] } })).toThrow(RangeError);
      expect(bad({ buckets: { firstItem: [1, Infinity] } })).toThrow(/'buckets.firstItem'/);
      expect(bad({ buckets: { request: ['1'] } })).toThrow(TypeError);
      expect(bad({ buckets: { request: 1 } })).toThrow(TypeError);
      expect(bad({ instrumentation: {} })).toThrow(/'instrumentation' must have an 'events'/);
      expect(bad({ policies: {} })).toThrow(/'policies' must be an array/);
      expect(bad({ policies: [{}] })).toThrow(/'policies\[0\]'/);
      expect(bad({ monitors: [{ snapshot() {} }] })).toThrow(
        /'monitors\[0\]' must have a 'dropTotals\(\)'/,
      );
      expect(bad({ health: { status: 'healthy' } })).toThrow(/'health' must have a 'check\(\)'/);
      expect(bad('x')).toThrow(TypeError);
    });

    it('fails on a name already registered and leaves the registry as it was', () => {
      const registry = new Registry();
      const events = new Subject<MediatorEvent>();
      const first = make({ registry, instrumentation: { events } });
      const names = registry.getMetricsAsArray().map((m) => m.name);
      expect(() => prometheusMetrics({ registry, instrumentation: { events } })).toThrow(
        /already been registered/,
      );
      expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(names);
      expect(events.observers).toHaveLength(1);
      expect(first.metricNames).toEqual(names);
    });
  });

  describe('close()', () => {
    it('unsubscribes from every source and removes only its own metrics', async () => {
      const registry = new Registry();
      const mine = new Subject<MediatorEvent>();
      const policyEvents = new Subject<PolicyEventLike>();
      const metrics = make({
        registry,
        instrumentation: { events: mine },
        policies: [{ events: policyEvents }],
        monitors: [{ snapshot: () => [], dropTotals: () => [] }],
        health: { check: () => ({ status: 'healthy' }) },
      });
      const other = prometheusMetrics({ registry, prefix: 'other_' });
      expect(mine.observed && policyEvents.observed).toBe(true);

      metrics.close();
      metrics.close();
      expect(mine.observed).toBe(false);
      expect(policyEvents.observed).toBe(false);
      expect(registry.getMetricsAsArray().filter((m) => m.name.startsWith('fs_mediator_'))).toEqual(
        [],
      );
      expect(await registry.metrics()).not.toContain('fs_mediator_');
      // The same names can be registered again.
      make({ registry, instrumentation: { events: mine } });
      other.close();
    });
  });
});

describe('prometheusMetrics: regressions', () => {
  class Call extends Query<string> {
    constructor(readonly tenant: string) {
      super();
    }
  }

  /** A breaker keyed by tenant, holding at most 2 circuits, in front of a handler that fails. */
  function tenants() {
    const breaker = circuitBreaker<Call>({
      scope: (request) => request.tenant,
      maxKeys: 2,
      minimumThroughput: 1,
    });
    const mediator = createMediator({
      handlers: [
        handler(Call, () => {
          throw new Error('down');
        }),
      ],
      behaviors: [breaker],
    });
    const call = (tenant: string) => mediator.send(new Call(tenant)).catch(() => undefined);
    return { breaker, call };
  }

  it('gives circuit_transitions_total no key label: bounded whatever the keys', async () => {
    const { breaker, call } = tenants();
    const r = make({ policies: [breaker] }).registry as Registry;
    for (let i = 0; i < 20; i++) await call(`tenant-${i}`);
    expect(breaker.snapshot().length).toBeLessThanOrEqual(2);
    expect(await samples(r, 'fs_mediator_circuit_transitions_total')).toEqual({
      'fs_mediator_circuit_transitions_total{policy="circuitBreaker",from="closed",to="open"}': 20,
    });
  });

  it('keeps circuit_state series for live circuits only (within maxKeys): evicted ones disappear', async () => {
    const { breaker, call } = tenants();
    const r = make({ policies: [breaker] }).registry as Registry;
    const keys = async () => {
      const series = Object.keys(await samples(r, 'fs_mediator_circuit_state'));
      return [...new Set(series.map((k) => /key="([^"]*)"/.exec(k)![1]))].sort();
    };
    await call('a');
    await call('b');
    expect(await keys()).toEqual(['a', 'b']);
    for (let i = 0; i < 20; i++) await call(`tenant-${i}`);
    const live = breaker.snapshot().map((c) => c.key);
    expect(live.length).toBeLessThanOrEqual(2);
    expect(await keys()).toEqual([...live].sort());
  });

  it('omits stream_health_status when the health check throws, and serves the rest', async () => {
    let broken = true;
    const events = new Subject<MediatorEvent>();
    const { registry } = make({
      instrumentation: { events },
      health: {
        check: () => {
          if (broken) throw new Error('check failed');
          return { status: 'degraded' as const };
        },
      },
    });
    const r = registry as Registry;
    events.next({ type: 'requestStart', ...base('GetOrder') });
    const text = await r.metrics(); // the scrape succeeds
    expect(text).toContain('fs_mediator_requests_in_flight{message="GetOrder"} 1');
    expect(await samples(r, 'fs_mediator_stream_health_status')).toEqual({});
    broken = false;
    expect(await samples(r, 'fs_mediator_stream_health_status')).toEqual({
      'fs_mediator_stream_health_status{status="healthy"}': 0,
      'fs_mediator_stream_health_status{status="degraded"}': 1,
      'fs_mediator_stream_health_status{status="unhealthy"}': 0,
    });
  });
});
