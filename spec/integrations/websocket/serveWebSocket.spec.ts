import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { of, throwError } from 'rxjs';
import { createMediator, handler, StreamRequest } from '../../../src/index.js';
import {
  serveWebSocket,
  type WebSocketSink,
  type WebSocketSinkEvent,
} from '../../../src/integrations/websocket/index.js';
import { deferred } from '../../helpers/deferred.js';
import {
  connect,
  probeSource,
  settled,
  terminateClients,
  until,
  type Received,
} from './wsClients.js';

const sinks: WebSocketSink[] = [];
const servers: Server[] = [];

async function serve(
  options: Parameters<typeof serveWebSocket>[0],
): Promise<{ sink: WebSocketSink; events: WebSocketSinkEvent[] }> {
  const sink = await serveWebSocket(options);
  sinks.push(sink);
  const events: WebSocketSinkEvent[] = [];
  sink.events.subscribe((event) => events.push(event));
  return { sink, events };
}

afterEach(async () => {
  terminateClients();
  await Promise.all(sinks.splice(0).map((sink) => sink.close()));
  await Promise.all(
    servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))),
  );
});

const seqs = (frames: readonly Received[]): number[] => frames.map((frame) => frame.seq!);
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** 64 KiB of payload per item, so a stalled reader fills the kernel buffers within a few hundred items. */
const big = (i: number) => ({ i, pad: 'x'.repeat(65_536) });

