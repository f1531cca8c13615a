import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createMediator, handler } from '../../src/index.js';
import {
  memoryGuard,
  type MemoryGuardEvent,
  type MemoryGuardOptions,
} from '../../src/behaviors/memoryGuard.js';
import {
  isMemoryPressureError,
  MemoryPressureError,
} from '../../src/errors/MemoryPressureError.js';
import { countingSource } from '../helpers/countingSource.js';
import { flushMicrotasks } from '../helpers/deferred.js';
import { ExportOrders, GetOrder, order } from '../helpers/orders.js';
import { trackedController } from '../helpers/signals.js';

/** A mediator guarded by a memory guard that reads a fake heap. */
function setup(options: Partial<MemoryGuardOptions> = {}, streamCount = Infinity) {
  const heap = { used: 10 };
  const readHeapUsed = jest.fn(() => heap.used);
  const policy = memoryGuard({ highWaterBytes: 100, readHeapUsed, ...options });
  const events: MemoryGuardEvent[] = [];
  policy.events.subscribe((event) => events.push(event));
  const { state, source } = countingSource(streamCount);
  const ran = { requests: 0, streams: 0 };
  const mediator = createMediator({
    handlers: [
      handler(GetOrder, (query) => {
        ran.requests++;
        return order(query.id);
      }),
      handler(ExportOrders, () => {
        ran.streams++;
        return (async function* () {
          for await (const i of source()) yield order(String(i));
        })();
      }),
    ],
    behaviors: [policy],
  });
  return { policy, mediator, heap, readHeapUsed, events, ran, source: state };
}

/** The unref'd timer that marks the guard's heap reading stale; it lives `checkIntervalMs` at most. */
const EXPIRY = 1;

