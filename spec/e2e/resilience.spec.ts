/**
 * Composition that works (issue 5, point 7): every resilience policy in the documented order,
 *
 *   memoryGuard → deadLetters → retry → circuitBreaker → bulkhead → rateLimit → timeout → handler
 *
 * driven together with fake timers. Each scenario pins one rule of the shared contract: retry
 * outside the breaker retries, an open breaker is not retried into (or only after its break
 * duration, by choice), a timeout is a breaker failure, an abort is nothing, an admission
 * rejection is retried but not counted, a retried stream delivers each item once, dead letters
 * see what is left after retries, and nothing is left running afterwards.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import type { Observable } from 'rxjs';
import {
  bulkhead,
  circuitBreaker,
  Command,
  createMediator,
  deadLetters,
  handler,
  isBulkheadRejectedError,
  isCircuitOpenError,
  isMemoryPressureError,
  isRateLimitedError,
  isRequestTimeoutError,
  isStreamTimeoutError,
  memoryGuard,
  Query,
  rateLimit,
  retry,
  StreamRequest,
  timeout,
  tryMap,
  type BulkheadOptions,
  type CircuitBreakerOptions,
  type HandlerContext,
  type HandlerRegistration,
  type RateLimitOptions,
  type RetryOptions,
  type TimeoutOptions,
} from '../../src/index.js';
import { deferred } from '../helpers/deferred.js';

/** A query answered with its own id. */
class Lookup extends Query<string> {
  constructor(readonly id: string) {
    super();
  }
}

/** A command whose handler charges a card. */
class Charge extends Command<string> {
  constructor(
    readonly card: string,
    readonly cents: number,
  ) {
    super();
  }
}

/** The numbers `from`, `from + 1`, … up to `to - 1`. */
class Range extends StreamRequest<number> {
  constructor(
    readonly to: number,
    readonly from = 0,
  ) {
    super();
  }
}

interface StackOptions {
  readonly retry?: RetryOptions<Range>;
  readonly breaker?: CircuitBreakerOptions;
  readonly bulkhead?: Partial<BulkheadOptions>;
  readonly rateLimit?: Partial<RateLimitOptions>;
  readonly timeout?: TimeoutOptions;
}

/** Every policy, in the documented order, with small deterministic settings. */
function resilient(handlers: readonly HandlerRegistration[], options: StackOptions = {}) {
  const heap = { used: 0 };
  const guard = memoryGuard({
    highWaterBytes: 1_000_000,
    checkIntervalMs: 0, // read on every call: no expiry timer
    readHeapUsed: () => heap.used,
  });
  const dlq = deadLetters();
  const retries = retry<Range>({ maxAttempts: 3, delayMs: 100, jitter: false, ...options.retry });
  const breaker = circuitBreaker({
    failureRatio: 0.5,
    minimumThroughput: 100,
    samplingWindowMs: 60_000,
    breakDurationMs: 1_000,
    ...options.breaker,
  });
  const slots = bulkhead({ maxConcurrent: 4, ...options.bulkhead });
  const limit = rateLimit({ perSecond: 10_000, ...options.rateLimit });
  const time = timeout({ ms: 500, stream: { idleMs: 500 }, ...options.timeout });
  const events: { policy: string; type: string; [field: string]: unknown }[] = [];
  for (const policy of [guard, dlq, retries, breaker, slots, limit, time]) {
    (policy.events as Observable<{ policy: string; type: string }>).subscribe((event) =>
      events.push(event),
    );
  }
  const mediator = createMediator({
    handlers: [...handlers],
    behaviors: [guard, dlq, retries, breaker, slots, limit, time],
  });
  /** The events of one policy, by name, as `type` strings or whole. */
  const of = (policy: string) => events.filter((e) => e.policy === policy);
  const types = (policy: string) => of(policy).map((e) => e.type);
  return { mediator, heap, guard, dlq, retries, breaker, slots, limit, time, events, of, types };
}

