import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { from, Observable, Subject, take } from 'rxjs';
import {
  createMediator,
  handler,
  StreamRequest,
  type HandlerContext,
  type StreamSource,
} from '../../src/index.js';
import { isStreamTimeoutError, StreamTimeoutError } from '../../src/errors/StreamTimeoutError.js';
import { parallel } from '../../src/operators/parallel.js';
import { streamTimeout, type StreamTimeoutOptions } from '../../src/operators/streamTimeout.js';
import { deferred, flushMicrotasks } from '../helpers/deferred.js';
import { trackedController } from '../helpers/signals.js';

/** Items 0, 1, 2, …: item i comes `gaps[i]` ms after the handler is asked for it (Infinity: never). */
class Feed extends StreamRequest<number> {
  constructor(readonly gaps: readonly number[]) {
    super();
  }
}

/** A fake-timer wait that ends early, rejecting with the reason, when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer =
      ms === Infinity
        ? undefined
        : setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Run {
  signal: AbortSignal;
  pulled: number;
  finallyRan: boolean;
}

/** A mediator whose Feed handler is a generator that waits (cooperatively) before each item. */
function feedMediator() {
  const runs: Run[] = [];
  const feed = async function* (request: Feed, context: HandlerContext) {
    const run: Run = { signal: context.signal, pulled: 0, finallyRan: false };
    runs.push(run);
    try {
      for (let i = 0; i < request.gaps.length; i++) {
        await sleep(request.gaps[i]!, context.signal);
        run.pulled++;
        yield i;
      }
    } finally {
      run.finallyRan = true;
    }
  };
  const mediator = createMediator({
    handlers: [handler(Feed, feed as (r: Feed, c: HandlerContext) => StreamSource<number>)],
  });
  return { mediator, runs };
}

interface Outcome {
  items: number[];
  error: unknown;
}

/** Reads the stream to its end with `for await`; `onError` runs the moment the error arrives. */
async function drain(stream: AsyncIterable<number>, onError?: () => void): Promise<Outcome> {
  const items: number[] = [];
  try {
    for await (const item of stream) items.push(item);
  } catch (error) {
    onError?.();
    return { items, error };
  }
  return { items, error: undefined };
}

/** Subscribes and records what arrives; `onError` runs the moment the error arrives. */
function drain$(stream: Observable<number>, onError?: () => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const items: number[] = [];
    stream.subscribe({
      next: (item) => items.push(item),
      error: (error: unknown) => {
        onError?.();
        resolve({ items, error });
      },
      complete: () => resolve({ items, error: undefined }),
    });
  });
}

const paths = {
  'for await': (
    mediator: ReturnType<typeof feedMediator>['mediator'],
    gaps: number[],
    options: StreamTimeoutOptions,
    onError?: () => void,
  ) => drain(mediator.createStream(new Feed(gaps)).pipe(streamTimeout<number>(options)), onError),
  Observable: (
    mediator: ReturnType<typeof feedMediator>['mediator'],
    gaps: number[],
    options: StreamTimeoutOptions,
    onError?: () => void,
  ) => drain$(mediator.createStream$(new Feed(gaps)).pipe(streamTimeout<number>(options)), onError),
};

function expectTimeout(error: unknown, kind: StreamTimeoutError['kind'], ms: number): void {
  expect(error).toBeInstanceOf(StreamTimeoutError);
  expect(isStreamTimeoutError(error)).toBe(true);
  expect(error).toMatchObject({ kind, ms });
}

