import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  createMediator,
  handler,
  requestBehavior,
  StreamRequest,
  type HandlerContext,
} from '../../src/index.js';
import { RequestDeadlines } from '../../src/behaviors/RequestDeadlines.js';
import { timeout, type TimeoutEvent } from '../../src/behaviors/timeout.js';
import {
  isRequestTimeoutError,
  RequestTimeoutError,
} from '../../src/errors/RequestTimeoutError.js';
import { isAbortError } from '../../src/errors/isAbortError.js';
import { StreamTimeoutError } from '../../src/errors/StreamTimeoutError.js';
import { deferred, flushMicrotasks } from '../helpers/deferred.js';
import { ExportOrders, GetOrder, order, PlaceOrder, type Order } from '../helpers/orders.js';
import { sleep, trackedController } from '../helpers/signals.js';

/** Items 0, 1, 2, …: item i comes `gaps[i]` ms after the handler is asked for it (Infinity: never). */
class Feed extends StreamRequest<number> {
  constructor(readonly gaps: readonly number[]) {
    super();
  }
}

interface Run {
  signal: AbortSignal;
  finallyRan: boolean;
}

/** A mediator whose Feed handler waits (cooperatively, on its signal) before each item. */
function feedMediator(policy: ReturnType<typeof timeout>) {
  const runs: Run[] = [];
  const mediator = createMediator({
    handlers: [
      handler(Feed, async function* (request: Feed, context: HandlerContext) {
        const run: Run = { signal: context.signal, finallyRan: false };
        runs.push(run);
        try {
          for (let i = 0; i < request.gaps.length; i++) {
            await sleep(request.gaps[i]!, context.signal);
            yield i;
          }
        } finally {
          run.finallyRan = true;
        }
      }),
    ],
    behaviors: [policy],
  });
  return { mediator, runs };
}

/** Reads a stream to its end; resolves with the items, or with the error it failed with. */
async function drain<T>(
  items: AsyncIterable<T>,
): Promise<{ items: T[]; error?: unknown; failed: boolean }> {
  const seen: T[] = [];
  try {
    for await (const item of items) seen.push(item);
    return { items: seen, failed: false };
  } catch (error) {
    return { items: seen, error, failed: true };
  }
}