/** Settles `promise` into an inspectable state without letting a rejection go unhandled. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

async function collect<T>(stream: AsyncIterable<T>, into: T[] = []): Promise<T[]> {
  for await (const item of stream) into.push(item);
  return into;
}

/** Resolves when `signal` aborts, with its reason: a handler that waits for nothing else. */
function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * A stream handler for {@link Range} whose runs follow `plan`: run i yields `fail[i]` items of its
 * own, then fails (with `failure(i)`); runs past the plan complete. Records requests and closes.
 */
function plannedRange(
  plan: readonly number[],
  failure: (run: number, context: HandlerContext) => Promise<never> | never = (run) => {
    throw new Error(`run ${run} failed`);
  },
) {
  const state = { runs: [] as Range[], closed: 0, produced: 0 };
  const registration = handler(Range, (request, context) => {
    const run = state.runs.push(request) - 1;
    return (async function* () {
      try {
        let yielded = 0;
        for (let i = request.from; i < request.to; i++) {
          if (run < plan.length && yielded === plan[run]) await failure(run, context);
          state.produced++;
          yielded++;
          yield i;
        }
        if (run < plan.length && yielded === plan[run]) await failure(run, context);
      } finally {
        state.closed++;
      }
    })();
  });
  return { state, registration };
}

beforeEach(() => {
  jest.useFakeTimers({ now: 0 });
});

afterEach(async () => {
  // Teardown, for every scenario: once all is settled, no policy leaves a timer behind.
  await jest.advanceTimersByTimeAsync(1_000);
  expect(jest.getTimerCount()).toBe(0);
  jest.useRealTimers();
});