/** Lets the heap reading expire (the default 100 ms), then checks no other timer is left. */
async function expectNoTimersLeft(): Promise<void> {
  await jest.advanceTimersByTimeAsync(100);
  expect(jest.getTimerCount()).toBe(0);
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('memoryGuard', () => {
  describe('options', () => {
    it.each([
      [{}, TypeError, /'highWaterBytes'.*got undefined/],
      [{ highWaterBytes: 0 }, RangeError, /'highWaterBytes'.*got 0/],
      [{ highWaterBytes: 1.5 }, RangeError, /'highWaterBytes'.*got 1.5/],
      [{ highWaterBytes: '1GB' }, TypeError, /'highWaterBytes'.*got '1GB'/],
      [
        { highWaterBytes: 100, lowWaterBytes: 100 },
        RangeError,
        /'lowWaterBytes'.*\(100\), got 100/,
      ],
      [{ highWaterBytes: 100, lowWaterBytes: 150 }, RangeError, /'lowWaterBytes'.*got 150/],
      [{ highWaterBytes: 100, lowWaterBytes: -1 }, RangeError, /'lowWaterBytes'.*got -1/],
      [{ highWaterBytes: 100, mode: 'drop' }, TypeError, /'mode'.*got 'drop'/],
      [{ highWaterBytes: 100, checkIntervalMs: -1 }, RangeError, /'checkIntervalMs'.*got -1/],
      [{ highWaterBytes: 100, maxPauseMs: 0 }, RangeError, /'maxPauseMs'.*got 0/],
      [{ highWaterBytes: 100, readHeapUsed: 5 }, TypeError, /'readHeapUsed'.*got 5/],
      [{ highWaterBytes: 100, name: false }, TypeError, /'name'.*got false/],
      [{ highWaterBytes: 100, for: [] }, TypeError, /'for'/],
    ])('refuses %j', (options, type, message) => {
      expect(() => memoryGuard(options as MemoryGuardOptions)).toThrow(type);
      expect(() => memoryGuard(options as MemoryGuardOptions)).toThrow(message);
    });

    it('needs options', () => {
      expect(() => memoryGuard(undefined as unknown as MemoryGuardOptions)).toThrow(TypeError);
    });

    it('is a behavior set covering requests and streams, or the classes named in `for`', () => {
      expect(memoryGuard({ highWaterBytes: 1 }).behaviors.map((b) => b.kind)).toEqual([
        'request',
        'stream',
      ]);
      const scoped = memoryGuard({ highWaterBytes: 1, for: [ExportOrders], name: 'heap' });
      expect(scoped.behaviors).toMatchObject([
        { kind: 'stream', for: [ExportOrders], name: 'heap' },
      ]);
    });

    it("reads V8's heap in use by default", () => {
      jest.useRealTimers();
      const state = memoryGuard({ highWaterBytes: 2 ** 52 }).state();
      expect(state.tripped).toBe(false);
      expect(state.heapUsedBytes).toBeGreaterThan(1e6);
      expect(Math.abs(state.heapUsedBytes - process.memoryUsage().heapUsed)).toBeLessThan(50e6);
    });
  });

  describe('watermarks', () => {
    it('trips above the high watermark and clears only below the low one', () => {
      const { policy, heap } = setup({ lowWaterBytes: 60, checkIntervalMs: 0 });
      const at = (used: number) => {
        heap.used = used;
        return policy.state().tripped;
      };
      expect([at(100), at(101), at(100), at(60), at(59), at(99), at(101)]).toEqual([
        false, // at the high watermark is not above it
        true,
        true,
        true, // at the low watermark is not below it
        false,
        false,
        true,
      ]);
    });

    it('defaults the low watermark to 80 % of the high one', () => {
      const { policy, heap } = setup({ checkIntervalMs: 0 });
      heap.used = 101;
      expect(policy.state().tripped).toBe(true);
      heap.used = 80;
      expect(policy.state().tripped).toBe(true);
      heap.used = 79;
      expect(policy.state()).toEqual({ tripped: false, heapUsedBytes: 79 });
    });

    it('announces trip and clear once each, naming the call that read the heap', async () => {
      const { mediator, heap, events, policy } = setup({ checkIntervalMs: 0 });
      heap.used = 150;
      await mediator.send(new GetOrder('a')).catch(() => undefined);
      await mediator.send(new GetOrder('b')).catch(() => undefined);
      heap.used = 10;
      await mediator.send(new GetOrder('c'));
      expect(events.filter((e) => e.type === 'trip' || e.type === 'clear')).toEqual([
        {
          type: 'trip',
          policy: 'memoryGuard',
          messageName: 'GetOrder',
          heapUsedBytes: 150,
          highWaterBytes: 100,
        },
        {
          type: 'clear',
          policy: 'memoryGuard',
          messageName: 'GetOrder',
          heapUsedBytes: 10,
          lowWaterBytes: 80,
        },
      ]);
      expect(policy.stats()).toEqual({ rejected: 2, paused: 0, pausedNow: 0, trips: 1 });
    });

    it('reads the heap at most once per checkIntervalMs', async () => {
      const { mediator, heap, readHeapUsed } = setup({ checkIntervalMs: 1000 });
      for (let i = 0; i < 10; i++) await mediator.send(new GetOrder(String(i)));
      expect(readHeapUsed).toHaveBeenCalledTimes(1);
      heap.used = 500; // unseen until the reading is 1000 ms old
      await jest.advanceTimersByTimeAsync(999);
      await expect(mediator.send(new GetOrder('x'))).resolves.toBeDefined();
      expect(readHeapUsed).toHaveBeenCalledTimes(1);
      await jest.advanceTimersByTimeAsync(1);
      await expect(mediator.send(new GetOrder('y'))).rejects.toBeInstanceOf(MemoryPressureError);
      expect(readHeapUsed).toHaveBeenCalledTimes(2);
      expect(jest.getTimerCount()).toBe(EXPIRY); // sampling needs no other timer
    });

    it('state() reads the heap when its reading is stale', async () => {
      const { policy, heap, readHeapUsed } = setup({ checkIntervalMs: 100 });
      expect(policy.state()).toEqual({ tripped: false, heapUsedBytes: 10 });
      heap.used = 200;
      expect(policy.state().heapUsedBytes).toBe(10);
      await jest.advanceTimersByTimeAsync(100);
      expect(policy.state()).toEqual({ tripped: true, heapUsedBytes: 200 });
      expect(readHeapUsed).toHaveBeenCalledTimes(2);
    });

    it('fails the call when the heap reader returns something other than bytes', async () => {
      const { mediator, heap } = setup();
      heap.used = NaN;
      await expect(mediator.send(new GetOrder('a'))).rejects.toThrow(
        /'readHeapUsed' of memoryGuard\(\) must return a number of bytes ≥ 0, got NaN/,
      );
    });
  });

  describe("mode 'reject'", () => {
    it('refuses requests while tripped, without running the handler', async () => {
      const { mediator, heap, ran, events } = setup({ checkIntervalMs: 0 });
      await mediator.send(new GetOrder('a'));
      heap.used = 120;
      const error = await mediator.send(new GetOrder('b')).catch((e: unknown) => e);
      expect(isMemoryPressureError(error)).toBe(true);
      expect(error).toMatchObject({ heapUsedBytes: 120, highWaterBytes: 100 });
      expect(ran.requests).toBe(1);
      expect(events.at(-1)).toMatchObject({
        type: 'reject',
        reason: 'tripped',
        messageName: 'GetOrder',
        heapUsedBytes: 120,
      });
      heap.used = 50;
      await mediator.send(new GetOrder('c'));
      expect(ran.requests).toBe(2);
    });

    it('refuses new streams while tripped, and lets running ones go on', async () => {
      const { mediator, heap, ran, source } = setup({ checkIntervalMs: 0 });
      const running = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      await running.next();
      heap.used = 120;
      await expect(
        mediator.createStream(new ExportOrders())[Symbol.asyncIterator]().next(),
      ).rejects.toBeInstanceOf(MemoryPressureError);
      expect(ran.streams).toBe(1);
      await expect(running.next()).resolves.toMatchObject({ value: { id: '1' } });
      expect(source.pulled).toBe(2);
      await running.return!();
    });
  });

  describe("mode 'pause'", () => {
    it('pauses pulling while tripped, re-checks every checkIntervalMs, resumes below the low watermark', async () => {
      const { mediator, heap, source, events, policy } = setup({
        mode: 'pause',
        checkIntervalMs: 100,
      });
      const received: string[] = [];
      const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      received.push((await iterator.next()).value.id);
      heap.used = 150;
      await jest.advanceTimersByTimeAsync(100); // the reading is stale: the next pull sees 150
      const pending = iterator.next().then((r) => received.push(r.value.id));
      await flushMicrotasks();
      expect(source.pulled).toBe(1);
      expect(policy.stats()).toMatchObject({ pausedNow: 1, paused: 1 });
      expect(jest.getTimerCount()).toBe(EXPIRY + 1); // one re-check timer for the guard

      heap.used = 90; // below high, above low: still tripped
      await jest.advanceTimersByTimeAsync(100);
      expect(source.pulled).toBe(1);
      heap.used = 70;
      await jest.advanceTimersByTimeAsync(99);
      expect(source.pulled).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      await pending;
      expect(received).toEqual(['0', '1']);
      expect(source.pulled).toBe(2);
      await expectNoTimersLeft();
      expect(events.map((e) => e.type)).toEqual(['trip', 'pause', 'clear', 'resume']);
      expect(events[1]).toMatchObject({ messageName: 'ExportOrders', heapUsedBytes: 150 });
      expect(events[3]).toMatchObject({ type: 'resume', pausedMs: 200 });
      expect(events[2]).toMatchObject({ messageName: undefined }); // found by the re-check
      await iterator.return!();
    });

    it('holds a new stream before its handler starts', async () => {
      const { mediator, heap, ran } = setup({ mode: 'pause', checkIntervalMs: 50 });
      heap.used = 150;
      const first = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]().next();
      await jest.advanceTimersByTimeAsync(500);
      expect(ran.streams).toBe(0);
      heap.used = 10;
      await jest.advanceTimersByTimeAsync(50);
      await expect(first).resolves.toMatchObject({ value: { id: '0' } });
      expect(ran.streams).toBe(1);
    });

    it('still refuses requests while tripped', async () => {
      const { mediator, heap, ran } = setup({ mode: 'pause' });
      heap.used = 150;
      await expect(mediator.send(new GetOrder('a'))).rejects.toBeInstanceOf(MemoryPressureError);
      expect(ran.requests).toBe(0);
    });

    it('resumes paused pulls at once when any call finds the heap low', async () => {
      const { mediator, heap, source } = setup({ mode: 'pause', checkIntervalMs: 100 });
      heap.used = 150;
      const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      const pending = iterator.next();
      await jest.advanceTimersByTimeAsync(50);
      heap.used = 10;
      await jest.advanceTimersByTimeAsync(50); // the re-check timer would fire here anyway …
      await pending;
      expect(source.pulled).toBe(1);
      heap.used = 150;
      await jest.advanceTimersByTimeAsync(100);
      const second = iterator.next();
      await jest.advanceTimersByTimeAsync(30);
      heap.used = 10;
      await jest.advanceTimersByTimeAsync(70);
      await mediator.send(new GetOrder('x')); // … this request reads the heap first: resumes now
      await expect(second).resolves.toMatchObject({ value: { id: '1' } });
      await iterator.return!();
      await expectNoTimersLeft();
    });

    it('rejects a paused pull with the reason the moment its stream is aborted', async () => {
      const { mediator, heap, source, policy } = setup({ mode: 'pause', maxPauseMs: 10_000 });
      const tracked = trackedController();
      const stream = mediator.createStream(new ExportOrders(), { signal: tracked.signal });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      heap.used = 150;
      await jest.advanceTimersByTimeAsync(100);
      const pending = iterator.next();
      await flushMicrotasks();
      expect(jest.getTimerCount()).toBe(EXPIRY + 2); // re-check + maxPauseMs
      const reason = new Error('client left');
      tracked.controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      await flushMicrotasks();
      await expectNoTimersLeft();
      expect(tracked.listeners()).toBe(0);
      expect(policy.stats().pausedNow).toBe(0);
      expect(source.finallyRan).toBe(true);
    });

    it('releases everything when the consumer breaks out while paused', async () => {
      const { mediator, heap, source, policy } = setup({ mode: 'pause' });
      const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      await iterator.next();
      heap.used = 150;
      await jest.advanceTimersByTimeAsync(100);
      const pending = iterator.next();
      await flushMicrotasks();
      await iterator.return!();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      await flushMicrotasks();
      await expectNoTimersLeft();
      expect(policy.stats().pausedNow).toBe(0);
      expect(source.finallyRan).toBe(true);
      expect(source.pulled).toBe(1);
    });

    it("closing the behavior's own iterator while paused ends the pull done", async () => {
      // As an outer behavior would: return() without aborting the signal.
      const policy = memoryGuard({ highWaterBytes: 100, mode: 'pause', readHeapUsed: () => 500 });
      const { state, source } = countingSource(5);
      const stream = policy.behaviors[1]!.resolve() as {
        handle(m: unknown, next: () => AsyncIterable<number>, c: unknown): AsyncIterable<number>;
      };
      const context = { messageName: 'X', signal: new AbortController().signal };
      const paused = stream.handle({}, () => source(), context)[Symbol.asyncIterator]();
      const pending = paused.next();
      expect(policy.stats().pausedNow).toBe(1);
      await paused.return!();
      await expect(pending).resolves.toEqual({ value: undefined, done: true });
      await expect(paused.next()).resolves.toMatchObject({ done: true });
      expect(state.pulled).toBe(0);
      await expectNoTimersLeft();
    });

    it('fails a pull paused longer than maxPauseMs', async () => {
      const { mediator, heap, events, source } = setup({ mode: 'pause', maxPauseMs: 1000 });
      const received: string[] = [];
      const done = (async () => {
        for await (const item of mediator.createStream(new ExportOrders())) {
          received.push(item.id);
          if (received.length === 2) heap.used = 150;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })().catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(1199);
      // Pulls at 0 and 100 read a low heap; the pull at 200 reads 150 and pauses until 1200.
      expect(received).toEqual(['0', '1']);
      expect(source.pulled).toBe(2);
      await jest.advanceTimersByTimeAsync(1);
      const error = await done;
      expect(error).toBeInstanceOf(MemoryPressureError);
      expect(events.at(-1)).toMatchObject({ type: 'reject', reason: 'maxPause' });
      expect(source.finallyRan).toBe(true);
      await expectNoTimersLeft();
    });

    it('fails paused pulls when the heap reader breaks during a re-check', async () => {
      let reads = 0;
      const boom = new Error('reader broke');
      const policy = memoryGuard({
        highWaterBytes: 100,
        mode: 'pause',
        readHeapUsed: () => {
          if (++reads > 1) throw boom;
          return 500;
        },
      });
      const mediator = createMediator({
        handlers: [handler(ExportOrders, () => [order('1')])],
        behaviors: [policy],
      });
      const pending = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]().next();
      pending.catch(() => undefined);
      await jest.advanceTimersByTimeAsync(100);
      await expect(pending).rejects.toBe(boom);
      await expectNoTimersLeft();
    });
  });
});

describe('memoryGuard regressions (review of issue 5)', () => {
  it('exposes its name, like the other policies', () => {
    expect(memoryGuard({ highWaterBytes: 1, readHeapUsed: () => 0 }).name).toBe('memoryGuard');
    expect(memoryGuard({ highWaterBytes: 1, name: 'heap' }).name).toBe('heap');
  });
});
