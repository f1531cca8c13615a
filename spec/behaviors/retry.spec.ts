import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { getEventListeners } from 'node:events';
import {
  createMediator,
  handler,
  streamBehavior,
  type HandlerContext,
  type Mediator,
} from '../../src/index.js';
import { attemptsOf } from '../../src/behaviors/attempts.js';
import { NEVER_ABORTED } from '../../src/core/HandlerContext.js';
import {
  retry,
  type RetryContext,
  type RetryEvent,
  type RetryOptions,
  type RetryPolicy,
} from '../../src/behaviors/retry.js';
import { BulkheadRejectedError } from '../../src/errors/BulkheadRejectedError.js';
import { CircuitOpenError } from '../../src/errors/CircuitOpenError.js';
import { RequestTimeoutError } from '../../src/errors/RequestTimeoutError.js';
import { flushMicrotasks } from '../helpers/deferred.js';
import { ExportOrders, GetOrder, order, PlaceOrder, type Order } from '../helpers/orders.js';
import { trackedController } from '../helpers/signals.js';

/** A request handler whose attempts follow `script`: an Error fails, anything else answers. */
function scripted(script: readonly (Error | DOMException | Order)[]) {
  const calls: { at: number; request: GetOrder; context: HandlerContext }[] = [];
  const registration = handler(GetOrder, async (request, context) => {
    calls.push({ at: Date.now(), request, context });
    const step = script[Math.min(calls.length, script.length) - 1]!;
    if (!('total' in step)) throw step; // DOMException is not an Error in every realm
    return step;
  });
  return { calls, registration };
}

