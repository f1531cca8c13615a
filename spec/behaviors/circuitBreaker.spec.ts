import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  batch,
  createMediator,
  handler,
  requestBehavior,
  StreamRequest,
  type BehaviorRegistration,
  type HandlerContext,
} from '../../src/index.js';
import {
  circuitBreaker,
  type CircuitBreakerEvent,
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
} from '../../src/behaviors/circuitBreaker.js';
import { BulkheadRejectedError } from '../../src/errors/BulkheadRejectedError.js';
import { CircuitOpenError, isCircuitOpenError } from '../../src/errors/CircuitOpenError.js';
import { MemoryPressureError } from '../../src/errors/MemoryPressureError.js';
import { RateLimitedError } from '../../src/errors/RateLimitedError.js';
import { RequestTimeoutError } from '../../src/errors/RequestTimeoutError.js';
import { StreamTimeoutError } from '../../src/errors/StreamTimeoutError.js';
import { deferred, flushMicrotasks, type Deferred } from '../helpers/deferred.js';
import { ExportOrders, GetOrder, order, PlaceOrder, type Order } from '../helpers/orders.js';
import { collect } from '../helpers/collect.js';

/**
 * A dependency behind GetOrder / PlaceOrder / ExportOrders whose behaviour the spec switches:
 * answer, fail (with `error`), or hang until the spec settles `pending`.
 */
function dependency() {
  const dep = {
    mode: 'ok' as 'ok' | 'fail' | 'hang',
    error: new Error('dependency down') as unknown,
    calls: 0,
    placed: 0,
    pending: [] as Deferred<Order>[],
    /** ExportOrders: how many items, and whether it then fails (with `error`) or hangs. */
    items: 3,
    streamEnd: 'complete' as 'complete' | 'fail' | 'hang',
    streamRuns: 0,
    streamFinally: 0,
  };
  const handlers = [
    handler(GetOrder, (q: GetOrder) => {
      dep.calls++;
      if (dep.mode === 'fail') throw dep.error;
      if (dep.mode === 'hang') {
        const d = deferred<Order>();
        dep.pending.push(d);
        return d.promise;
      }
      return order(q.id);
    }),
    handler(PlaceOrder, (c: PlaceOrder) => {
      dep.placed++;
      if (dep.mode === 'fail') throw dep.error;
      return c.sku;
    }),
    handler(ExportOrders, async function* (_req: ExportOrders, ctx: HandlerContext) {
      dep.streamRuns++;
      try {
        for (let i = 1; i <= dep.items; i++) yield order(String(i));
        if (dep.streamEnd === 'fail') throw dep.error;
        if (dep.streamEnd === 'hang') {
          await new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }),
          );
        }
      } finally {
        dep.streamFinally++;
      }
    }),
  ];
  return { dep, handlers };
}