/** Counts AbortControllers made while `body` runs. */
async function countControllers(body: () => Promise<void>): Promise<number> {
  const Real = globalThis.AbortController;
  let made = 0;
  globalThis.AbortController = class extends Real {
    constructor() {
      super();
      made++;
    }
  };
  try {
    await body();
  } finally {
    globalThis.AbortController = Real;
  }
  return made;
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('timeout (requests)', () => {
  it('rejects with RequestTimeoutError at ms even when the handler ignores its signal', async () => {
    const mediator = createMediator({
      handlers: [handler(GetOrder, () => new Promise<Order>(() => undefined))],
      behaviors: [timeout(100)],
    });
    let outcome: unknown = 'pending';
    mediator.send(new GetOrder('1')).catch((error: unknown) => (outcome = error));
    await jest.advanceTimersByTimeAsync(99);
    expect(outcome).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);
    expect(outcome).toBeInstanceOf(RequestTimeoutError);
    expect(outcome).toMatchObject({ messageName: 'GetOrder', ms: 100 });
    expect(isRequestTimeoutError(outcome)).toBe(true);
  });

  it("aborts the handler's signal with the RequestTimeoutError as its reason", async () => {
    let signal: AbortSignal | undefined;
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (_q, ctx) => {
          signal = ctx.signal;
          return new Promise<Order>(() => undefined);
        }),
      ],
      behaviors: [timeout({ ms: 50 })],
    });
    const answer = mediator.send(new GetOrder('1'));
    answer.catch(() => undefined);
    await jest.advanceTimersByTimeAsync(50);
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBeInstanceOf(RequestTimeoutError);
    await expect(answer).rejects.toBe(signal!.reason);
  });

  it('gives the answer when the handler is in time, and never aborts its signal', async () => {
    let signal: AbortSignal | undefined;
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, async (q, ctx) => {
          signal = ctx.signal;
          await sleep(40, ctx.signal);
          return order(q.id);
        }),
      ],
      behaviors: [timeout(50)],
    });
    const answer = mediator.send(new GetOrder('7'));
    await jest.advanceTimersByTimeAsync(40);
    await expect(answer).resolves.toEqual(order('7'));
    await jest.advanceTimersByTimeAsync(100);
    expect(signal!.aborted).toBe(false);
  });

  it('passes a failure through unchanged', async () => {
    const boom = new Error('boom');
    const mediator = createMediator({
      handlers: [handler(GetOrder, () => Promise.reject(boom))],
      behaviors: [timeout(50)],
    });
    await expect(mediator.send(new GetOrder('1'))).rejects.toBe(boom);
  });

  it('makes no AbortController when the handler never reads its signal', async () => {
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (q, ctx) => {
          if (q.id === 'reads') void ctx.signal;
          return order(q.id);
        }),
      ],
      behaviors: [timeout(50)],
    });
    expect(await countControllers(async () => void (await mediator.send(new GetOrder('1'))))).toBe(
      0,
    );
    expect(
      await countControllers(async () => void (await mediator.send(new GetOrder('reads')))),
    ).toBe(1);
  });

  it("aborts the handler's lazy signal when the caller's signal aborts, and rejects at once", async () => {
    const caller = trackedController();
    let signal: AbortSignal | undefined;
    const events: TimeoutEvent[] = [];
    const policy = timeout(100);
    policy.events.subscribe((e) => events.push(e));
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (_q, ctx) => {
          signal = ctx.signal;
          return new Promise<Order>(() => undefined);
        }),
      ],
      behaviors: [policy],
    });
    const answer = mediator.send(new GetOrder('1'), { signal: caller.signal });
    answer.catch(() => undefined);
    await flushMicrotasks();
    const reason = new Error('caller gave up');
    caller.controller.abort(reason);
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBe(reason);
    await expect(answer).rejects.toBe(reason);
    await jest.advanceTimersByTimeAsync(200);
    expect(events).toEqual([]); // a cancellation, not a timeout
    expect(caller.listeners()).toBe(0);
  });

  it("rejects at once, without running the handler, when the caller's signal is already aborted", async () => {
    const run = jest.fn(() => order('1'));
    const reason = new Error('too late');
    const mediator = createMediator({
      handlers: [handler(GetOrder, run)],
      behaviors: [
        requestBehavior((_q, next) => next(undefined, { signal: AbortSignal.abort(reason) })),
        timeout(100),
      ],
    });
    await expect(mediator.send(new GetOrder('1'))).rejects.toBe(reason);
    expect(run).not.toHaveBeenCalled();
  });

  it('gives a signal read after the timeout already aborted', async () => {
    const read = deferred<AbortSignal>();
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, async (_q, ctx) => {
          await sleep(200, new AbortController().signal);
          read.resolve(ctx.signal);
          return order('1');
        }),
      ],
      behaviors: [timeout(100)],
    });
    const answer = mediator.send(new GetOrder('1'));
    answer.catch(() => undefined);
    await jest.advanceTimersByTimeAsync(200);
    const signal = await read.promise;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(RequestTimeoutError);
    await expect(answer).rejects.toBeInstanceOf(RequestTimeoutError);
  });

  it('removes its listener from the caller signal on success and on failure', async () => {
    const caller = trackedController();
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (q) => (q.id === 'bad' ? Promise.reject(new Error('x')) : order(q.id))),
      ],
      behaviors: [timeout(100)],
    });
    await mediator.send(new GetOrder('1'), { signal: caller.signal });
    await mediator.send(new GetOrder('bad'), { signal: caller.signal }).catch(() => undefined);
    expect(caller.listeners()).toBe(0);
  });

  it('runs every call of the policy on one timer, which lapses once nothing is in flight', async () => {
    const gates = Array.from({ length: 100 }, () => deferred<Order>());
    let i = 0;
    const mediator = createMediator({
      handlers: [handler(GetOrder, () => gates[i++]!.promise)],
      behaviors: [timeout(1_000)],
    });
    const answers = gates.map((_, n) => mediator.send(new GetOrder(String(n))));
    await flushMicrotasks();
    expect(jest.getTimerCount()).toBe(1);
    gates.forEach((gate, n) => gate.resolve(order(String(n))));
    await Promise.all(answers);
    // The timer is not cleared per call; it lapses at its next firing (at most ms / 32 later).
    await jest.advanceTimersByTimeAsync(1_000 / 32);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('leaves no timer after failures and aborts either', async () => {
    const caller = new AbortController();
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (q) =>
          q.id === 'bad' ? Promise.reject(new Error('x')) : new Promise<Order>(() => undefined),
        ),
      ],
      behaviors: [timeout(320)],
    });
    await mediator.send(new GetOrder('bad')).catch(() => undefined);
    const hanging = mediator.send(new GetOrder('hang'), { signal: caller.signal });
    hanging.catch(() => undefined);
    caller.abort();
    await expect(hanging).rejects.toMatchObject({ name: 'AbortError' });
    await jest.advanceTimersByTimeAsync(10);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('times out a call that started while the timer was running within ms + ms/32, never early', async () => {
    const outcomes: Record<string, number> = {};
    const mediator = createMediator({
      handlers: [handler(GetOrder, () => new Promise<Order>(() => undefined))],
      behaviors: [timeout(320)],
    });
    const start = (id: string): void => {
      const t0 = Date.now();
      mediator.send(new GetOrder(id)).catch(() => (outcomes[id] = Date.now() - t0));
    };
    start('first');
    await jest.advanceTimersByTimeAsync(15);
    start('second'); // stamped at the next tick (t = 20)
    await jest.advanceTimersByTimeAsync(400);
    expect(outcomes.first).toBe(320);
    expect(outcomes.second).toBeGreaterThanOrEqual(320);
    expect(outcomes.second).toBeLessThanOrEqual(330);
  });

  it("emits 'timeout' with the call, the kind and the limit", async () => {
    const policy = timeout({ ms: 30, name: 'db' });
    const events: TimeoutEvent[] = [];
    policy.events.subscribe((e) => events.push(e));
    const mediator = createMediator({
      handlers: [handler(GetOrder, () => new Promise<Order>(() => undefined))],
      behaviors: [policy],
    });
    const answer = mediator.send(new GetOrder('1'), { correlationId: 'c-1' });
    answer.catch(() => undefined);
    await jest.advanceTimersByTimeAsync(30);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'timeout',
      policy: 'db',
      messageName: 'GetOrder',
      kind: 'request',
      ms: 30,
    });
    expect(events[0]!.context.correlationId).toBe('c-1');
    await expect(answer).rejects.toBe(events[0]!.error);
  });

  it('applies only to the classes in `for`', async () => {
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, () => new Promise<Order>(() => undefined)),
        handler(PlaceOrder, () => new Promise<string>(() => undefined)),
      ],
      behaviors: [timeout({ ms: 10, for: [GetOrder] })],
    });
    const outcomes: string[] = [];
    mediator.send(new GetOrder('1')).catch(() => outcomes.push('get'));
    mediator.send(new PlaceOrder('sku', 1)).catch(() => outcomes.push('place'));
    await jest.advanceTimersByTimeAsync(100);
    expect(outcomes).toEqual(['get']);
  });
});

