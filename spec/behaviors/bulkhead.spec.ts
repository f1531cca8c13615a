import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createMediator, handler, type HandlerContext } from '../../src/index.js';
import { bulkhead, type BulkheadEvent, type BulkheadPolicy } from '../../src/behaviors/bulkhead.js';
import {
  BulkheadRejectedError,
  isBulkheadRejectedError,
} from '../../src/errors/BulkheadRejectedError.js';
import { timeout } from '../../src/behaviors/timeout.js';
import { isAbortError } from '../../src/errors/isAbortError.js';
import { RequestTimeoutError } from '../../src/errors/RequestTimeoutError.js';
import { deferred, flushMicrotasks, type Deferred } from '../helpers/deferred.js';
import { ExportOrders, GetOrder, order, PlaceOrder, type Order } from '../helpers/orders.js';
import { trackedController } from '../helpers/signals.js';

/** A mediator whose GetOrder / PlaceOrder handlers wait for a gate per call, in call order. */
function gatedMediator(policy: BulkheadPolicy) {
  const started: string[] = [];
  const gates = new Map<string, Deferred<void>>();
  const gate = (id: string): Promise<void> => {
    started.push(id);
    const d = deferred();
    gates.set(id, d);
    return d.promise;
  };
  const mediator = createMediator({
    handlers: [
      handler(GetOrder, async (q) => {
        await gate(q.id);
        return order(q.id);
      }),
      handler(PlaceOrder, async (c) => {
        await gate(c.sku);
        return c.sku;
      }),
    ],
    behaviors: [policy],
  });
  const open = async (id: string): Promise<void> => {
    gates.get(id)!.resolve();
    await flushMicrotasks();
  };
  return { mediator, started, open };
}

/** Settles to 'pending', the value, or the error. */
function watch<T>(promise: Promise<T>): { outcome: unknown } {
  const box: { outcome: unknown } = { outcome: 'pending' };
  promise.then(
    (value) => (box.outcome = value),
    (error: unknown) => (box.outcome = error),
  );
  return box;
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('bulkhead (requests)', () => {
  it('runs at most maxConcurrent calls at once and admits waiters first come, first served', async () => {
    const policy = bulkhead({ maxConcurrent: 2, maxQueue: 10 });
    const { mediator, started, open } = gatedMediator(policy);
    const answers = ['a', 'b', 'c', 'd', 'e'].map((id) => mediator.send(new GetOrder(id)));
    await flushMicrotasks();
    expect(started).toEqual(['a', 'b']);
    expect(policy.stats('GetOrder')).toEqual({ running: 2, queued: 3 });
    await open('b');
    expect(started).toEqual(['a', 'b', 'c']);
    await open('a');
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    expect(policy.stats()).toMatchObject({ running: 2, queued: 1 });
    await open('c');
    await open('d');
    await open('e');
    expect(await Promise.all(answers)).toEqual(['a', 'b', 'c', 'd', 'e'].map((id) => order(id)));
    expect(policy.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('releases the slot of a call that fails', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    let calls = 0;
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, async (q) => {
          calls++;
          if (q.id === 'bad') throw new Error('bad');
          return order(q.id);
        }),
      ],
      behaviors: [policy],
    });
    const bad = mediator.send(new GetOrder('bad'));
    const good = mediator.send(new GetOrder('good'));
    await expect(bad).rejects.toThrow('bad');
    await expect(good).resolves.toEqual(order('good'));
    expect(calls).toBe(2);
    expect(policy.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it("rejects with BulkheadRejectedError('queueFull') when every slot and queue place is taken", async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const events: BulkheadEvent[] = [];
    policy.events.subscribe((e) => events.push(e));
    const { mediator, started } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    void mediator.send(new GetOrder('b'));
    const refused = mediator.send(new GetOrder('c'));
    await expect(refused).rejects.toBeInstanceOf(BulkheadRejectedError);
    const error = await refused.catch((e: unknown) => e);
    expect(isBulkheadRejectedError(error)).toBe(true);
    expect(error).toMatchObject({
      key: 'GetOrder',
      reason: 'queueFull',
      maxConcurrent: 1,
      maxQueue: 1,
    });
    await flushMicrotasks();
    expect(started).toEqual(['a']);
    expect(events.map((e) => e.type)).toEqual(['queued', 'reject']);
    expect(events[1]).toMatchObject({
      type: 'reject',
      policy: 'bulkhead',
      messageName: 'GetOrder',
      key: 'GetOrder',
      reason: 'queueFull',
      running: 1,
      queued: 1,
      error,
    });
  });

  it('rejects at once with maxQueue 0 (the default)', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const { mediator } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    await expect(mediator.send(new GetOrder('b'))).rejects.toMatchObject({ reason: 'queueFull' });
  });

  it("rejects a call that waits longer than queueTimeoutMs with reason 'queueTimeout'", async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 100 });
    const events: BulkheadEvent[] = [];
    policy.events.subscribe((e) => events.push(e));
    const { mediator, started, open } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    const waiting = watch(mediator.send(new GetOrder('b')));
    await jest.advanceTimersByTimeAsync(99);
    expect(waiting.outcome).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    expect(waiting.outcome).toMatchObject({ reason: 'queueTimeout', key: 'GetOrder' });
    expect(policy.stats()).toMatchObject({ running: 1, queued: 0 });
    expect(events.at(-1)).toMatchObject({ type: 'reject', reason: 'queueTimeout' });
    await open('a');
    expect(started).toEqual(['a']);
  });

  it('clears the queue timer of a call admitted in time', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 100 });
    const events: BulkheadEvent[] = [];
    policy.events.subscribe((e) => events.push(e));
    const { mediator, open } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    const b = mediator.send(new GetOrder('b'));
    await flushMicrotasks();
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(30);
    await open('a');
    expect(jest.getTimerCount()).toBe(0);
    expect(events.at(-1)).toMatchObject({ type: 'admitted', key: 'GetOrder', waitedMs: 30 });
    await open('b');
    await expect(b).resolves.toEqual(order('b'));
  });

  it('takes a call whose caller aborts out of the queue at once, with the reason, timer and listener gone', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 1_000 });
    const events: BulkheadEvent[] = [];
    policy.events.subscribe((e) => events.push(e));
    const { mediator, started, open } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    const caller = trackedController();
    const b = mediator.send(new GetOrder('b'), { signal: caller.signal });
    const c = mediator.send(new GetOrder('c'));
    await flushMicrotasks();
    expect(policy.stats()).toMatchObject({ running: 1, queued: 2 });
    const reason = new Error('gave up');
    caller.controller.abort(reason);
    await expect(b).rejects.toBe(reason);
    expect(policy.stats()).toMatchObject({ running: 1, queued: 1 });
    expect(jest.getTimerCount()).toBe(1); // c's
    expect(caller.listeners()).toBe(0);
    await open('a');
    expect(started).toEqual(['a', 'c']);
    await open('c');
    await expect(c).resolves.toEqual(order('c'));
    expect(events.map((e) => e.type)).toEqual(['queued', 'queued', 'admitted']);
  });

  it("rejects at once with the signal's reason when the caller's signal is already aborted", async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const { mediator } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    const reason = new Error('before');
    await expect(
      mediator.send(new GetOrder('b'), { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(policy.stats()).toMatchObject({ running: 1, queued: 0 });
  });

  it("removes no listener it did not add: a call admitted at once doesn't touch the caller's signal", async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const caller = trackedController();
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q) => order(q.id))],
      behaviors: [policy],
    });
    await mediator.send(new GetOrder('a'), { signal: caller.signal });
    expect(caller.listeners()).toBe(0);
  });
});

