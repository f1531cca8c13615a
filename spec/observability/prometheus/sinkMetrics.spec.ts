import { afterEach, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { exportToFile, type FileExportEvent } from '../../../src/integrations/file/index.js';
import type { ChangeFeed, ChangeFeedEvent } from '../../../src/integrations/postgres/changeFeed.js';
import {
  serveWebSocket,
  type WebSocketSink,
  type WebSocketSinkEvent,
} from '../../../src/integrations/websocket/index.js';
import {
  prometheusMetrics,
  type MetricsSink,
  type PrometheusMetrics,
} from '../../../src/observability/prometheus/index.js';
import { orderRows, useTempDir } from '../../integrations/file/fileFixtures.js';
import {
  connect,
  probeSource,
  settled,
  terminateClients,
  until,
} from '../../integrations/websocket/wsClients.js';

// The real sources are accepted as they are (a compile-time check: tsc fails if one is not).
const asSinks = (ws: WebSocketSink, feed: ChangeFeed): MetricsSink[] => [ws, feed];
void asSinks;

/** Every sample of the text exposition, keyed `name{label="value",…}` as printed. */
async function exposition(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await registry.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return out;
}

/** The samples whose name starts with `prefix`. */
async function family(registry: Registry, prefix: string): Promise<Record<string, number>> {
  const all = await exposition(registry);
  return Object.fromEntries(Object.entries(all).filter(([key]) => key.startsWith(prefix)));
}

let adapters: PrometheusMetrics[] = [];
function make(sinks: readonly MetricsSink[], prefix = 'm_'): Registry {
  const metrics = prometheusMetrics({ registry: new Registry(), prefix, sinks });
  adapters.push(metrics);
  return metrics.registry as Registry;
}
afterEach(() => {
  for (const a of adapters) a.close();
  adapters = [];
});

type WsEvent = WebSocketSinkEvent;
const sent = (
  clientId: number,
  fields: Partial<Extract<WsEvent, { type: 'sent' }>> = {},
): WsEvent => ({
  type: 'sent',
  sink: 'live',
  clientId,
  stream: 'orders',
  seq: 1,
  bytes: 10,
  depth: 0,
  lagItems: 0,
  lagMs: 0,
  bufferedAmount: 0,
  ...fields,
});
const connected = (clientId: number, sink = 'live'): WsEvent => ({
  type: 'connect',
  sink,
  clientId,
  remoteAddress: '127.0.0.1',
});
const disconnected = (
  clientId: number,
  reason: 'closed' | 'slow' = 'closed',
  sink = 'live',
): WsEvent => ({ type: 'disconnect', sink, clientId, reason, code: 1000, drops: 0, sent: 0 });

describe('prometheusMetrics({ sinks })', () => {
  describe('WebSocket sinks', () => {
    it('counts frames and bytes by sink and stream, and drops under dropOldest', async () => {
      const events = new Subject<WsEvent>();
      const registry = make([{ events }]);
      events.next(connected(1));
      events.next(connected(2));
      events.next(sent(1, { bytes: 100 }));
      events.next(sent(2, { bytes: 100 }));
      events.next(sent(1, { bytes: 40, stream: 'prices' }));
      events.next({
        type: 'drop',
        sink: 'live',
        clientId: 2,
        stream: 'orders',
        seq: 2,
        drops: 1,
        depth: 8,
      });

      expect(await family(registry, 'm_sink_items_total')).toEqual({
        'm_sink_items_total{kind="websocket",sink="live",stream="orders"}': 2,
        'm_sink_items_total{kind="websocket",sink="live",stream="prices"}': 1,
      });
      expect(await family(registry, 'm_sink_bytes_total')).toEqual({
        'm_sink_bytes_total{kind="websocket",sink="live",stream="orders"}': 200,
        'm_sink_bytes_total{kind="websocket",sink="live",stream="prices"}': 40,
      });
      expect(await family(registry, 'm_sink_dropped_total')).toEqual({
        'm_sink_dropped_total{kind="websocket",sink="live",stream="orders"}': 1,
        'm_sink_dropped_total{kind="websocket",sink="live",stream="prices"}': 0,
      });
    });

    it("keeps each client's last depth and lag as max and sum, and forgets a client on disconnect", async () => {
      const events = new Subject<WsEvent>();
      const registry = make([{ events }]);
      events.next(connected(1));
      events.next(connected(2));
      events.next(connected(3));
      events.next(sent(1, { depth: 3, lagItems: 3, lagMs: 2 }));
      events.next(sent(2, { depth: 9, lagItems: 12, lagMs: 300 }));
      events.next(sent(2, { depth: 7, lagItems: 10, lagMs: 400 }));

      const gauges = async () => ({
        clients: (await exposition(registry))['m_sink_clients{sink="live"}'],
        max: (await exposition(registry))['m_sink_client_queue_depth_max{sink="live"}'],
        sum: (await exposition(registry))['m_sink_queued_frames{sink="live"}'],
        lag: (await exposition(registry))['m_sink_client_lag_items_max{sink="live"}'],
      });
      expect(await gauges()).toEqual({ clients: 3, max: 7, sum: 10, lag: 10 });

      events.next(disconnected(2, 'slow'));
      expect(await gauges()).toEqual({ clients: 2, max: 3, sum: 3, lag: 3 });
      // Under 'disconnect', a full queue is reported just before the client is closed.
      events.next({ type: 'slowClient', sink: 'live', clientId: 3, depth: 20, bufferedAmount: 0 });
      expect(await gauges()).toEqual({ clients: 2, max: 20, sum: 23, lag: 3 });
      events.next(disconnected(1));
      events.next(disconnected(3, 'slow'));
      expect(await gauges()).toEqual({ clients: 0, max: 0, sum: 0, lag: 0 });
      expect(await family(registry, 'm_sink_disconnects_total')).toEqual({
        'm_sink_disconnects_total{sink="live",reason="slow"}': 2,
        'm_sink_disconnects_total{sink="live",reason="closed"}': 1,
      });
    });

    it('observes the time frames waited in a queue in sink_lag_seconds', async () => {
      const events = new Subject<WsEvent>();
      const registry = make([{ events }]);
      events.next(sent(1, { lagMs: 0.5 }));
      events.next(sent(1, { lagMs: 40 }));
      events.next(sent(1, { lagMs: 40_000 }));
      const samples = await family(registry, 'm_sink_lag_seconds');
      expect(samples['m_sink_lag_seconds_bucket{sink="live",le="0.001"}']).toBe(1);
      expect(samples['m_sink_lag_seconds_bucket{sink="live",le="0.05"}']).toBe(2);
      expect(samples['m_sink_lag_seconds_bucket{sink="live",le="30"}']).toBe(2);
      expect(samples['m_sink_lag_seconds_bucket{sink="live",le="+Inf"}']).toBe(3);
      expect(samples['m_sink_lag_seconds_count{sink="live"}']).toBe(3);
      expect(samples['m_sink_lag_seconds_sum{sink="live"}']).toBeCloseTo(40.0405, 6);
    });

    it('counts client errors by code, never labels a client id, and keeps two sinks of one name apart', async () => {
      const a = new Subject<WsEvent>();
      const b = new Subject<WsEvent>();
      const registry = make([{ events: a }, { events: b }]);
      // Client ids are unique per sink only: client 1 of each sink is a different client.
      a.next(sent(1, { depth: 5 }));
      b.next(sent(1, { depth: 2 }));
      a.next({
        type: 'clientError',
        sink: 'live',
        clientId: 1,
        code: 'unknown_stream',
        message: "Unknown stream 'x'.",
      });
      expect((await exposition(registry))['m_sink_clients{sink="live"}']).toBe(2);
      b.next(disconnected(1));
      const samples = await exposition(registry);
      expect(samples['m_sink_clients{sink="live"}']).toBe(1);
      expect(samples['m_sink_client_queue_depth_max{sink="live"}']).toBe(5);
      expect(samples['m_sink_items_total{kind="websocket",sink="live",stream="orders"}']).toBe(2);
      expect(samples['m_sink_client_errors_total{sink="live",code="unknown_stream"}']).toBe(1);
      expect(await registry.metrics()).not.toMatch(/client_?id=|client=|Unknown stream/i);
    });

    it("labels with the entry's name when given, over the sink's own", async () => {
      const events = new Subject<WsEvent>();
      const registry = make([{ name: 'public', events }]);
      events.next(sent(1));
      expect(await family(registry, 'm_sink_items_total')).toEqual({
        'm_sink_items_total{kind="websocket",sink="public",stream="orders"}': 1,
      });
    });
  });

  describe('WebSocket sinks with clientsSnapshot()', () => {
    const gauges = async (registry: Registry, sink = 'live') => {
      const samples = await exposition(registry);
      const read = (name: string) => samples[`m_${name}{sink="${sink}"}`];
      return {
        clients: read('sink_clients'),
        max: read('sink_client_queue_depth_max'),
        sum: read('sink_queued_frames'),
        buffered: read('sink_buffered_bytes'),
        lag: read('sink_client_lag_items_max'),
      };
    };

    it('reads the depth gauges from the snapshot at scrape time, over the depths events reported', async () => {
      const events = new Subject<WsEvent>();
      let clients = [
        { clientId: 1, depth: 0, bufferedAmount: 0 },
        { clientId: 2, depth: 0, bufferedAmount: 0 },
      ];
      let calls = 0;
      const clientsSnapshot = () => (calls++, clients);
      const registry = make([{ name: 'live', events, clientsSnapshot }]);
      // Shown before any event: the snapshot knows clients connected before the adapter.
      expect(await gauges(registry)).toEqual({ clients: 2, max: 0, sum: 0, buffered: 0, lag: 0 });

      events.next(sent(2, { depth: 0, lagItems: 6, bufferedAmount: 10 }));
      // Then client 2 stops reading: its queue fills and no event says so.
      clients = [
        { clientId: 1, depth: 1, bufferedAmount: 100 },
        { clientId: 2, depth: 1000, bufferedAmount: 2_000_000 },
      ];
      calls = 0;
      expect(await gauges(registry)).toEqual({
        clients: 2,
        max: 1000,
        sum: 1001,
        buffered: 2_000_100,
        lag: 6, // lag still comes from the events
      });
      expect(calls).toBe(1); // once per scrape, not once per gauge
      clients = [];
      expect(await gauges(registry)).toEqual({ clients: 0, max: 0, sum: 0, buffered: 0, lag: 6 });
    });

    it("adds a live entry and an event-only entry of one sink name, and labels an unnamed live entry 'websocket'", async () => {
      const live = new Subject<WsEvent>();
      const reported = new Subject<WsEvent>();
      const registry = make([
        { events: live, clientsSnapshot: () => [{ depth: 4, bufferedAmount: 70_000 }] },
        { events: reported },
        { name: 'websocket', events: new Subject<WsEvent>() }, // event-only, same label
      ]);
      reported.next(connected(1, 'websocket'));
      reported.next(sent(1, { sink: 'websocket', depth: 9, bufferedAmount: 5 }));
      reported.next(connected(2, 'websocket'));
      expect(await gauges(registry, 'websocket')).toEqual({
        clients: 3,
        max: 9,
        sum: 13,
        buffered: 70_005,
        lag: 0,
      });
    });

    it('falls back to the reported depths when the snapshot throws or is no array', async () => {
      const events = new Subject<WsEvent>();
      let snapshot: () => unknown = () => {
        throw new Error('gone');
      };
      const registry = make([
        {
          name: 'live',
          events,
          clientsSnapshot: () => snapshot() as { depth: number; bufferedAmount: number }[],
        },
      ]);
      events.next(sent(1, { depth: 3, bufferedAmount: 7 }));
      expect(await gauges(registry)).toEqual({ clients: 1, max: 3, sum: 3, buffered: 7, lag: 0 });
      snapshot = () => 'nope';
      expect(await gauges(registry)).toEqual({ clients: 1, max: 3, sum: 3, buffered: 7, lag: 0 });
    });
  });

  describe('file exports', () => {
    const progress = (path: string, rows: number, bytes: number): FileExportEvent => ({
      type: 'progress',
      path,
      rows,
      bytes,
    });

    it('counts the rows and bytes new since the last event of the same run (events carry totals)', async () => {
      const events = new Subject<FileExportEvent>();
      const registry = make([{ name: 'orders', events }]);
      const items = async () =>
        (await exposition(registry))['m_sink_items_total{kind="file",sink="orders"}'];
      const bytes = async () =>
        (await exposition(registry))['m_sink_bytes_total{kind="file",sink="orders"}'];

      events.next(progress('/x/a.ndjson', 1000, 50_000));
      expect([await items(), await bytes()]).toEqual([1000, 50_000]);
      events.next(progress('/x/a.ndjson', 2000, 100_000));
      // A second run at the same time, at another path.
      events.next(progress('/x/b.ndjson', 1000, 20_000));
      expect([await items(), await bytes()]).toEqual([3000, 120_000]);
      events.next({
        type: 'finished',
        path: '/x/a.ndjson',
        rows: 2500,
        bytes: 125_000,
        durationMs: 12,
      });
      expect([await items(), await bytes()]).toEqual([3500, 145_000]);
      events.next({
        type: 'failed',
        path: '/x/b.ndjson',
        error: new Error('disk full'),
        rows: 1200,
        bytes: 24_000,
      });
      expect([await items(), await bytes()]).toEqual([3700, 149_000]);
      // A later run at a path used before starts from zero again.
      events.next(progress('/x/a.ndjson', 1000, 50_000));
      events.next({
        type: 'aborted',
        path: '/x/a.ndjson',
        reason: 'stop',
        rows: 1500,
        bytes: 75_000,
      });
      expect([await items(), await bytes()]).toEqual([5200, 224_000]);
      expect(await family(registry, 'm_sink_exports_total')).toEqual({
        'm_sink_exports_total{sink="orders",outcome="finished"}': 1,
        'm_sink_exports_total{sink="orders",outcome="failed"}': 1,
        'm_sink_exports_total{sink="orders",outcome="aborted"}': 1,
      });
      expect(await registry.metrics()).not.toContain('ndjson');
    });

    it("labels an unnamed export 'file', never with its path", async () => {
      const events = new Subject<FileExportEvent>();
      const registry = make([{ events }]);
      events.next(progress('/exports/orders-2026-11-25.csv', 10, 100));
      expect(await family(registry, 'm_sink_items_total')).toEqual({
        'm_sink_items_total{kind="file",sink="file"}': 10,
      });
    });
  });

  describe('change feeds', () => {
    it('counts rows, pages, wake-ups and cursor writes per consumer, and times pages', async () => {
      const events = new Subject<ChangeFeedEvent>();
      const registry = make([{ events }]);
      events.next({ type: 'page', consumer: 'shipping', rows: 1000, durationMs: 4 });
      events.next({ type: 'page', consumer: 'shipping', rows: 0, durationMs: 2 });
      events.next({ type: 'wake', consumer: 'shipping', reason: 'notify' });
      events.next({ type: 'wake', consumer: 'shipping', reason: 'poll' });
      events.next({ type: 'wake', consumer: 'shipping', reason: 'notify' });
      events.next({ type: 'page', consumer: 'shipping', rows: 3, durationMs: 3 });
      events.next({ type: 'ack', consumer: 'shipping', txid: '700', id: '1003' });
      events.next({ type: 'ackError', consumer: 'shipping', error: new Error('gone') });

      const samples = await exposition(registry);
      expect(samples).toMatchObject({
        'm_changefeed_rows_total{consumer="shipping"}': 1003,
        'm_changefeed_pages_total{consumer="shipping"}': 3,
        'm_changefeed_wakeups_total{consumer="shipping",reason="notify"}': 2,
        'm_changefeed_wakeups_total{consumer="shipping",reason="poll"}': 1,
        'm_changefeed_cursor_writes_total{consumer="shipping"}': 1,
        'm_changefeed_cursor_write_errors_total{consumer="shipping"}': 1,
        'm_changefeed_page_duration_seconds_count{consumer="shipping"}': 3,
        'm_changefeed_page_duration_seconds_bucket{consumer="shipping",le="0.0025"}': 1,
        'm_changefeed_page_duration_seconds_bucket{consumer="shipping",le="0.005"}': 3,
      });
      expect(samples['m_changefeed_page_duration_seconds_sum{consumer="shipping"}']).toBeCloseTo(
        0.009,
        9,
      );
      // A change feed is a source: it writes nothing to sink_items_total.
      expect(await family(registry, 'm_sink_items_total')).toEqual({});
    });
  });

  describe('lifecycle and options', () => {
    it('registers the sink metrics only when sinks are given', () => {
      const none = prometheusMetrics({ registry: new Registry() });
      adapters.push(none);
      expect(none.metricNames.filter((n) => /sink|changefeed/.test(n))).toEqual([]);
      const some = prometheusMetrics({
        registry: new Registry(),
        sinks: [{ events: new Subject() }],
      });
      adapters.push(some);
      expect(some.metricNames).toEqual(
        expect.arrayContaining([
          'fs_mediator_sink_items_total',
          'fs_mediator_sink_client_queue_depth_max',
          'fs_mediator_sink_lag_seconds',
          'fs_mediator_changefeed_rows_total',
        ]),
      );
    });

    it('close() unsubscribes from every sink and removes its metrics', async () => {
      const ws = new Subject<WsEvent>();
      const file = new Subject<FileExportEvent>();
      const metrics = prometheusMetrics({
        registry: new Registry(),
        sinks: [{ events: ws }, { events: file }],
      });
      const registry = metrics.registry as Registry;
      expect(ws.observed && file.observed).toBe(true);
      ws.next(sent(1));
      expect(await registry.metrics()).toContain('fs_mediator_sink_items_total');

      metrics.close();
      metrics.close();
      expect(ws.observed || file.observed).toBe(false);
      expect((await registry.metrics()).trim()).toBe('');
      expect(registry.getSingleMetric('fs_mediator_sink_items_total')).toBeUndefined();
    });

    it('rejects bad sinks at creation, naming the option', () => {
      const create = (sinks: unknown) =>
        prometheusMetrics({ registry: new Registry(), sinks: sinks as MetricsSink[] });
      expect(() => create({ events: new Subject() })).toThrow(TypeError);
      expect(() => create({ events: new Subject() })).toThrow(
        /^Option 'sinks' must be an array, got \{"events":/,
      );
      expect(() => create([{ events: new Subject() }, { name: 'x' }])).toThrow(
        /^Option 'sinks\[1\]' must have an 'events' Observable, got /,
      );
      expect(() => create([null])).toThrow(TypeError);
      expect(() => create([null])).toThrow(/'sinks\[0\]'/);
      expect(() => create([{ events: new Subject(), name: '' }])).toThrow(
        new TypeError(`Option 'sinks[0].name' must be a non-empty string, got ''.`),
      );
      expect(() => create([{ events: new Subject(), name: 7 }])).toThrow(/'sinks\[0\]\.name'/);
      expect(() =>
        prometheusMetrics({ registry: new Registry(), buckets: { sinkLag: [1, 0.5] } }),
      ).toThrow(RangeError);
      expect(() =>
        prometheusMetrics({ registry: new Registry(), buckets: { changeFeedPage: [] } }),
      ).toThrow(/'buckets\.changeFeedPage'/);
    });

    it('leaves the integration modules unloaded: the adapter imports their types only', async () => {
      const source = await readFile(
        new URL('../../../src/observability/prometheus/sinkMetrics.ts', import.meta.url),
        'utf8',
      );
      const imports = source.match(/^import .*$/gm) ?? [];
      expect(imports.filter((line) => line.includes('integrations'))).toEqual([]);
    });
  });

  describe('with a real WebSocket sink and a real file export', () => {
    const tmp = useTempDir();
    let sink: WebSocketSink | undefined;
    afterEach(async () => {
      terminateClients();
      await sink?.close();
      sink = undefined;
    });

    it('moves the counters as a ws client receives frames and an export writes its file', async () => {
      const { factory } = probeSource((i) => ({ id: i }), 50);
      sink = await serveWebSocket({ name: 'live', port: 0, streams: { 'orders.live': factory } });
      const path = tmp.file('orders.ndjson');
      const run = exportToFile(orderRows(1, 250), { path, format: 'ndjson', progressEvery: 100 });
      const metrics = prometheusMetrics({
        registry: new Registry(),
        prefix: 'e2e_',
        sinks: [sink, run],
      });
      adapters.push(metrics);
      const registry = metrics.registry as Registry;

      const client = await connect(sink.url);
      client.send({ subscribe: 'orders.live' });
      await client.frame((f) => f.end === true);
      const result = await run;
      const received = client.data();
      const wsBytes = received.reduce((sum, f) => sum + Buffer.byteLength(JSON.stringify(f)), 0);
      const fileBytes = (await readFile(path)).length;

      let samples = await exposition(registry);
      expect(received).toHaveLength(50);
      expect(samples).toMatchObject({
        'e2e_sink_items_total{kind="websocket",sink="live",stream="orders.live"}': 50,
        'e2e_sink_bytes_total{kind="websocket",sink="live",stream="orders.live"}': wsBytes,
        'e2e_sink_clients{sink="live"}': 1,
        'e2e_sink_lag_seconds_count{sink="live"}': 50,
        'e2e_sink_items_total{kind="file",sink="file"}': 250,
        'e2e_sink_bytes_total{kind="file",sink="file"}': fileBytes,
        'e2e_sink_exports_total{sink="file",outcome="finished"}': 1,
      });
      expect(result).toMatchObject({ rows: 250, bytes: fileBytes });

      client.socket.close();
      // The sink reports the disconnect in the same 'close' callback that lowers its count.
      await until(() => sink!.clients === 0);
      samples = await exposition(registry);
      expect(samples['e2e_sink_disconnects_total{sink="live",reason="closed"}']).toBe(1);
      expect(samples['e2e_sink_clients{sink="live"}']).toBe(0);
    });

    it("shows a paused client's full queue under 'block' at scrape, though its events last said 0", async () => {
      const clientQueue = 8;
      const maxBufferedBytes = 65_536;
      const { state, factory } = probeSource((i) => ({ i, pad: 'x'.repeat(65_536) }), 400);
      sink = await serveWebSocket({
        name: 'live',
        port: 0,
        streams: { s: factory },
        policy: 'block',
        clientQueue,
        maxBufferedBytes,
      });
      const reported: WsEvent[] = [];
      sink.events.subscribe((e) => reported.push(e));
      const registry = make([sink]);

      const client = await connect(sink.url);
      client.send({ subscribe: 's' });
      await client.frame((f) => f.subscribed === true);
      client.stall(); // the kernel buffers fill, then the socket's, then the client's queue
      await until(() => sink!.clientsSnapshot()[0]?.depth === clientQueue);
      await settled(() => state.pulled);

      const samples = await exposition(registry);
      expect(samples['m_sink_clients{sink="live"}']).toBe(1);
      expect(samples['m_sink_client_queue_depth_max{sink="live"}']).toBe(clientQueue);
      expect(samples['m_sink_queued_frames{sink="live"}']).toBe(clientQueue);
      expect(samples['m_sink_buffered_bytes{sink="live"}']).toBeGreaterThanOrEqual(
        maxBufferedBytes,
      );
      // What the event-only path would show: the depth of the last frame sent to it.
      const sends = reported.filter((e) => e.type === 'sent');
      expect(sends.at(-1)).toMatchObject({ depth: 0 });
      expect(state.pulled).toBeLessThan(400);

      client.resume();
      await client.frame((f) => f.end === true);
      const after = await exposition(registry);
      expect(after['m_sink_client_queue_depth_max{sink="live"}']).toBe(0);
      expect(after['m_sink_buffered_bytes{sink="live"}']).toBe(0);
    });
  });
});
