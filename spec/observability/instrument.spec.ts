import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  batch,
  createMediator,
  handler,
  StreamRequest,
  type HandlerContext,
} from '../../src/index.js';
import { instrument, type Instrumentation } from '../../src/observability/instrument.js';
import { InstrumentedStream } from '../../src/observability/InstrumentedStream.js';
import type { MediatorEvent } from '../../src/observability/MediatorEvent.js';
import { streamHealth } from '../../src/observability/streamHealth.js';
import { flushMicrotasks } from '../helpers/deferred.js';
import {
  ExportOrders,
  GetOrder,
  order,
  OrderPlaced,
  PlaceOrder,
  type Order,
} from '../helpers/orders.js';
import { sleep } from '../helpers/signals.js';
import { collect } from '../helpers/collect.js';

/** Items 0, 1, 2, …: item i comes `gaps[i]` ms after the handler is asked for it (Infinity: never). */
class Feed extends StreamRequest<number> {
  constructor(
    readonly gaps: readonly number[],
    readonly failAtEnd?: Error,
  ) {
    super();
  }
}

interface Run {
  finallyRan: boolean;
}

function setup(telemetry: Instrumentation) {
  const runs: Run[] = [];
  const mediator = createMediator({
    handlers: [
      handler(GetOrder, async (query: GetOrder, context: HandlerContext) => {
        if (query.id === 'boom') throw new Error('boom');
        if (query.id === 'slow') await sleep(250, context.signal);
        if (query.id === 'never') await sleep(Infinity, context.signal);
        if (query.id === 'abort') throw new DOMException('gone', 'AbortError');
        return order(query.id);
      }),
      handler(PlaceOrder, () => 'id-1'),
      handler(Feed, async function* (request: Feed, context: HandlerContext) {
        const run: Run = { finallyRan: false };
        runs.push(run);
        try {
          for (let i = 0; i < request.gaps.length; i++) {
            await sleep(request.gaps[i]!, context.signal);
            yield i;
          }
          if (request.failAtEnd) throw request.failAtEnd;
        } finally {
          run.finallyRan = true;
        }
      }),
      handler(ExportOrders, () => Array.from({ length: 250 }, (_, i) => order(String(i)))),
      handler(OrderPlaced, () => undefined),
      handler(OrderPlaced, async (_event: OrderPlaced, context: HandlerContext) => {
        await sleep(40, context.signal);
        throw new Error('mail down');
      }),
    ],
    behaviors: [telemetry],
  });
  const events: MediatorEvent[] = [];
  const subscription = telemetry.events.subscribe((e) => events.push(e));
  return { mediator, events, runs, subscription };
}