describe('bulkhead (composition)', () => {
  it('frees the slot of a call a timeout() inside gave up on, though its handler still hangs', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const started: string[] = [];
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (q) => {
          started.push(q.id);
          return q.id === 'hang' ? new Promise<Order>(() => undefined) : order(q.id);
        }),
      ],
      behaviors: [policy, timeout(100)],
    });
    const hanging = mediator.send(new GetOrder('hang'));
    hanging.catch(() => undefined);
    const next = mediator.send(new GetOrder('next'));
    await jest.advanceTimersByTimeAsync(100);
    await expect(hanging).rejects.toBeInstanceOf(RequestTimeoutError);
    await expect(next).resolves.toEqual(order('next'));
    expect(started).toEqual(['hang', 'next']);
    expect(policy.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('rejects with an admission error, not an abort (a retry may retry it)', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const { mediator } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    const error = await mediator.send(new GetOrder('b')).catch((e: unknown) => e);
    expect(isBulkheadRejectedError(error)).toBe(true);
    expect(isAbortError(error)).toBe(false);
  });
});

describe('bulkhead (scopes)', () => {
  it("keeps one bulkhead per message type by default ('messageType')", async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const { mediator, started } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    void mediator.send(new PlaceOrder('p', 1));
    await flushMicrotasks();
    expect(started).toEqual(['a', 'p']);
    expect(policy.stats('GetOrder')).toEqual({ running: 1, queued: 0 });
    expect(policy.stats('PlaceOrder')).toEqual({ running: 1, queued: 0 });
  });

  it("shares one bulkhead, key '*', with scope 'global'", async () => {
    const policy = bulkhead({ maxConcurrent: 1, scope: 'global' });
    const { mediator, started } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    const refused = await mediator.send(new PlaceOrder('p', 1)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ key: '*', reason: 'queueFull' });
    expect(started).toEqual(['a']);
    expect(policy.stats('*')).toEqual({ running: 1, queued: 0 });
  });

  it('keys calls with a key function, and forgets a key once nothing runs or waits under it', async () => {
    const seen: HandlerContext[] = [];
    const policy = bulkhead<GetOrder>({
      maxConcurrent: 1,
      maxQueue: 1,
      scope: (q, ctx) => (seen.push(ctx), q.id.slice(0, 1)),
    });
    const { mediator, started, open } = gatedMediator(policy);
    const a1 = mediator.send(new GetOrder('a1'));
    const a2 = mediator.send(new GetOrder('a2'));
    const b1 = mediator.send(new GetOrder('b1'));
    await flushMicrotasks();
    expect(started).toEqual(['a1', 'b1']);
    expect(seen[0]!.messageName).toBe('GetOrder');
    expect(policy.stats('a')).toEqual({ running: 1, queued: 1 });
    expect(policy.stats()).toEqual({ running: 2, queued: 1, keys: 2 });
    await open('a1');
    await open('a2');
    await open('b1');
    await Promise.all([a1, a2, b1]);
    expect(policy.stats('a')).toEqual({ running: 0, queued: 0 });
    expect(policy.stats()).toEqual({ running: 0, queued: 0, keys: 0 });
  });

  it('rejects a call whose key function returns something other than a string', async () => {
    const policy = bulkhead({ maxConcurrent: 1, scope: () => 42 as never });
    const { mediator, started } = gatedMediator(policy);
    await expect(mediator.send(new GetOrder('a'))).rejects.toThrow(
      "Option 'scope' of bulkhead() must return a string key, got 42 for GetOrder.",
    );
    expect(started).toEqual([]);
  });

  it('wraps only the classes in `for`', async () => {
    const policy = bulkhead({ maxConcurrent: 1, scope: 'global', for: [GetOrder] });
    const { mediator, started } = gatedMediator(policy);
    void mediator.send(new GetOrder('a'));
    void mediator.send(new PlaceOrder('p', 1));
    void mediator.send(new PlaceOrder('q', 1));
    await flushMicrotasks();
    expect(started).toEqual(['a', 'p', 'q']);
  });
});