function setup(options: CircuitBreakerOptions = {}, outer: BehaviorRegistration[] = []) {
  const { dep, handlers } = dependency();
  const breaker = circuitBreaker({
    minimumThroughput: 4,
    samplingWindowMs: 1000,
    breakDurationMs: 5000,
    ...options,
  });
  const events: CircuitBreakerEvent[] = [];
  breaker.events.subscribe((e) => events.push(e));
  const mediator = createMediator({ handlers, behaviors: [...outer, breaker] });
  const get = (id = '1', signal?: AbortSignal) => mediator.send(new GetOrder(id), { signal });
  /** n calls that succeed. */
  const succeed = async (n: number) => {
    const mode = dep.mode;
    dep.mode = 'ok';
    for (let i = 0; i < n; i++) await get();
    dep.mode = mode;
  };
  /** n calls that fail with the dependency's error. */
  const fail = async (n: number) => {
    const mode = dep.mode;
    dep.mode = 'fail';
    for (let i = 0; i < n; i++) await expect(get()).rejects.toBe(dep.error);
    dep.mode = mode;
  };
  /** The error a refused call rejects with (it must be refused). */
  const refusal = async (id = '1'): Promise<CircuitOpenError> => {
    const calls = dep.calls;
    const error = await get(id).then(
      () => {
        throw new Error('expected the call to be refused');
      },
      (e: unknown) => e,
    );
    expect(isCircuitOpenError(error)).toBe(true);
    expect(dep.calls).toBe(calls); // the handler did not run
    return error as CircuitOpenError;
  };
  const types = () => events.map((e) => e.type);
  return { dep, breaker, mediator, events, types, get, succeed, fail, refusal };
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('circuitBreaker', () => {
  it('runs on fake timers: jest fakes performance.now() too', () => {
    const t0 = performance.now();
    jest.advanceTimersByTime(1234);
    expect(performance.now() - t0).toBe(1234);
  });

  describe('closed → open', () => {
    it('does not judge the ratio before minimumThroughput calls, then opens at failureRatio', async () => {
      const { breaker, fail, refusal } = setup();
      await fail(3);
      expect(breaker.state('GetOrder')).toBe('closed');
      await fail(1);
      expect(breaker.state('GetOrder')).toBe('open');
      await refusal();
    });

    it('opens when failures reach failureRatio of the calls in the window, not before', async () => {
      const { breaker, succeed, fail } = setup({ failureRatio: 0.6 });
      await succeed(2);
      await fail(2); // 2 of 4 = 0.5
      expect(breaker.state('GetOrder')).toBe('closed');
      await fail(1); // 3 of 5 = 0.6
      expect(breaker.state('GetOrder')).toBe('open');
    });

    it('failureRatio 1 opens only when every call in the window failed', async () => {
      const { breaker, succeed, fail } = setup({ failureRatio: 1 });
      await succeed(1);
      await fail(10);
      expect(breaker.state('GetOrder')).toBe('closed');
      await jest.advanceTimersByTimeAsync(1000);
      await fail(4);
      expect(breaker.state('GetOrder')).toBe('open');
    });

    it('forgets calls older than the sampling window', async () => {
      const { breaker, fail } = setup();
      await fail(3);
      await jest.advanceTimersByTimeAsync(1000);
      await fail(1); // the three earlier failures have left the window
      expect(breaker.state('GetOrder')).toBe('closed');
      expect(breaker.snapshot()[0]).toMatchObject({ failures: 1, successes: 0 });
      await fail(3);
      expect(breaker.state('GetOrder')).toBe('open');
    });

    it('slides bucket by bucket: a call stays counted until a whole window has passed', async () => {
      const { breaker, succeed, fail } = setup();
      await fail(2); // t = 0
      await jest.advanceTimersByTimeAsync(500);
      await succeed(2); // t = 500
      await jest.advanceTimersByTimeAsync(450); // t = 950: all four still in the window
      expect(breaker.snapshot()[0]).toMatchObject({ failures: 2, successes: 2 });
      await jest.advanceTimersByTimeAsync(200); // t = 1150: the t = 0 bucket has left
      expect(breaker.snapshot()[0]).toMatchObject({ failures: 0, successes: 2 });
      await jest.advanceTimersByTimeAsync(400); // t = 1550: so has the t = 500 one
      expect(breaker.snapshot()[0]).toMatchObject({ failures: 0, successes: 0 });
    });

    it('forgets everything after an idle gap longer than the window', async () => {
      const { breaker, fail } = setup();
      await fail(3);
      await jest.advanceTimersByTimeAsync(60_000);
      await fail(1);
      expect(breaker.snapshot()[0]).toMatchObject({ failures: 1 });
      expect(breaker.state('GetOrder')).toBe('closed');
    });

    it('keeps no timer while closed or open', async () => {
      const { fail, succeed, refusal } = setup();
      await succeed(3);
      await fail(3); // 3 of 6
      await refusal();
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('open', () => {
    it('refuses calls with CircuitOpenError(key, "open", retryAfterMs) and never runs the handler', async () => {
      const { fail, refusal, events } = setup();
      await fail(4);
      await jest.advanceTimersByTimeAsync(1200);
      const error = await refusal();
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(error).toMatchObject({ key: 'GetOrder', state: 'open', retryAfterMs: 3800 });
      expect(events.at(-1)).toMatchObject({
        type: 'reject',
        policy: 'circuitBreaker',
        messageName: 'GetOrder',
        key: 'GetOrder',
        state: 'open',
        retryAfterMs: 3800,
      });
    });

    it('ignores outcomes of calls that were in flight when it opened (they run on)', async () => {
      const { dep, breaker, get, fail, succeed } = setup();
      dep.mode = 'hang';
      const inFlight = get();
      await fail(4);
      expect(breaker.state('GetOrder')).toBe('open');
      dep.pending[0]!.resolve(order('late'));
      await expect(inFlight).resolves.toEqual(order('late'));
      await jest.advanceTimersByTimeAsync(5000);
      await succeed(1); // the trial
      expect(breaker.state('GetOrder')).toBe('closed');
      expect(breaker.snapshot()[0]).toMatchObject({ failures: 0, successes: 0 });
    });
  });

  describe('half-open', () => {
    it('stays open until a call arrives after breakDurationMs; that call is the trial', async () => {
      const { breaker, fail, succeed, refusal, types, events } = setup();
      await fail(4);
      await jest.advanceTimersByTimeAsync(4999);
      expect((await refusal()).retryAfterMs).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(breaker.state('GetOrder')).toBe('open'); // no timer moved it
      events.length = 0;
      await succeed(1);
      expect(types()).toEqual(['halfOpen', 'stateChange', 'reset', 'stateChange']);
      expect(events[1]).toMatchObject({ from: 'open', to: 'halfOpen' });
      expect(events[3]).toMatchObject({ from: 'halfOpen', to: 'closed' });
      expect(breaker.state('GetOrder')).toBe('closed');
    });

    it('closes on trial success with a fresh window', async () => {
      const { breaker, fail, succeed } = setup();
      await fail(4);
      await jest.advanceTimersByTimeAsync(5000);
      await succeed(1);
      await fail(3);
      expect(breaker.state('GetOrder')).toBe('closed');
    });

    it('reopens for another breakDurationMs when the trial fails', async () => {
      const { breaker, fail, refusal, events } = setup();
      await fail(4);
      await jest.advanceTimersByTimeAsync(5000);
      events.length = 0;
      await fail(1);
      expect(breaker.state('GetOrder')).toBe('open');
      expect(events.find((e) => e.type === 'break')).toMatchObject({
        reason: 'trialFailed',
        failureRatio: 1,
      });
      await jest.advanceTimersByTimeAsync(2000);
      expect((await refusal()).retryAfterMs).toBe(3000);
    });

    it('lets through at most halfOpenMaxTrials trials and refuses the rest', async () => {
      const { dep, breaker, get, fail, refusal } = setup({
        halfOpenMaxTrials: 2,
        trialTimeoutMs: 800,
      });
      await fail(4);
      await jest.advanceTimersByTimeAsync(5000);
      dep.mode = 'hang';
      const first = get();
      await jest.advanceTimersByTimeAsync(100);
      const second = get();
      const error = await refusal();
      expect(error).toMatchObject({ state: 'halfOpen', retryAfterMs: 700 });
      dep.pending[0]!.resolve(order('1'));
      await first;
      expect(breaker.state('GetOrder')).toBe('halfOpen'); // one of two trials has succeeded
      await refusal(); // its slot is not handed out again
      dep.pending[1]!.resolve(order('1'));
      await second;
      expect(breaker.state('GetOrder')).toBe('closed');
    });

    it('reopens at the first failing trial when several are allowed', async () => {
      const { breaker, succeed, fail } = setup({ halfOpenMaxTrials: 3 });
      await fail(4);
      await jest.advanceTimersByTimeAsync(5000);
      await succeed(2);
      expect(breaker.state('GetOrder')).toBe('halfOpen');
      await fail(1);
      expect(breaker.state('GetOrder')).toBe('open');
    });

    it('a hung trial frees its slot after trialTimeoutMs and counts as a failure', async () => {
      const { dep, breaker, get, fail, succeed, refusal, events } = setup({
        trialTimeoutMs: 1000,
      });
      await fail(4);
      await jest.advanceTimersByTimeAsync(5000);
      dep.mode = 'hang';
      const hung = get();
      await jest.advanceTimersByTimeAsync(999);
      expect((await refusal()).state).toBe('halfOpen');
      events.length = 0;
      await jest.advanceTimersByTimeAsync(1);
      expect(breaker.state('GetOrder')).toBe('open'); // reopened at the trial's deadline
      expect(events[0]).toMatchObject({ type: 'break', reason: 'trialTimedOut' });
      expect(events[0]!.context).toBeDefined();
      expect(events[1]).toMatchObject({ type: 'stateChange', from: 'halfOpen', to: 'open' });
      await jest.advanceTimersByTimeAsync(300);
      expect((await refusal()).retryAfterMs).toBe(4700);
      // Its late answer changes nothing.
      dep.pending[0]!.resolve(order('late'));
      await hung;
      expect(breaker.state('GetOrder')).toBe('open');
      await jest.advanceTimersByTimeAsync(4700);
      await succeed(1);
      expect(breaker.state('GetOrder')).toBe('closed');
      expect(jest.getTimerCount()).toBe(0);
    });

    it('notices a hung trial lazily: the next call finds the circuit reopened as of the deadline', async () => {
      const { dep, get, fail, succeed, types, events } = setup({ trialTimeoutMs: 1000 });
      await fail(4);
      await jest.advanceTimersByTimeAsync(5000);
      dep.mode = 'hang';
      void get();
      await jest.advanceTimersByTimeAsync(6000); // deadline at +1000, then a whole break
      events.length = 0;
      await succeed(1); // reopened at +1000, so half-open again now: this is a trial
      expect(types()).toEqual([
        'break',
        'stateChange',
        'halfOpen',
        'stateChange',
        'reset',
        'stateChange',
      ]);
    });

    it('counts a trial that succeeds after its deadline as timed out', async () => {
      const { dep, breaker, get, fail, events } = setup({ trialTimeoutMs: 1000 });
      await fail(4);
      await jest.advanceTimersByTimeAsync(5000);
      dep.mode = 'hang';
      const late = get();
      await jest.advanceTimersByTimeAsync(1500);
      dep.pending[0]!.resolve(order('1'));
      await late;
      expect(events.find((e) => e.type === 'break' && e.reason === 'trialTimedOut')).toBeDefined();
      expect(breaker.snapshot()[0]).toMatchObject({ state: 'open', retryAfterMs: 4500 });
    });

    it('a cancelled trial frees its slot without deciding anything', async () => {
      const { dep, breaker, get, fail, succeed } = setup();
      await fail(4);
      await jest.advanceTimersByTimeAsync(5000);
      dep.mode = 'hang';
      const controller = new AbortController();
      const cancelled = get('1', controller.signal);
      controller.abort();
      await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
      dep.pending[0]!.reject(controller.signal.reason); // the handler gives up too
      await flushMicrotasks();
      expect(breaker.state('GetOrder')).toBe('halfOpen');
      await succeed(1); // the slot is free again
      expect(breaker.state('GetOrder')).toBe('closed');
    });
  });

  describe('isolate and reset', () => {
    it('isolate(key) refuses with "isolated" and retryAfterMs Infinity until reset(key)', async () => {
      const { breaker, refusal, succeed, types } = setup();
      await succeed(1);
      breaker.isolate('GetOrder');
      expect(breaker.state('GetOrder')).toBe('isolated');
      await jest.advanceTimersByTimeAsync(1_000_000);
      expect(await refusal()).toMatchObject({ state: 'isolated', retryAfterMs: Infinity });
      breaker.reset('GetOrder');
      expect(breaker.state('GetOrder')).toBe('closed');
      await succeed(1);
      expect(types()).toEqual(['stateChange', 'reject', 'reset', 'stateChange']);
    });

    it('isolate(key) works for a key no call has used yet', async () => {
      const { breaker, refusal, events } = setup();
      breaker.isolate('GetOrder');
      await refusal();
      expect(events[0]).toMatchObject({
        type: 'stateChange',
        messageName: undefined,
        from: 'closed',
        to: 'isolated',
      });
    });

    it('isolate() holds every circuit open, present and future, until reset()', async () => {
      const { breaker, mediator, refusal, succeed } = setup();
      await succeed(1);
      breaker.isolate();
      await refusal();
      await expect(mediator.send(new PlaceOrder('sku', 1))).rejects.toMatchObject({
        name: 'CircuitOpenError',
        state: 'isolated',
      });
      expect(breaker.state('anything')).toBe('isolated');
      breaker.reset('GetOrder'); // one key can be released
      await succeed(1);
      breaker.reset();
      await expect(mediator.send(new PlaceOrder('sku', 1))).resolves.toBe('sku');
      expect(breaker.state('anything')).toBe('closed');
    });

    it('reset(key) closes an open circuit at once and forgets its window', async () => {
      const { breaker, fail, events } = setup();
      await fail(4);
      events.length = 0;
      breaker.reset('GetOrder');
      expect(events.map((e) => e.type)).toEqual(['reset', 'stateChange']);
      expect(events[0]!.context).toBeUndefined();
      expect(events[0]!.messageName).toBe('GetOrder');
      await fail(3);
      expect(breaker.state('GetOrder')).toBe('closed');
    });

    it('reset() of a closed circuit clears its window without an event; unknown keys are ignored', async () => {
      const { breaker, fail, events } = setup();
      await fail(3);
      breaker.reset('GetOrder');
      breaker.reset('nobody');
      expect(events).toEqual([]);
      await fail(1);
      expect(breaker.state('GetOrder')).toBe('closed');
    });

    it('rejects a key that is not a string', () => {
      const { breaker } = setup();
      expect(() => breaker.isolate(42 as unknown as string)).toThrow(TypeError);
      expect(() => breaker.reset(null as unknown as string)).toThrow(TypeError);
    });
  });

  describe('keys', () => {
    it('keeps one circuit per message type by default', async () => {
      const { breaker, mediator, fail, refusal } = setup();
      await fail(4);
      await refusal();
      await expect(mediator.send(new PlaceOrder('sku', 1))).resolves.toBe('sku');
      expect(breaker.state('PlaceOrder')).toBe('closed');
    });

    it("shares one circuit, key '*', across message types with scope 'global'", async () => {
      const { breaker, mediator, fail } = setup({ scope: 'global' });
      await fail(4);
      expect(breaker.state('*')).toBe('open');
      await expect(mediator.send(new PlaceOrder('sku', 1))).rejects.toMatchObject({
        name: 'CircuitOpenError',
        key: '*',
      });
    });

    it('keys calls by the key function', async () => {
      const { breaker, dep, get, refusal } = setup({
        scope: (request) => `order:${(request as GetOrder).id ?? '-'}`,
      });
      dep.mode = 'fail';
      for (let i = 0; i < 4; i++) await expect(get('a')).rejects.toBe(dep.error);
      expect(breaker.state('order:a')).toBe('open');
      expect((await refusal('a')).key).toBe('order:a');
      dep.mode = 'ok';
      await expect(get('b')).resolves.toEqual(order('b'));
    });

    it('fails the call with a TypeError when the key function returns no string', async () => {
      const { get, dep } = setup({ scope: () => 7 as unknown as string });
      await expect(get()).rejects.toThrow(
        "Option 'scope' of circuitBreaker() must return a string key, got 7 for GetOrder.",
      );
      expect(dep.calls).toBe(0);
    });

    it('never shares state between policies', async () => {
      const { fail, breaker } = setup();
      const other = circuitBreaker();
      await fail(4);
      expect(breaker.state('GetOrder')).toBe('open');
      expect(other.state('GetOrder')).toBe('closed');
    });

    it('bounds the keys: evicts the least recently used closed circuit first, keeps open ones', async () => {
      const { breaker, dep, get } = setup({
        scope: (request) => (request as GetOrder).id,
        maxKeys: 3,
      });
      dep.mode = 'fail';
      for (let i = 0; i < 4; i++) await expect(get('a')).rejects.toBe(dep.error); // a: open
      dep.mode = 'ok';
      await get('b');
      await get('c');
      await get('b'); // c is now the least recently used closed circuit
      await get('d');
      expect(breaker.snapshot().map((s) => s.key)).toEqual(['a', 'b', 'd']);
      expect(breaker.state('a')).toBe('open');
      await get('e');
      await get('f');
      await get('g');
      expect(breaker.snapshot().map((s) => s.key)).toEqual(['a', 'f', 'g']);
    });

    it('evicts the least recently used open circuit when none is closed, never one isolated by key', async () => {
      const { breaker, dep, get } = setup({
        scope: (request) => (request as GetOrder).id,
        maxKeys: 2,
      });
      breaker.isolate('pinned');
      dep.mode = 'fail';
      for (const id of ['a', 'b']) {
        for (let i = 0; i < 4; i++) await expect(get(id)).rejects.toBe(dep.error);
      }
      expect(breaker.snapshot().map((s) => [s.key, s.state])).toEqual([
        ['pinned', 'isolated'],
        ['b', 'open'],
      ]);
    });
  });

  describe('what counts', () => {
    it('counts a call whose signal was aborted when it failed as neither', async () => {
      const { dep, handlers } = dependency();
      const breaker = circuitBreaker({ minimumThroughput: 1 });
      // A behavior outside the breaker runs it under an aborted signal, as a caller's abort would.
      const aborted = AbortSignal.abort();
      const mediator = createMediator({
        handlers,
        behaviors: [requestBehavior((_r, next) => next(undefined, { signal: aborted })), breaker],
      });
      dep.mode = 'fail';
      for (let i = 0; i < 3; i++) {
        await expect(mediator.send(new GetOrder('1'))).rejects.toBe(dep.error);
      }
      expect(breaker.snapshot()[0]).toMatchObject({ state: 'closed', failures: 0, successes: 0 });
    });

    it('counts an AbortError as neither, whatever the signal says', async () => {
      const { breaker, dep, get } = setup({ minimumThroughput: 1 });
      dep.mode = 'fail';
      dep.error = new DOMException('gone', 'AbortError');
      await expect(get()).rejects.toBe(dep.error);
      dep.error = new DOMException('slow', 'TimeoutError');
      await expect(get()).rejects.toBe(dep.error);
      expect(breaker.snapshot()[0]).toMatchObject({ failures: 0, successes: 0, state: 'closed' });
    });

    it('counts timeouts as failures, even when isFailure says no to other errors', async () => {
      const { breaker, dep, get } = setup({ isFailure: () => false });
      dep.mode = 'fail';
      dep.error = new RequestTimeoutError('GetOrder', 100);
      for (let i = 0; i < 2; i++) await expect(get()).rejects.toBe(dep.error);
      dep.error = new StreamTimeoutError('idle', 100);
      for (let i = 0; i < 2; i++) await expect(get()).rejects.toBe(dep.error);
      expect(breaker.state('GetOrder')).toBe('open');
    });

    it.each([
      ['BulkheadRejectedError', new BulkheadRejectedError('GetOrder', 'queueFull', 1, 0)],
      ['RateLimitedError', new RateLimitedError('GetOrder', 10)],
      ['MemoryPressureError', new MemoryPressureError(2e9, 1e9)],
      ['an inner CircuitOpenError', new CircuitOpenError('inner', 'open', 10)],
    ])('counts %s (an admission rejection) as neither', async (_name, error) => {
      const { breaker, dep, get } = setup({ minimumThroughput: 1 });
      dep.mode = 'fail';
      dep.error = error;
      for (let i = 0; i < 3; i++) await expect(get()).rejects.toBe(error);
      expect(breaker.snapshot()[0]).toMatchObject({ state: 'closed', failures: 0, successes: 0 });
    });

    it('an admission rejection frees a trial slot without deciding', async () => {
      const { breaker, dep, fail, get, succeed } = setup();
      await fail(4);
      await jest.advanceTimersByTimeAsync(5000);
      dep.mode = 'fail';
      dep.error = new RateLimitedError('GetOrder', 10);
      await expect(get()).rejects.toBe(dep.error);
      expect(breaker.state('GetOrder')).toBe('halfOpen');
      await succeed(1);
      expect(breaker.state('GetOrder')).toBe('closed');
    });

    it('counts an error isFailure rejects as a success', async () => {
      const notFound = new Error('404');
      const { breaker, dep, get } = setup({ isFailure: (e) => e !== notFound });
      dep.mode = 'fail';
      dep.error = notFound;
      for (let i = 0; i < 5; i++) await expect(get()).rejects.toBe(notFound);
      expect(breaker.snapshot()[0]).toMatchObject({ state: 'closed', failures: 0, successes: 5 });
    });
  });

  describe('streams', () => {
    it('counts each stream once: completion is a success, failure a failure', async () => {
      const { breaker, dep, mediator } = setup();
      await expect(collect(mediator.createStream(new ExportOrders()))).resolves.toHaveLength(3);
      expect(breaker.snapshot()[0]).toMatchObject({
        key: 'ExportOrders',
        successes: 1,
        failures: 0,
      });
      dep.streamEnd = 'fail';
      for (let i = 0; i < 2; i++) {
        await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toBe(dep.error);
      }
      expect(breaker.state('ExportOrders')).toBe('closed'); // 2 of 3, below minimumThroughput
      await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toBe(dep.error);
      expect(breaker.state('ExportOrders')).toBe('open');
    });

    it('refuses an open circuit’s stream at its first read, without running the handler', async () => {
      const { breaker, dep, mediator } = setup();
      breaker.isolate('ExportOrders');
      const stream = mediator.createStream(new ExportOrders()); // nothing decided yet
      const iterator = stream[Symbol.asyncIterator]();
      await expect(iterator.next()).rejects.toMatchObject({
        name: 'CircuitOpenError',
        key: 'ExportOrders',
        state: 'isolated',
      });
      expect(dep.streamRuns).toBe(0);
    });

    it('decides at the first read, not when the stream is created', async () => {
      const { breaker, dep, mediator } = setup();
      const stream = mediator.createStream(new ExportOrders());
      breaker.isolate('ExportOrders');
      await expect(collect(stream)).rejects.toBeInstanceOf(CircuitOpenError);
      breaker.reset();
      await expect(collect(stream)).resolves.toHaveLength(3);
      expect(dep.streamRuns).toBe(1);
    });

    it('counts a failed stream as a success once it delivered stream.successAfterItems items', async () => {
      const { breaker, dep, mediator } = setup({ stream: { successAfterItems: 3 } });
      dep.streamEnd = 'fail';
      for (let i = 0; i < 4; i++) {
        await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toBe(dep.error);
      }
      expect(breaker.snapshot()[0]).toMatchObject({ state: 'closed', successes: 4, failures: 0 });
      dep.items = 2;
      for (let i = 0; i < 4; i++) {
        await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toBe(dep.error);
      }
      expect(breaker.state('ExportOrders')).toBe('open');
    });

    it('counts a stream its consumer leaves early as neither', async () => {
      const { breaker, dep, mediator } = setup({ minimumThroughput: 1 });
      dep.items = 10;
      for (let i = 0; i < 3; i++) {
        for await (const item of mediator.createStream(new ExportOrders())) {
          if (item.id === '2') break;
        }
      }
      expect(dep.streamFinally).toBe(3);
      expect(breaker.snapshot()[0]).toMatchObject({ state: 'closed', failures: 0, successes: 0 });
    });

    it('counts a StreamTimeoutError as a failure and a cancelled stream as neither', async () => {
      const { breaker, dep, mediator } = setup({ minimumThroughput: 1 });
      dep.streamEnd = 'hang';
      const controller = new AbortController();
      const reading = collect(
        mediator.createStream(new ExportOrders(), { signal: controller.signal }),
      );
      await flushMicrotasks();
      controller.abort();
      await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
      expect(breaker.snapshot()[0]).toMatchObject({ failures: 0, successes: 0 });
      dep.streamEnd = 'fail';
      dep.error = new StreamTimeoutError('idle', 50);
      await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toBe(dep.error);
      expect(breaker.state('ExportOrders')).toBe('open');
    });

    it('lets a stream in progress run on when the circuit opens', async () => {
      const { breaker, dep, mediator } = setup();
      dep.items = 5;
      const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      await expect(iterator.next()).resolves.toMatchObject({ value: order('1') });
      breaker.isolate('ExportOrders');
      const rest: Order[] = [];
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest.push(r.value);
      expect(rest.map((o) => o.id)).toEqual(['2', '3', '4', '5']);
      expect(breaker.state('ExportOrders')).toBe('isolated');
    });

    it('a stream trial stays alive while it delivers items; an idle one times out', async () => {
      const { breaker, dep, mediator } = setup({ trialTimeoutMs: 1000 });
      breaker.isolate('ExportOrders');
      breaker.reset('ExportOrders');
      dep.streamEnd = 'fail';
      for (let i = 0; i < 4; i++) {
        await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toBe(dep.error);
      }
      await jest.advanceTimersByTimeAsync(5000);
      dep.streamEnd = 'complete';
      const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      for (let i = 0; i < 3; i++) {
        await jest.advanceTimersByTimeAsync(900);
        await expect(iterator.next()).resolves.toMatchObject({ done: false });
      }
      expect(breaker.state('ExportOrders')).toBe('halfOpen'); // 2.7 s, but never idle for 1 s
      await jest.advanceTimersByTimeAsync(1000);
      expect(breaker.state('ExportOrders')).toBe('open');
      await expect(iterator.next()).resolves.toMatchObject({ done: true });
      expect(breaker.state('ExportOrders')).toBe('open'); // its late completion is ignored
    });

    it('counts the items a batching stage takes in bulk', async () => {
      class Numbers extends StreamRequest<number> {}
      const failure = new Error('after five');
      const breaker = circuitBreaker({ minimumThroughput: 1, stream: { successAfterItems: 4 } });
      const mediator = createMediator({
        handlers: [
          handler(Numbers, function* () {
            yield* [1, 2, 3, 4, 5];
            throw failure;
          }),
        ],
        behaviors: [breaker],
      });
      const batches: number[][] = [];
      await expect(
        (async () => {
          for await (const b of mediator.createStream(new Numbers()).pipe(batch(3)))
            batches.push(b);
        })(),
      ).rejects.toBe(failure);
      expect(batches).toEqual([[1, 2, 3]]);
      expect(breaker.snapshot()[0]).toMatchObject({ state: 'closed', successes: 1, failures: 0 });
    });

    it('guards only the classes in `for`', async () => {
      const { dep, handlers } = dependency();
      const breaker = circuitBreaker({ minimumThroughput: 1, for: [ExportOrders] });
      const mediator = createMediator({ handlers, behaviors: [breaker] });
      dep.mode = 'fail';
      for (let i = 0; i < 3; i++)
        await expect(mediator.send(new GetOrder('1'))).rejects.toBe(dep.error);
      expect(breaker.snapshot()).toEqual([]);
      expect(breaker.behaviors.map((b) => b.kind)).toEqual(['stream']);
    });
  });

  describe('events', () => {
    it('reports a break with the ratio, the error, the call and the policy name', async () => {
      const { dep, fail, succeed, events } = setup({ name: 'payments' });
      await succeed(2);
      await fail(2);
      const brk = events.find((e) => e.type === 'break');
      expect(brk).toMatchObject({
        type: 'break',
        policy: 'payments',
        messageName: 'GetOrder',
        key: 'GetOrder',
        reason: 'failureRatio',
        failureRatio: 0.5,
        error: dep.error,
      });
      expect(brk!.context?.messageName).toBe('GetOrder');
      expect(events.map((e) => e.type)).toEqual(['break', 'stateChange']);
    });

    it('emits to a subscriber only what happens after it subscribed', async () => {
      const { dep, handlers } = dependency();
      const breaker: CircuitBreakerPolicy = circuitBreaker({ minimumThroughput: 1 });
      const mediator = createMediator({ handlers, behaviors: [breaker] });
      dep.mode = 'fail';
      await expect(mediator.send(new GetOrder('1'))).rejects.toBe(dep.error);
      const seen: CircuitBreakerEvent[] = [];
      breaker.events.subscribe((e) => seen.push(e));
      await expect(mediator.send(new GetOrder('1'))).rejects.toBeInstanceOf(CircuitOpenError);
      expect(seen.map((e) => e.type)).toEqual(['reject']);
    });
  });

  describe('snapshot', () => {
    it('reports state, window counts and when it opened', async () => {
      jest.setSystemTime(new Date('2030-01-01T00:00:00Z'));
      const { breaker, fail } = setup();
      await fail(4);
      await jest.advanceTimersByTimeAsync(1000);
      expect(breaker.snapshot()).toEqual([
        {
          key: 'GetOrder',
          state: 'open',
          failures: 0,
          successes: 0,
          trialsInFlight: 0,
          trialSuccesses: 0,
          openedAt: Date.parse('2030-01-01T00:00:00Z'),
          retryAfterMs: 4000,
        },
      ]);
    });
  });

  describe('options', () => {
    it.each([
      [
        { failureRatio: 0 },
        RangeError,
        "Option 'failureRatio' must be a number > 0 and ≤ 1, got 0.",
      ],
      [{ failureRatio: 1.5 }, RangeError, 'got 1.5'],
      [{ failureRatio: NaN }, RangeError, 'got NaN'],
      [{ failureRatio: '0.5' }, TypeError, "Option 'failureRatio' must be a number, got '0.5'."],
      [
        { samplingWindowMs: 5 },
        RangeError,
        "Option 'samplingWindowMs' must be a whole number ≥ 10, got 5.",
      ],
      [{ samplingWindowMs: 1000.5 }, RangeError, 'got 1000.5'],
      [{ minimumThroughput: 0 }, RangeError, "'minimumThroughput'"],
      [{ breakDurationMs: 0 }, RangeError, "'breakDurationMs'"],
      [{ breakDurationMs: Infinity }, RangeError, "'breakDurationMs'"],
      [{ halfOpenMaxTrials: 0 }, RangeError, "'halfOpenMaxTrials'"],
      [{ trialTimeoutMs: -1 }, RangeError, "'trialTimeoutMs'"],
      [{ maxKeys: 0 }, RangeError, "'maxKeys'"],
      [{ stream: { successAfterItems: 0 } }, RangeError, "'stream.successAfterItems'"],
      [{ stream: 3 }, TypeError, "Option 'stream' must be an object, got 3."],
      [{ isFailure: true }, TypeError, "Option 'isFailure' must be a function, got true."],
      [
        { scope: 'id' },
        TypeError,
        "Option 'scope' must be 'messageType', 'global' or a function returning a key, got 'id'.",
      ],
      [{ name: 1 }, TypeError, "Option 'name' must be a string, got 1."],
      [{ for: [] }, TypeError, "Option 'for' of circuitBreaker() must be a non-empty array"],
    ])('rejects %j', (options, type, message) => {
      expect(() => circuitBreaker(options as CircuitBreakerOptions)).toThrow(type);
      expect(() => circuitBreaker(options as CircuitBreakerOptions)).toThrow(message);
    });

    it('rejects options that are not an object', () => {
      expect(() => circuitBreaker(5 as unknown as CircuitBreakerOptions)).toThrow(TypeError);
    });

    it('defaults: ratio 0.5 over 10 s after 10 calls, 30 s break, one trial timing out after 30 s', async () => {
      const { dep, handlers } = dependency();
      const breaker = circuitBreaker();
      const mediator = createMediator({ handlers, behaviors: [breaker] });
      const get = () => mediator.send(new GetOrder('1'));
      for (let i = 0; i < 5; i++) await get();
      dep.mode = 'fail';
      for (let i = 0; i < 4; i++) await expect(get()).rejects.toBe(dep.error);
      expect(breaker.state('GetOrder')).toBe('closed'); // 9 calls
      await expect(get()).rejects.toBe(dep.error); // 5 of 10
      expect(breaker.state('GetOrder')).toBe('open');
      await expect(get()).rejects.toMatchObject({ retryAfterMs: 30_000 });
      await jest.advanceTimersByTimeAsync(30_000);
      dep.mode = 'hang';
      void get();
      await expect(get()).rejects.toMatchObject({ state: 'halfOpen', retryAfterMs: 30_000 });
    });
  });
});

describe('circuitBreaker regressions (review of issue 5)', () => {
  it('counts a call whose isFailure throws as a failure, keeping its error and freeing the trial slot', async () => {
    const breaker = circuitBreaker({
      minimumThroughput: 1,
      failureRatio: 1,
      breakDurationMs: 1_000,
      trialTimeoutMs: 60_000,
      isFailure: (error) => {
        if ((error as Error).message === 'weird') throw new Error('isFailure bug');
        return true;
      },
    });
    let answer: 'ok' | 'down' | 'weird' = 'down';
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, async (q) => {
          if (answer === 'ok') return order(q.id);
          throw new Error(answer);
        }),
      ],
      behaviors: [breaker],
    });
    await expect(mediator.send(new GetOrder('1'))).rejects.toThrow('down');
    expect(breaker.state('GetOrder')).toBe('open');
    await jest.advanceTimersByTimeAsync(1_000);
    answer = 'weird';
    // The trial fails with an error the predicate chokes on: the call keeps its own error…
    await expect(mediator.send(new GetOrder('2'))).rejects.toThrow(/^weird$/); // was 'isFailure bug'
    // …and the trial is over: the circuit decided (reopened) instead of holding its slot.
    expect(breaker.state('GetOrder')).toBe('open'); // was 'halfOpen' until trialTimeoutMs
    answer = 'ok';
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(mediator.send(new GetOrder('3'))).resolves.toEqual(order('3'));
    expect(breaker.state('GetOrder')).toBe('closed');
  });
});
