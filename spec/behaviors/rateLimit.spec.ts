import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { getEventListeners } from 'node:events';
import { createMediator, handler } from '../../src/index.js';
import { NEVER_ABORTED } from '../../src/core/HandlerContext.js';
import {
  rateLimit,
  type RateLimitEvent,
  type RateLimitOptions,
} from '../../src/behaviors/rateLimit.js';
import { isRateLimitedError, RateLimitedError } from '../../src/errors/RateLimitedError.js';
import { countingSource } from '../helpers/countingSource.js';
import { flushMicrotasks } from '../helpers/deferred.js';
import { ExportOrders, GetOrder, order, PlaceOrder } from '../helpers/orders.js';
import { trackedController } from '../helpers/signals.js';

/** A mediator whose only behavior is the rate limit; handlers record when they ran. */
function setup(options: RateLimitOptions, streamCount = Infinity) {
  const policy = rateLimit(options);
  const events: RateLimitEvent[] = [];
  policy.events.subscribe((event) => events.push(event));
  const t0 = performance.now();
  const ran: { message: string; id: string; at: number }[] = [];
  const { state, source } = countingSource(streamCount);
  const streams = { started: 0 };
  const mediator = createMediator({
    handlers: [
      handler(GetOrder, (query) => {
        ran.push({ message: 'GetOrder', id: query.id, at: performance.now() - t0 });
        return order(query.id);
      }),
      handler(PlaceOrder, (command) => {
        ran.push({ message: 'PlaceOrder', id: command.sku, at: performance.now() - t0 });
        return command.sku;
      }),
      handler(ExportOrders, () => {
        streams.started++;
        return (async function* () {
          for await (const i of source()) yield order(String(i));
        })();
      }),
    ],
    behaviors: [policy],
  });
  return { policy, mediator, events, ran, source: state, streams, t0 };
}