/** A stream handler that yields its orders one per gate, recording its runs. */
function streamMediator(policy: BulkheadPolicy) {
  const runs: { signal: AbortSignal; finallyRan: boolean; gate: Deferred<void> }[] = [];
  const mediator = createMediator({
    handlers: [
      handler(ExportOrders, async function* (_r: ExportOrders, ctx: HandlerContext) {
        const run = { signal: ctx.signal, finallyRan: false, gate: deferred() };
        runs.push(run);
        try {
          yield order('1');
          await run.gate.promise;
          yield order('2');
        } finally {
          run.finallyRan = true;
        }
      }),
    ],
    behaviors: [policy],
  });
  return { mediator, runs };
}

describe('bulkhead (streams)', () => {
  it('takes a slot on the first read, not when the stream is created, and frees it on completion', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const { mediator, runs } = streamMediator(policy);
    const first = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
    const second = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
    expect(policy.stats()).toMatchObject({ running: 0, queued: 0 });
    expect(await first.next()).toEqual({ value: order('1'), done: false });
    expect(policy.stats()).toMatchObject({ running: 1, queued: 0 });
    const waiting = watch(second.next());
    await flushMicrotasks();
    expect(policy.stats()).toMatchObject({ running: 1, queued: 1 });
    expect(runs).toHaveLength(1);
    const rest = first.next();
    runs[0]!.gate.resolve();
    expect(await rest).toEqual({ value: order('2'), done: false });
    expect(await first.next()).toEqual({ value: undefined, done: true });
    await flushMicrotasks();
    expect(waiting.outcome).toEqual({ value: order('1'), done: false });
    expect(policy.stats()).toMatchObject({ running: 1, queued: 0 });
    await second.return!();
    expect(policy.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('frees the slot when the reader breaks out', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const { mediator, runs } = streamMediator(policy);
    for await (const item of mediator.createStream(new ExportOrders())) {
      expect(item).toEqual(order('1'));
      expect(policy.stats()).toMatchObject({ running: 1, queued: 0 });
      break;
    }
    expect(policy.stats()).toMatchObject({ running: 0, queued: 0 });
    expect(runs[0]!.finallyRan).toBe(true);
  });

  it('frees the slot when the caller aborts mid-stream', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const { mediator, runs } = streamMediator(policy);
    const caller = new AbortController();
    const stream = mediator.createStream(new ExportOrders(), { signal: caller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const pending = iterator.next(); // waits on the gate
    caller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    await flushMicrotasks();
    expect(policy.stats()).toMatchObject({ running: 0, queued: 0 });
    expect(runs[0]!.signal.aborted).toBe(true);
  });

  it('frees the slot when the stream fails', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const mediator = createMediator({
      handlers: [
        handler(ExportOrders, async function* () {
          yield order('1');
          throw new Error('broken');
        }),
      ],
      behaviors: [policy],
    });
    const seen: Order[] = [];
    await expect(
      (async () => {
        for await (const item of mediator.createStream(new ExportOrders())) seen.push(item);
      })(),
    ).rejects.toThrow('broken');
    expect(seen).toEqual([order('1')]);
    expect(policy.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('takes a stream whose reader aborts while it waits out of the queue at once', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 500 });
    const { mediator, runs } = streamMediator(policy);
    const first = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
    await first.next();
    const caller = new AbortController();
    const stream = mediator.createStream(new ExportOrders(), { signal: caller.signal });
    const second = stream[Symbol.asyncIterator]();
    const waiting = second.next();
    await flushMicrotasks();
    expect(policy.stats()).toMatchObject({ running: 1, queued: 1 });
    caller.abort(new Error('no wait'));
    await expect(waiting).rejects.toThrow('no wait');
    await flushMicrotasks();
    expect(policy.stats()).toMatchObject({ running: 1, queued: 0 });
    expect(jest.getTimerCount()).toBe(0);
    expect(runs).toHaveLength(1);
    await first.return!();
  });

  it("rejects a waiting stream with 'queueTimeout' and never runs its handler", async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 50 });
    const { mediator, runs } = streamMediator(policy);
    const first = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
    await first.next();
    const waiting = watch(mediator.createStream(new ExportOrders())[Symbol.asyncIterator]().next());
    await jest.advanceTimersByTimeAsync(50);
    expect(waiting.outcome).toMatchObject({ reason: 'queueTimeout', key: 'ExportOrders' });
    expect(runs).toHaveLength(1);
    await first.return!();
    expect(policy.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('counts streams and requests of the global scope together', async () => {
    const policy = bulkhead({ maxConcurrent: 1, scope: 'global' });
    const mediator = createMediator({
      handlers: [
        handler(ExportOrders, function* () {
          yield order('1');
          yield order('2');
        }),
        handler(GetOrder, (q) => order(q.id)),
      ],
      behaviors: [policy],
    });
    const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
    await iterator.next();
    await expect(mediator.send(new GetOrder('x'))).rejects.toMatchObject({ reason: 'queueFull' });
    await iterator.return!();
    await expect(mediator.send(new GetOrder('x'))).resolves.toEqual(order('x'));
  });
});

describe('bulkhead (options)', () => {
  it.each([
    [undefined, TypeError, "bulkhead() needs options with 'maxConcurrent', got undefined."],
    [{}, TypeError, "Option 'maxConcurrent' must be a number, got undefined."],
    [{ maxConcurrent: 0 }, RangeError, "Option 'maxConcurrent' must be a whole number ≥ 1, got 0."],
    [
      { maxConcurrent: 1.5 },
      RangeError,
      "Option 'maxConcurrent' must be a whole number ≥ 1, got 1.5.",
    ],
    [{ maxConcurrent: '2' }, TypeError, "Option 'maxConcurrent' must be a number, got '2'."],
    [
      { maxConcurrent: 1, maxQueue: -1 },
      RangeError,
      "Option 'maxQueue' must be a whole number ≥ 0, got -1.",
    ],
    [
      { maxConcurrent: 1, maxQueue: Infinity },
      RangeError,
      "Option 'maxQueue' must be a whole number ≥ 0, got Infinity.",
    ],
    [
      { maxConcurrent: 1, queueTimeoutMs: 0 },
      RangeError,
      "Option 'queueTimeoutMs' must be a number of milliseconds > 0 and ≤ 2147483647, got 0.",
    ],
    [
      { maxConcurrent: 1, queueTimeoutMs: '5' },
      TypeError,
      "Option 'queueTimeoutMs' must be a number, got '5'.",
    ],
    [
      { maxConcurrent: 1, scope: 'tenant' },
      TypeError,
      "Option 'scope' must be 'messageType', 'global' or a function returning a key, got 'tenant'.",
    ],
    [{ maxConcurrent: 1, name: 5 }, TypeError, "Option 'name' must be a string, got 5."],
    [
      { maxConcurrent: 1, for: [] },
      TypeError,
      "Option 'for' of bulkhead() must be a non-empty array of message classes, got an instance of Array.",
    ],
  ])('rejects %p', (options, type, message) => {
    expect(() => bulkhead(options as never)).toThrow(type);
    expect(() => bulkhead(options as never)).toThrow(message);
  });

  it('is a behavior set for requests and streams, named by option `name`', () => {
    const policy = bulkhead({ maxConcurrent: 1, name: 'reports' });
    expect(policy.name).toBe('reports');
    expect(policy.behaviors.map((b) => [b.kind, b.name])).toEqual([
      ['request', 'reports'],
      ['stream', 'reports'],
    ]);
  });
});