describe('resilience policies composed in the documented order', () => {
  describe('retry outside the circuit breaker', () => {
    it('really retries failures below the breaker threshold, and the call succeeds', async () => {
      let calls = 0;
      const stack = resilient(
        [
          handler(Lookup, async (q) => {
            if (++calls < 3) throw new Error(`flaky ${calls}`);
            return q.id;
          }),
        ],
        { breaker: { minimumThroughput: 4 } },
      );

      const answer = track(stack.mediator.send(new Lookup('a')));
      await jest.advanceTimersByTimeAsync(300);

      expect(answer).toEqual({ settled: true, value: 'a' });
      expect(calls).toBe(3);
      expect(stack.of('retry')).toMatchObject([
        { type: 'retry', attempt: 2, delayMs: 100, error: { message: 'flaky 1' } },
        { type: 'retry', attempt: 3, delayMs: 200, error: { message: 'flaky 2' } },
      ]);
      // The breaker saw each attempt: two failures, one success, and stayed closed.
      expect(stack.breaker.snapshot()).toMatchObject([
        { key: 'Lookup', state: 'closed', failures: 2, successes: 1 },
      ]);
      expect(stack.types('circuitBreaker')).toEqual([]);
      expect(stack.dlq.stats().recorded).toBe(0);
    });

    it('does not retry into an open breaker: the CircuitOpenError is given up at once', async () => {
      let calls = 0;
      const stack = resilient(
        [
          handler(Lookup, async () => {
            calls++;
            throw new Error('down');
          }),
        ],
        { breaker: { minimumThroughput: 2 } },
      );

      // Two failed attempts open the breaker; the third attempt is refused by it.
      const first = track(stack.mediator.send(new Lookup('a')));
      await jest.advanceTimersByTimeAsync(300);
      expect(isCircuitOpenError(first.error)).toBe(true);
      expect(calls).toBe(2);
      expect(stack.breaker.state('Lookup')).toBe('open');

      // While open, a call gives up on its first attempt, with no wait and no handler run.
      stack.events.length = 0;
      const second = track(stack.mediator.send(new Lookup('b')));
      await jest.advanceTimersByTimeAsync(0); // no time passes: only the dead letter's write
      expect(second.settled).toBe(true);
      expect(isCircuitOpenError(second.error)).toBe(true);
      expect(calls).toBe(2);
      expect(stack.of('retry')).toMatchObject([
        { type: 'giveUp', reason: 'openCircuit', attempts: 1, error: second.error },
      ]);
      expect(jest.getTimerCount()).toBe(0);
      // The refusal is dead-lettered as what the caller finally got.
      await stack.dlq.flush();
      expect((await stack.dlq.store.list()).map((l) => [l.error.name, l.attempts])).toEqual([
        ['CircuitOpenError', 3],
        ['CircuitOpenError', 1],
      ]);
    });

    it('with retryOpenCircuit, waits retryAfterMs and lets the trial through after the break', async () => {
      let healthy = false;
      const runs: number[] = [];
      const stack = resilient(
        [
          handler(Lookup, async (q) => {
            runs.push(Date.now());
            if (!healthy) throw new Error('down');
            return q.id;
          }),
        ],
        { breaker: { minimumThroughput: 2 }, retry: { retryOpenCircuit: true, maxAttempts: 2 } },
      );
      // Open it: two failed attempts of one call.
      const opener = track(stack.mediator.send(new Lookup('x')));
      await jest.advanceTimersByTimeAsync(100);
      expect(opener.error).toEqual(new Error('down'));
      expect(stack.breaker.state('Lookup')).toBe('open'); // opened at t = 100
      healthy = true;
      await jest.advanceTimersByTimeAsync(300); // t = 400: 700 ms of the break left
      stack.events.length = 0;

      const answer = track(stack.mediator.send(new Lookup('a')));
      await jest.advanceTimersByTimeAsync(699);
      expect(answer.settled).toBe(false);
      expect(stack.of('retry')).toMatchObject([{ type: 'retry', attempt: 2, delayMs: 700 }]);
      await jest.advanceTimersByTimeAsync(1);

      expect(answer).toEqual({ settled: true, value: 'a' });
      expect(runs).toEqual([0, 100, 1_100]);
      expect(stack.types('circuitBreaker')).toEqual([
        'reject',
        'halfOpen',
        'stateChange',
        'reset',
        'stateChange',
      ]);
      expect(stack.breaker.state('Lookup')).toBe('closed');
    });
  });

  describe('timeouts inside the breaker', () => {
    it('count as breaker failures (enough of them open it) and are retried', async () => {
      const signals: AbortSignal[] = [];
      const stack = resilient(
        [
          handler(Lookup, (_q, context) => {
            signals.push(context.signal);
            return hang(context.signal);
          }),
        ],
        { breaker: { minimumThroughput: 3 } },
      );

      const answer = track(stack.mediator.send(new Lookup('a')));
      await jest.advanceTimersByTimeAsync(3_000);

      expect(isRequestTimeoutError(answer.error)).toBe(true);
      expect(signals).toHaveLength(3);
      expect(signals.every((s) => s.aborted && isRequestTimeoutError(s.reason))).toBe(true);
      const retried = stack.of('retry');
      expect(retried.map((e) => [e.type, e.attempt ?? e.attempts])).toEqual([
        ['retry', 2],
        ['retry', 3],
        ['giveUp', 3],
      ]);
      expect(retried.every((e) => isRequestTimeoutError(e.error))).toBe(true);
      expect(retried[2]).toMatchObject({ reason: 'attempts', error: answer.error });
      // The third timeout tripped the breaker.
      expect(stack.breaker.state('Lookup')).toBe('open');
      expect(stack.of('circuitBreaker')[0]).toMatchObject({
        type: 'break',
        reason: 'failureRatio',
        failureRatio: 1,
        error: answer.error,
      });
      expect(stack.types('timeout')).toEqual(['timeout', 'timeout', 'timeout']);
    });

    it('count a stream idle timeout as a failure of that run, and restart the stream', async () => {
      const { state, registration } = plannedRange([3], (_run, context) => hang(context.signal));
      const stack = resilient([registration], { timeout: { stream: { idleMs: 200 } } });

      const items = track(collect(stack.mediator.createStream(new Range(6))));
      await jest.advanceTimersByTimeAsync(300);

      expect(items.value).toEqual([0, 1, 2, 3, 4, 5]);
      expect(state.runs).toHaveLength(2);
      expect(state.closed).toBe(2);
      expect(stack.of('retry')).toHaveLength(1);
      expect(isStreamTimeoutError(stack.of('retry')[0]!.error)).toBe(true);
      expect(stack.breaker.snapshot()).toMatchObject([{ failures: 1, successes: 1 }]);
    });
  });

  describe('cancellation', () => {
    it('a caller abort is neither a retry nor a breaker failure, and no dead letter', async () => {
      let calls = 0;
      const stack = resilient(
        [
          handler(Lookup, async (q, context) => {
            if (++calls === 1) return q.id;
            return hang(context.signal);
          }),
        ],
        { breaker: { minimumThroughput: 1 } },
      );
      await stack.mediator.send(new Lookup('ok'));
      const before = stack.breaker.snapshot();
      stack.events.length = 0;

      for (const reason of [undefined, new Error('user left')]) {
        const controller = new AbortController();
        const answer = track(stack.mediator.send(new Lookup('a'), { signal: controller.signal }));
        await jest.advanceTimersByTimeAsync(50);
        controller.abort(reason);
        await jest.advanceTimersByTimeAsync(0);
        expect(answer.error).toBe(controller.signal.reason);
      }

      expect(calls).toBe(3);
      expect(stack.breaker.snapshot()).toEqual(before);
      expect(stack.events).toEqual([]);
      await stack.dlq.flush();
      expect(stack.dlq.stats().recorded).toBe(0);
    });

    it('a handler failing with its own error after the caller aborted is still a cancellation', async () => {
      const stack = resilient(
        [
          handler(Lookup, (_q, context) =>
            hang(context.signal).catch(() => {
              throw new Error('socket closed'); // what a driver throws when its request is cut
            }),
          ),
        ],
        // No request timeout: the policies see the handler's own error, not the caller's reason.
        { breaker: { minimumThroughput: 1 }, timeout: { ms: undefined, stream: { idleMs: 500 } } },
      );
      const controller = new AbortController();
      const answer = track(stack.mediator.send(new Lookup('a'), { signal: controller.signal }));
      await jest.advanceTimersByTimeAsync(50);
      controller.abort(new Error('user left'));
      await jest.advanceTimersByTimeAsync(0);

      expect(answer.error).toBe(controller.signal.reason); // the mediator's contract
      expect(stack.events).toEqual([]);
      expect(stack.breaker.snapshot()).toMatchObject([{ failures: 0, successes: 0 }]);
      await stack.dlq.flush();
      expect(stack.dlq.stats().recorded).toBe(0);
    });

    it('an abort during a retry wait ends the call at once, with no further attempt', async () => {
      let calls = 0;
      const stack = resilient([
        handler(Lookup, async () => {
          calls++;
          throw new Error('down');
        }),
      ]);
      const controller = new AbortController();
      const answer = track(stack.mediator.send(new Lookup('a'), { signal: controller.signal }));
      await jest.advanceTimersByTimeAsync(50); // waiting 100 ms before attempt 2
      controller.abort();
      await jest.advanceTimersByTimeAsync(0);

      expect(answer.error).toBe(controller.signal.reason);
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(calls).toBe(1);
      expect(stack.types('retry')).toEqual(['retry']);
      expect(stack.dlq.stats().recorded).toBe(0);
      expect(stack.breaker.snapshot()).toMatchObject([{ failures: 1, successes: 0 }]);
    });

    it('an aborted stream is neither retried nor counted, and its source is closed', async () => {
      const { state, registration } = plannedRange([]);
      const stack = resilient([registration], { breaker: { minimumThroughput: 1 } });
      const controller = new AbortController();
      const seen: number[] = [];

      const drained = track(
        (async () => {
          for await (const item of stack.mediator.createStream(new Range(100), {
            signal: controller.signal,
          })) {
            seen.push(item);
            if (item === 2) controller.abort();
          }
        })(),
      );
      await jest.advanceTimersByTimeAsync(0);

      expect(drained.error).toBe(controller.signal.reason);
      expect(seen).toEqual([0, 1, 2]);
      expect(state.closed).toBe(1);
      expect(state.runs).toHaveLength(1);
      expect(stack.breaker.snapshot()).toMatchObject([{ failures: 0, successes: 0 }]);
      expect(stack.slots.stats()).toMatchObject({ running: 0, queued: 0 });
      expect(stack.events).toEqual([]);
      await stack.dlq.flush();
      expect(stack.dlq.stats().recorded).toBe(0);
    });
  });

  describe('admission rejections', () => {
    it('bulkhead rejections are neither breaker failures nor successes, and are retried', async () => {
      const gate = deferred<void>();
      let calls = 0;
      const stack = resilient(
        [
          handler(Lookup, async (q) => {
            calls++;
            if (q.id === 'slow') await gate.promise;
            return q.id;
          }),
        ],
        // A breaker that a single counted failure would open.
        { bulkhead: { maxConcurrent: 1 }, breaker: { minimumThroughput: 1 } },
      );

      const slow = track(stack.mediator.send(new Lookup('slow')));
      const fast = track(stack.mediator.send(new Lookup('fast')));
      await jest.advanceTimersByTimeAsync(150); // attempts 1 (t = 0) and 2 (t = 100) refused
      expect(stack.breaker.snapshot()).toMatchObject([
        { state: 'closed', failures: 0, successes: 0 },
      ]);
      gate.resolve();
      await jest.advanceTimersByTimeAsync(150); // attempt 3 at t = 300 runs

      expect(slow.value).toBe('slow');
      expect(fast.value).toBe('fast');
      expect(calls).toBe(2);
      const retried = stack.of('retry');
      expect(retried.map((e) => e.type)).toEqual(['retry', 'retry']);
      expect(retried.every((e) => isBulkheadRejectedError(e.error))).toBe(true);
      expect(stack.types('bulkhead')).toEqual(['reject', 'reject']);
      expect(stack.breaker.snapshot()).toMatchObject([
        { state: 'closed', failures: 0, successes: 2 },
      ]);
    });

    it('rate-limit refusals are retried and not counted by the breaker', async () => {
      let calls = 0;
      const stack = resilient(
        [
          handler(Lookup, async (q) => {
            calls++;
            return q.id;
          }),
        ],
        {
          rateLimit: { perSecond: 1, burst: 1, maxWaitMs: 0 },
          breaker: { minimumThroughput: 1 },
          retry: { maxAttempts: 5, backoff: 'fixed', delayMs: 400 },
        },
      );

      await expect(stack.mediator.send(new Lookup('a'))).resolves.toBe('a'); // takes the token
      const answer = track(stack.mediator.send(new Lookup('b')));
      await jest.advanceTimersByTimeAsync(1_200); // refused at 0, 400 and 800; a token at 1 000

      expect(answer.value).toBe('b');
      expect(calls).toBe(2);
      expect(stack.of('retry').every((e) => isRateLimitedError(e.error))).toBe(true);
      expect(stack.types('retry')).toEqual(['retry', 'retry', 'retry']);
      expect(stack.breaker.snapshot()).toMatchObject([
        { state: 'closed', failures: 0, successes: 2 },
      ]);
    });

    it('a tripped memory guard refuses before anything else runs, and records nothing', async () => {
      let calls = 0;
      const stack = resilient([
        handler(Lookup, async (q) => {
          calls++;
          return q.id;
        }),
      ]);
      stack.heap.used = 2_000_000;

      const answer = track(stack.mediator.send(new Lookup('a')));
      await jest.advanceTimersByTimeAsync(1_000);

      expect(isMemoryPressureError(answer.error)).toBe(true);
      expect(calls).toBe(0);
      expect(stack.types('retry')).toEqual([]);
      expect(stack.breaker.snapshot()).toEqual([]);
      expect(stack.dlq.stats().recorded).toBe(0);
      stack.heap.used = 0;
      await expect(stack.mediator.send(new Lookup('b'))).resolves.toBe('b');
    });
  });

  describe('streams retried under a breaker', () => {
    it('restart: delivers every item exactly once, and the breaker counts each run once', async () => {
      const { state, registration } = plannedRange([4, 6]);
      const stack = resilient([registration]);

      const items = track(collect(stack.mediator.createStream(new Range(10))));
      await jest.advanceTimersByTimeAsync(300);

      expect(items.value).toEqual(range(0, 10));
      expect(state.runs).toHaveLength(3);
      expect(state.runs.every((r) => r.from === 0)).toBe(true);
      expect(state.closed).toBe(3);
      expect(stack.breaker.snapshot()).toMatchObject([
        { key: 'Range', state: 'closed', failures: 2, successes: 1 },
      ]);
      expect(stack.of('retry')).toMatchObject([
        { type: 'retry', attempt: 2, error: { message: 'run 0 failed' } },
        { type: 'retry', attempt: 3, error: { message: 'run 1 failed' } },
      ]);
    });

    it('resume: delivers every item exactly once, each run starting after the last item', async () => {
      const { state, registration } = plannedRange([4, 2]);
      const stack = resilient([registration], {
        retry: {
          stream: {
            mode: 'resume',
            resume: (request, { lastItem }) => new Range(request.to, (lastItem ?? -1) + 1),
          },
        },
      });

      const items = track(collect(stack.mediator.createStream(new Range(10))));
      await jest.advanceTimersByTimeAsync(300);

      expect(items.value).toEqual(range(0, 10));
      expect(state.runs.map((r) => r.from)).toEqual([0, 4, 6]);
      expect(state.produced).toBe(10);
      expect(stack.breaker.snapshot()).toMatchObject([{ failures: 2, successes: 1 }]);
    });

    it('a breaker opened by failed runs stops the stream retry at once', async () => {
      const { state, registration } = plannedRange([2, 2, 2]);
      const stack = resilient([registration], {
        breaker: { minimumThroughput: 2 },
        retry: { maxAttempts: 5 },
      });
      const seen: number[] = [];

      const items = track(collect(stack.mediator.createStream(new Range(10)), seen));
      await jest.advanceTimersByTimeAsync(1_000);

      expect(isCircuitOpenError(items.error)).toBe(true);
      expect(seen).toEqual([0, 1]);
      expect(state.runs).toHaveLength(2);
      expect(stack.of('retry').at(-1)).toMatchObject({ type: 'giveUp', reason: 'openCircuit' });
      await stack.dlq.flush();
      expect(await stack.dlq.store.list()).toMatchObject([
        { kind: 'stream', messageName: 'Range', delivered: 2, attempts: 3 },
      ]);
    });
  });

  describe('streams and an open breaker, with retryOpenCircuit', () => {
    it('waits out the break, then the trial run delivers the rest exactly once', async () => {
      const { state, registration } = plannedRange([2, 2]);
      const stack = resilient([registration], {
        breaker: { minimumThroughput: 2 },
        retry: { maxAttempts: 4, retryOpenCircuit: true },
      });

      const items = track(collect(stack.mediator.createStream(new Range(6))));
      await jest.advanceTimersByTimeAsync(100); // run 2 fails at t = 100: the breaker opens
      expect(stack.breaker.state('Range')).toBe('open');
      await jest.advanceTimersByTimeAsync(1_200);

      expect(items.value).toEqual(range(0, 6));
      expect(state.runs).toHaveLength(3);
      expect(stack.of('retry')).toMatchObject([
        { type: 'retry', attempt: 2, delayMs: 100 },
        { type: 'retry', attempt: 3, delayMs: 200 },
        { type: 'retry', attempt: 4, delayMs: 800 }, // what was left of the break at t = 300
      ]);
      expect(stack.breaker.state('Range')).toBe('closed');
    });
  });

  describe('dead letters outermost', () => {
    it('records a request that failed after all attempts, and the caller gets the error unchanged', async () => {
      const thrown: Error[] = [];
      const stack = resilient([
        handler(Charge, async (c) => {
          const error = new Error(`declined ${c.card}`);
          thrown.push(error);
          throw error;
        }),
      ]);

      const answer = track(stack.mediator.send(new Charge('4242', 500), { correlationId: 'c-1' }));
      await jest.advanceTimersByTimeAsync(300);

      expect(thrown).toHaveLength(3);
      expect(answer.error).toBe(thrown[2]);
      expect(await stack.dlq.store.list()).toEqual([
        {
          id: expect.any(String),
          kind: 'request',
          messageName: 'Charge',
          payload: { card: '4242', cents: 500 },
          error: expect.objectContaining({ name: 'Error', message: 'declined 4242' }),
          attempts: 3,
          correlationId: 'c-1',
          time: new Date(300).toISOString(),
        },
      ]);
    });

    it('replays through the same mediator, removing only the letters that then succeed', async () => {
      const declined = new Set(['1111', '2222']);
      const stack = resilient([
        handler(Charge, async (c) => {
          if (declined.has(c.card)) throw new Error(`declined ${c.card}`);
          return `charged ${c.card}`;
        }),
      ]);
      for (const card of declined) {
        const answer = track(stack.mediator.send(new Charge(card, 100)));
        await jest.advanceTimersByTimeAsync(300);
        expect(answer.error).toBeInstanceOf(Error);
      }
      const letters = await stack.dlq.store.list();
      expect(letters.map((l) => [l.payload, l.attempts])).toEqual([
        [{ card: '1111', cents: 100 }, 3],
        [{ card: '2222', cents: 100 }, 3],
      ]);
      declined.delete('1111');

      const replay = track(stack.dlq.replay(stack.mediator));
      await jest.advanceTimersByTimeAsync(300); // the letter that fails again is retried too

      expect(replay.value).toEqual({
        succeeded: [letters[0]!.id],
        failed: [
          { id: letters[1]!.id, error: expect.objectContaining({ message: 'declined 2222' }) },
        ],
        skipped: [],
      });
      expect(await stack.dlq.store.list()).toEqual([letters[1]]);
      expect(stack.dlq.stats()).toMatchObject({ recorded: 2, replaySucceeded: 1, replayFailed: 1 });
    });

    it('records a stream item tryMap gave up on (with fallback) as an item letter', async () => {
      const { registration } = plannedRange([]);
      const stack = resilient([registration]);
      const request = new Range(5);

      const out = await collect(
        stack.mediator.createStream(request, { correlationId: 'c-9' }).pipe(
          tryMap(
            (n: number) => {
              if (n === 2) throw new Error(`no price for ${n}`);
              return n * 10;
            },
            {
              retry: { maxAttempts: 2, jitter: false },
              fallback: () => -1,
              onError: stack.dlq.itemErrors(request, { correlationId: 'c-9' }),
            },
          ),
        ),
      );
      await stack.dlq.flush();

      expect(out).toEqual([0, 10, -1, 30, 40]);
      expect(await stack.dlq.store.list()).toEqual([
        {
          id: expect.any(String),
          kind: 'item',
          messageName: 'Range',
          payload: 2,
          index: 2,
          attempts: 2,
          correlationId: 'c-9',
          error: expect.objectContaining({ message: 'no price for 2' }),
          time: expect.any(String),
        },
      ]);
      // The stream itself succeeded: no stream letter, no retry, a success for the breaker.
      expect(stack.types('retry')).toEqual([]);
      expect(stack.breaker.snapshot()).toMatchObject([{ failures: 0, successes: 1 }]);
    });
  });

  describe('teardown', () => {
    it('breaking out of a resilient stream closes the handler’s source and frees its slot', async () => {
      const { state, registration } = plannedRange([]);
      const stack = resilient([registration], { breaker: { minimumThroughput: 1 } });

      for await (const item of stack.mediator.createStream(new Range(1_000))) {
        if (item === 3) break;
      }

      expect(state.closed).toBe(1);
      expect(state.produced).toBe(4);
      expect(stack.slots.stats()).toMatchObject({ running: 0, queued: 0 });
      // Stopped by its consumer: neither success nor failure.
      expect(stack.breaker.snapshot()).toMatchObject([{ failures: 0, successes: 0 }]);
      expect(stack.events).toEqual([]);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('breaking out while retry waits to re-run clears the wait and closes every run', async () => {
      const { state, registration } = plannedRange([3]);
      const stack = resilient([registration]);
      const iterator = stack.mediator.createStream(new Range(10))[Symbol.asyncIterator]();
      for (let i = 0; i < 3; i++) await iterator.next();
      const fourth = track(iterator.next()); // run 1 fails: retry waits 100 ms
      await jest.advanceTimersByTimeAsync(50);
      expect(fourth.settled).toBe(false);
      expect(stack.slots.stats()).toMatchObject({ running: 0 }); // the failed run freed its slot

      await iterator.return!();
      await jest.advanceTimersByTimeAsync(0);

      expect(fourth.settled).toBe(true);
      expect(state.runs).toHaveLength(1);
      expect(state.closed).toBe(1);
      expect(stack.slots.stats()).toMatchObject({ running: 0, queued: 0 });
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(state.runs).toHaveLength(1);
    });

    it('a half-open trial stream the consumer leaves frees its trial slot for the next call', async () => {
      const { state, registration } = plannedRange([0, 0]);
      const stack = resilient([registration], {
        breaker: { minimumThroughput: 2 },
        retry: { maxAttempts: 1 },
      });
      for (let i = 0; i < 2; i++) {
        await expect(collect(stack.mediator.createStream(new Range(5)))).rejects.toThrow();
      }
      expect(stack.breaker.state('Range')).toBe('open');
      await jest.advanceTimersByTimeAsync(1_000);

      for await (const item of stack.mediator.createStream(new Range(5))) {
        if (item === 0) break; // the trial: left before it was counted
      }
      expect(stack.breaker.snapshot()).toMatchObject([{ state: 'halfOpen', trialsInFlight: 0 }]);
      await expect(collect(stack.mediator.createStream(new Range(5)))).resolves.toEqual(
        range(0, 5),
      );
      expect(stack.breaker.state('Range')).toBe('closed');
      expect(state.closed).toBe(4);
    });

    it('breaking out of a stream paused by the memory guard clears its wait and closes the source', async () => {
      const { state, registration } = plannedRange([]);
      const heap = { used: 0 };
      const guard = memoryGuard({
        highWaterBytes: 1_000,
        mode: 'pause',
        checkIntervalMs: 10,
        readHeapUsed: () => heap.used,
      });
      const mediator = createMediator({
        handlers: [registration],
        behaviors: [
          guard,
          deadLetters(),
          retry(),
          circuitBreaker(),
          timeout({ stream: { idleMs: 50 } }),
        ],
      });
      const iterator = mediator.createStream(new Range(100))[Symbol.asyncIterator]();
      expect(await iterator.next()).toEqual({ done: false, value: 0 });
      heap.used = 2_000;
      await jest.advanceTimersByTimeAsync(20); // the reading expires: the next pull re-reads
      const paused = track(iterator.next());
      await jest.advanceTimersByTimeAsync(200); // paused pulls do not count as idle time
      expect(paused.settled).toBe(false);

      await iterator.return!();
      await jest.advanceTimersByTimeAsync(0);

      expect(paused.settled).toBe(true);
      expect(state.closed).toBe(1);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('leaves no timer after a request that timed out, was retried and finally succeeded', async () => {
      let calls = 0;
      const stack = resilient([
        handler(Lookup, async (q, context) => {
          if (++calls === 1) return hang(context.signal);
          return q.id;
        }),
      ]);
      const answer = track(stack.mediator.send(new Lookup('a')));
      await jest.advanceTimersByTimeAsync(600);
      expect(answer.value).toBe('a');
      await jest.advanceTimersByTimeAsync(100);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  it('property: for any failure positions, a retried stream under a breaker delivers each item once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.constantFrom<'restart' | 'resume'>('restart', 'resume'),
        async (length, plan, stalls, mode) => {
          // Run i fails after plan[i] of its own items: by throwing, or by stalling into the idle timeout.
          const { state, registration } = plannedRange(plan, (run, context) => {
            if (stalls[run]) return hang(context.signal);
            throw new Error(`run ${run} failed`);
          });
          const stack = resilient([registration], {
            retry: {
              maxAttempts: plan.length + 1,
              delayMs: 10,
              stream:
                mode === 'restart'
                  ? { mode }
                  : { mode, resume: (r, { delivered }) => new Range(r.to, delivered) },
            },
            timeout: { stream: { idleMs: 50 } },
          });

          const items = track(collect(stack.mediator.createStream(new Range(length))));
          while (!items.settled) await jest.advanceTimersByTimeAsync(50);

          expect(items.error).toBeUndefined();
          expect(items.value).toEqual(range(0, length));
          // A run fails only if it reaches its failure point before the end of its items.
          const failed = state.runs.length - 1;
          expect(stack.breaker.snapshot()).toMatchObject([{ failures: failed, successes: 1 }]);
          expect(state.closed).toBe(state.runs.length);
          if (mode === 'resume') expect(state.produced).toBe(length);
          await jest.advanceTimersByTimeAsync(1_000);
          expect(jest.getTimerCount()).toBe(0);
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });
});