/** The events without `message` and `context`, which each spec checks separately when it matters. */
function bare(events: readonly MediatorEvent[]): Record<string, unknown>[] {
  return events.map(({ message: _m, context: _c, ...rest }) => rest);
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('instrument()', () => {
  describe('requests', () => {
    it('reports requestStart and requestEnd with the duration on success', async () => {
      const { mediator, events } = setup(instrument());
      const query = new GetOrder('slow');
      jest.advanceTimersByTime(1_000); // so startedAt is not the clock's zero
      const answer = mediator.send(query, { correlationId: 'c-1' });
      expect(bare(events)).toEqual([{ type: 'requestStart', messageName: 'GetOrder' }]);
      await jest.advanceTimersByTimeAsync(250);
      await expect(answer).resolves.toEqual(order('slow'));
      expect(bare(events)).toEqual([
        { type: 'requestStart', messageName: 'GetOrder' },
        {
          type: 'requestEnd',
          messageName: 'GetOrder',
          startedAt: 1_000,
          outcome: 'success',
          durationMs: 250,
        },
      ]);
      expect(events[1]!.message).toBe(query);
      expect(events[1]!.context.correlationId).toBe('c-1');
      expect(events[0]!.context).toBe(events[1]!.context);
    });

    it("reports a failure with its error as outcome 'failure'", async () => {
      const { mediator, events } = setup(instrument());
      await expect(mediator.send(new GetOrder('boom'))).rejects.toThrow('boom');
      expect(bare(events)[1]).toEqual({
        type: 'requestEnd',
        messageName: 'GetOrder',
        startedAt: 0,
        outcome: 'failure',
        durationMs: 0,
        error: new Error('boom'),
      });
    });

    it("reports an aborted call as 'cancelled'", async () => {
      const { mediator, events } = setup(instrument());
      const controller = new AbortController();
      const answer = mediator.send(new GetOrder('never'), { signal: controller.signal });
      await jest.advanceTimersByTimeAsync(30);
      const reason = new Error('caller left');
      controller.abort(reason);
      await expect(answer).rejects.toBe(reason);
      expect(bare(events)[1]).toEqual({
        type: 'requestEnd',
        messageName: 'GetOrder',
        startedAt: 0,
        outcome: 'cancelled',
        durationMs: 30,
        error: reason,
      });
    });

    it("reports an AbortError as 'cancelled' even when the signal did not fire", async () => {
      const { mediator, events } = setup(instrument());
      await expect(mediator.send(new GetOrder('abort'))).rejects.toThrow('gone');
      expect(events[1]).toMatchObject({ type: 'requestEnd', outcome: 'cancelled' });
    });

    it('watches only the classes given in `for`', async () => {
      const { mediator, events } = setup(instrument({ for: [PlaceOrder] }));
      await mediator.send(new GetOrder('1'));
      await mediator.send(new PlaceOrder('sku', 1));
      expect(bare(events).map((e) => `${e.type} ${e.messageName}`)).toEqual([
        'requestStart PlaceOrder',
        'requestEnd PlaceOrder',
      ]);
    });
  });

  describe('notifications', () => {
    it('reports notificationEnd per handler with its name, outcome and duration', async () => {
      const { mediator, events } = setup(instrument());
      const published = mediator.publish(new OrderPlaced('42'), { strategy: 'allSettled' });
      published.catch(() => undefined);
      await jest.advanceTimersByTimeAsync(40);
      await expect(published).rejects.toThrow();
      const ends = events.filter((e) => e.type === 'notificationEnd');
      expect(ends).toHaveLength(2);
      const [ok, failed] = ends as Extract<MediatorEvent, { type: 'notificationEnd' }>[];
      expect(ok).toMatchObject({ messageName: 'OrderPlaced', outcome: 'success', durationMs: 0 });
      expect(ok).not.toHaveProperty('error');
      expect(failed).toMatchObject({
        messageName: 'OrderPlaced',
        outcome: 'failure',
        durationMs: 40,
        error: new Error('mail down'),
      });
      expect(ok!.handlerName).not.toBe(failed!.handlerName);
      expect(ok!.handlerName).toBe(ok!.context.handlerName);
    });
  });

  describe('streams', () => {
    it('reports start at the first read, first item, progress by items and a completed end', async () => {
      const telemetry = instrument({ progress: { everyItems: 3, everyMs: Infinity } });
      const { mediator, events } = setup(telemetry);
      const stream = mediator.createStream(new Feed([100, 50, 0, 0, 0, 0, 0, 10]));
      const iterator = stream[Symbol.asyncIterator]();
      expect(events).toEqual([]); // nothing until the first read
      const first = iterator.next();
      expect(bare(events)).toEqual([{ type: 'streamStart', messageName: 'Feed' }]);
      await jest.advanceTimersByTimeAsync(100);
      await expect(first).resolves.toEqual({ value: 0, done: false });
      const rest = collect({ [Symbol.asyncIterator]: () => iterator });
      await jest.advanceTimersByTimeAsync(60);
      await expect(rest).resolves.toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(bare(events)).toEqual([
        { type: 'streamStart', messageName: 'Feed' },
        { type: 'streamFirstItem', messageName: 'Feed', afterMs: 100 },
        {
          type: 'streamProgress',
          messageName: 'Feed',
          items: 3,
          itemsSinceLast: 3,
          elapsedMs: 150,
        },
        {
          type: 'streamProgress',
          messageName: 'Feed',
          items: 6,
          itemsSinceLast: 3,
          elapsedMs: 150,
        },
        {
          type: 'streamEnd',
          messageName: 'Feed',
          startedAt: 0,
          outcome: 'completed',
          items: 8,
          itemsSinceLast: 2,
          durationMs: 160,
        },
      ]);
      expect(events.every((e) => e.context === events[0]!.context)).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('reports progress every everyMs while the stream is active, then clears its timer', async () => {
      const telemetry = instrument({ progress: { everyItems: Infinity, everyMs: 1_000 } });
      const { mediator, events } = setup(telemetry);
      const gaps = [300, 300, 300, 300, 300, 300, 300, 300];
      const done = collect(mediator.createStream(new Feed(gaps)));
      await jest.advanceTimersByTimeAsync(2_400);
      await expect(done).resolves.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(
        bare(events).filter((e) => e.type !== 'streamStart' && e.type !== 'streamFirstItem'),
      ).toEqual([
        {
          type: 'streamProgress',
          messageName: 'Feed',
          items: 3,
          itemsSinceLast: 3,
          elapsedMs: 1_000,
        },
        {
          type: 'streamProgress',
          messageName: 'Feed',
          items: 6,
          itemsSinceLast: 3,
          elapsedMs: 2_000,
        },
        {
          type: 'streamEnd',
          messageName: 'Feed',
          startedAt: 0,
          outcome: 'completed',
          items: 8,
          itemsSinceLast: 2,
          durationMs: 2_400,
        },
      ]);
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(5_000);
      expect(events.filter((e) => e.type === 'streamProgress')).toHaveLength(2);
    });

    it('reports time progress of a stream that produces nothing (items unchanged)', async () => {
      const { mediator, events } = setup(instrument({ progress: { everyMs: 500 } }));
      const iterator = mediator.createStream(new Feed([Infinity]))[Symbol.asyncIterator]();
      iterator.next().catch(() => undefined); // rejects with the AbortError of return()
      await jest.advanceTimersByTimeAsync(1_000);
      expect(bare(events).slice(1)).toEqual([
        {
          type: 'streamProgress',
          messageName: 'Feed',
          items: 0,
          itemsSinceLast: 0,
          elapsedMs: 500,
        },
        {
          type: 'streamProgress',
          messageName: 'Feed',
          items: 0,
          itemsSinceLast: 0,
          elapsedMs: 1_000,
        },
      ]);
      await iterator.return!();
    });

    it("reports a failing stream as 'failed' with its error", async () => {
      const { mediator, events } = setup(instrument());
      const failure = new Error('disk gone');
      const done = collect(mediator.createStream(new Feed([10, 10], failure)));
      done.catch(() => undefined);
      await jest.advanceTimersByTimeAsync(20);
      await expect(done).rejects.toBe(failure);
      expect(bare(events).at(-1)).toEqual({
        type: 'streamEnd',
        messageName: 'Feed',
        startedAt: 0,
        outcome: 'failed',
        items: 2,
        itemsSinceLast: 2,
        durationMs: 20,
        error: failure,
      });
      expect(jest.getTimerCount()).toBe(0);
    });

    it("reports a break as 'cancelled', closes the inner stream and clears the timer", async () => {
      const { mediator, events, runs } = setup(instrument({ progress: { everyMs: 1_000 } }));
      const seen: number[] = [];
      const loop = (async () => {
        for await (const item of mediator.createStream(new Feed([10, 10, 10, 10]))) {
          seen.push(item);
          if (item === 1) break;
        }
      })();
      expect(jest.getTimerCount()).toBeGreaterThan(0);
      await jest.advanceTimersByTimeAsync(20);
      await loop;
      expect(seen).toEqual([0, 1]);
      expect(runs[0]!.finallyRan).toBe(true);
      expect(bare(events).at(-1)).toEqual({
        type: 'streamEnd',
        messageName: 'Feed',
        startedAt: 0,
        outcome: 'cancelled',
        items: 2,
        itemsSinceLast: 2,
        durationMs: 20,
      });
      expect(jest.getTimerCount()).toBe(0);
    });

    it("reports an abort during a pending read as 'cancelled' and clears the timer", async () => {
      const { mediator, events, runs } = setup(instrument({ progress: { everyMs: 1_000 } }));
      const controller = new AbortController();
      const done = collect(
        mediator.createStream(new Feed([10, Infinity]), { signal: controller.signal }),
      );
      done.catch(() => undefined);
      await jest.advanceTimersByTimeAsync(50);
      const reason = new Error('stop');
      controller.abort(reason);
      await expect(done).rejects.toBe(reason);
      await flushMicrotasks();
      expect(events.at(-1)).toMatchObject({
        type: 'streamEnd',
        outcome: 'cancelled',
        items: 1,
        durationMs: 50,
      });
      expect(events.filter((e) => e.type === 'streamEnd')).toHaveLength(1);
      expect(runs[0]!.finallyRan).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('counts the items a batch() downstream takes in bulk, without a read per item', async () => {
      const { mediator, events } = setup(instrument({ progress: { everyItems: 100 } }));
      const next = jest.spyOn(InstrumentedStream.prototype, 'next');
      try {
        const batches = await collect(mediator.createStream(new ExportOrders()).pipe(batch(100)));
        expect(batches.map((b: Order[]) => b.length)).toEqual([100, 100, 50]);
        expect(next.mock.calls.length).toBeLessThan(10);
      } finally {
        next.mockRestore();
      }
      expect(
        bare(events).filter((e) => e.type === 'streamProgress' || e.type === 'streamEnd'),
      ).toEqual([
        {
          type: 'streamProgress',
          messageName: 'ExportOrders',
          items: 100,
          itemsSinceLast: 100,
          elapsedMs: 0,
        },
        {
          type: 'streamProgress',
          messageName: 'ExportOrders',
          items: 200,
          itemsSinceLast: 100,
          elapsedMs: 0,
        },
        {
          type: 'streamEnd',
          messageName: 'ExportOrders',
          startedAt: 0,
          outcome: 'completed',
          items: 250,
          itemsSinceLast: 50,
          durationMs: 0,
        },
      ]);
    });

    it('reports each stream call on its own', async () => {
      const telemetry = instrument();
      const { mediator, events } = setup(telemetry);
      await collect(mediator.createStream(new Feed([0])));
      await collect(mediator.createStream(new Feed([0, 0])));
      const ends = events.filter((e) => e.type === 'streamEnd');
      expect(ends.map((e) => e.items)).toEqual([1, 2]);
      expect(ends[0]!.context).not.toBe(ends[1]!.context);
    });
  });

  describe('activeStreams()', () => {
    it('lists the streams being watched, with live item counts, until they end', async () => {
      const telemetry = instrument();
      const { mediator } = setup(telemetry);
      expect(telemetry.activeStreams()).toEqual([]);
      const stream = mediator.createStream(new Feed([0, 0, Infinity]), { correlationId: 'exp-1' });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const [active] = telemetry.activeStreams();
      expect(active).toMatchObject({ messageName: 'Feed', items: 1, startedAt: performance.now() });
      expect(active!.awaitingItem).toBe(false);
      expect(active!.context.correlationId).toBe('exp-1');
      expect(active!.message).toBeInstanceOf(Feed);
      await iterator.next();
      expect(active!.items).toBe(2); // live
      iterator.next().catch(() => undefined);
      await flushMicrotasks();
      expect(active!.awaitingItem).toBe(true);
      await iterator.return!();
      expect(telemetry.activeStreams()).toEqual([]);
    });
  });

  describe('when nobody subscribes', () => {
    it('does no work: no clock read, no event, no timer, no active stream', async () => {
      const telemetry = instrument({ progress: { everyMs: 100 } });
      const { mediator, events, subscription } = setup(telemetry);
      subscription.unsubscribe();
      const now = jest.spyOn(performance, 'now');
      try {
        await mediator.send(new GetOrder('1'));
        const published = mediator.publish(new OrderPlaced('1')).catch(() => undefined);
        await jest.advanceTimersByTimeAsync(40);
        await published;
        const iterator = mediator.createStream(new Feed([Infinity]))[Symbol.asyncIterator]();
        iterator.next().catch(() => undefined);
        await flushMicrotasks();
        expect(telemetry.activeStreams()).toEqual([]);
        expect(jest.getTimerCount()).toBe(0);
        expect(now).not.toHaveBeenCalled();
        await iterator.return!();
      } finally {
        now.mockRestore();
      }
      expect(events).toEqual([]);
    });

    it('misses a stream that started before the first subscriber (documented)', async () => {
      const telemetry = instrument();
      const { mediator, events, subscription } = setup(telemetry);
      subscription.unsubscribe();
      const iterator = mediator.createStream(new Feed([0, 0]))[Symbol.asyncIterator]();
      await iterator.next();
      telemetry.events.subscribe((e) => events.push(e));
      await collect({ [Symbol.asyncIterator]: () => iterator });
      expect(events).toEqual([]);
    });
  });

  describe('options', () => {
    it('is a behavior set named by `name`', () => {
      const telemetry = instrument({ name: 'telemetry' });
      expect(telemetry.name).toBe('telemetry');
      expect(telemetry.behaviors.map((b) => `${b.kind} ${b.name}`)).toEqual([
        'request telemetry',
        'stream telemetry',
        'notification telemetry',
      ]);
      expect(instrument().name).toBe('instrument');
    });

    it('rejects bad options, naming option and value', () => {
      expect(() => instrument({ progress: { everyItems: 0 } })).toThrow(
        new RangeError(
          "Option 'progress.everyItems' must be a whole number ≥ 1 or Infinity, got 0.",
        ),
      );
      expect(() => instrument({ progress: { everyMs: 2.5 } })).toThrow(RangeError);
      expect(() => instrument({ progress: { everyMs: 2 ** 31 } })).toThrow(
        /'progress.everyMs' must be at most 2147483647 \(or Infinity\), got 2147483648/,
      );
      expect(() => instrument({ progress: { everyMs: '5' as never } })).toThrow(
        new TypeError("Option 'progress.everyMs' must be a number, got '5'."),
      );
      expect(() => instrument({ progress: 5 as never })).toThrow(
        new TypeError("Option 'progress' must be an object, got 5."),
      );
      expect(() => instrument({ name: 3 as never })).toThrow(TypeError);
      expect(() => instrument({ for: [] })).toThrow(TypeError);
    });
  });
});

describe('instrument(): regressions', () => {
  /** A stream source whose iterator's next() throws instead of rejecting. */
  class Weird extends StreamRequest<number> {}
  const throwingSource = () => ({
    [Symbol.asyncIterator]: () => ({
      next(): Promise<IteratorResult<number>> {
        throw new Error('sync failure');
      },
    }),
  });

  it('ends the stream (streamEnd, activeStreams, timer) when the source iterator throws synchronously', async () => {
    const telemetry = instrument({ progress: { everyMs: 1_000 } });
    const mediator = createMediator({
      handlers: [handler(Weird, throwingSource)],
      behaviors: [telemetry],
    });
    const events: MediatorEvent[] = [];
    const sub = telemetry.events.subscribe((e) => events.push(e));
    const health = streamHealth({ instrumentation: telemetry, checkIntervalMs: 1_000 });
    const timersBefore = jest.getTimerCount();
    const iterator = mediator.createStream(new Weird())[Symbol.asyncIterator]();
    let read: Promise<IteratorResult<number>> | undefined;
    expect(() => (read = iterator.next())).not.toThrow(); // rejects, does not throw
    await expect(read).rejects.toThrow('sync failure');
    await jest.advanceTimersByTimeAsync(120_000);
    const found = {
      ends: bare(events.filter((e) => e.type === 'streamEnd')),
      progressAfterFailure: events.filter((e) => e.type === 'streamProgress').length,
      activeStreams: telemetry.activeStreams().length,
      leakedTimers: jest.getTimerCount() - timersBefore,
      health: health.check().status,
    };
    sub.unsubscribe();
    health.close();
    await iterator.return?.();
    expect(found).toEqual({
      ends: [
        {
          type: 'streamEnd',
          messageName: 'Weird',
          startedAt: 0,
          outcome: 'failed',
          items: 0,
          itemsSinceLast: 0,
          durationMs: expect.any(Number),
          error: new Error('sync failure'),
        },
      ],
      progressAfterFailure: 0,
      activeStreams: 0,
      leakedTimers: 0,
      health: 'healthy',
    });
  });

  it('answers done after such a failure, without calling the source again', async () => {
    const telemetry = instrument();
    const source = throwingSource();
    const factory = jest.fn(() => source);
    const mediator = createMediator({
      handlers: [handler(Weird, factory)],
      behaviors: [telemetry],
    });
    const sub = telemetry.events.subscribe(() => undefined);
    const iterator = mediator.createStream(new Weird())[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toThrow('sync failure');
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
    expect(factory).toHaveBeenCalledTimes(1);
    sub.unsubscribe();
  });
});