function mediatorWith(policy: RetryPolicy, registrations: unknown[]): Mediator {
  return createMediator({
    handlers: [
      ...(registrations as never[]),
      handler(PlaceOrder, async () => {
        throw new Error('place failed');
      }),
    ],
    behaviors: [policy],
  });
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

function recordEvents(policy: RetryPolicy): RetryEvent[] {
  const events: RetryEvent[] = [];
  policy.events.subscribe((event) => events.push(event));
  return events;
}

const fails = (n: number) => Array.from({ length: n }, (_, i) => new Error(`failure ${i + 1}`));

beforeEach(() => {
  jest.useFakeTimers({ now: 0 });
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('retry', () => {
  describe('requests', () => {
    it('answers without retrying, waiting or announcing when the first attempt succeeds', async () => {
      const policy = retry();
      const events = recordEvents(policy);
      const { calls, registration } = scripted([order('1')]);
      const mediator = mediatorWith(policy, [registration]);

      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1'));

      expect(calls).toHaveLength(1);
      expect(events).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('retries with exact exponential waits and answers with the attempt that succeeds', async () => {
      const policy = retry({ maxAttempts: 4, delayMs: 100, jitter: false });
      const { calls, registration } = scripted([...fails(3), order('1')]);
      const answer = track(mediatorWith(policy, [registration]).send(new GetOrder('1')));

      await jest.advanceTimersByTimeAsync(699);
      expect(calls.map((c) => c.at)).toEqual([0, 100, 300]);
      expect(answer.settled).toBe(false);
      await jest.advanceTimersByTimeAsync(1);

      expect(calls.map((c) => c.at)).toEqual([0, 100, 300, 700]);
      expect(answer).toEqual({ settled: true, value: order('1') });
      expect(jest.getTimerCount()).toBe(0);
    });

    it('rethrows the last error unchanged once maxAttempts are used, recording the attempts', async () => {
      const policy = retry({ maxAttempts: 3, delayMs: 100, jitter: false });
      const events = recordEvents(policy);
      const errors = fails(3);
      const { calls, registration } = scripted(errors);
      const answer = track(mediatorWith(policy, [registration]).send(new GetOrder('1')));

      await jest.advanceTimersByTimeAsync(10_000);

      expect(calls.map((c) => c.at)).toEqual([0, 100, 300]);
      expect(answer.error).toBe(errors[2]);
      expect(attemptsOf(events.at(-1)!.context, errors[2])).toBe(3);
      expect(events.at(-1)).toMatchObject({ type: 'giveUp', attempts: 3, reason: 'attempts' });
    });

    it('gives up on the first failure with maxAttempts 1, still recording one attempt', async () => {
      const policy = retry({ maxAttempts: 1 });
      const events = recordEvents(policy);
      const { calls, registration } = scripted(fails(1));

      await expect(mediatorWith(policy, [registration]).send(new GetOrder('1'))).rejects.toThrow(
        'failure 1',
      );

      expect(calls).toHaveLength(1);
      expect(events).toMatchObject([{ type: 'giveUp', attempts: 1, reason: 'attempts' }]);
    });

    it('waits delayMs before every retry with fixed backoff', async () => {
      const policy = retry({ maxAttempts: 4, backoff: 'fixed', delayMs: 50, jitter: false });
      const { calls, registration } = scripted(fails(4));
      track(mediatorWith(policy, [registration]).send(new GetOrder('1')));

      await jest.advanceTimersByTimeAsync(1_000);

      expect(calls.map((c) => c.at)).toEqual([0, 50, 100, 150]);
    });

    it('never waits longer than maxDelayMs', async () => {
      const policy = retry({ maxAttempts: 5, delayMs: 100, maxDelayMs: 250, jitter: false });
      const { calls, registration } = scripted(fails(5));
      track(mediatorWith(policy, [registration]).send(new GetOrder('1')));

      await jest.advanceTimersByTimeAsync(10_000);

      expect(calls.map((c) => c.at)).toEqual([0, 100, 300, 550, 800]);
    });

    it('draws each jittered wait from [0, delay]', async () => {
      const random = jest.spyOn(Math, 'random');
      random.mockReturnValueOnce(0.5).mockReturnValueOnce(0.999_999).mockReturnValueOnce(0);
      const policy = retry({ maxAttempts: 4, delayMs: 100 });
      const { calls, registration } = scripted(fails(4));
      track(mediatorWith(policy, [registration]).send(new GetOrder('1')));

      await jest.advanceTimersByTimeAsync(10_000);

      // floor(0.5 × 101) = 50, floor(0.999999 × 201) = 200, floor(0 × 401) = 0
      expect(calls.map((c) => c.at)).toEqual([0, 50, 250, 250]);
    });

    describe('budgetMs', () => {
      it('gives up at once when the next wait would not end before the budget does', async () => {
        const policy = retry({ maxAttempts: 10, delayMs: 100, jitter: false, budgetMs: 250 });
        const events = recordEvents(policy);
        const errors = fails(3);
        const { calls, registration } = scripted(errors);
        const answer = track(mediatorWith(policy, [registration]).send(new GetOrder('1')));

        await jest.advanceTimersByTimeAsync(100);

        // attempt 2 failed at 100; its 200 ms wait would end at 300 > 250
        expect(calls.map((c) => c.at)).toEqual([0, 100]);
        expect(answer.error).toBe(errors[1]);
        expect(attemptsOf(events.at(-1)!.context, errors[1])).toBe(2);
        expect(events.at(-1)).toMatchObject({ type: 'giveUp', attempts: 2, reason: 'budget' });
        expect(jest.getTimerCount()).toBe(0);
      });

      it('counts the time attempts take', async () => {
        const policy = retry({ delayMs: 100, jitter: false, budgetMs: 250 });
        const events = recordEvents(policy);
        const calls: number[] = [];
        const slow = handler(GetOrder, async () => {
          calls.push(Date.now());
          await new Promise((resolve) => setTimeout(resolve, 200));
          throw new Error('slow failure');
        });
        const answer = track(mediatorWith(policy, [slow]).send(new GetOrder('1')));

        await jest.advanceTimersByTimeAsync(200);

        expect(calls).toEqual([0]);
        expect(answer.error).toEqual(new Error('slow failure'));
        expect(events).toMatchObject([{ type: 'giveUp', reason: 'budget' }]);
      });

      it('starts no attempt once the budget is spent, even with jitter', async () => {
        const policy = retry({ delayMs: 0, budgetMs: 100 });
        const events = recordEvents(policy);
        const calls: number[] = [];
        const slow = handler(GetOrder, async () => {
          calls.push(Date.now());
          await new Promise((resolve) => setTimeout(resolve, 150));
          throw new Error('slow failure');
        });
        const answer = track(mediatorWith(policy, [slow]).send(new GetOrder('1')));

        await jest.advanceTimersByTimeAsync(1_000);

        expect(calls).toEqual([0]);
        expect(answer.error).toEqual(new Error('slow failure'));
        expect(events).toMatchObject([{ type: 'giveUp', attempts: 1, reason: 'budget' }]);
      });

      it('caps the range of a jittered wait to what is left of the budget', async () => {
        jest.spyOn(Math, 'random').mockReturnValue(0.999_999);
        const policy = retry({ maxAttempts: 2, delayMs: 10_000, budgetMs: 150 });
        const events = recordEvents(policy);
        const { calls, registration } = scripted(fails(2));
        track(mediatorWith(policy, [registration]).send(new GetOrder('1')));

        await jest.advanceTimersByTimeAsync(1_000);

        // the wait is drawn from [0, 149] instead of [0, 10 000]: the retry starts within the budget
        expect(calls.map((c) => c.at)).toEqual([0, 149]);
        expect(events[0]).toMatchObject({ type: 'retry', attempt: 2, delayMs: 149 });
      });
    });

    describe('shouldRetry', () => {
      it('is asked with the error and the attempt, and stops retrying when it says no', async () => {
        const errors = [new Error('transient'), new TypeError('permanent')];
        const shouldRetry = jest.fn((error: unknown, _context: RetryContext) => {
          return !(error instanceof TypeError);
        });
        const policy = retry({ delayMs: 10, jitter: false, shouldRetry });
        const events = recordEvents(policy);
        const { calls, registration } = scripted(errors);
        const request = new GetOrder('1');
        const answer = track(mediatorWith(policy, [registration]).send(request));

        await jest.advanceTimersByTimeAsync(1_000);

        expect(calls).toHaveLength(2);
        expect(answer.error).toBe(errors[1]);
        expect(shouldRetry.mock.calls).toEqual([
          [errors[0], { attempt: 1, request, delivered: 0, context: calls[0]!.context }],
          [errors[1], { attempt: 2, request, delivered: 0, context: calls[0]!.context }],
        ]);
        expect(attemptsOf(events.at(-1)!.context, errors[1])).toBe(2);
        expect(events.at(-1)).toMatchObject({ type: 'giveUp', attempts: 2, reason: 'predicate' });
      });

      it('fails the call with the exception of a predicate that throws', async () => {
        const broken = new Error('broken predicate');
        const policy = retry({
          shouldRetry: () => {
            throw broken;
          },
        });
        const { calls, registration } = scripted(fails(3));

        await expect(mediatorWith(policy, [registration]).send(new GetOrder('1'))).rejects.toBe(
          broken,
        );
        expect(calls).toHaveLength(1);
      });

      it('is not asked once the attempts are used up', async () => {
        const shouldRetry = jest.fn(() => true);
        const policy = retry({ maxAttempts: 2, delayMs: 0, shouldRetry });
        const { registration } = scripted(fails(2));

        await expect(mediatorWith(policy, [registration]).send(new GetOrder('1'))).rejects.toThrow(
          'failure 2',
        );
        expect(shouldRetry).toHaveBeenCalledTimes(1);
      });
    });

    it('retries at once, without a timer, when the wait is 0', async () => {
      const policy = retry({ delayMs: 0 });
      const { calls, registration } = scripted([...fails(2), order('1')]);

      await expect(mediatorWith(policy, [registration]).send(new GetOrder('1'))).resolves.toEqual(
        order('1'),
      );
      expect(calls.map((c) => c.at)).toEqual([0, 0, 0]);
    });

    it('retries timeouts and admission rejections: they are transient failures', async () => {
      const policy = retry({ delayMs: 0 });
      const { calls, registration } = scripted([
        new RequestTimeoutError('GetOrder', 50),
        new BulkheadRejectedError('GetOrder', 'queueFull', 4, 10),
        order('1'),
      ]);

      await expect(mediatorWith(policy, [registration]).send(new GetOrder('1'))).resolves.toEqual(
        order('1'),
      );
      expect(calls).toHaveLength(3);
    });

    describe('cancellation', () => {
      it('never retries an abort error, and announces no give-up', async () => {
        const policy = retry();
        const events = recordEvents(policy);
        const abort = new DOMException('stopped', 'AbortError');
        const { calls, registration } = scripted([abort, order('1')]);

        await expect(mediatorWith(policy, [registration]).send(new GetOrder('1'))).rejects.toBe(
          abort,
        );
        expect(calls).toHaveLength(1);
        expect(events).toEqual([]);
      });

      it('never retries a failure that arrives after the caller aborted', async () => {
        const policy = retry({ delayMs: 0 });
        const controller = new AbortController();
        const failure = new Error('connection reset by the abort');
        const calls: number[] = [];
        const aborting = handler(GetOrder, async () => {
          calls.push(Date.now());
          controller.abort(new Error('caller gave up'));
          throw failure;
        });
        const mediator = mediatorWith(policy, [aborting]);

        // the failure propagates unchanged: neither retried nor replaced by a wait's abort
        await expect(mediator.send(new GetOrder('1'), { signal: controller.signal })).rejects.toBe(
          failure,
        );
        await flushMicrotasks();
        expect(calls).toHaveLength(1);
      });

      it('rejects with the reason at once when the caller aborts during a wait, clearing the timer', async () => {
        const policy = retry({ delayMs: 1_000, jitter: false });
        const { calls, registration } = scripted(fails(3));
        const { controller, signal, listeners } = trackedController();
        const answer = track(
          mediatorWith(policy, [registration]).send(new GetOrder('1'), { signal }),
        );
        await jest.advanceTimersByTimeAsync(10);
        expect(jest.getTimerCount()).toBe(1);

        const reason = new Error('user navigated away');
        controller.abort(reason);
        await flushMicrotasks();

        expect(answer.error).toBe(reason);
        expect(jest.getTimerCount()).toBe(0);
        expect(listeners()).toBe(0);
        await jest.advanceTimersByTimeAsync(5_000);
        expect(calls).toHaveLength(1);
      });

      it('releases the abort listener of a wait that ends normally', async () => {
        const policy = retry({ delayMs: 100, jitter: false });
        const { registration } = scripted([...fails(1), order('1')]);
        const { signal, listeners } = trackedController();
        const answer = track(
          mediatorWith(policy, [registration]).send(new GetOrder('1'), { signal }),
        );

        await jest.advanceTimersByTimeAsync(100);

        expect(answer).toEqual({ settled: true, value: order('1') });
        expect(listeners()).toBe(0);
      });
    });

    describe('open circuit', () => {
      const open = (retryAfterMs: number) => new CircuitOpenError('GetOrder', 'open', retryAfterMs);

      it('does not retry a CircuitOpenError by default', async () => {
        const policy = retry();
        const events = recordEvents(policy);
        const error = open(500);
        const { calls, registration } = scripted([error, order('1')]);

        await expect(mediatorWith(policy, [registration]).send(new GetOrder('1'))).rejects.toBe(
          error,
        );
        expect(calls).toHaveLength(1);
        expect(events).toMatchObject([{ type: 'giveUp', attempts: 1, reason: 'openCircuit' }]);
      });

      it('waits for retryAfterMs, when longer than the backoff, with retryOpenCircuit', async () => {
        const policy = retry({ retryOpenCircuit: true, delayMs: 100, jitter: false });
        const events = recordEvents(policy);
        const { calls, registration } = scripted([open(499.2), open(50), order('1')]);
        const answer = track(mediatorWith(policy, [registration]).send(new GetOrder('1')));

        await jest.advanceTimersByTimeAsync(10_000);

        // max(100, ⌈499.2⌉) = 500, then max(200, 50) = 200
        expect(calls.map((c) => c.at)).toEqual([0, 500, 700]);
        expect(answer.value).toEqual(order('1'));
        expect(events.map((e) => (e.type === 'retry' ? e.delayMs : e.type))).toEqual([500, 200]);
      });

      it('gives up when waiting for the breaker does not fit the budget', async () => {
        const policy = retry({ retryOpenCircuit: true, budgetMs: 300 });
        const events = recordEvents(policy);
        const { calls, registration } = scripted([open(500), order('1')]);

        await expect(mediatorWith(policy, [registration]).send(new GetOrder('1'))).rejects.toThrow(
          CircuitOpenError,
        );
        expect(calls).toHaveLength(1);
        expect(events).toMatchObject([{ type: 'giveUp', reason: 'budget' }]);
      });

      it('gives up on an isolated circuit even with retryOpenCircuit', async () => {
        const policy = retry({ retryOpenCircuit: true });
        const events = recordEvents(policy);
        const isolated = new CircuitOpenError('GetOrder', 'isolated', Infinity);
        const { registration } = scripted([isolated, order('1')]);

        await expect(mediatorWith(policy, [registration]).send(new GetOrder('1'))).rejects.toBe(
          isolated,
        );
        expect(events).toMatchObject([{ type: 'giveUp', reason: 'openCircuit' }]);
      });
    });

    it('announces each retry and the give-up with the policy name, message name and context', async () => {
      const policy = retry({ name: 'db', maxAttempts: 2, delayMs: 100, jitter: false });
      const events = recordEvents(policy);
      const errors = fails(2);
      const { calls, registration } = scripted(errors);
      track(mediatorWith(policy, [registration]).send(new GetOrder('1')));

      await jest.advanceTimersByTimeAsync(100);

      const context = calls[0]!.context;
      expect(policy.name).toBe('db');
      expect(events).toEqual([
        {
          type: 'retry',
          policy: 'db',
          messageName: 'GetOrder',
          context,
          attempt: 2,
          delayMs: 100,
          error: errors[0],
        },
        {
          type: 'giveUp',
          policy: 'db',
          messageName: 'GetOrder',
          context,
          attempts: 2,
          error: errors[1],
          reason: 'attempts',
        },
      ]);
    });
  });

  describe('for', () => {
    it('wraps only the listed message classes', async () => {
      const policy = retry({ delayMs: 0, for: [GetOrder] });
      const { calls, registration } = scripted([...fails(1), order('1')]);
      let placed = 0;
      const mediator = createMediator({
        handlers: [
          registration,
          handler(PlaceOrder, async () => {
            placed++;
            throw new Error('place failed');
          }),
          handler(ExportOrders, async function* () {
            yield order('1');
            throw new Error('export failed');
          }),
        ],
        behaviors: [policy],
      });

      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1'));
      expect(calls).toHaveLength(2);
      await expect(mediator.send(new PlaceOrder('sku', 1))).rejects.toThrow('place failed');
      expect(placed).toBe(1);
      const items: Order[] = [];
      await expect(
        (async () => {
          for await (const item of mediator.createStream(new ExportOrders())) items.push(item);
        })(),
      ).rejects.toThrow('export failed');
      expect(items).toEqual([order('1')]);
    });

    it('registers one behavior per kind it covers', () => {
      expect(retry().behaviors.map((b) => [b.kind, b.for])).toEqual([
        ['request', undefined],
        ['stream', undefined],
      ]);
      expect(retry({ for: [ExportOrders] }).behaviors.map((b) => [b.kind, b.for])).toEqual([
        ['stream', [ExportOrders]],
      ]);
    });

    it('refuses a class it cannot wrap', () => {
      class NotAMessage {}
      expect(() => retry({ for: [NotAMessage as never] })).toThrow(TypeError);
      expect(() => retry({ for: [] })).toThrow(/'for' of retry\(\)/);
    });
  });

  describe('options', () => {
    it.each<[RetryOptions, ErrorConstructor, RegExp]>([
      [{ maxAttempts: 0 }, RangeError, /'maxAttempts'.*got 0/],
      [{ maxAttempts: 1.5 }, RangeError, /'maxAttempts'.*got 1.5/],
      [{ maxAttempts: '3' as never }, TypeError, /'maxAttempts' must be a number, got '3'/],
      [{ delayMs: -1 }, RangeError, /'delayMs'.*got -1/],
      [{ maxDelayMs: NaN }, RangeError, /'maxDelayMs'.*got NaN/],
      [{ backoff: 'linear' as never }, TypeError, /'backoff'.*got 'linear'/],
      [{ jitter: 'yes' as never }, TypeError, /'jitter' must be a boolean, got 'yes'/],
      [{ budgetMs: 0 }, RangeError, /'budgetMs'.*got 0/],
      [{ budgetMs: -5 }, RangeError, /'budgetMs'.*got -5/],
      [{ shouldRetry: true as never }, TypeError, /'shouldRetry' must be a function, got true/],
      [{ retryOpenCircuit: 1 as never }, TypeError, /'retryOpenCircuit' must be a boolean, got 1/],
      [{ name: 7 as never }, TypeError, /'name' must be a string, got 7/],
      [{ stream: 'resume' as never }, TypeError, /'stream' must be an object, got 'resume'/],
      [{ stream: { mode: 'rewind' as never } }, TypeError, /'stream.mode'.*got 'rewind'/],
      [{ stream: { mode: 'resume' } }, TypeError, /'stream.resume' must be a function/],
      [{ stream: { resume: (r) => r } }, TypeError, /'stream.resume' is only used/],
      [{ stream: { mode: 'resume', resume: 1 as never } }, TypeError, /'stream.resume'.*got 1/],
    ])('refuses %j', (options, type, message) => {
      expect(() => retry(options)).toThrow(type);
      expect(() => retry(options)).toThrow(message);
    });

    it('refuses options that are not an object', () => {
      expect(() => retry(5 as never)).toThrow(/'options' must be an object, got 5/);
    });

    it('accepts Infinity for maxAttempts, maxDelayMs and budgetMs', () => {
      expect(() =>
        retry({ maxAttempts: Infinity, maxDelayMs: Infinity, budgetMs: Infinity }),
      ).not.toThrow();
    });
  });

  describe('streams', () => {
    type Run = (request: ExportOrders, context: HandlerContext) => AsyncGenerator<Order>;

    /** A stream handler whose runs follow `runs` (the last one repeats), recording each run. */
    function streamed(runs: readonly Run[]) {
      const state = {
        requests: [] as ExportOrders[],
        produced: 0,
        closed: 0,
        at: [] as number[],
      };
      const registration = handler(ExportOrders, (request, context) => {
        const run = runs[Math.min(state.requests.length, runs.length - 1)]!;
        state.requests.push(request);
        state.at.push(Date.now());
        return (async function* () {
          try {
            for await (const item of run(request, context)) {
              state.produced++;
              yield item;
            }
          } finally {
            state.closed++;
          }
        })();
      });
      return { state, registration };
    }

    /** A run yielding orders `from`..`to`, then failing with `error` if given. */
    const yields = (from: number, to: number, error?: Error): Run =>
      async function* () {
        for (let i = from; i <= to; i++) yield order(String(i));
        if (error !== undefined) throw error;
      };

    function streamMediator(policy: RetryPolicy, registration: unknown) {
      return createMediator({ handlers: [registration as never], behaviors: [policy] });
    }

    async function collect(stream: AsyncIterable<Order>, into: Order[] = []): Promise<Order[]> {
      for await (const item of stream) into.push(item);
      return into;
    }

    const ids = (orders: readonly Order[]) => orders.map((o) => Number(o.id));

    it('passes a stream that does not fail straight through, without timers', async () => {
      const policy = retry();
      const events = recordEvents(policy);
      const { state, registration } = streamed([yields(1, 5)]);

      const items = await collect(
        streamMediator(policy, registration).createStream(new ExportOrders()),
      );

      expect(ids(items)).toEqual([1, 2, 3, 4, 5]);
      expect(state.requests).toHaveLength(1);
      expect(events).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('restarts by default, skipping the items already delivered: each item arrives once', async () => {
      const policy = retry({ delayMs: 100, jitter: false });
      const events = recordEvents(policy);
      const failure = new Error('connection lost');
      const { state, registration } = streamed([yields(1, 3, failure), yields(1, 6)]);
      const request = new ExportOrders();
      const items = track(collect(streamMediator(policy, registration).createStream(request)));

      await jest.advanceTimersByTimeAsync(100);

      expect(ids(items.value!)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(state.requests).toEqual([request, request]);
      expect(state.at).toEqual([0, 100]);
      expect(events).toMatchObject([{ type: 'retry', attempt: 2, delayMs: 100, error: failure }]);
    });

    it('restarts with the prefix skipped again when a restarted run fails while skipping', async () => {
      const policy = retry({ maxAttempts: 5, delayMs: 0 });
      const { state, registration } = streamed([
        yields(1, 4, new Error('first')),
        yields(1, 2, new Error('while skipping')),
        yields(1, 6),
      ]);

      const items = await collect(
        streamMediator(policy, registration).createStream(new ExportOrders()),
      );

      expect(ids(items)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(state.requests).toHaveLength(3);
    });

    it('fails with the original error when a restarted run ends before the delivered prefix', async () => {
      const policy = retry({ delayMs: 0 });
      const events = recordEvents(policy);
      const failure = new Error('connection lost');
      const { registration } = streamed([yields(1, 3, failure), yields(1, 2)]);
      const items: Order[] = [];

      await expect(
        collect(streamMediator(policy, registration).createStream(new ExportOrders()), items),
      ).rejects.toBe(failure);

      expect(ids(items)).toEqual([1, 2, 3]);
      expect(events.at(-1)).toMatchObject({
        type: 'giveUp',
        attempts: 2,
        error: failure,
        reason: 'restartEndedEarly',
      });
    });

    it('resumes with the request resume() makes from the position, passing every item through', async () => {
      const resume = jest.fn(
        (request: ExportOrders, _position: { delivered: number; lastItem: Order | undefined }) =>
          Object.assign(new ExportOrders(), { after: request }),
      );
      const policy = retry<ExportOrders>({ delayMs: 0, stream: { mode: 'resume', resume } });
      const { state, registration } = streamed([
        yields(1, 3, new Error('first')),
        yields(4, 5, new Error('second')),
        yields(6, 7),
      ]);
      const request = new ExportOrders();

      const items = await collect(streamMediator(policy, registration).createStream(request));

      expect(ids(items)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(resume.mock.calls).toEqual([
        [request, { delivered: 3, lastItem: order('3') }],
        [request, { delivered: 5, lastItem: order('5') }],
      ]);
      expect(state.requests[0]).toBe(request);
      expect(state.requests[1]).toBe(resume.mock.results[0]!.value);
      expect(state.requests[2]).toBe(resume.mock.results[1]!.value);
    });

    it('fails with the exception of a resume() that throws', async () => {
      const broken = new Error('cannot resume');
      const policy = retry<ExportOrders>({
        delayMs: 0,
        stream: {
          mode: 'resume',
          resume: () => {
            throw broken;
          },
        },
      });
      const { state, registration } = streamed([yields(1, 1, new Error('first')), yields(2, 3)]);

      await expect(
        collect(streamMediator(policy, registration).createStream(new ExportOrders())),
      ).rejects.toBe(broken);
      expect(state.requests).toHaveLength(1);
    });

    it('starts the attempts afresh after progress; a run without progress counts on', async () => {
      const policy = retry({ maxAttempts: 2, delayMs: 0 });
      const events = recordEvents(policy);
      const stuck = new Error('stuck');
      const { state, registration } = streamed([
        yields(1, 1, new Error('a')), // attempt 1
        yields(1, 2, new Error('b')), // progress: attempt 1 again
        yields(1, 3, new Error('c')), // progress: attempt 1 again
        yields(1, 3, stuck), // no progress: attempt 2, the last
      ]);
      const items: Order[] = [];

      await expect(
        collect(streamMediator(policy, registration).createStream(new ExportOrders()), items),
      ).rejects.toBe(stuck);

      expect(ids(items)).toEqual([1, 2, 3]);
      expect(state.requests).toHaveLength(4);
      expect(attemptsOf(events.at(-1)!.context, stuck)).toBe(4);
      expect(events.map((e) => (e.type === 'retry' ? e.attempt : e.reason))).toEqual([
        2,
        3,
        4,
        'attempts',
      ]);
    });

    it('gives up when the overall budget runs out, progress or not', async () => {
      const policy = retry({ maxAttempts: Infinity, delayMs: 100, jitter: false, budgetMs: 350 });
      const events = recordEvents(policy);
      let n = 0;
      const { state, registration } = streamed([
        async function* () {
          n++;
          for (let i = 1; i <= n; i++) yield order(String(i));
          throw new Error(`run ${n}`);
        },
      ]);
      const outcome = track(
        collect(streamMediator(policy, registration).createStream(new ExportOrders())),
      );

      await jest.advanceTimersByTimeAsync(1_000);

      // every run makes progress, so every wait is the first one (100 ms): runs at 0, 100, 200, 300
      expect(state.at).toEqual([0, 100, 200, 300]);
      expect(outcome.error).toEqual(new Error('run 4'));
      expect(events.at(-1)).toMatchObject({ type: 'giveUp', attempts: 4, reason: 'budget' });
    });

    it('retries a handler that throws as the stream opens', async () => {
      const policy = retry({ delayMs: 0 });
      let runs = 0;
      const registration = handler(ExportOrders, () => {
        if (++runs === 1) throw new Error('cannot open');
        return [order('1')];
      });

      const items = await collect(
        streamMediator(policy, registration).createStream(new ExportOrders()),
      );

      expect(ids(items)).toEqual([1]);
      expect(runs).toBe(2);
    });

    it('never retries a cancelled stream', async () => {
      const policy = retry({ delayMs: 0 });
      const abort = new DOMException('stopped', 'AbortError');
      const { state, registration } = streamed([yields(1, 1, abort), yields(1, 3)]);

      await expect(
        collect(streamMediator(policy, registration).createStream(new ExportOrders())),
      ).rejects.toBe(abort);
      expect(state.requests).toHaveLength(1);
    });

    it('pulls one item at a time, also while skipping a restarted prefix', async () => {
      const policy = retry({ delayMs: 0 });
      const { state, registration } = streamed([yields(1, 2, new Error('first')), yields(1, 100)]);
      const stream = streamMediator(policy, registration).createStream(new ExportOrders());
      const iterator = stream[Symbol.asyncIterator]();

      expect((await iterator.next()).value).toEqual(order('1'));
      expect((await iterator.next()).value).toEqual(order('2'));
      expect(state.produced).toBe(2);
      expect((await iterator.next()).value).toEqual(order('3')); // failure, restart, skip 1 and 2
      expect(state.produced).toBe(5);
      await flushMicrotasks();
      expect(state.produced).toBe(5);
      await iterator.return!();
      expect(state.closed).toBe(2);
    });

    it('closes the current run when the consumer breaks out', async () => {
      const policy = retry({ delayMs: 0 });
      const { state, registration } = streamed([yields(1, 2, new Error('first')), yields(1, 100)]);
      const items: Order[] = [];

      for await (const item of streamMediator(policy, registration).createStream(
        new ExportOrders(),
      )) {
        items.push(item);
        if (items.length === 4) break;
      }

      expect(ids(items)).toEqual([1, 2, 3, 4]);
      expect(state.closed).toBe(2);
      expect(state.produced).toBe(6);
    });

    it('ends a pending wait at once when the consumer returns, clearing the timer', async () => {
      const policy = retry({ delayMs: 1_000, jitter: false });
      const { state, registration } = streamed([yields(1, 1, new Error('first')), yields(1, 3)]);
      const stream = streamMediator(policy, registration).createStream(new ExportOrders());
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const pending = track(iterator.next());
      await jest.advanceTimersByTimeAsync(10);
      expect(jest.getTimerCount()).toBe(1);

      await iterator.return!();
      await flushMicrotasks();

      expect(pending.settled).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(5_000);
      expect(state.requests).toHaveLength(1);
    });

    it('ends a pending wait as done when closed by an outer behavior, without an abort', async () => {
      const policy = retry({ delayMs: 1_000, jitter: false });
      const { state, registration } = streamed([yields(1, 1, new Error('first')), yields(1, 3)]);
      // An outer behavior that runs the retry under a signal of its own, which never aborts.
      const detach = streamBehavior((_request, next) =>
        next(undefined, { signal: new AbortController().signal }),
      );
      const mediator = createMediator({ handlers: [registration], behaviors: [detach, policy] });
      const iterator = mediator.createStream(new ExportOrders())[Symbol.asyncIterator]();
      await iterator.next();
      const pending = track(iterator.next());
      await jest.advanceTimersByTimeAsync(10);

      await iterator.return!();
      await flushMicrotasks();

      expect(pending).toEqual({ settled: true, value: { value: undefined, done: true } });
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(5_000);
      expect(state.requests).toHaveLength(1);
    });

    it('rejects with the reason when the consumer aborts during a wait, clearing the timer', async () => {
      const policy = retry({ delayMs: 1_000, jitter: false });
      const { state, registration } = streamed([yields(1, 1, new Error('first')), yields(1, 3)]);
      const { controller, signal, listeners } = trackedController();
      const items: Order[] = [];
      const outcome = track(
        collect(
          streamMediator(policy, registration).createStream(new ExportOrders(), { signal }),
          items,
        ),
      );
      await jest.advanceTimersByTimeAsync(10);
      expect(jest.getTimerCount()).toBe(1);

      const reason = new Error('consumer left');
      controller.abort(reason);
      await flushMicrotasks();

      expect(outcome.error).toBe(reason);
      expect(ids(items)).toEqual([1]);
      expect(jest.getTimerCount()).toBe(0);
      expect(listeners()).toBe(0);
      await jest.advanceTimersByTimeAsync(5_000);
      expect(state.requests).toHaveLength(1);
    });

    it('releases the abort listener of a wait that ends normally', async () => {
      const policy = retry({ delayMs: 100, jitter: false });
      const { registration } = streamed([yields(1, 1, new Error('first')), yields(1, 3)]);
      const { signal, listeners } = trackedController();
      // Runs the retry under a signal the spec can watch.
      const watch = streamBehavior((_request, next) => next(undefined, { signal }));
      const mediator = createMediator({ handlers: [registration], behaviors: [watch, policy] });
      const items = track(collect(mediator.createStream(new ExportOrders())));

      await jest.advanceTimersByTimeAsync(50);
      expect(listeners()).toBe(1);
      await jest.advanceTimersByTimeAsync(50);

      expect(ids(items.value!)).toEqual([1, 2, 3]);
      expect(listeners()).toBe(0);
    });

    it('records the runs on the error it gives up with', async () => {
      const policy = retry({ maxAttempts: 3, delayMs: 0 });
      const events = recordEvents(policy);
      const last = new Error('third');
      const { registration } = streamed([
        yields(1, 0, new Error('first')),
        yields(1, 0, new Error('second')),
        yields(1, 0, last),
      ]);

      await expect(
        collect(streamMediator(policy, registration).createStream(new ExportOrders())),
      ).rejects.toBe(last);
      expect(attemptsOf(events.at(-1)!.context, last)).toBe(3);
    });

    it('hands the items a batching stage takes at once to the consumer exactly once', async () => {
      const policy = retry({ delayMs: 0 });
      let runs = 0;
      const registration = handler(ExportOrders, async function* () {
        runs++;
        yield* [1, 2, 3].map((i) => order(String(i)));
        if (runs === 1) throw new Error('first');
        yield* [4, 5].map((i) => order(String(i)));
      });
      const { batch } = await import('../../src/operators/batch.js');
      const batches: Order[][] = [];

      for await (const group of streamMediator(policy, registration)
        .createStream(new ExportOrders())
        .pipe(batch({ size: 2 }))) {
        batches.push(group);
      }

      expect(batches.flat().map((o) => Number(o.id))).toEqual([1, 2, 3, 4, 5]);
    });
  });
});

describe('retry regressions (review of issue 5)', () => {
  const neverAbortedListeners = (): number => getEventListeners(NEVER_ABORTED, 'abort').length;

  it('adds no listener to the shared never-aborted signal while calls wait to retry', async () => {
    // Each waiting call used to add one: Node warns "MaxListenersExceededWarning … 11 abort
    // listeners added to [AbortSignal]" for this one global signal.
    const policy = retry({ maxAttempts: 2, delayMs: 1_000, jitter: false });
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, async () => {
          throw new Error('down');
        }),
      ],
      behaviors: [policy],
    });
    const calls = Array.from({ length: 11 }, (_, i) => track(mediator.send(new GetOrder(`${i}`))));
    await flushMicrotasks();
    expect(neverAbortedListeners()).toBe(0); // was 11
    await jest.advanceTimersByTimeAsync(1_000);
    expect(calls.every((c) => c.settled)).toBe(true);
    expect(neverAbortedListeners()).toBe(0);
  });
});