function open<T>(stream: AsyncIterable<T>): AsyncIterator<T> {
  return stream[Symbol.asyncIterator]();
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('streamTimeout', () => {
  describe.each(Object.entries(paths))('on the %s path', (_name, run) => {
    it.each<[string, number[], StreamTimeoutOptions, number[], StreamTimeoutError['kind'], number]>(
      [
        ['first item is late', [150, 10], { firstMs: 100, idleMs: 500 }, [], 'first', 100],
        ['next item is late', [10, 10, 150], { idleMs: 100 }, [0, 1], 'idle', 100],
        ['first item is late and only idleMs is set', [150], { idleMs: 100 }, [], 'idle', 100],
        ['stream runs too long', [50, 50, 50, 50], { totalMs: 120 }, [0, 1], 'total', 120],
        [
          'stream runs too long though each item is in time',
          [40, 40, 40, 40],
          { firstMs: 50, idleMs: 50, totalMs: 130 },
          [0, 1, 2],
          'total',
          130,
        ],
      ],
    )(
      'fails when the %s, naming the limit, and closes the source',
      async (_case, gaps, options, delivered, kind, ms) => {
        const { mediator, runs } = feedMediator();
        let closedFirst: boolean | undefined;
        const outcome = run(mediator, gaps, options, () => (closedFirst = runs[0]!.signal.aborted));
        await jest.advanceTimersByTimeAsync(1000);
        const { items, error } = await outcome;
        expect(items).toEqual(delivered);
        expectTimeout(error, kind, ms);
        expect((error as Error).message).toContain(`${ms} ms`);
        expect(runs).toHaveLength(1);
        expect(closedFirst).toBe(true); // the handler's signal aborted before the consumer heard
        await flushMicrotasks();
        expect(runs[0]!.finallyRan).toBe(true);
        expect(jest.getTimerCount()).toBe(0);
      },
    );

    it('does not fire when every item and the end arrive in time', async () => {
      const { mediator, runs } = feedMediator();
      const outcome = run(mediator, [90, 90, 90, 90], { firstMs: 100, idleMs: 100, totalMs: 400 });
      await jest.advanceTimersByTimeAsync(1000);
      expect(await outcome).toEqual({ items: [0, 1, 2, 3], error: undefined });
      expect(runs[0]!.finallyRan).toBe(true);
      expect(runs[0]!.signal.aborted).toBe(false);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('lets the first item take firstMs even when idleMs is shorter', async () => {
      const { mediator } = feedMediator();
      const outcome = run(mediator, [150, 50], { firstMs: 200, idleMs: 100 });
      await jest.advanceTimersByTimeAsync(1000);
      expect(await outcome).toEqual({ items: [0, 1], error: undefined });
      expect(jest.getTimerCount()).toBe(0);
    });

    it('measures each idle wait on its own: short waits do not add up', async () => {
      const { mediator } = feedMediator();
      const outcome = run(mediator, Array(20).fill(60) as number[], { idleMs: 100 });
      await jest.advanceTimersByTimeAsync(2000);
      expect((await outcome).error).toBeUndefined();
      expect((await outcome).items).toHaveLength(20);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('passes a source error through once and clears its timers', async () => {
      const mediator = createMediator({
        handlers: [
          handler(Feed, async function* () {
            yield 0;
            await sleep(10);
            throw new Error('source broke');
          }),
        ],
      });
      const outcome = run(mediator as never, [], { firstMs: 100, idleMs: 100, totalMs: 1000 });
      await jest.advanceTimersByTimeAsync(50);
      const { items, error } = await outcome;
      expect(items).toEqual([0]);
      expect(error).toEqual(new Error('source broke'));
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('on the for await path', () => {
    /** A pull source with items ready at once, counting reads. */
    function pullSource() {
      const state = { pulled: 0, finallyRan: false };
      const mediator = createMediator({
        handlers: [
          handler(Feed, async function* () {
            try {
              for (let i = 0; ; i++) {
                state.pulled++;
                yield i;
              }
            } finally {
              state.finallyRan = true;
            }
          }),
        ],
      });
      return { state, mediator };
    }

    it('does not count the time the consumer spends on an item as idle time', async () => {
      const { state, mediator } = pullSource();
      const iterator = open(
        mediator.createStream(new Feed([])).pipe(streamTimeout<number>({ idleMs: 100 })),
      );
      for (let i = 0; i < 5; i++) {
        await expect(iterator.next()).resolves.toEqual({ value: i, done: false });
        await jest.advanceTimersByTimeAsync(1000); // the consumer works 10 × idleMs
      }
      expect(state.pulled).toBeLessThanOrEqual(5 + 1);
      await iterator.return!();
      expect(state.finallyRan).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('rejects the next read when totalMs passes while the consumer is busy, closing the source at once', async () => {
      const { state, mediator } = pullSource();
      const iterator = open(
        mediator.createStream(new Feed([])).pipe(streamTimeout<number>({ totalMs: 100 })),
      );
      await expect(iterator.next()).resolves.toEqual({ value: 0, done: false });
      await jest.advanceTimersByTimeAsync(150); // busy: no read pending
      expect(state.finallyRan).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
      const read = iterator.next();
      await expect(read).rejects.toBeInstanceOf(StreamTimeoutError);
      await expect(read).rejects.toMatchObject({ kind: 'total', ms: 100 });
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('drops an unreported timeout when the consumer leaves', async () => {
      const { mediator } = pullSource();
      const iterator = open(
        mediator.createStream(new Feed([])).pipe(streamTimeout<number>({ totalMs: 100 })),
      );
      await iterator.next();
      await jest.advanceTimersByTimeAsync(150);
      await expect(iterator.return!()).resolves.toEqual({ value: undefined, done: true });
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('rejects a pending read at once even when the source ignores its signal, closing it in the background', async () => {
      const stuck = deferred<number>();
      let context: HandlerContext | undefined;
      const mediator = createMediator({
        handlers: [
          handler(Feed, async function* (_request: Feed, ctx: HandlerContext) {
            context = ctx;
            yield await stuck.promise; // deaf to the signal
          }),
        ],
      });
      const iterator = open(
        mediator.createStream(new Feed([])).pipe(streamTimeout<number>({ firstMs: 100 })),
      );
      const read = iterator.next();
      const settled = jest.fn();
      read.then(settled, settled);
      await jest.advanceTimersByTimeAsync(100);
      expect(settled).toHaveBeenCalledTimes(1);
      await expect(read).rejects.toMatchObject({ kind: 'first', ms: 100 });
      expect(context?.signal.aborted).toBe(true);
      stuck.resolve(1); // the late item is never delivered
      await flushMicrotasks();
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
      expect(jest.getTimerCount()).toBe(0);
    });

    it("rejects a pending read with the caller's abort reason, closes the source and unlinks", async () => {
      const { mediator, runs } = feedMediator();
      const { controller, signal, listeners } = trackedController();
      const before = listeners();
      const iterator = open(
        mediator
          .createStream(new Feed([Infinity]), { signal })
          .pipe(streamTimeout<number>({ firstMs: 100, totalMs: 1000 })),
      );
      const read = iterator.next();
      await jest.advanceTimersByTimeAsync(50);
      controller.abort(new Error('stop'));
      await expect(read).rejects.toThrow('stop');
      await flushMicrotasks();
      expect(runs[0]!.signal.aborted).toBe(true);
      expect(runs[0]!.finallyRan).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
      expect(listeners()).toBe(before);
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('fails the first read with the reason of a signal aborted before it', async () => {
      const { mediator, runs } = feedMediator();
      const controller = new AbortController();
      const iterator = open(
        mediator
          .createStream(new Feed([10]), { signal: controller.signal })
          .pipe(streamTimeout<number>({ totalMs: 100 })),
      );
      controller.abort(new Error('too late'));
      await expect(iterator.next()).rejects.toThrow('too late');
      expect(runs).toHaveLength(0);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('removes its abort listener and timers when the stream completes', async () => {
      const { mediator } = feedMediator();
      const { signal, listeners } = trackedController();
      const before = listeners();
      const outcome = drain(
        mediator
          .createStream(new Feed([10, 10]), { signal })
          .pipe(streamTimeout<number>({ idleMs: 100, totalMs: 1000 })),
      );
      await jest.advanceTimersByTimeAsync(100);
      expect(await outcome).toEqual({ items: [0, 1], error: undefined });
      expect(listeners()).toBe(before);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('closes the source and clears its timers on return(), even while a read is pending', async () => {
      const { mediator, runs } = feedMediator();
      const { signal, listeners } = trackedController();
      const before = listeners();
      const iterator = open(
        mediator
          .createStream(new Feed([10, Infinity]), { signal })
          .pipe(streamTimeout<number>({ firstMs: 100, idleMs: 100, totalMs: 1000 })),
      );
      const first = iterator.next();
      await jest.advanceTimersByTimeAsync(10);
      await expect(first).resolves.toEqual({ value: 0, done: false });
      const pending = iterator.next();
      await expect(iterator.return!()).resolves.toEqual({ value: undefined, done: true });
      await expect(pending).resolves.toEqual({ value: undefined, done: true });
      await flushMicrotasks();
      expect(runs[0]!.signal.aborted).toBe(true);
      expect(runs[0]!.finallyRan).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
      expect(listeners()).toBe(before);
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
      await expect(iterator.return!()).resolves.toEqual({ value: undefined, done: true });
    });

    it('closes the source on return() between reads, and before the first read', async () => {
      const { state, mediator } = pullSource();
      const stream = mediator
        .createStream(new Feed([]))
        .pipe(streamTimeout<number>({ idleMs: 50 }));
      const iterator = open(stream);
      await iterator.next();
      await iterator.return!();
      expect(state.finallyRan).toBe(true);
      await expect(open(stream).return!()).resolves.toEqual({ value: undefined, done: true });
      expect(jest.getTimerCount()).toBe(0);
    });

    it('refuses a second next() while one is pending', async () => {
      const { mediator } = feedMediator();
      const iterator = open(
        mediator.createStream(new Feed([10])).pipe(streamTimeout<number>({ idleMs: 100 })),
      );
      const first = iterator.next();
      await expect(iterator.next()).rejects.toThrow(/called again/);
      await jest.advanceTimersByTimeAsync(10);
      await expect(first).resolves.toEqual({ value: 0, done: false });
      await iterator.return!();
    });

    it('works over a source without return()', async () => {
      // Two items at once, then nothing ever.
      const bare: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => {
          let n = 0;
          return {
            next: () =>
              n < 2
                ? Promise.resolve({ value: n++, done: false })
                : new Promise<IteratorResult<number>>(() => undefined),
          };
        },
      };
      const context = { signal: undefined } as never; // the stage reads only the signal
      const timed = open(streamTimeout<number>({ idleMs: 100 }).iterate(bare, context));
      await expect(timed.next()).resolves.toEqual({ value: 0, done: false });
      await expect(timed.return!()).resolves.toEqual({ value: undefined, done: true });
      const failing = open(streamTimeout<number>({ idleMs: 100 }).iterate(bare, context));
      await failing.next();
      await failing.next();
      const read = expect(failing.next()).rejects.toMatchObject({ kind: 'idle' });
      await jest.advanceTimersByTimeAsync(100);
      await read;
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('on the Observable path', () => {
    it('does not count idle time while a downstream parallel stage is full', async () => {
      const { mediator, runs } = feedMediator();
      const results: number[] = [];
      const errors: unknown[] = [];
      let completed = false;
      mediator
        .createStream$(new Feed([10, 10, 10]))
        .pipe(
          streamTimeout<number>({ idleMs: 100 }),
          parallel(
            async (n: number, { signal }) => {
              await sleep(1000, signal); // 10 × idleMs with the only slot taken
              return n;
            },
            { concurrency: 1 },
          ),
        )
        .subscribe({
          next: (n) => results.push(n),
          error: (e: unknown) => errors.push(e),
          complete: () => (completed = true),
        });
      await jest.advanceTimersByTimeAsync(5000);
      expect(errors).toEqual([]);
      expect(results).toEqual([0, 1, 2]);
      expect(completed).toBe(true);
      expect(runs[0]!.pulled).toBe(3);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('still fires when the source is slow while the downstream stage has room', async () => {
      const { mediator, runs } = feedMediator();
      const outcome = drain$(
        mediator.createStream$(new Feed([10, 10, 500])).pipe(
          streamTimeout<number>({ idleMs: 100 }),
          parallel(
            async (n: number, { signal }) => {
              await sleep(1000, signal);
              return n;
            },
            { concurrency: 1 },
          ),
        ),
      );
      await jest.advanceTimersByTimeAsync(5000);
      const { items, error } = await outcome;
      // item 1 finishes at ~2020 ms; item 2 is asked for then and never comes within 100 ms
      expect(items).toEqual([0, 1]);
      expectTimeout(error, 'idle', 100);
      expect(runs[0]!.signal.aborted).toBe(true);
      expect(runs[0]!.finallyRan).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('starts idle time for a push source once the downstream stage has worked off its backlog', async () => {
      const subject = new Subject<number>();
      const finished: number[] = [];
      const outcome = drain$(
        subject.pipe(
          streamTimeout<number>({ idleMs: 100 }),
          parallel(
            async (n: number, { signal }) => {
              await sleep(1000, signal);
              finished.push(n);
              return n;
            },
            { concurrency: 1, bufferCapacity: 5 },
          ),
        ),
      );
      subject.next(0); // runs
      subject.next(1); // waits in parallel's buffer: still no room
      subject.next(2);
      await jest.advanceTimersByTimeAsync(3000 + 99);
      expect(finished).toEqual([0, 1, 2]);
      expect(jest.getTimerCount()).toBe(1); // only the idle clock, running since 3000 ms
      await jest.advanceTimersByTimeAsync(1);
      const { items, error } = await outcome;
      expect(items).toEqual([0, 1, 2]);
      expectTimeout(error, 'idle', 100);
      expect(subject.observed).toBe(false);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('counts idle time between emissions for a push source and a plain subscriber', async () => {
      const subject = new Subject<number>();
      const outcome = drain$(subject.pipe(streamTimeout<number>({ idleMs: 100 })));
      await jest.advanceTimersByTimeAsync(90);
      subject.next(1);
      await jest.advanceTimersByTimeAsync(90);
      subject.next(2);
      await jest.advanceTimersByTimeAsync(100);
      const { items, error } = await outcome;
      expect(items).toEqual([1, 2]);
      expectTimeout(error, 'idle', 100);
      expect(subject.observed).toBe(false);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('counts firstMs and totalMs from the subscription', async () => {
      const subject = new Subject<number>();
      const outcome = drain$(subject.pipe(streamTimeout<number>({ firstMs: 100 })));
      await jest.advanceTimersByTimeAsync(100);
      expectTimeout((await outcome).error, 'first', 100);
      expect(subject.observed).toBe(false);
    });

    it('clears its timers when a synchronous source completes during subscribe', () => {
      const results: number[] = [];
      from([1, 2, 3])
        .pipe(streamTimeout<number>({ firstMs: 10, idleMs: 10, totalMs: 10 }))
        .subscribe((n) => results.push(n));
      expect(results).toEqual([1, 2, 3]);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('arms no timer after a downstream take() unsubscribes inside next()', () => {
      const subject = new Subject<number>();
      subject.pipe(streamTimeout<number>({ idleMs: 10, totalMs: 10 }), take(1)).subscribe();
      subject.next(1);
      expect(subject.observed).toBe(false);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('clears its timers and closes the source on unsubscribe, also while waiting for room', async () => {
      const { mediator, runs } = feedMediator();
      const subscription = mediator
        .createStream$(new Feed([10, 10]))
        .pipe(
          streamTimeout<number>({ firstMs: 50, idleMs: 100, totalMs: 1000 }),
          parallel((n: number) => new Promise<number>(() => void n), { concurrency: 1 }),
        )
        .subscribe();
      await jest.advanceTimersByTimeAsync(500); // item 0 holds the only slot
      subscription.unsubscribe();
      await flushMicrotasks();
      expect(runs[0]!.signal.aborted).toBe(true);
      expect(runs[0]!.finallyRan).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('options', () => {
    it.each([
      [{ firstMs: 0 }, RangeError, /'firstMs'.*got 0\b/],
      [{ idleMs: -5 }, RangeError, /'idleMs'.*got -5/],
      [{ totalMs: Infinity }, RangeError, /'totalMs'.*got Infinity/],
      [{ idleMs: NaN }, RangeError, /'idleMs'.*got NaN/],
      [{ totalMs: 2 ** 31 }, RangeError, /'totalMs'.*2147483647.*got 2147483648/],
      [{ firstMs: '100' }, TypeError, /'firstMs'.*number.*got '100'/],
      [{}, TypeError, /at least one of 'firstMs', 'idleMs' or 'totalMs'/],
      [undefined, TypeError, /at least one of/],
      [null, TypeError, /'options'.*got null/],
      [{ firstMs: undefined }, TypeError, /at least one of/],
    ])('refuses %p when the operator is created', (options, type, message) => {
      expect(() => streamTimeout(options as never)).toThrow(type);
      expect(() => streamTimeout(options as never)).toThrow(message);
    });

    it('accepts any one limit, fractions included', () => {
      expect(() => streamTimeout({ firstMs: 1 })).not.toThrow();
      expect(() => streamTimeout({ idleMs: 0.5 })).not.toThrow();
      expect(() => streamTimeout({ totalMs: 2 ** 31 - 1 })).not.toThrow();
    });
  });
});