describe('timeout (composition)', () => {
  it('gives each attempt of a retry outside its own ms, and its timeout is a failure, not an abort', async () => {
    const errors: unknown[] = [];
    const signals: AbortSignal[] = [];
    const retryOnce = requestBehavior(async (_q, next) => {
      try {
        return await next();
      } catch (error) {
        errors.push(error);
        return next();
      }
    });
    let attempt = 0;
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (q, ctx) => {
          signals.push(ctx.signal);
          return ++attempt === 1 ? new Promise<Order>(() => undefined) : order(q.id);
        }),
      ],
      behaviors: [retryOnce, timeout(100)],
    });
    const answer = mediator.send(new GetOrder('1'));
    await jest.advanceTimersByTimeAsync(100);
    await expect(answer).resolves.toEqual(order('1'));
    expect(errors).toHaveLength(1);
    expect(isAbortError(errors[0])).toBe(false);
    expect(signals[0]!.reason).toBe(errors[0]);
    expect(signals[1]!.aborted).toBe(false);
  });
});

describe('RequestDeadlines', () => {
  it('keeps O(live) entries when many calls settle behind a slow one', async () => {
    const deadlines = new RequestDeadlines(10_000, () => undefined);
    const ctx = { messageName: 'X', signal: new AbortController().signal } as HandlerContext;
    const slow = deferred<unknown>();
    void deadlines.run(undefined, () => slow.promise, ctx);
    for (let n = 0; n < 1_000; n++) {
      await deadlines.run(undefined, () => Promise.resolve(n), ctx);
    }
    expect(deadlines.live).toBe(1);
    expect(deadlines.held).toBeLessThanOrEqual(2 + 64 + 1);
    slow.resolve('done');
    await flushMicrotasks();
    expect(deadlines.live).toBe(0);
    expect(deadlines.held).toBe(0);
  });

  it('expires, in order, only the calls that are due', async () => {
    const timedOut: string[] = [];
    const deadlines = new RequestDeadlines(100, (ctx) => timedOut.push(ctx.messageName));
    const ctx = (name: string) =>
      ({ messageName: name, signal: new AbortController().signal }) as HandlerContext;
    const never = () => new Promise<never>(() => undefined);
    const answers = [deadlines.run(undefined, never, ctx('a'))];
    await jest.advanceTimersByTimeAsync(50);
    answers.push(deadlines.run(undefined, never, ctx('b')));
    answers.forEach((a) => a.catch(() => undefined));
    await jest.advanceTimersByTimeAsync(50);
    expect(timedOut).toEqual(['a']);
    await jest.advanceTimersByTimeAsync(60);
    expect(timedOut).toEqual(['a', 'b']);
    expect(deadlines.live).toBe(0);
  });
});

