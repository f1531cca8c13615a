import { afterEach, describe, expect, it } from '@jest/globals';
import {
  serveWebSocket,
  type WebSocketSink,
  type WebSocketSinkEvent,
} from '../../../src/integrations/websocket/index.js';
import { connect, probeSource, settled, terminateClients, until } from './wsClients.js';

const sinks: WebSocketSink[] = [];
afterEach(async () => {
  terminateClients();
  await Promise.all(sinks.splice(0).map((sink) => sink.close()));
});

/** 64 KiB of payload per item, so a paused reader fills the kernel buffers within a few hundred items. */
const big = (i: number) => ({ i, pad: 'x'.repeat(65_536) });

describe('WebSocketSink.clientsSnapshot', () => {
  it("shows a paused client's full queue and socket buffer under 'block', which its events never report", async () => {
    const clientQueue = 4;
    const maxBufferedBytes = 65_536;
    const total = 400;
    const { state, factory } = probeSource(big, total);
    const sink = await serveWebSocket({
      streams: { s: factory },
      policy: 'block',
      clientQueue,
      maxBufferedBytes,
      stallMs: 50,
    });
    sinks.push(sink);
    const events: WebSocketSinkEvent[] = [];
    sink.events.subscribe((e) => events.push(e));
    expect(sink.clientsSnapshot()).toEqual([]);

    const idle = await connect(sink.url);
    const paused = await connect(sink.url);
    paused.send({ subscribe: 's' });
    await paused.frame((f) => f.subscribed === true);
    paused.stall();

    await settled(() => state.pulled);
    await until(() => sink.clientsSnapshot().some((c) => c.stalled));
    const [first, second] = sink.clientsSnapshot();
    expect(first).toEqual({
      clientId: 1,
      depth: 0,
      bufferedAmount: 0,
      subscriptions: 0,
      stalled: false,
    });
    expect(second).toMatchObject({ clientId: 2, depth: clientQueue, subscriptions: 1 });
    expect(second!.bufferedAmount).toBeGreaterThanOrEqual(maxBufferedBytes);
    expect(second!.stalled).toBe(true);
    // The gap the snapshot closes: the last depth the events reported for it is lower.
    const reported = events.filter((e) => e.type === 'sent' && e.clientId === 2);
    expect(reported.length).toBeGreaterThan(0);
    expect(reported.at(-1)).toMatchObject({ depth: 0 });

    expect(state.pulled).toBeLessThan(total); // the source was held back, not exhausted

    paused.resume();
    await paused.frame((f) => f.end === true);
    expect(sink.clientsSnapshot()[1]).toMatchObject({ depth: 0, subscriptions: 0, stalled: false });
    idle.socket.close();
    await until(() => sink.clients === 1);
    expect(sink.clientsSnapshot().map((c) => c.clientId)).toEqual([2]);
  });

  it('returns a new array per call, and lists no client after close()', async () => {
    const sink = await serveWebSocket({ streams: { s: probeSource(big, 1).factory } });
    sinks.push(sink);
    await connect(sink.url);
    await until(() => sink.clients === 1);
    const a = sink.clientsSnapshot();
    const b = sink.clientsSnapshot();
    expect(a).not.toBe(b);
    expect(a).toEqual(b);
    await sink.close();
    expect(sink.clientsSnapshot()).toEqual([]);
  });
});