/** Settles a promise's outcome into a record, so specs can look without awaiting. */
function track<T>(promise: Promise<T>) {
  const outcome: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(outcome, { value, settled: true }),
    (error: unknown) => Object.assign(outcome, { error, settled: true }),
  );
  return outcome;
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('rateLimit', () => {
  describe('options', () => {
    it.each([
      [{ perSecond: 0 }, RangeError, /'perSecond'.*got 0/],
      [{ perSecond: -1 }, RangeError, /'perSecond'.*got -1/],
      [{ perSecond: NaN }, RangeError, /'perSecond'.*got NaN/],
      [{ perSecond: Infinity }, RangeError, /'perSecond'.*got Infinity/],
      [{ perSecond: '5' }, TypeError, /'perSecond'.*got '5'/],
      [{}, TypeError, /'perSecond'.*got undefined/],
      [{ perSecond: 1, burst: 0 }, RangeError, /'burst'.*got 0/],
      [{ perSecond: 1, burst: 1.5 }, RangeError, /'burst'.*got 1.5/],
      [{ perSecond: 1, maxWaitMs: -1 }, RangeError, /'maxWaitMs'.*got -1/],
      [{ perSecond: 1, maxWaitMs: NaN }, RangeError, /'maxWaitMs'.*got NaN/],
      [{ perSecond: 1, maxQueue: -1 }, RangeError, /'maxQueue'.*got -1/],
      [{ perSecond: 1, maxKeys: 0 }, RangeError, /'maxKeys'.*got 0/],
      [{ perSecond: 1, stream: 'bytes' }, TypeError, /'stream'.*got 'bytes'/],
      [{ perSecond: 1, scope: 'tenant' }, TypeError, /'scope'.*got 'tenant'/],
      [{ perSecond: 1, name: 7 }, TypeError, /'name'.*got 7/],
      [{ perSecond: 1, for: [] }, TypeError, /'for'/],
    ])('refuses %j', (options, type, message) => {
      expect(() => rateLimit(options as RateLimitOptions)).toThrow(type);
      expect(() => rateLimit(options as RateLimitOptions)).toThrow(message);
    });

    it('needs options', () => {
      expect(() => rateLimit(undefined as unknown as RateLimitOptions)).toThrow(TypeError);
      expect(() => rateLimit(null as unknown as RateLimitOptions)).toThrow(TypeError);
    });

    it('is a behavior set covering requests and streams, or the classes named in `for`', () => {
      expect(rateLimit({ perSecond: 1 }).behaviors.map((b) => b.kind)).toEqual([
        'request',
        'stream',
      ]);
      const scoped = rateLimit({ perSecond: 1, for: [GetOrder], name: 'db' });
      expect(scoped.behaviors).toHaveLength(1);
      expect(scoped.behaviors[0]).toMatchObject({ kind: 'request', for: [GetOrder], name: 'db' });
    });
  });

  describe('token bucket', () => {
    it('admits a burst at once, then one call per 1/perSecond', async () => {
      const { mediator, ran } = setup({ perSecond: 10, burst: 3 });
      const calls = [1, 2, 3, 4, 5].map((i) => mediator.send(new GetOrder(String(i))));
      await flushMicrotasks();
      expect(ran.map((r) => r.at)).toEqual([0, 0, 0]);
      await jest.advanceTimersByTimeAsync(99);
      expect(ran).toHaveLength(3);
      await jest.advanceTimersByTimeAsync(1);
      expect(ran.map((r) => r.at)).toEqual([0, 0, 0, 100]);
      await jest.advanceTimersByTimeAsync(100);
      expect(ran.map((r) => r.at)).toEqual([0, 0, 0, 100, 200]);
      expect((await Promise.all(calls)).map((o) => o.id)).toEqual(['1', '2', '3', '4', '5']);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('defaults burst to ceil(perSecond)', async () => {
      const { mediator, ran } = setup({ perSecond: 2.5 });
      for (let i = 0; i < 4; i++) void mediator.send(new GetOrder(String(i)));
      await flushMicrotasks();
      expect(ran).toHaveLength(3);
      await jest.advanceTimersByTimeAsync(400); // 1 / 2.5 s
      expect(ran.map((r) => r.at)).toEqual([0, 0, 0, 400]);
    });

    it('refills continuously, never above burst', async () => {
      const { mediator, ran } = setup({ perSecond: 10, burst: 2 });
      await Promise.all([mediator.send(new GetOrder('a')), mediator.send(new GetOrder('b'))]);
      await jest.advanceTimersByTimeAsync(50); // half a token
      const third = track(mediator.send(new GetOrder('c')));
      await flushMicrotasks();
      expect(third.settled).toBe(false);
      await jest.advanceTimersByTimeAsync(50);
      expect(third.settled).toBe(true);
      expect(ran.at(-1)!.at).toBe(100);

      await jest.advanceTimersByTimeAsync(10_000); // a long quiet spell refills only `burst`
      for (const id of ['d', 'e', 'f']) void mediator.send(new GetOrder(id));
      await flushMicrotasks();
      expect(ran.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
      await jest.advanceTimersByTimeAsync(100);
      expect(ran.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    });

    it('handles fractional rates exactly: 0.5 per second is one call every 2 s', async () => {
      const { mediator, ran } = setup({ perSecond: 0.5 });
      for (let i = 0; i < 3; i++) void mediator.send(new GetOrder(String(i)));
      await jest.advanceTimersByTimeAsync(1999);
      expect(ran.map((r) => r.at)).toEqual([0]);
      await jest.advanceTimersByTimeAsync(1);
      expect(ran.map((r) => r.at)).toEqual([0, 2000]);
      await jest.advanceTimersByTimeAsync(2000);
      expect(ran.map((r) => r.at)).toEqual([0, 2000, 4000]);
    });

    it('handles rates whose period is not a whole ms (3 per second)', async () => {
      const { mediator, ran } = setup({ perSecond: 3, burst: 1 });
      for (let i = 0; i < 4; i++) void mediator.send(new GetOrder(String(i)));
      await jest.advanceTimersByTimeAsync(1000);
      // Each at the first whole ms at or after its token: 333.3 → 334, 666.7 → 667, 1000.
      expect(ran.map((r) => r.at)).toEqual([0, 334, 667, 1000]);
    });

    it('serves waiting calls first come, first served, and reports each wait', async () => {
      const { mediator, ran, events } = setup({ perSecond: 10, burst: 1 });
      const ids = ['a', 'b', 'c', 'd'];
      const results = ids.map((id) => mediator.send(new GetOrder(id)));
      await jest.advanceTimersByTimeAsync(300);
      expect(ran).toEqual(ids.map((id, i) => ({ message: 'GetOrder', id, at: i * 100 })));
      expect((await Promise.all(results)).map((o) => o.id)).toEqual(ids);
      expect(events.map((e) => [e.type, e.key, e.type === 'wait' && e.waitMs])).toEqual([
        ['wait', 'GetOrder', 100],
        ['wait', 'GetOrder', 200],
        ['wait', 'GetOrder', 300],
      ]);
      expect(events[0]).toMatchObject({ policy: 'rateLimit', messageName: 'GetOrder' });
      expect(events[0]!.context.messageName).toBe('GetOrder');
    });

    it('lets no new call jump the queue, even when a token has accrued meanwhile', async () => {
      const { mediator, ran } = setup({ perSecond: 10, burst: 1 });
      void mediator.send(new GetOrder('a'));
      void mediator.send(new GetOrder('b')); // waits until 100
      await jest.advanceTimersByTimeAsync(99);
      void mediator.send(new GetOrder('c'));
      await jest.advanceTimersByTimeAsync(101);
      expect(ran.map((r) => [r.id, r.at])).toEqual([
        ['a', 0],
        ['b', 100],
        ['c', 200],
      ]);
    });
  });

  describe('refusals', () => {
    it('refuses at once a call whose wait would exceed maxWaitMs', async () => {
      const { mediator, ran, events, policy } = setup({
        perSecond: 10,
        burst: 1,
        maxWaitMs: 150,
      });
      void mediator.send(new GetOrder('a'));
      const b = mediator.send(new GetOrder('b')); // waits 100
      const c = mediator.send(new GetOrder('c')); // would wait 200
      const error = await c.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(isRateLimitedError(error)).toBe(true);
      expect(error).toMatchObject({ key: 'GetOrder', retryAfterMs: 200 });
      expect(events.at(-1)).toMatchObject({
        type: 'reject',
        reason: 'maxWait',
        key: 'GetOrder',
        retryAfterMs: 200,
        messageName: 'GetOrder',
      });
      await jest.advanceTimersByTimeAsync(100);
      await b;
      expect(ran.map((r) => r.id)).toEqual(['a', 'b']);
      expect(policy.stats()).toMatchObject({ admitted: 2, delayed: 1, rejected: 1, waiting: 0 });
    });

    it('never waits with maxWaitMs 0', async () => {
      const { mediator } = setup({ perSecond: 1, maxWaitMs: 0 });
      await mediator.send(new GetOrder('a'));
      await expect(mediator.send(new GetOrder('b'))).rejects.toMatchObject({
        name: 'RateLimitedError',
        retryAfterMs: 1000,
      });
      expect(jest.getTimerCount()).toBe(0);
    });

    it('refuses a call beyond maxQueue waiting calls per key', async () => {
      const { mediator, events, policy } = setup({ perSecond: 10, burst: 1, maxQueue: 2 });
      void mediator.send(new GetOrder('a'));
      void mediator.send(new GetOrder('b'));
      void mediator.send(new GetOrder('c'));
      await expect(mediator.send(new GetOrder('d'))).rejects.toMatchObject({
        key: 'GetOrder',
        retryAfterMs: 300,
      });
      expect(events.at(-1)).toMatchObject({ type: 'reject', reason: 'maxQueue' });
      expect(policy.stats().waiting).toBe(2);
      await jest.advanceTimersByTimeAsync(200);
      expect(policy.stats()).toMatchObject({ admitted: 3, rejected: 1, waiting: 0 });
    });

    it('with maxQueue 0 refuses every call that finds no token', async () => {
      const { mediator } = setup({ perSecond: 1, maxQueue: 0 });
      await mediator.send(new GetOrder('a'));
      await expect(mediator.send(new GetOrder('b'))).rejects.toBeInstanceOf(RateLimitedError);
    });
  });

  describe('cancellation', () => {
    it('takes an aborted call out of the queue at once, rejecting with the reason', async () => {
      const { mediator, ran, policy } = setup({ perSecond: 10, burst: 1 });
      const tracked = trackedController();
      void mediator.send(new GetOrder('a'));
      const b = track(mediator.send(new GetOrder('b'), { signal: tracked.signal }));
      await flushMicrotasks();
      expect(jest.getTimerCount()).toBe(1);
      const reason = new Error('caller gave up');
      tracked.controller.abort(reason);
      await flushMicrotasks();
      expect(b).toEqual({ settled: true, error: reason });
      expect(jest.getTimerCount()).toBe(0); // nobody waits: the bucket's timer is cleared
      expect(tracked.listeners()).toBe(0);
      expect(policy.stats()).toMatchObject({ cancelled: 1, waiting: 0 });
      // The next call takes the token b would have had.
      void mediator.send(new GetOrder('c'));
      await jest.advanceTimersByTimeAsync(100);
      expect(ran.map((r) => [r.id, r.at])).toEqual([
        ['a', 0],
        ['c', 100],
      ]);
    });

    it('moves the calls behind an aborted one forward', async () => {
      const { mediator, ran } = setup({ perSecond: 10, burst: 1 });
      const controller = new AbortController();
      void mediator.send(new GetOrder('a'));
      const b = mediator.send(new GetOrder('b'), { signal: controller.signal });
      void mediator.send(new GetOrder('c'));
      b.catch(() => undefined);
      await jest.advanceTimersByTimeAsync(50);
      controller.abort();
      await jest.advanceTimersByTimeAsync(50);
      expect(ran.map((r) => [r.id, r.at])).toEqual([
        ['a', 0],
        ['c', 100],
      ]);
      await expect(b).rejects.toMatchObject({ name: 'AbortError' });
      expect(jest.getTimerCount()).toBe(0);
    });

    it('removes the abort listener of a call that got its token', async () => {
      const { mediator } = setup({ perSecond: 10, burst: 1 });
      const tracked = trackedController();
      void mediator.send(new GetOrder('a'));
      const b = mediator.send(new GetOrder('b'), { signal: tracked.signal });
      await jest.advanceTimersByTimeAsync(100);
      await b;
      expect(tracked.listeners()).toBe(0);
    });
  });

  describe('streams', () => {
    it("'items': pulls the source only as tokens allow, waiting rather than dropping", async () => {
      const { mediator, source } = setup({ perSecond: 10, burst: 2 }, 6);
      const received: string[] = [];
      const done = (async () => {
        for await (const item of mediator.createStream(new ExportOrders())) received.push(item.id);
      })();
      await flushMicrotasks(50);
      expect(received).toEqual(['0', '1']);
      expect(source.pulled).toBe(2); // the third pull waits for a token before reading
      await jest.advanceTimersByTimeAsync(100);
      expect(received).toHaveLength(3);
      expect(source.pulled).toBe(3);
      await jest.advanceTimersByTimeAsync(300);
      expect(received).toEqual(['0', '1', '2', '3', '4', '5']);
      await jest.advanceTimersByTimeAsync(100); // the pull that finds the end takes a token too
      await done;
      expect(source.finallyRan).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    });

    it("'items': paces a slow consumer not at all while tokens last", async () => {
      const { mediator, source } = setup({ perSecond: 10, burst: 1 }, 3);
      const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      await expect(iterator.next()).resolves.toMatchObject({ value: { id: '0' } });
      await jest.advanceTimersByTimeAsync(100);
      await expect(iterator.next()).resolves.toMatchObject({ value: { id: '1' } });
      expect(source.pulled).toBe(2);
      await iterator.return!();
    });

    it("'items': a consumer that breaks out while waiting releases the wait and the source", async () => {
      const { mediator, source, policy } = setup({ perSecond: 1, burst: 1 });
      const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      await iterator.next();
      const pending = iterator.next();
      await flushMicrotasks();
      expect(policy.stats().waiting).toBe(1);
      await iterator.return!();
      // The mediator aborts the stream's signal on return(): the waiting pull rejects with it.
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      await flushMicrotasks();
      expect(policy.stats()).toMatchObject({ waiting: 0, cancelled: 1 });
      expect(jest.getTimerCount()).toBe(0);
      expect(source.pulled).toBe(1);
      expect(source.finallyRan).toBe(true);
    });

    it("'items': closing the behavior's own iterator while it waits resolves the pull done", async () => {
      // As an outer behavior (a stream retry) would: return() without aborting the signal.
      const policy = rateLimit({ perSecond: 1 });
      const { state, source } = countingSource(5);
      const stream = policy.behaviors[1]!.resolve() as {
        handle(m: unknown, next: () => AsyncIterable<number>, c: unknown): AsyncIterable<number>;
      };
      const context = { messageName: 'X', signal: new AbortController().signal };
      const paced = stream.handle({}, () => source(), context)[Symbol.asyncIterator]();
      await paced.next();
      const pending = paced.next();
      expect(policy.stats().waiting).toBe(1);
      await paced.return!();
      await expect(pending).resolves.toEqual({ value: undefined, done: true });
      await expect(paced.next()).resolves.toMatchObject({ done: true });
      expect(state.pulled).toBe(1);
      expect(jest.getTimerCount()).toBe(0);
    });

    it("'items': aborting while a pull waits rejects it with the reason", async () => {
      const { mediator, source } = setup({ perSecond: 1, burst: 1 });
      const controller = new AbortController();
      const reason = new Error('stop');
      const stream = mediator.createStream(new ExportOrders(), { signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const pending = iterator.next();
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      await flushMicrotasks();
      expect(jest.getTimerCount()).toBe(0);
      expect(source.finallyRan).toBe(true);
    });

    it("'items': fails the stream with RateLimitedError when a pull would wait beyond maxWaitMs", async () => {
      const { mediator, source } = setup({ perSecond: 1, burst: 2, maxWaitMs: 500 });
      const received: string[] = [];
      const error = await (async () => {
        for await (const item of mediator.createStream(new ExportOrders())) received.push(item.id);
      })().catch((e: unknown) => e);
      expect(received).toEqual(['0', '1']);
      expect(error).toMatchObject({ name: 'RateLimitedError', retryAfterMs: 1000 });
      expect(source.finallyRan).toBe(true);
    });

    it("'starts': limits how often streams start and passes items through freely", async () => {
      const { mediator, streams, source } = setup({ perSecond: 1, stream: 'starts' }, 3);
      const first: string[] = [];
      for await (const item of mediator.createStream(new ExportOrders())) first.push(item.id);
      expect(first).toEqual(['0', '1', '2']);
      expect(source.pulled).toBe(3);

      const second = track(
        (async () => {
          const items: string[] = [];
          for await (const item of mediator.createStream(new ExportOrders())) items.push(item.id);
          return items;
        })(),
      );
      await jest.advanceTimersByTimeAsync(999);
      expect(streams.started).toBe(1); // the handler has not run yet
      await jest.advanceTimersByTimeAsync(1);
      expect(streams.started).toBe(2);
      expect(second).toEqual({ settled: true, value: ['0', '1', '2'] });
    });

    it("'starts': a stream aborted while it waits to start never runs its handler", async () => {
      const { mediator, streams } = setup({ perSecond: 1, stream: 'starts' });
      await mediator.createStream(new ExportOrders())[Symbol.asyncIterator]().return!();
      await mediator.createStream(new ExportOrders())[Symbol.asyncIterator]().next();
      const controller = new AbortController();
      const stream = mediator.createStream(new ExportOrders(), { signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      const pending = iterator.next();
      await flushMicrotasks();
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      await flushMicrotasks();
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(5000);
      expect(streams.started).toBe(1);
    });

    it("'starts': a stream closed while it waits to start never runs its handler", async () => {
      const { mediator, streams, policy } = setup({ perSecond: 1, stream: 'starts' });
      await mediator.createStream(new ExportOrders())[Symbol.asyncIterator]().next();
      const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      const pending = iterator.next();
      await flushMicrotasks();
      await iterator.return!();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      await jest.advanceTimersByTimeAsync(5000);
      expect(streams.started).toBe(1);
      expect(policy.stats()).toMatchObject({ cancelled: 1, waiting: 0 });
    });

    it("'starts': refuses a start beyond maxWaitMs", async () => {
      const { mediator, streams } = setup({ perSecond: 1, stream: 'starts', maxWaitMs: 10 });
      await mediator.createStream(new ExportOrders())[Symbol.asyncIterator]().next();
      await expect(
        mediator.createStream(new ExportOrders())[Symbol.asyncIterator]().next(),
      ).rejects.toBeInstanceOf(RateLimitedError);
      expect(streams.started).toBe(1);
    });
  });

  describe('scope', () => {
    it("'messageType' (the default) gives each message type its own bucket", async () => {
      const { mediator, ran } = setup({ perSecond: 1 });
      void mediator.send(new GetOrder('a'));
      void mediator.send(new PlaceOrder('b', 1));
      void mediator.send(new GetOrder('c'));
      await flushMicrotasks();
      expect(ran.map((r) => r.id)).toEqual(['a', 'b']);
    });

    it("'global' shares one bucket, keyed '*'", async () => {
      const { mediator, ran, events } = setup({ perSecond: 1, scope: 'global' });
      void mediator.send(new GetOrder('a'));
      void mediator.send(new PlaceOrder('b', 1));
      await flushMicrotasks();
      expect(ran.map((r) => r.id)).toEqual(['a']);
      expect(events[0]).toMatchObject({ type: 'wait', key: '*', messageName: 'PlaceOrder' });
      await jest.advanceTimersByTimeAsync(1000);
      expect(ran.map((r) => r.id)).toEqual(['a', 'b']);
    });

    it('a key function limits each key independently', async () => {
      const { mediator, ran, policy } = setup({
        perSecond: 1,
        scope: (request) => (request as GetOrder).id.slice(0, 1),
      });
      for (const id of ['a1', 'b1', 'a2', 'b2']) void mediator.send(new GetOrder(id));
      await flushMicrotasks();
      expect(ran.map((r) => r.id)).toEqual(['a1', 'b1']);
      expect(policy.stats().keys).toBe(2);
      await jest.advanceTimersByTimeAsync(1000);
      expect(ran.map((r) => r.id)).toEqual(['a1', 'b1', 'a2', 'b2']);
    });

    it('refuses a key function that returns something other than a string', async () => {
      const { mediator } = setup({ perSecond: 1, scope: () => 42 as unknown as string });
      await expect(mediator.send(new GetOrder('a'))).rejects.toThrow(
        /'scope' of rateLimit\(\) must return a string key, got 42 for GetOrder/,
      );
    });

    it('drops refilled idle buckets when a new key needs room, keeping at most maxKeys', async () => {
      const { mediator, policy } = setup({
        perSecond: 1,
        maxKeys: 2,
        scope: (request) => (request as GetOrder).id,
      });
      await mediator.send(new GetOrder('a'));
      await mediator.send(new GetOrder('b'));
      await jest.advanceTimersByTimeAsync(1000); // both full again
      await mediator.send(new GetOrder('c'));
      expect(policy.stats().keys).toBe(1);
      for (let i = 0; i < 50; i++) {
        await jest.advanceTimersByTimeAsync(1000); // every bucket has refilled: droppable
        await mediator.send(new GetOrder(`k${i}`));
        expect(policy.stats().keys).toBeLessThanOrEqual(2);
      }
    });

    it('keeps buckets that have waiters, and refuses a new key when all do', async () => {
      const { mediator, events } = setup({
        perSecond: 1,
        maxKeys: 1,
        scope: (request) => (request as GetOrder).id.slice(0, 1),
      });
      void mediator.send(new GetOrder('a1'));
      const a2 = mediator.send(new GetOrder('a2')); // waits: bucket 'a' cannot go
      await expect(mediator.send(new GetOrder('b1'))).rejects.toMatchObject({
        key: 'b',
        retryAfterMs: 1000,
      });
      expect(events.at(-1)).toMatchObject({ type: 'reject', reason: 'maxKeys', key: 'b' });
      await jest.advanceTimersByTimeAsync(1000);
      await a2;
    });

    it('a stream whose bucket was dropped meanwhile goes on with its key’s new bucket', async () => {
      const policy = rateLimit({
        perSecond: 1,
        maxKeys: 1,
        scope: (request) => (request as unknown as { key: string }).key,
      });
      const stream = policy.behaviors[1]!.resolve() as {
        handle(m: unknown, next: () => AsyncIterable<number>, c: unknown): AsyncIterable<number>;
      };
      const context = { messageName: 'X', signal: new AbortController().signal };
      const a = stream.handle({ key: 'a' }, () => countingSource().source(), context);
      const iterator = a[Symbol.asyncIterator]();
      await iterator.next(); // bucket 'a', now empty
      await jest.advanceTimersByTimeAsync(1000);
      const b = stream.handle({ key: 'b' }, () => countingSource().source(), context);
      await b[Symbol.asyncIterator]().next(); // 'a' was full and idle: dropped for 'b'
      await jest.advanceTimersByTimeAsync(1000); // 'b' refills: it can be dropped in turn
      await expect(iterator.next()).resolves.toMatchObject({ value: 1 }); // a fresh 'a'
      expect(policy.stats().keys).toBe(1);
      await iterator.return!();
    });
  });

  it('counts every decision', async () => {
    const { mediator, policy } = setup({ perSecond: 10, burst: 1, maxQueue: 1 });
    const controller = new AbortController();
    void mediator.send(new GetOrder('a'));
    const b = mediator.send(new GetOrder('b'), { signal: controller.signal });
    b.catch(() => undefined);
    await mediator.send(new GetOrder('c')).catch(() => undefined);
    controller.abort();
    void mediator.send(new GetOrder('d'));
    await jest.advanceTimersByTimeAsync(100);
    expect(policy.stats()).toEqual({
      admitted: 2,
      delayed: 2,
      rejected: 1,
      cancelled: 1,
      waiting: 0,
      keys: 1,
    });
  });

  it('builds no event when nobody listens', async () => {
    const policy = rateLimit({ perSecond: 1, maxQueue: 0 });
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q) => order(q.id))],
      behaviors: [policy],
    });
    await mediator.send(new GetOrder('a'));
    await expect(mediator.send(new GetOrder('b'))).rejects.toBeInstanceOf(RateLimitedError);
    expect(policy.stats().rejected).toBe(1);
  });
});

describe('rateLimit regressions (review of issue 5)', () => {
  const neverAbortedListeners = (): number => getEventListeners(NEVER_ABORTED, 'abort').length;

  it('adds no listener to the shared never-aborted signal while calls wait for a token', async () => {
    const { mediator } = setup({ perSecond: 1, burst: 1 });
    const calls = Array.from({ length: 12 }, (_, i) => track(mediator.send(new GetOrder(`${i}`))));
    await flushMicrotasks();
    expect(neverAbortedListeners()).toBe(0); // was 11
    await jest.advanceTimersByTimeAsync(11_000);
    expect(calls.every((c) => c.settled)).toBe(true);
    expect(neverAbortedListeners()).toBe(0);
  });

  it('takes no token for pulls after a stream limited by items has ended', async () => {
    const policy = rateLimit({ perSecond: 1, burst: 3 });
    const mediator = createMediator({
      handlers: [
        handler(ExportOrders, async function* () {
          yield order('1');
        }),
      ],
      behaviors: [policy],
    });
    const it = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    expect((await it.next()).done).toBe(true); // documented: the end takes a token too
    const admitted = policy.stats().admitted;
    expect((await it.next()).done).toBe(true); // took the burst's last token
    const late = track(it.next()); // waited a whole second for a token, to say 'done' again
    await flushMicrotasks();
    expect(late).toMatchObject({ settled: true, value: { done: true } });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(policy.stats().admitted - admitted).toBe(0); // was 2
  });

  it('never drops a bucket that has not refilled to make room for a new key', async () => {
    // Dropping the oldest bucket gave its busy key a fresh full burst: it exceeded its rate.
    const { mediator, events, ran } = setup({
      perSecond: 1,
      burst: 1,
      maxKeys: 2,
      scope: (request) => (request as GetOrder).id,
    });
    await mediator.send(new GetOrder('hot')); // takes hot's only token
    await mediator.send(new GetOrder('b'));
    await expect(mediator.send(new GetOrder('c'))).rejects.toBeInstanceOf(RateLimitedError);
    expect(events.at(-1)).toMatchObject({ type: 'reject', reason: 'maxKeys', key: 'c' });
    const again = track(mediator.send(new GetOrder('hot')));
    await flushMicrotasks();
    expect(again.settled).toBe(false); // 1 call/s for 'hot'
    await jest.advanceTimersByTimeAsync(1_000);
    expect(again.settled).toBe(true);
    await mediator.send(new GetOrder('c')); // 'b' has refilled: it makes room now
    expect(ran.map((r) => r.id)).toEqual(['hot', 'b', 'hot', 'c']);
  });

  it('exposes its name, like the other policies', () => {
    expect(rateLimit({ perSecond: 1 }).name).toBe('rateLimit');
    expect(rateLimit({ perSecond: 1, name: 'sms' }).name).toBe('sms');
  });
});
