import { afterEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import {
  from,
  lastValueFrom,
  map,
  of,
  Subject,
  toArray,
  type Observable,
  type Subscription,
} from 'rxjs';
import { BufferOverflowError } from '../../src/errors/BufferOverflowError.js';
import { createMediator, handler, pullable, StreamRequest } from '../../src/index.js';
import { parallel } from '../../src/operators/parallel.js';
import { tryMap, type TryMapFailure } from '../../src/operators/tryMap.js';
import { deferred, flushMicrotasks, type Deferred } from '../helpers/deferred.js';
import { trackedController } from '../helpers/signals.js';
import { StreamMonitor } from '../../src/streaming/StreamMonitor.js';
import type { StageContext } from '../../src/streaming/StreamOperator.js';
import { DEFAULT_PIPELINE } from '../../src/streaming/StreamPipelineOptions.js';
import { countingSource } from '../helpers/countingSource.js';
import { collect } from '../helpers/collect.js';

class Numbers extends StreamRequest<number> {}

function mediatorFor(source: () => AsyncIterable<number> | Iterable<number>) {
  return createMediator({ handlers: [handler(Numbers, () => source())] });
}

/** What `createStream().pipe()` hands a stage, for specs that drive `iterate` directly. */
const stageContext = (signal?: AbortSignal): StageContext => ({
  signal,
  options: DEFAULT_PIPELINE,
  stream: 'Numbers',
});

type Mediator = ReturnType<typeof mediatorFor>;
type Op<R> = ReturnType<typeof tryMap<number, R>>;

/** Starts iterating, as `for await` would. */
function open<T>(stream: AsyncIterable<T>): AsyncIterator<T> {
  return stream[Symbol.asyncIterator]();
}

/**
 * Reads an Observable with a minimal hand-written iterator (the subscriber itself does not signal
 * demand): `return()` unsubscribes at once, even while a read is pending, and a second error
 * would be noticed.
 */
const CONSUMED = Symbol('consumed');

function iterateObservable<R>(observable: Observable<R>): AsyncIterable<R> {
  return {
    [Symbol.asyncIterator]() {
      const items: R[] = [];
      let done = false;
      let error: unknown;
      let failures = 0;
      let sub: Subscription | undefined;
      let waiter: (() => void) | undefined;
      const wake = () => {
        const w = waiter;
        waiter = undefined;
        w?.();
      };
      const read = async (): Promise<IteratorResult<R>> => {
        sub ??= observable.subscribe({
          next: (v) => (items.push(v), wake()),
          error: (e: unknown) => (failures++, (error = e), (done = true), wake()),
          complete: () => ((done = true), wake()),
        });
        for (;;) {
          if (failures > 1) throw new Error('the stream failed more than once');
          if (items.length > 0) return { value: items.shift()!, done: false };
          if (failures > 0 && error !== CONSUMED) {
            const e = error;
            error = CONSUMED;
            throw e;
          }
          if (done) return { value: undefined, done: true };
          await new Promise<void>((r) => (waiter = r));
        }
      };
      return {
        next: read,
        return: () => {
          done = true;
          sub?.unsubscribe();
          wake();
          return Promise.resolve({ value: undefined, done: true });
        },
      };
    },
  };
}

const paths = {
  'for await (iterate)': <R>(mediator: Mediator, op: Op<R>): AsyncIterable<R> =>
    mediator.createStream(new Numbers()).pipe(op),
  // With a caller signal the stage's reads are promises of their own rather than chained ones.
  'for await with a caller signal': <R>(mediator: Mediator, op: Op<R>): AsyncIterable<R> =>
    mediator.createStream(new Numbers(), { signal: new AbortController().signal }).pipe(op),
  Observable: <R>(mediator: Mediator, op: Op<R>): AsyncIterable<R> =>
    iterateObservable(mediator.createStream$(new Numbers()).pipe(op)),
};

const boom = (n: number) => new Error(`boom ${n}`);

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('tryMap', () => {
  describe.each(Object.entries(paths))('on the %s path', (_name, openPath) => {
    it('maps every item with a synchronous project, passing index and attempt 1', async () => {
      const contexts: { index: number; attempt: number }[] = [];
      const out = await collect(
        openPath(
          mediatorFor(() => [5, 6, 7]),
          tryMap((n: number, { index, attempt }) => (contexts.push({ index, attempt }), n * 2)),
        ),
      );
      expect(out).toEqual([10, 12, 14]);
      expect(contexts).toEqual([
        { index: 0, attempt: 1 },
        { index: 1, attempt: 1 },
        { index: 2, attempt: 1 },
      ]);
    });

    it('maps every item with an asynchronous project, in order', async () => {
      const out = await collect(
        openPath(
          mediatorFor(() => [1, 2, 3, 4]),
          tryMap(async (n: number) => {
            for (let i = 0; i < 5 - n; i++) await Promise.resolve();
            return n * 10;
          }),
        ),
      );
      expect(out).toEqual([10, 20, 30, 40]);
    });

    it('emits the fallback in place of a failing item, goes on, and reports item and position', async () => {
      const failures: TryMapFailure<number>[] = [];
      const fallbackCalls: unknown[][] = [];
      const out = await collect(
        openPath(
          mediatorFor(() => [1, 2, 3, 4, 5]),
          tryMap(
            (n: number) => {
              if (n % 2 === 0) throw boom(n);
              return n * 10;
            },
            {
              fallback: (error, item, index) => (fallbackCalls.push([error, item, index]), -item),
              onError: (failure) => failures.push(failure),
            },
          ),
        ),
      );
      expect(out).toEqual([10, -2, 30, -4, 50]);
      expect(fallbackCalls).toEqual([
        [boom(2), 2, 1],
        [boom(4), 4, 3],
      ]);
      expect(failures).toEqual([
        { error: boom(2), item: 2, index: 1, attempts: 1, recovered: true },
        { error: boom(4), item: 4, index: 3, attempts: 1, recovered: true },
      ]);
    });

    it('recovers a rejected promise with an asynchronous fallback', async () => {
      const out = await collect(
        openPath(
          mediatorFor(() => [1, 2, 3]),
          tryMap(
            async (n: number) => {
              if (n === 2) throw boom(n);
              return n;
            },
            { fallback: async () => 0 },
          ),
        ),
      );
      expect(out).toEqual([1, 0, 3]);
    });

    it('retries with exponential backoff and succeeds on the 3rd attempt', async () => {
      jest.useFakeTimers();
      const calls: { attempt: number; at: number }[] = [];
      const start = Date.now();
      const iterator = open(
        openPath(
          mediatorFor(() => [7]),
          tryMap(
            async (n: number, { attempt }) => {
              calls.push({ attempt, at: Date.now() - start });
              if (attempt < 3) throw boom(n);
              return n * attempt;
            },
            { retry: { maxAttempts: 3, delayMs: 100, jitter: false } },
          ),
        ),
      );
      const read = iterator.next();
      await jest.advanceTimersByTimeAsync(99);
      expect(calls.map((c) => c.attempt)).toEqual([1]);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls.map((c) => c.attempt)).toEqual([1, 2]);
      await jest.advanceTimersByTimeAsync(199);
      expect(calls).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(1);
      await expect(read).resolves.toEqual({ value: 21, done: false });
      expect(calls).toEqual([
        { attempt: 1, at: 0 },
        { attempt: 2, at: 100 },
        { attempt: 3, at: 300 },
      ]);
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
      expect(jest.getTimerCount()).toBe(0);
    });

    it('caps exponential waits at maxDelayMs and keeps fixed waits constant', async () => {
      jest.useFakeTimers();
      for (const [backoff, expected] of [
        ['exponential', [0, 100, 300, 550, 800]],
        ['fixed', [0, 100, 200, 300, 400]],
      ] as const) {
        const start = Date.now();
        const at: number[] = [];
        const failures: TryMapFailure<number>[] = [];
        const iterator = open(
          openPath(
            mediatorFor(() => [1]),
            tryMap(
              (n: number) => {
                at.push(Date.now() - start);
                throw boom(n);
              },
              {
                retry: { maxAttempts: 5, delayMs: 100, maxDelayMs: 250, backoff, jitter: false },
                fallback: () => -1,
                onError: (failure) => failures.push(failure),
              },
            ),
          ),
        );
        const read = iterator.next();
        await jest.advanceTimersByTimeAsync(1000);
        await expect(read).resolves.toEqual({ value: -1, done: false });
        expect(at).toEqual(expected);
        expect(failures).toEqual([
          { error: boom(1), item: 1, index: 0, attempts: 5, recovered: true },
        ]);
        await iterator.return!();
      }
    });

    it('waits a jittered delay within [0, delay]', async () => {
      jest.useFakeTimers();
      // Math.random() → 0 retries at once; just below 1 waits the whole delay; 0.5 about half.
      jest
        .spyOn(Math, 'random')
        .mockReturnValueOnce(0)
        .mockReturnValueOnce(0.5)
        .mockReturnValueOnce(0.999999);
      const start = Date.now();
      const at: number[] = [];
      const iterator = open(
        openPath(
          mediatorFor(() => [1]),
          tryMap(
            (n: number, { attempt }) => {
              at.push(Date.now() - start);
              if (attempt < 4) throw boom(n);
              return attempt;
            },
            { retry: { maxAttempts: 4, delayMs: 100, backoff: 'fixed' } },
          ),
        ),
      );
      const read = iterator.next();
      await jest.advanceTimersByTimeAsync(300);
      await expect(read).resolves.toEqual({ value: 4, done: false });
      const waits = at.slice(1).map((t, i) => t - at[i]!);
      expect(waits).toEqual([0, 50, 100]);
      await iterator.return!();
    });

    it('fails the stream once, after onError(recovered: false), when attempts run out without a fallback', async () => {
      jest.useFakeTimers();
      const log: string[] = [];
      const { state, source } = countingSource();
      const iterator = open(
        openPath(
          mediatorFor(source),
          tryMap(
            async (n: number, { attempt }) => {
              log.push(`attempt ${attempt}`);
              if (n === 1) throw boom(n);
              return n;
            },
            {
              retry: { maxAttempts: 2, delayMs: 10, jitter: false },
              onError: ({ error, index, attempts, recovered }) =>
                log.push(`onError ${(error as Error).message} #${index} ${attempts} ${recovered}`),
            },
          ),
        ),
      );
      await expect(iterator.next()).resolves.toEqual({ value: 0, done: false });
      const failed = iterator.next().catch((error: unknown) => {
        log.push(`consumer ${(error as Error).message}`);
      });
      await jest.advanceTimersByTimeAsync(10);
      await failed;
      expect(log).toEqual([
        'attempt 1',
        'attempt 1',
        'attempt 2',
        'onError boom 1 #1 2 false',
        'consumer boom 1',
      ]);
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
      await flushMicrotasks(20);
      expect(state.finallyRan).toBe(true);
    });

    it('never retries an abort error, even when shouldRetry says yes', async () => {
      let calls = 0;
      const shouldRetry = jest.fn(() => true);
      const iterator = open(
        openPath(
          mediatorFor(() => [1, 2]),
          tryMap(
            (n: number) => {
              calls++;
              if (n === 1) throw new DOMException('gave up', 'AbortError');
              return n;
            },
            { retry: { maxAttempts: 5, shouldRetry }, fallback: () => 0 },
          ),
        ),
      );
      await expect(collect({ [Symbol.asyncIterator]: () => iterator })).resolves.toEqual([0, 2]);
      expect(calls).toBe(2);
      expect(shouldRetry).not.toHaveBeenCalled();
    });

    it('does not retry errors shouldRetry refuses', async () => {
      let calls = 0;
      const out = await collect(
        openPath(
          mediatorFor(() => [1]),
          tryMap(
            (n: number) => {
              calls++;
              throw new TypeError(`bad ${n}`);
            },
            {
              retry: { maxAttempts: 5, shouldRetry: (e) => !(e instanceof TypeError) },
              fallback: () => -1,
            },
          ),
        ),
      );
      expect(out).toEqual([-1]);
      expect(calls).toBe(1);
    });

    it('retries at once, synchronously, when there is no delay', async () => {
      const attempts: number[] = [];
      const out = await collect(
        openPath(
          mediatorFor(() => [1, 2]),
          tryMap(
            (n: number, { attempt }) => {
              attempts.push(attempt);
              if (n === 1 && attempt < 3) throw boom(n);
              return n * 10;
            },
            { retry: { maxAttempts: 3 } },
          ),
        ),
      );
      expect(out).toEqual([10, 20]);
      expect(attempts).toEqual([1, 2, 3, 1]);
    });

    it('fails the stream with the fallback’s own error, reporting the item as not recovered', async () => {
      for (const fallback of [
        () => {
          throw new Error('fallback broke');
        },
        () => Promise.reject(new Error('fallback broke')),
      ]) {
        const failures: TryMapFailure<number>[] = [];
        const iterator = open(
          openPath(
            mediatorFor(() => [1, 2]),
            tryMap(
              (n: number) => {
                throw boom(n);
              },
              { fallback, onError: (f) => failures.push(f) },
            ),
          ),
        );
        await expect(iterator.next()).rejects.toThrow('fallback broke');
        expect(failures).toEqual([
          { error: boom(1), item: 1, index: 0, attempts: 1, recovered: false },
        ]);
        await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
      }
    });

    it('fails the stream with the exception of a throwing onError, instead of emitting the fallback', async () => {
      for (const fallback of [() => -1, async () => -1, undefined]) {
        const iterator = open(
          openPath(
            mediatorFor(() => [0, 1]),
            tryMap(
              (n: number) => {
                if (n === 1) throw boom(n);
                return n;
              },
              {
                fallback,
                onError: () => {
                  throw new Error('reporter broke');
                },
              },
            ),
          ),
        );
        await expect(iterator.next()).resolves.toEqual({ value: 0, done: false });
        await expect(iterator.next()).rejects.toThrow('reporter broke');
        await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
      }
    });

    it('retries a synchronous failure with an asynchronous attempt', async () => {
      const out = await collect(
        openPath(
          mediatorFor(() => [1, 2]),
          tryMap(
            (n: number, { attempt }) => {
              if (attempt === 1) throw boom(n);
              return Promise.resolve(n * attempt);
            },
            { retry: { maxAttempts: 2 } },
          ),
        ),
      );
      expect(out).toEqual([2, 4]);
    });

    it('fails the stream with the exception of onError when an asynchronous fallback rejects', async () => {
      const iterator = open(
        openPath(
          mediatorFor(() => [1]),
          tryMap(
            (n: number) => {
              throw boom(n);
            },
            {
              fallback: () => Promise.reject(new Error('fallback broke')),
              onError: () => {
                throw new Error('reporter broke');
              },
            },
          ),
        ),
      );
      await expect(iterator.next()).rejects.toThrow('reporter broke');
    });

    it('fails the stream when shouldRetry throws', async () => {
      const iterator = open(
        openPath(
          mediatorFor(() => [1]),
          tryMap(
            (n: number) => {
              throw boom(n);
            },
            {
              retry: {
                maxAttempts: 3,
                shouldRetry: () => {
                  throw new Error('policy broke');
                },
              },
              fallback: () => 0,
            },
          ),
        ),
      );
      await expect(iterator.next()).rejects.toThrow('policy broke');
    });

    it('clears the retry timer, aborts the signal and closes the source when closed during a retry wait', async () => {
      jest.useFakeTimers();
      const { state, source } = countingSource();
      const signals: AbortSignal[] = [];
      let calls = 0;
      const iterator = open(
        openPath(
          mediatorFor(source),
          tryMap(
            (n: number, { signal }) => {
              calls++;
              signals.push(signal);
              throw boom(n);
            },
            { retry: { maxAttempts: 5, delayMs: 1000, jitter: false } },
          ),
        ),
      );
      void iterator.next().catch(() => undefined);
      await jest.advanceTimersByTimeAsync(0);
      expect(calls).toBe(1);
      expect(jest.getTimerCount()).toBe(1);
      await iterator.return!();
      await flushMicrotasks(20);
      expect(jest.getTimerCount()).toBe(0);
      expect(state.finallyRan).toBe(true);
      expect(signals[0]!.aborted).toBe(true);
      await jest.advanceTimersByTimeAsync(5000);
      expect(calls).toBe(1);
    });

    it('pulls an infinite source at most one or two items ahead of an asynchronous project', async () => {
      const { state, source } = countingSource();
      const gates: Deferred<void>[] = [];
      const iterator = open(
        openPath(
          mediatorFor(source),
          tryMap(async (n: number) => {
            const gate = deferred();
            gates[n] = gate;
            await gate.promise;
            return n;
          }),
        ),
      );
      for (let n = 0; n < 5; n++) {
        const read = iterator.next();
        await flushMicrotasks(50);
        expect(state.pulled - n).toBeLessThanOrEqual(2);
        gates[n]!.resolve();
        await expect(read).resolves.toEqual({ value: n, done: false });
        await flushMicrotasks(50);
        expect(state.pulled - (n + 1)).toBeLessThanOrEqual(2);
      }
      await iterator.return!();
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(true);
    });
  });

  describe('on the for await path', () => {
    it("rejects a pending read with the caller's abort reason, aborts the item and removes its listener", async () => {
      const { state, source } = countingSource();
      const { controller, signal, listeners } = trackedController();
      const signals: AbortSignal[] = [];
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers(), { signal })
          .pipe(
            tryMap((_n: number, ctx) => {
              signals.push(ctx.signal);
              return new Promise<number>(() => undefined);
            }),
          ),
      );
      const read = iterator.next();
      await flushMicrotasks(30);
      expect(listeners()).toBeGreaterThan(0);
      controller.abort(new Error('stop'));
      await expect(read).rejects.toThrow('stop');
      expect(signals[0]!.aborted).toBe(true);
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(true);
      expect(listeners()).toBe(0);
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('rejects at once when the caller has already aborted', async () => {
      const controller = new AbortController();
      const { state, source } = countingSource();
      const stream = mediatorFor(source).createStream(new Numbers(), { signal: controller.signal });
      controller.abort(new Error('early'));
      const iterator = open(
        tryMap((n: number) => n).iterate(stream, stageContext(controller.signal)),
      );
      await expect(iterator.next()).rejects.toThrow('early');
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
      expect(state.pulled).toBe(0);
    });

    it('removes its abort listener after a normal end and after return()', async () => {
      for (const finish of ['end', 'return'] as const) {
        const { signal, listeners } = trackedController();
        const iterator = open(
          mediatorFor(() => [1, 2])
            .createStream(new Numbers(), { signal })
            .pipe(tryMap((n: number) => n)),
        );
        await iterator.next();
        if (finish === 'end') {
          await iterator.next();
          await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
        } else {
          await iterator.return!();
        }
        expect(listeners()).toBe(0);
        await expect(iterator.return!()).resolves.toEqual({ value: undefined, done: true });
      }
    });

    it.each([
      ['without a caller signal: the read ends when the source read settles', false],
      ['with a caller signal: the read ends at once', true],
    ])(
      'closes the source at once when returned while a source read is pending (%s)',
      async (_case, withSignal) => {
        const gate = deferred();
        const state = { finallyRan: false, settled: false };
        const source: AsyncIterator<number> & AsyncIterable<number> = {
          next: () => gate.promise.then(() => ({ value: 1, done: false })),
          return: () => {
            state.finallyRan = true;
            return Promise.resolve({ value: undefined, done: true });
          },
          [Symbol.asyncIterator]() {
            return this;
          },
        };
        const signal = withSignal ? new AbortController().signal : undefined;
        const iterator = open(tryMap((n: number) => n).iterate(source, stageContext(signal)));
        const read = iterator.next().finally(() => (state.settled = true));
        await expect(iterator.return!()).resolves.toEqual({ value: undefined, done: true });
        expect(state.finallyRan).toBe(true);
        await flushMicrotasks(10);
        expect(state.settled).toBe(withSignal);
        gate.resolve();
        await expect(read).resolves.toEqual({ value: undefined, done: true });
      },
    );

    it('swallows a source return() that rejects, on return() during a read and on failure', async () => {
      const closes: string[] = [];
      const gate = deferred();
      const source = (): AsyncIterable<number> => ({
        [Symbol.asyncIterator]: () => ({
          next: () => gate.promise.then(() => ({ value: 1, done: false })),
          return: () => (closes.push('return'), Promise.reject(new Error('cannot close'))),
        }),
      });
      const returned = open(tryMap((n: number) => n).iterate(source(), stageContext()));
      const read = returned.next();
      await expect(returned.return!()).resolves.toEqual({ value: undefined, done: true });
      const failing = open(
        tryMap((n: number): number => {
          throw boom(n);
        }).iterate(source(), stageContext()),
      );
      const failed = failing.next();
      gate.resolve();
      await expect(read).resolves.toEqual({ value: undefined, done: true });
      await expect(failed).rejects.toThrow('boom 1');
      await flushMicrotasks(10);
      expect(closes).toEqual(['return', 'return']);
    });

    it('works over a source without return()', async () => {
      let i = 0;
      const source: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.resolve({ value: i++, done: false }),
        }),
      };
      const iterator = open(tryMap((n: number) => n * 2).iterate(source, stageContext()));
      await expect(iterator.next()).resolves.toEqual({ value: 0, done: false });
      await expect(iterator.return!()).resolves.toEqual({ value: undefined, done: true });
    });

    it.each([
      ['without', undefined],
      ['with', new AbortController().signal],
    ])(
      'passes a source error through once and aborts the pending item (%s a caller signal)',
      async (_case, signal) => {
        const signals: AbortSignal[] = [];
        const mediator = createMediator({
          handlers: [
            handler(Numbers, async function* () {
              yield 0;
              throw new Error('source broke');
            }),
          ],
        });
        const iterator = open(
          mediator.createStream(new Numbers(), { signal }).pipe(
            tryMap((n: number, context) => {
              signals.push(context.signal);
              return n;
            }),
          ),
        );
        await expect(iterator.next()).resolves.toEqual({ value: 0, done: false });
        await expect(iterator.next()).rejects.toThrow('source broke');
        expect(signals[0]!.aborted).toBe(true);
        await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
      },
    );

    it('neither retries nor recovers an item that fails after the stream was closed during its project', async () => {
      const onError = jest.fn();
      const fallback = jest.fn(() => 0);
      const { state, source } = countingSource();
      let iterator: AsyncIterator<number> | undefined;
      iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(
            tryMap(
              (n: number) => {
                void iterator!.return!();
                throw boom(n);
              },
              { retry: { maxAttempts: 3, delayMs: 10 }, fallback, onError },
            ),
          ),
      );
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
      await flushMicrotasks(20);
      expect(fallback).not.toHaveBeenCalled();
      expect(onError).not.toHaveBeenCalled();
      expect(state.finallyRan).toBe(true);
      iterator = undefined;
    });

    it('ignores an asynchronous fallback that settles after return()', async () => {
      for (const settle of ['resolve', 'reject'] as const) {
        const gate = deferred<number>();
        const onError = jest.fn();
        const iterator = open(
          mediatorFor(() => [1])
            .createStream(new Numbers())
            .pipe(
              tryMap(
                (n: number) => {
                  throw boom(n);
                },
                { fallback: () => gate.promise, onError },
              ),
            ),
        );
        const read = iterator.next();
        await flushMicrotasks(20);
        await iterator.return!();
        await expect(read).resolves.toEqual({ value: undefined, done: true });
        if (settle === 'resolve') gate.resolve(0);
        else gate.reject(new Error('late'));
        await flushMicrotasks(20);
        expect(onError).not.toHaveBeenCalled();
      }
    });

    it('ignores a source read that fails after return()', async () => {
      const gate = deferred();
      const source: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next: () => gate.promise.then(() => Promise.reject(new Error('late source error'))),
        }),
      };
      const iterator = open(tryMap((n: number) => n).iterate(source, stageContext()));
      const read = iterator.next();
      await iterator.return!();
      gate.resolve();
      await expect(read).resolves.toEqual({ value: undefined, done: true });
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('refuses a second next() while one is pending', async () => {
      const iterator = open(
        mediatorFor(() => [1])
          .createStream(new Numbers())
          .pipe(tryMap((n: number) => new Promise<number>((r) => setImmediate(() => r(n))))),
      );
      const first = iterator.next();
      await expect(iterator.next()).rejects.toThrow(/called again/);
      await expect(first).resolves.toEqual({ value: 1, done: false });
      await iterator.return!();
    });

    it('ignores a late result after return()', async () => {
      const gate = deferred<number>();
      const fallback = jest.fn(() => 0);
      const iterator = open(
        mediatorFor(() => [1])
          .createStream(new Numbers())
          .pipe(tryMap(() => gate.promise, { fallback })),
      );
      const read = iterator.next();
      await flushMicrotasks(20);
      await iterator.return!();
      await expect(read).resolves.toEqual({ value: undefined, done: true });
      gate.reject(new Error('late'));
      await flushMicrotasks(20);
      expect(fallback).not.toHaveBeenCalled();
    });
  });

  describe('on the Observable path', () => {
    it('emits synchronous results synchronously', () => {
      const out: number[] = [];
      let completed = false;
      of(1, 2, 3)
        .pipe(tryMap((n: number) => n + 1))
        .subscribe({ next: (v) => out.push(v), complete: () => (completed = true) });
      expect(out).toEqual([2, 3, 4]);
      expect(completed).toBe(true);
    });

    it('recovers synchronously too: sync fallback and sync retries emit before subscribe returns', () => {
      const out: number[] = [];
      of(1, 2, 3)
        .pipe(
          tryMap(
            (n: number, { attempt }) => {
              if (n === 2 && attempt < 2) throw boom(n);
              if (n === 3) throw boom(n);
              return n;
            },
            { retry: { maxAttempts: 2 }, fallback: () => -3 },
          ),
        )
        .subscribe((v) => out.push(v));
      expect(out).toEqual([1, 2, -3]);
    });

    it('waits for a pending item before completing', async () => {
      const gate = deferred<number>();
      const events: string[] = [];
      of(1)
        .pipe(tryMap(() => gate.promise))
        .subscribe({ next: (v) => events.push(`next ${v}`), complete: () => events.push('done') });
      expect(events).toEqual([]);
      gate.resolve(9);
      await flushMicrotasks();
      expect(events).toEqual(['next 9', 'done']);
    });

    it('fails with BufferOverflowError when a push source outruns a slow project under the default strategy', async () => {
      const subject = new Subject<number>();
      const gates: Deferred<number>[] = [];
      const errors: unknown[] = [];
      const out: number[] = [];
      const signals: AbortSignal[] = [];
      subject
        .pipe(
          tryMap(
            (n: number, { signal }) => {
              signals.push(signal);
              return (gates[n] = deferred<number>()).promise;
            },
            { bufferCapacity: 2 },
          ),
        )
        .subscribe({ next: (v) => out.push(v), error: (e: unknown) => errors.push(e) });
      subject.next(0); // running
      subject.next(1); // waiting
      subject.next(2); // waiting
      expect(errors).toEqual([]);
      subject.next(3);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(BufferOverflowError);
      expect((errors[0] as BufferOverflowError).capacity).toBe(2);
      expect(subject.observed).toBe(false);
      expect(signals[0]!.aborted).toBe(true);
      gates[0]!.resolve(0);
      await flushMicrotasks();
      expect(out).toEqual([]);
    });

    it('drops the newest items and delivers the rest under dropNewest: delivered + dropped = produced', async () => {
      const monitor = new StreamMonitor();
      const subject = new Subject<number>();
      const gates: Deferred<number>[] = [];
      const out: number[] = [];
      let completed = false;
      subject
        .pipe(
          tryMap((n: number) => (gates[n] = deferred<number>()).promise, {
            bufferCapacity: 2,
            overflow: 'dropNewest',
            monitor,
            name: 'ticks',
          }),
        )
        .subscribe({ next: (v) => out.push(v), complete: () => (completed = true) });
      const produced = 10;
      for (let n = 0; n < produced; n++) subject.next(n); // 0 runs; 1, 2 wait; 3…9 dropped
      subject.complete();
      for (const n of [0, 1, 2]) {
        await flushMicrotasks();
        gates[n]!.resolve(n);
      }
      await flushMicrotasks();
      expect(out).toEqual([0, 1, 2]);
      expect(gates.length).toBe(3); // dropped items were never projected
      expect(completed).toBe(true);
      const [totals] = monitor.dropTotals();
      expect(totals).toEqual({
        stream: 'ticks',
        stage: 'tryMap',
        strategy: 'dropNewest',
        dropped: 7,
      });
      expect(out.length + totals!.dropped).toBe(produced);
      expect(monitor.snapshot()).toEqual([]); // the stage closed its probe
    });

    it('shows its wait buffer and the awaited item in a monitor snapshot', async () => {
      const monitor = new StreamMonitor();
      const subject = new Subject<number>();
      const gate = deferred<number>();
      const sub = subject
        .pipe(tryMap((n: number) => (n === 0 ? gate.promise : n), { bufferCapacity: 4, monitor }))
        .subscribe();
      [0, 1, 2].forEach((n) => subject.next(n));
      expect(monitor.snapshot()).toMatchObject([
        {
          stage: 'tryMap',
          stream: 'observable',
          capacity: 4,
          buffered: 2,
          inFlight: 1,
          itemsIn: 3,
        },
      ]);
      gate.resolve(0);
      await flushMicrotasks();
      expect(monitor.snapshot()).toMatchObject([{ buffered: 0, inFlight: 0, itemsOut: 3 }]);
      sub.unsubscribe();
      expect(monitor.snapshot()).toEqual([]);
    });

    it('takes its buffer from the stream defaults (1000, error) when not given', () => {
      const errors: unknown[] = [];
      from(Array.from({ length: 5000 }, (_, i) => i))
        .pipe(tryMap(() => new Promise<number>(() => undefined)))
        .subscribe({ error: (e: unknown) => errors.push(e) });
      expect((errors[0] as BufferOverflowError).capacity).toBe(1000);
    });

    it('stops a synchronous source in the middle of its burst when the stage fails', () => {
      let emitted = 0;
      const errors: unknown[] = [];
      from(Array.from({ length: 100_000 }, (_, i) => i))
        .pipe(
          map((n) => (emitted++, n)),
          tryMap(() => new Promise<number>(() => undefined), { bufferCapacity: 10 }),
        )
        .subscribe({ error: (e: unknown) => errors.push(e) });
      expect(errors[0]).toBeInstanceOf(BufferOverflowError);
      expect(emitted).toBe(12);
    });

    it.each([
      ['synchronous', (n: number) => n * 2],
      ['asynchronous', async (n: number) => n * 2],
    ])(
      'keeps a pull source paused while the downstream stage is full (%s project)',
      async (_kind, project) => {
        const { state, source } = countingSource();
        const gates: Deferred<void>[] = [];
        const results: number[] = [];
        const errors: unknown[] = [];
        const sub = pullable(source())
          .pipe(
            tryMap(project),
            parallel(
              async (n: number) => {
                const gate = deferred();
                gates[n / 2] = gate;
                await gate.promise;
                return n;
              },
              { concurrency: 1, bufferCapacity: 5 },
            ),
          )
          .subscribe({ next: (v) => results.push(v), error: (e: unknown) => errors.push(e) });
        await flushMicrotasks(100);
        expect(errors).toEqual([]);
        expect(state.pulled).toBeLessThanOrEqual(2);
        for (let n = 0; n < 4; n++) {
          gates[n]!.resolve();
          await flushMicrotasks(100);
          expect(results).toHaveLength(n + 1);
          expect(state.pulled - (n + 1)).toBeLessThanOrEqual(2);
        }
        expect(errors).toEqual([]);
        sub.unsubscribe();
        await flushMicrotasks(30);
        expect(state.finallyRan).toBe(true);
      },
    );

    it('resumes a pull source once an asynchronous item settles (pulls at most one ahead)', async () => {
      const { state, source } = countingSource(6);
      const out = await lastValueFrom(
        pullable(source()).pipe(
          tryMap(async (n: number) => {
            await flushMicrotasks(3);
            expect(state.pulled).toBeLessThanOrEqual(n + 1);
            return n;
          }),
          toArray(),
        ),
      );
      expect(out).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it('clears the retry timer and closes the source on unsubscribe during a retry wait', async () => {
      jest.useFakeTimers();
      const { state, source } = countingSource();
      const signals: AbortSignal[] = [];
      const sub = pullable(source())
        .pipe(
          tryMap(
            (n: number, { signal }) => {
              signals.push(signal);
              throw boom(n);
            },
            { retry: { maxAttempts: 3, delayMs: 500 } },
          ),
        )
        .subscribe();
      await jest.advanceTimersByTimeAsync(0);
      expect(jest.getTimerCount()).toBe(1);
      sub.unsubscribe();
      await jest.advanceTimersByTimeAsync(0);
      expect(jest.getTimerCount()).toBe(0);
      expect(state.finallyRan).toBe(true);
      expect(signals[0]!.aborted).toBe(true);
    });

    it('does not abort the signal after a normal completion', async () => {
      const signals: AbortSignal[] = [];
      await lastValueFrom(
        from([1, 2, 3]).pipe(
          tryMap((n: number, { signal }) => (signals.push(signal), n)),
          toArray(),
        ),
      );
      expect(signals.some((s) => s.aborted)).toBe(false);
    });

    it('processes push items that arrive while it emits in their arrival order', () => {
      const subject = new Subject<number>();
      const out: number[] = [];
      subject.pipe(tryMap((n: number) => n)).subscribe((v) => {
        out.push(v);
        if (v === 1) subject.next(2);
      });
      subject.next(1);
      subject.next(3);
      expect(out).toEqual([1, 2, 3]);
    });

    it('runs items a push source fed during a project call or an onError call after the current one', () => {
      const subject = new Subject<number>();
      const out: number[] = [];
      subject
        .pipe(
          tryMap(
            (n: number) => {
              if (n === 1) subject.next(2);
              if (n === 3) throw boom(n);
              return n;
            },
            { fallback: () => -3, onError: () => subject.next(4) },
          ),
        )
        .subscribe((v) => out.push(v));
      subject.next(1);
      subject.next(3);
      subject.next(5);
      expect(out).toEqual([1, 2, -3, 4, 5]);
    });

    it('runs buffered items synchronously once the awaited one settles', async () => {
      const subject = new Subject<number>();
      const gate = deferred<number>();
      const out: number[] = [];
      let completed = false;
      subject
        .pipe(tryMap((n: number) => (n === 0 ? gate.promise : n)))
        .subscribe({ next: (v) => out.push(v), complete: () => (completed = true) });
      [0, 1, 2, 3].forEach((n) => subject.next(n));
      subject.complete();
      expect(out).toEqual([]);
      gate.resolve(0);
      await flushMicrotasks();
      expect(out).toEqual([0, 1, 2, 3]);
      expect(completed).toBe(true);
    });

    it('passes a source error through once', () => {
      const subject = new Subject<number>();
      const errors: unknown[] = [];
      subject.pipe(tryMap((n: number) => n)).subscribe({ error: (e: unknown) => errors.push(e) });
      subject.error(new Error('source broke'));
      expect(errors).toEqual([new Error('source broke')]);
    });
  });

  describe('options', () => {
    it.each([
      [{ retry: 3 }, TypeError, /'retry' must be an object, got 3/],
      [{ retry: {} }, TypeError, /'retry.maxAttempts' must be a number/],
      [{ retry: { maxAttempts: 0 } }, RangeError, /'retry.maxAttempts'.*got 0/],
      [{ retry: { maxAttempts: 2.5 } }, RangeError, /'retry.maxAttempts'.*got 2.5/],
      [{ retry: { maxAttempts: 2, delayMs: -1 } }, RangeError, /'retry.delayMs'.*got -1/],
      [{ retry: { maxAttempts: 2, maxDelayMs: NaN } }, RangeError, /'retry.maxDelayMs'.*NaN/],
      [{ retry: { maxAttempts: 2, backoff: 'linear' } }, TypeError, /'retry.backoff'.*'linear'/],
      [{ retry: { maxAttempts: 2, jitter: 'yes' } }, TypeError, /'retry.jitter'.*'yes'/],
      [{ retry: { maxAttempts: 2, shouldRetry: true } }, TypeError, /'retry.shouldRetry'/],
      [{ fallback: 0 }, TypeError, /'fallback' must be a function, got 0/],
      [{ onError: 'log' }, TypeError, /'onError' must be a function, got 'log'/],
      [{ bufferCapacity: 0 }, RangeError, /'bufferCapacity'.*got 0/],
      [{ overflow: 'sometimes' }, TypeError, /'overflow'.*'sometimes'/],
      [{ overflow: 'block' }, TypeError, /cannot be 'block'/],
      [{ monitor: {} }, TypeError, /'monitor' must be a StreamMonitor/],
      [{ name: 42 }, TypeError, /'name' must be a string, got 42/],
    ])('refuses %p when the operator is created', (options, type, message) => {
      expect(() => tryMap((n: number) => n, options as never)).toThrow(type);
      expect(() => tryMap((n: number) => n, options as never)).toThrow(message);
    });

    it('refuses a project that is not a function, and options that are not an object', () => {
      expect(() => tryMap(42 as never)).toThrow(/needs a project function, got 42/);
      expect(() => tryMap((n: number) => n, [] as never)).toThrow(/'options' must be an object/);
    });

    it('accepts maxDelayMs: Infinity and a huge attempt count without overflowing the wait', async () => {
      jest.useFakeTimers();
      const out = lastValueFrom(
        of(1).pipe(
          tryMap(
            (n: number, { attempt }) => {
              if (attempt < 3) throw boom(n);
              return attempt;
            },
            { retry: { maxAttempts: 1e6, delayMs: 1, maxDelayMs: Infinity, jitter: false } },
          ),
        ),
      );
      await jest.advanceTimersByTimeAsync(3);
      await expect(out).resolves.toBe(3);
    });
  });

  describe('properties', () => {
    it('emits the input mapped, with fallbacks at exactly the failing positions, in order, on both paths', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 40 }),
          fc.array(fc.nat({ max: 39 }), { maxLength: 20 }),
          fc.boolean(),
          async (items, failingList, async) => {
            const failing = new Set(failingList);
            const reported: number[] = [];
            const op = () =>
              tryMap(
                (n: number, { index }) => {
                  if (failing.has(index)) {
                    if (async) return Promise.reject(boom(n));
                    throw boom(n);
                  }
                  return async ? Promise.resolve(n * 2) : n * 2;
                },
                {
                  fallback: (_e, item, index) => `fallback ${item}@${index}`,
                  onError: ({ index }) => reported.push(index),
                },
              );
            const expected = items.map((n, i) => (failing.has(i) ? `fallback ${n}@${i}` : n * 2));
            const expectedReports = items.flatMap((_, i) => (failing.has(i) ? [i] : []));
            const mediator = mediatorFor(() => items);
            const viaIterate = await collect(mediator.createStream(new Numbers()).pipe(op()));
            expect(viaIterate).toEqual(expected);
            expect(reported).toEqual(expectedReports);
            reported.length = 0;
            const viaObservable = await lastValueFrom(
              mediator.createStream$(new Numbers()).pipe(op(), toArray()),
            );
            expect(viaObservable).toEqual(expected);
            expect(reported).toEqual(expectedReports);
          },
        ),
        { numRuns: 80 },
      );
    });
  });
});