describe('serveWebSocket', () => {
  it('listens on 127.0.0.1 and streams a subscription in order, with seq, then an end frame', async () => {
    const { state, factory } = probeSource((i) => ({ id: i }), 5);
    const { sink } = await serve({ streams: { 'orders.live': factory } });
    expect(sink.url).toBe(`ws://127.0.0.1:${sink.port}/`);
    const client = await connect(sink.url);

    client.send({ subscribe: 'orders.live', params: { customer: 'c1' } });
    await client.frame((f) => f.end === true);

    expect(client.frames).toEqual([
      { stream: 'orders.live', subscribed: true },
      ...range(1, 5).map((seq) => ({ stream: 'orders.live', seq, data: { id: seq } })),
      { stream: 'orders.live', end: true },
    ]);
    expect(state.params).toEqual([{ customer: 'c1' }]);
    expect(state.finallyRan).toBe(1);
    expect(sink.upstreams).toBe(0);
  });

  it('shares one upstream pull between clients subscribed with equal params (any key order)', async () => {
    const gate = deferred();
    let opened = 0;
    let pulled = 0;
    const factory = (): AsyncIterable<number> => {
      opened++;
      return (async function* () {
        await gate.promise;
        for (let i = 1; i <= 20; i++) {
          pulled++;
          yield i;
        }
      })();
    };
    const { sink } = await serve({ streams: { s: factory } });
    const a = await connect(sink.url);
    const b = await connect(sink.url);
    const other = await connect(sink.url);
    a.send({ subscribe: 's', params: { x: 1, y: [1, { z: 2 }] } });
    b.send({ subscribe: 's', params: { y: [1, { z: 2 }], x: 1 } });
    other.send({ subscribe: 's', params: { x: 2 } });
    await Promise.all([a, b, other].map((c) => c.frame((f) => f.subscribed === true)));
    await until(() => opened === 2);
    expect(sink.upstreams).toBe(2);
    gate.resolve();

    await Promise.all([a, b, other].map((c) => c.frame((f) => f.end === true)));
    expect(seqs(a.data())).toEqual(range(1, 20));
    expect(b.data()).toEqual(a.data());
    expect(opened).toBe(2); // one for {x:1,…} shared by a and b, one for {x:2}
    expect(pulled).toBe(40);
  });

  it('answers unknown streams and malformed messages with an error frame and keeps the connection usable', async () => {
    const { factory } = probeSource((i) => i, 2);
    const { sink, events } = await serve({ streams: { s: factory } });
    const client = await connect(sink.url);

    client.send('{not json');
    client.send('[1,2]');
    client.send({ subscribe: 'nope' });
    client.send({ subscribe: 's', params: [1] });
    client.send({ hello: 1 });
    client.send({ unsubscribe: 's' });
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    await until(() => client.frames.length === 7);
    expect(client.frames.map((f) => f.error?.code)).toEqual([
      'malformed_message',
      'malformed_message',
      'unknown_stream',
      'bad_request',
      'bad_request',
      'not_subscribed',
      'malformed_message',
    ]);
    expect(client.frames[2]!.error!.message).toBe("Unknown stream 'nope'.");
    expect(events.filter((e) => e.type === 'clientError')).toHaveLength(7);

    client.send({ subscribe: 's' });
    await client.frame((f) => f.end === true);
    expect(seqs(client.data())).toEqual([1, 2]);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
  });

  it('refuses a second subscription to the same stream or beyond maxSubscriptions, and unsubscribes on request', async () => {
    const { state, factory } = probeSource((i) => i);
    const { sink } = await serve({
      streams: { s: factory, t: factory },
      clientQueue: 2,
      maxBufferedBytes: 1,
      maxSubscriptions: 1,
    });
    const client = await connect(sink.url);
    client.send({ subscribe: 's' });
    client.send({ subscribe: 's' });
    client.send({ subscribe: 't' });
    await client.frame((f) => f.error?.code === 'already_subscribed');
    expect(await client.frame((f) => f.error?.code === 'too_many_subscriptions')).toEqual({
      error: { code: 'too_many_subscriptions', message: 'At most 1 subscriptions per connection.' },
    });
    client.send({ unsubscribe: 's' });
    await client.frame((f) => f.unsubscribed === true);
    await until(() => state.finallyRan === 1);
    expect(state.signals[0]!.aborted).toBe(true);
  });

  it("'block' paces the shared source to the slowest client", async () => {
    const { state, factory } = probeSource(big);
    const { sink, events } = await serve({
      streams: { s: factory },
      policy: 'block',
      clientQueue: 4,
      maxBufferedBytes: 65_536,
    });
    const fast = await connect(sink.url);
    const slow = await connect(sink.url);
    slow.send({ subscribe: 's' });
    await slow.frame((f) => f.subscribed === true);
    slow.stall();
    fast.send({ subscribe: 's' });

    const pulled = await settled(() => state.pulled);
    const sentToSlow = events.filter((e) => e.type === 'sent' && e.clientId === 2).length;
    // Read no further than the slow client's queue (+1 item in hand) beyond what it was sent.
    expect(pulled - sentToSlow).toBeLessThanOrEqual(4 + 1);
    expect(fast.data().length).toBeLessThanOrEqual(pulled);
    expect(events.some((e) => e.type === 'drop')).toBe(false);

    slow.resume();
    await until(() => slow.data().length >= pulled + 50 && fast.data().length >= pulled + 50);
    expect(seqs(slow.data().slice(0, pulled + 50))).toEqual(range(1, pulled + 50));
    expect(
      seqs(fast.data().slice(0, 50)).every((seq, i, all) => i === 0 || seq === all[i - 1]! + 1),
    ).toBe(true);
  });

  it("'dropOldest' keeps serving the others while a stalled client drops, bounded by clientQueue", async () => {
    const total = 600;
    const gate = deferred();
    const { factory } = probeSource(big, total, gate.promise);
    const { sink, events } = await serve({
      streams: { s: factory },
      policy: 'dropOldest',
      clientQueue: 8,
      stallMs: 50,
      maxBufferedBytes: 65_536,
    });
    const stalled = await connect(sink.url);
    const healthy = await connect(sink.url);
    stalled.send({ subscribe: 's' });
    await stalled.frame((f) => f.subscribed === true);
    stalled.stall();
    healthy.send({ subscribe: 's' });
    await healthy.frame((f) => f.subscribed === true);
    gate.resolve();

    await healthy.frame((f) => f.end === true);
    expect(seqs(healthy.data())).toEqual(range(1, total));

    const drops = events.filter(
      (e): e is Extract<WebSocketSinkEvent, { type: 'drop' }> => e.type === 'drop',
    );
    expect(drops.length).toBeGreaterThan(0);
    expect(drops.every((e) => e.clientId === 1)).toBe(true);
    expect(Math.max(...drops.map((e) => e.depth))).toBeLessThanOrEqual(8);

    stalled.resume();
    await stalled.frame((f) => f.end === true);
    const got = seqs(stalled.data());
    expect(got.every((seq, i) => i === 0 || seq > got[i - 1]!)).toBe(true);
    expect(got.length + drops.length).toBe(total); // every item either arrived or was counted
    const gone = new Set(drops.map((e) => e.seq));
    expect(got.some((seq) => gone.has(seq))).toBe(false);
  });

  it("'disconnect' closes a client that falls behind with 1013 and terminates it after closeGraceMs", async () => {
    const gate = deferred();
    const { factory } = probeSource(big, 600, gate.promise);
    const { sink, events } = await serve({
      streams: { s: factory },
      policy: 'disconnect',
      clientQueue: 4,
      stallMs: 50,
      maxBufferedBytes: 65_536,
      closeGraceMs: 100,
    });
    const stalled = await connect(sink.url);
    const healthy = await connect(sink.url);
    stalled.send({ subscribe: 's' });
    await stalled.frame((f) => f.subscribed === true);
    stalled.stall();
    healthy.send({ subscribe: 's' });
    await healthy.frame((f) => f.subscribed === true);
    gate.resolve();

    await healthy.frame((f) => f.end === true);
    expect(seqs(healthy.data())).toEqual(range(1, 600));
    await until(() => events.some((e) => e.type === 'disconnect' && e.clientId === 1));
    const about1 = events.filter((e) => 'clientId' in e && e.clientId === 1).map((e) => e.type);
    expect(about1).toEqual(expect.arrayContaining(['slowClient', 'terminate', 'disconnect']));
    expect(events.find((e) => e.type === 'terminate')).toMatchObject({ reason: 'slow' });
    expect(events.find((e) => e.type === 'disconnect')).toMatchObject({
      clientId: 1,
      reason: 'slow',
    });
    expect(sink.clients).toBe(1);
  });

  it("'disconnect' lets a slow client that catches up complete the close with code 1013", async () => {
    const { factory } = probeSource(big);
    const { sink, events } = await serve({
      streams: { s: factory },
      policy: 'disconnect',
      clientQueue: 4,
      stallMs: 50,
      maxBufferedBytes: 65_536,
      closeGraceMs: 3000,
    });
    const slow = await connect(sink.url);
    slow.send({ subscribe: 's' });
    await slow.frame((f) => f.subscribed === true);
    slow.stall();
    await until(() => events.some((e) => e.type === 'slowClient'));
    slow.resume();
    expect(await slow.closed).toBe(1013);
    await until(() => events.some((e) => e.type === 'disconnect'));
    expect(events.some((e) => e.type === 'terminate')).toBe(false);
  });

  it('terminates a client that misses a pong, and keeps one that answers', async () => {
    const { sink, events } = await serve({ streams: {}, heartbeatMs: 40 });
    const dead = await connect(sink.url, { autoPong: false });
    const alive = await connect(sink.url);

    expect(await dead.closed).toBe(1006);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'terminate', clientId: 1, reason: 'heartbeat' }),
    );
    await new Promise((resolve) => setTimeout(resolve, 120)); // three more heartbeats
    expect(alive.socket.readyState).toBe(alive.socket.OPEN);
    expect(sink.clients).toBe(1);
  });

  it('closes the upstream (abort + finally) when the last subscriber leaves, and reopens on demand', async () => {
    const { state, factory } = probeSource(big);
    const { sink } = await serve({
      streams: { s: factory },
      clientQueue: 2,
      maxBufferedBytes: 65_536,
    });
    const a = await connect(sink.url);
    const b = await connect(sink.url);
    a.send({ subscribe: 's' });
    b.send({ subscribe: 's' });
    await Promise.all([a.frame((f) => f.seq !== undefined), b.frame((f) => f.seq !== undefined)]);

    a.socket.close();
    await a.closed;
    await until(() => sink.clients === 1);
    expect(state.finallyRan).toBe(0);
    expect(state.signals[0]!.aborted).toBe(false);

    b.socket.terminate();
    await until(() => state.finallyRan === 1);
    expect(state.signals[0]!.aborted).toBe(true);
    expect(sink.upstreams).toBe(0);

    const c = await connect(sink.url);
    c.send({ subscribe: 's' });
    await c.frame((f) => f.seq === 1);
    expect(state.opened).toBe(2);
  });

  it('sends an error frame when the upstream fails or the factory returns no stream', async () => {
    const { sink, events } = await serve({
      streams: {
        failing: () => throwError(() => new RangeError('db down')),
        broken: () => 42 as never,
        observable: () => of('a', 'b'),
      },
    });
    const client = await connect(sink.url);
    client.send({ subscribe: 'failing' });
    client.send({ subscribe: 'broken' });
    client.send({ subscribe: 'observable' });
    await until(
      () => client.frames.filter((f) => f.error !== undefined || f.end === true).length === 3,
    );
    expect(client.frames.find((f) => f.stream === 'failing' && f.error)).toEqual({
      stream: 'failing',
      error: { code: 'upstream_error', name: 'RangeError', message: 'db down' },
    });
    expect(client.frames.find((f) => f.stream === 'broken' && f.error)!.error!.name).toBe(
      'TypeError',
    );
    expect(client.data().map((f) => f.data)).toEqual(['a', 'b']);
    expect(
      events
        .filter((e) => e.type === 'upstreamClose')
        .map((e) => 'outcome' in e && e.outcome)
        .sort(),
    ).toEqual(['end', 'error', 'error']);
    // After an end or error the client may subscribe again.
    client.send({ subscribe: 'observable' });
    await until(() => client.data().length === 4);
  });

  it('close() closes clients and upstreams promptly and frees the port', async () => {
    const { state, factory } = probeSource(big);
    const sink = await serveWebSocket({
      streams: { s: factory },
      clientQueue: 2,
      maxBufferedBytes: 65_536,
      stallMs: 50,
    });
    const normal = await connect(sink.url);
    const stalled = await connect(sink.url);
    normal.send({ subscribe: 's' });
    stalled.send({ subscribe: 's' });
    await stalled.frame((f) => f.subscribed === true);
    stalled.stall();
    const drops: number[] = [];
    sink.events.subscribe((e) => e.type === 'drop' && drops.push(e.clientId));
    await until(() => drops.length > 0); // the stalled client's queue has been full for stallMs
    expect(drops[0]).toBe(2);

    const started = Date.now();
    await sink.close();
    expect(Date.now() - started).toBeLessThan(900); // < closeGraceMs (1000): the stalled one is terminated at once
    expect(await normal.closed).toBe(1001);
    await until(() => state.finallyRan === 1);

    const reuse = createNetServer();
    await new Promise<void>((resolve, reject) => {
      reuse.once('error', reject);
      reuse.listen(sink.port, '127.0.0.1', () => resolve());
    });
    await new Promise((resolve) => reuse.close(resolve));
    await sink.close(); // idempotent
  });

  it('attaches to an existing http.Server on a path and leaves it open on close()', async () => {
    const server = createServer((_, response) => response.end('ok'));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { factory } = probeSource((i) => i, 3);
    const sink = await serveWebSocket({ server, path: '/live', streams: { s: factory } });
    const port = (server.address() as { port: number }).port;
    expect(sink.url).toBe(`ws://127.0.0.1:${port}/live`);

    const client = await connect(sink.url);
    client.send({ subscribe: 's' });
    await client.frame((f) => f.end === true);
    await sink.close();
    expect(server.listening).toBe(true);
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(await response.text()).toBe('ok');
  });

  it('closes when its signal aborts', async () => {
    const controller = new AbortController();
    const { sink } = await serve({ streams: {}, signal: controller.signal });
    const client = await connect(sink.url);
    controller.abort();
    expect(await client.closed).toBe(1001);
    await until(() => sink.clients === 0);
  });

  it('reports connects, subscriptions, sends (depth, lag) and disconnects as events', async () => {
    const { factory } = probeSource((i) => i, 2);
    const { sink, events } = await serve({ streams: { s: factory }, name: 'feed' });
    const client = await connect(sink.url);
    client.send({ subscribe: 's', params: { a: 1 } });
    await client.frame((f) => f.end === true);
    client.socket.close();
    await until(() => events.some((e) => e.type === 'disconnect'));
    expect(events.map((e) => e.type)).toEqual([
      'connect',
      'subscribe',
      'upstreamOpen',
      'sent',
      'sent',
      'upstreamClose',
      'disconnect',
    ]);
    expect(events.every((e) => e.sink === 'feed')).toBe(true);
    expect(events[3]).toMatchObject({
      type: 'sent',
      clientId: 1,
      stream: 's',
      seq: 1,
      depth: expect.any(Number),
      lagItems: expect.any(Number),
      lagMs: expect.any(Number),
    });
    expect(events[6]).toMatchObject({
      type: 'disconnect',
      reason: 'closed',
      code: 1005,
      sent: 2,
      drops: 0,
    });
  });

  it('validates options at creation', async () => {
    await expect(serveWebSocket(undefined as never)).rejects.toThrow(TypeError);
    await expect(serveWebSocket({} as never)).rejects.toThrow("Option 'streams' is required");
    await expect(serveWebSocket({ streams: { s: 1 as never } })).rejects.toThrow(
      "Option 'streams['s']' must be a function, got 1.",
    );
    await expect(serveWebSocket({ streams: {}, policy: 'latest' as never })).rejects.toThrow(
      TypeError,
    );
    await expect(serveWebSocket({ streams: {}, clientQueue: 0 })).rejects.toThrow(RangeError);
    await expect(serveWebSocket({ streams: {}, maxBufferedBytes: 1.5 })).rejects.toThrow(
      "Option 'maxBufferedBytes'",
    );
    await expect(serveWebSocket({ streams: {}, port: 70_000 })).rejects.toThrow(RangeError);
    await expect(serveWebSocket({ streams: {}, heartbeatMs: 0 })).rejects.toThrow(RangeError);
    await expect(serveWebSocket({ streams: {}, server: {} as never })).rejects.toThrow(TypeError);
  });

  it('rejects when the port is taken', async () => {
    const { sink } = await serve({ streams: {} });
    await expect(serveWebSocket({ streams: {}, port: sink.port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('serveWebSocket with a mediator stream', () => {
  class WatchOrders extends StreamRequest<{ customer: string; n: number }> {
    constructor(readonly customer: string) {
      super();
    }
  }

  it('serves createStream() per params and closes an idle handler through its signal when the last client leaves', async () => {
    const handled = { started: [] as string[], finallyRan: 0 };
    const mediator = createMediator({
      handlers: [
        handler(WatchOrders, (request, context) =>
          (async function* () {
            handled.started.push(request.customer);
            try {
              for (let n = 1; n <= 3; n++) yield { customer: request.customer, n };
              // Then idle, as a change feed does between changes, until the signal aborts.
              await new Promise((_, reject) =>
                context.signal.addEventListener('abort', () => reject(context.signal.reason)),
              );
            } finally {
              handled.finallyRan++;
            }
          })(),
        ),
      ],
    });
    const { sink } = await serve({
      streams: {
        'orders.live': (params, signal) =>
          mediator.createStream(new WatchOrders(String(params['customer'])), { signal }),
      },
    });
    const client = await connect(sink.url);
    client.send({ subscribe: 'orders.live', params: { customer: 'c1' } });
    await until(() => client.data().length === 3);
    expect(client.data().map((f) => f.data)).toEqual([1, 2, 3].map((n) => ({ customer: 'c1', n })));

    client.send({ unsubscribe: 'orders.live' });
    await until(() => handled.finallyRan === 1);
    expect(sink.upstreams).toBe(0);
    expect(handled.started).toEqual(['c1']);
  });
});

describe('serveWebSocket when its own event loop is blocked', () => {
  /** Blocks the event loop, as a synchronous PGlite (WASM) query or a GC pause does. */
  const busyWait = (ms: number): void => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };

  // Regression: the stall verdict compared wall time with `stallMs` as soon as the loop came back,
  // before the I/O phase had run the send callbacks that show a healthy client draining.
  it.each(['dropOldest', 'disconnect'] as const)(
    "'%s' judges no healthy client stalled after the loop was blocked for longer than stallMs",
    async (policy) => {
      const total = 600;
      const clientQueue = 8;
      const stallMs = 100; // time enough for the second client to get the newest frame
      const gate = deferred();
      const { state, factory } = probeSource(big, total, gate.promise);
      const { sink, events } = await serve({
        streams: { s: factory },
        policy,
        clientQueue,
        stallMs,
        maxBufferedBytes: 65_536,
      });
      const [first, second] = [await connect(sink.url), await connect(sink.url)];
      for (const client of [first, second]) {
        client.send({ subscribe: 's' });
        await client.frame((f) => f.subscribed === true);
      }
      // The first client stops reading until its queue in the sink is full (every frame up to the
      // newest queued for it). Then, while the sink sends the newest frame to the second client,
      // the first one reads again and the loop is blocked for 3 × stallMs: the shared stream
      // decides next, before the I/O phase that would show the first client draining.
      first.stall();
      let sentToFirst = 0;
      let pausedAt = 0;
      sink.events.subscribe((event) => {
        if (event.type !== 'sent') return;
        if (event.clientId === 1) sentToFirst = event.seq;
        else if (pausedAt === 0 && event.lagItems === 0 && event.seq - sentToFirst >= clientQueue) {
          pausedAt = event.seq;
          first.resume();
          busyWait(3 * stallMs);
        }
      });
      gate.resolve();

      for (const client of [first, second]) {
        await until(
          () =>
            client.frames.some((f) => f.end === true) ||
            client.socket.readyState === client.socket.CLOSED,
        );
      }
      expect(pausedAt).toBeGreaterThan(0);
      expect(events.filter((e) => e.type === 'drop' || e.type === 'slowClient')).toEqual([]);
      expect(seqs(first.data())).toEqual(range(1, total));
      expect(seqs(second.data())).toEqual(range(1, total));
      expect(state.pulled).toBe(total);
    },
  );

  it.each(['dropOldest', 'disconnect'] as const)(
    "'%s' keeps a lone healthy client that the server itself paused past stallMs mid-stream",
    async (policy) => {
      const total = 300;
      const { state, factory } = probeSource((i) => ({ i, pad: 'x'.repeat(65_536) }), total);
      const { sink, events } = await serve({
        streams: { s: factory },
        policy,
        clientQueue: 8,
        stallMs: 50,
        maxBufferedBytes: 65_536,
      });
      const client = await connect(sink.url);
      client.send({ subscribe: 's' });
      await until(() => client.data().length >= 20);
      busyWait(150); // the client is reading; the server cannot serve it for 150 ms

      // Disconnected or not, wait until the stream is over for this client.
      await until(
        () =>
          client.frames.some((f) => f.end === true) ||
          client.socket.readyState === client.socket.CLOSED,
      );
      expect(events.filter((e) => e.type === 'drop' || e.type === 'slowClient')).toEqual([]);
      expect(seqs(client.data())).toEqual(range(1, total));
      expect(state.pulled).toBe(total);
    },
    15_000,
  );
});