describe('timeout (streams)', () => {
  it("fails a stream whose first item is late with StreamTimeoutError('first'), closing and aborting the handler", async () => {
    const { mediator, runs } = feedMediator(timeout({ stream: { firstMs: 100 } }));
    const result = drain(mediator.createStream(new Feed([150, 0])));
    await jest.advanceTimersByTimeAsync(100);
    const { error, items } = await result;
    expect(items).toEqual([]);
    expect(error).toBeInstanceOf(StreamTimeoutError);
    expect(error).toMatchObject({ kind: 'first', ms: 100 });
    expect(runs[0]!.signal.aborted).toBe(true);
    expect(runs[0]!.signal.reason).toBe(error);
    await flushMicrotasks();
    expect(runs[0]!.finallyRan).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("fails a stream that goes idle with StreamTimeoutError('idle')", async () => {
    const policy = timeout({ stream: { idleMs: 50 } });
    const events: TimeoutEvent[] = [];
    policy.events.subscribe((e) => events.push(e));
    const { mediator, runs } = feedMediator(policy);
    const result = drain(mediator.createStream(new Feed([10, 40, 60, 0])));
    await jest.advanceTimersByTimeAsync(200);
    const { error, items } = await result;
    expect(items).toEqual([0, 1]);
    expect(error).toMatchObject({ kind: 'idle', ms: 50 });
    expect(runs[0]!.signal.reason).toBe(error);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'timeout', kind: 'idle', ms: 50, error });
    expect(jest.getTimerCount()).toBe(0);
  });

  it("fails a stream that takes too long in all with StreamTimeoutError('total')", async () => {
    const { mediator, runs } = feedMediator(timeout({ stream: { totalMs: 100 } }));
    const result = drain(mediator.createStream(new Feed([40, 40, 40, 40])));
    await jest.advanceTimersByTimeAsync(100);
    const { error, items } = await result;
    expect(items).toEqual([0, 1]);
    expect(error).toMatchObject({ kind: 'total', ms: 100 });
    expect(runs[0]!.signal.reason).toBe(error);
  });

  it('fails with the same error the handler was aborted with when total fires while the reader is busy', async () => {
    const { mediator, runs } = feedMediator(timeout({ stream: { totalMs: 100 } }));
    const iterator = mediator.createStream(new Feed([0, 0, 0]))[Symbol.asyncIterator]();
    const first = iterator.next();
    await jest.advanceTimersByTimeAsync(0);
    expect(await first).toEqual({ value: 0, done: false });
    await jest.advanceTimersByTimeAsync(150); // the reader is busy elsewhere
    expect(runs[0]!.signal.aborted).toBe(true);
    const reason = runs[0]!.signal.reason as StreamTimeoutError;
    expect(reason).toMatchObject({ kind: 'total', ms: 100 });
    await expect(iterator.next()).rejects.toBe(reason);
  });

  it('lets a stream that is in time complete, leaving no timer and no aborted signal', async () => {
    const { mediator, runs } = feedMediator(
      timeout({ stream: { firstMs: 100, idleMs: 50, totalMs: 500 } }),
    );
    const result = drain(mediator.createStream(new Feed([90, 40, 40])));
    await jest.advanceTimersByTimeAsync(200);
    expect(await result).toEqual({ items: [0, 1, 2], failed: false });
    expect(runs[0]!.signal.aborted).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("aborts the handler's signal and clears every timer when the reader breaks out", async () => {
    const { mediator, runs } = feedMediator(timeout({ stream: { idleMs: 50, totalMs: 1_000 } }));
    const seen: number[] = [];
    const reading = (async () => {
      for await (const item of mediator.createStream(new Feed([10, 10, 10]))) {
        seen.push(item);
        if (item === 1) break;
      }
    })();
    await jest.advanceTimersByTimeAsync(20);
    await reading;
    expect(seen).toEqual([0, 1]);
    expect(runs[0]!.signal.aborted).toBe(true);
    expect(runs[0]!.finallyRan).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("passes the caller's abort through as a cancellation, not a timeout", async () => {
    const policy = timeout({ stream: { idleMs: 50 } });
    const events: TimeoutEvent[] = [];
    policy.events.subscribe((e) => events.push(e));
    const { mediator, runs } = feedMediator(policy);
    const caller = new AbortController();
    const result = drain(
      mediator.createStream(new Feed([30, Infinity]), { signal: caller.signal }),
    );
    await jest.advanceTimersByTimeAsync(40);
    const reason = new Error('stop');
    caller.abort(reason);
    const { error } = await result;
    expect(error).toBe(reason);
    expect(runs[0]!.signal.aborted).toBe(true);
    await jest.advanceTimersByTimeAsync(100);
    expect(events).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('makes no AbortController of its own when the handler never reads its signal', async () => {
    const mediator = createMediator({
      handlers: [handler(ExportOrders, () => [order('1'), order('2')])],
      behaviors: [timeout({ stream: { idleMs: 50 } })],
    });
    const plain = createMediator({ handlers: [handler(ExportOrders, () => [order('1')])] });
    const base = await countControllers(
      async () => void (await drain(plain.createStream(new ExportOrders()))),
    );
    const made = await countControllers(
      async () => void (await drain(mediator.createStream(new ExportOrders()))),
    );
    expect(made).toBe(base);
  });

  it('restarts its clocks on each iteration (a retry outside gets a fresh budget)', async () => {
    const { mediator } = feedMediator(timeout({ stream: { totalMs: 100 } }));
    const stream = mediator.createStream(new Feed([60, 30]));
    for (let round = 0; round < 2; round++) {
      const result = drain(stream);
      await jest.advanceTimersByTimeAsync(90);
      expect(await result).toEqual({ items: [0, 1], failed: false });
    }
  });

  it('leaves streams alone when only ms is given, and requests alone when only stream is', async () => {
    const slowRequests = createMediator({
      handlers: [
        handler(GetOrder, () => new Promise<Order>(() => undefined)),
        handler(Feed, async function* () {
          await sleep(500, new AbortController().signal);
          yield 1;
        }),
      ],
      behaviors: [timeout({ stream: { totalMs: 1_000 } })],
    });
    let requestDone = false;
    slowRequests
      .send(new GetOrder('1'))
      .finally(() => (requestDone = true))
      .catch(() => undefined);
    const onlyMs = createMediator({
      handlers: [
        handler(Feed, async function* () {
          await sleep(500, new AbortController().signal);
          yield 1;
        }),
      ],
      behaviors: [timeout(10)],
    });
    const result = drain(onlyMs.createStream(new Feed([])));
    await jest.advanceTimersByTimeAsync(2_000);
    expect(requestDone).toBe(false);
    expect(await result).toEqual({ items: [1], failed: false });
  });
});

describe('timeout (options)', () => {
  it.each([
    [0, RangeError, "Option 'ms' must be a number of milliseconds > 0 and ≤ 2147483647, got 0."],
    [-5, RangeError, "Option 'ms' must be a number of milliseconds > 0 and ≤ 2147483647, got -5."],
    [
      NaN,
      RangeError,
      "Option 'ms' must be a number of milliseconds > 0 and ≤ 2147483647, got NaN.",
    ],
    [
      2 ** 31,
      RangeError,
      "Option 'ms' must be a number of milliseconds > 0 and ≤ 2147483647, got 2147483648.",
    ],
    [{ ms: '5' }, TypeError, "Option 'ms' must be a number of milliseconds, got '5'."],
    [
      { stream: { idleMs: -1 } },
      RangeError,
      "Option 'stream.idleMs' must be a number of milliseconds > 0 and ≤ 2147483647, got -1.",
    ],
    [
      { stream: { firstMs: 'x' } },
      TypeError,
      "Option 'stream.firstMs' must be a number of milliseconds, got 'x'.",
    ],
    [
      { stream: {} },
      TypeError,
      "Option 'stream' needs at least one of 'firstMs', 'idleMs' or 'totalMs', got {}.",
    ],
    [{ stream: 5 }, TypeError, "Option 'stream' must be an object, got 5."],
    [{}, TypeError, "timeout() needs option 'ms' or 'stream', got {}."],
    [{ ms: 5, name: 3 }, TypeError, "Option 'name' must be a string, got 3."],
    ['5', TypeError, "Option 'options' must be an object, got '5'."],
  ])('rejects %p', (options, type, message) => {
    expect(() => timeout(options as never)).toThrow(type);
    expect(() => timeout(options as never)).toThrow(message);
  });

  it('rejects a `for` class of a kind it has no limit for', () => {
    expect(() => timeout({ ms: 5, for: [ExportOrders] })).toThrow(TypeError);
    expect(() => timeout({ ms: 5, for: [ExportOrders] })).toThrow(/ExportOrders, a stream message/);
  });

  it('is a behavior set with a name', () => {
    const policy = timeout({ ms: 5, stream: { idleMs: 5 } });
    expect(policy.name).toBe('timeout');
    expect(policy.behaviors.map((b) => b.kind)).toEqual(['request', 'stream']);
  });
});
