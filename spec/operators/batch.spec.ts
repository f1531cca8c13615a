import { afterEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { from, lastValueFrom, map, range, Subject, take, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { createMediator, handler, StreamRequest } from '../../src/index.js';
import { batch } from '../../src/operators/batch.js';
import { parallel } from '../../src/operators/parallel.js';
import { DEFAULT_PIPELINE } from '../../src/streaming/StreamPipelineOptions.js';
import { deferred, flushMicrotasks, type Deferred } from '../helpers/deferred.js';
import { trackedController } from '../helpers/signals.js';
import { countingSource } from '../helpers/countingSource.js';

class Numbers extends StreamRequest<number> {}

const DONE = { value: undefined, done: true } as const;
const item = <T>(value: T) => ({ value, done: false }) as const;

/** A source whose every read the spec settles by hand; records its reads and `return()`. */
function manualSource() {
  const reads: Deferred<IteratorResult<number>>[] = [];
  const state = { returned: false };
  const iterator: AsyncIterator<number> = {
    next: () => {
      const read = deferred<IteratorResult<number>>();
      reads.push(read);
      return read.promise;
    },
    return: () => {
      state.returned = true;
      return Promise.resolve({ value: undefined, done: true });
    },
  };
  const source = (): AsyncIterable<number> => ({ [Symbol.asyncIterator]: () => iterator });
  /** Settles read `index` with `value` (a number) or the end (`'done'`). */
  const answer = (index: number, value: number | 'done') =>
    reads[index]!.resolve(value === 'done' ? DONE : item(value));
  return { reads, state, source, answer };
}

function mediatorFor(source: () => AsyncIterable<number> | Iterable<number>) {
  return createMediator({ handlers: [handler(Numbers, () => source())] });
}

/** Starts iterating, as `for await` would. */
function open<T>(stream: AsyncIterable<T>): AsyncIterator<T> {
  return stream[Symbol.asyncIterator]();
}

type Op = ReturnType<typeof batch<number>>;

/** Runs the whole stream through `op` on each consumption path and collects the batches. */
const paths = {
  'for await (iterate)': async (source: () => AsyncIterable<number> | Iterable<number>, op: Op) => {
    const batches: number[][] = [];
    for await (const b of mediatorFor(source).createStream(new Numbers()).pipe(op)) batches.push(b);
    return batches;
  },
  'Observable (bufferCount)': (source: () => AsyncIterable<number> | Iterable<number>, op: Op) =>
    lastValueFrom(mediatorFor(source).createStream$(new Numbers()).pipe(op, toArray())),
};

const upTo = (n: number) => () => Array.from({ length: n }, (_, i) => i);

afterEach(() => {
  jest.useRealTimers();
});

describe('batch', () => {
  describe.each(Object.entries(paths))('on the %s path', (_name, run) => {
    it.each([
      [1, 3, [[0], [1], [2]]],
      [
        3,
        9,
        [
          [0, 1, 2],
          [3, 4, 5],
          [6, 7, 8],
        ],
      ],
      [
        4,
        10,
        [
          [0, 1, 2, 3],
          [4, 5, 6, 7],
          [8, 9],
        ],
      ],
      [5, 3, [[0, 1, 2]]],
    ])('cuts batches of %p from %p items, the last one partial', async (size, count, expected) => {
      await expect(run(upTo(count), batch(size))).resolves.toEqual(expected);
    });

    it('emits nothing for an empty source (never an empty batch)', async () => {
      await expect(run(upTo(0), batch(3))).resolves.toEqual([]);
      await expect(run(upTo(0), batch({ size: 3, maxWaitMs: 10 }))).resolves.toEqual([]);
    });

    it('cuts by count under count-or-time when items come faster than maxWaitMs', async () => {
      await expect(run(upTo(7), batch({ size: 3, maxWaitMs: 1000 }))).resolves.toEqual([
        [0, 1, 2],
        [3, 4, 5],
        [6],
      ]);
    });

    it('drops the partial batch and fails once when the source fails', async () => {
      const failing = async function* () {
        yield* [0, 1, 2, 3, 4];
        throw new Error('source broke');
      };
      const delivered: number[][] = [];
      const spy = batch<number>(3);
      const op = Object.assign((o: Observable<number>) => spy(o).pipe(map(record)), {
        iterate: (s: AsyncIterable<number>, c: Parameters<Op['iterate']>[1]) =>
          mapIterable(spy.iterate(s, c), record),
      });
      function record(b: number[]) {
        delivered.push(b);
        return b;
      }
      await expect(run(failing, op as Op)).rejects.toThrow('source broke');
      expect(delivered).toEqual([[0, 1, 2]]);
    });

    it('takes the size from the pipeline default when given none', async () => {
      const batches = await run(upTo(250), batch());
      expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
      const timed = await run(upTo(150), batch({ maxWaitMs: 1000 }));
      expect(timed.map((b) => b.length)).toEqual([100, 50]);
    });
  });

  describe('on the for await path', () => {
    it("takes the size from the stream's batchSize when given none", async () => {
      const batches: number[][] = [];
      for await (const b of mediatorFor(upTo(10))
        .createStream(new Numbers(), { batchSize: 4 })
        .pipe(batch())) {
        batches.push(b);
      }
      expect(batches).toEqual([
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
      ]);
    });

    it('reads the source only while a read waits: nothing ahead of a consumer that stopped reading', async () => {
      const { state, source } = countingSource();
      const iterator = open(mediatorFor(source).createStream(new Numbers()).pipe(batch(5)));
      await expect(iterator.next()).resolves.toEqual(item([0, 1, 2, 3, 4]));
      await flushMicrotasks(50); // the consumer is "busy"
      expect(state.pulled).toBeLessThanOrEqual(5 + 1);
      await expect(iterator.next()).resolves.toEqual(item([5, 6, 7, 8, 9]));
      await flushMicrotasks(50);
      expect(state.pulled).toBeLessThanOrEqual(10 + 1);
      await iterator.return!();
      expect(state.finallyRan).toBe(true);
    });

    it('keeps one source read in flight at a time', async () => {
      const { reads, source, answer } = manualSource();
      const iterator = open(mediatorFor(source).createStream(new Numbers()).pipe(batch(3)));
      const read = iterator.next();
      await flushMicrotasks();
      expect(reads).toHaveLength(1);
      answer(0, 0);
      await flushMicrotasks();
      expect(reads).toHaveLength(2);
      answer(1, 1);
      await flushMicrotasks();
      expect(reads).toHaveLength(3);
      answer(2, 2);
      await expect(read).resolves.toEqual(item([0, 1, 2]));
      expect(reads).toHaveLength(3);
      await iterator.return!();
    });

    it('flushes a partial batch maxWaitMs after its first item, and starts no timer while idle', async () => {
      jest.useFakeTimers();
      const { reads, source, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      let settled = false;
      const read = iterator.next().finally(() => (settled = true));
      await jest.advanceTimersByTimeAsync(500); // no item yet: no timer, no empty batch
      expect(settled).toBe(false);
      expect(jest.getTimerCount()).toBe(0);
      answer(0, 0); // the batch's first item starts its clock
      await flushMicrotasks();
      expect(jest.getTimerCount()).toBe(1);
      await jest.advanceTimersByTimeAsync(30);
      answer(1, 1);
      await jest.advanceTimersByTimeAsync(19);
      expect(settled).toBe(false);
      await jest.advanceTimersByTimeAsync(1); // 50 ms after item 0, not after item 1
      await expect(read).resolves.toEqual(item([0, 1]));
      expect(jest.getTimerCount()).toBe(0);
      expect(reads).toHaveLength(3); // read 2 was in flight when the timer fired
      await iterator.return!();
    });

    it('puts the item whose read was in flight when the timer fired into the next batch', async () => {
      jest.useFakeTimers();
      const { reads, source, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      const first = iterator.next();
      await flushMicrotasks();
      answer(0, 0);
      await jest.advanceTimersByTimeAsync(50);
      await expect(first).resolves.toEqual(item([0]));
      answer(1, 1); // lands while nobody reads: starts the next batch and its clock
      await flushMicrotasks();
      expect(reads).toHaveLength(2); // and no further read starts until the consumer asks
      expect(jest.getTimerCount()).toBe(1);
      const second = iterator.next();
      await flushMicrotasks();
      answer(2, 2);
      await flushMicrotasks();
      answer(3, 3);
      await expect(second).resolves.toEqual(item([1, 2, 3]));
      expect(jest.getTimerCount()).toBe(0);
      await iterator.return!();
    });

    it('hands out a batch whose time ran out while the consumer was busy at the next read', async () => {
      jest.useFakeTimers();
      const { reads, source, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      const first = iterator.next();
      await flushMicrotasks();
      answer(0, 0);
      await jest.advanceTimersByTimeAsync(50);
      await expect(first).resolves.toEqual(item([0]));
      answer(1, 1);
      await jest.advanceTimersByTimeAsync(50); // item 1's batch is due; the consumer is busy
      expect(jest.getTimerCount()).toBe(0);
      await expect(iterator.next()).resolves.toEqual(item([1]));
      expect(reads).toHaveLength(2); // served without reading
      await iterator.return!();
    });

    it('delivers the final partial batch on completion and clears its timer', async () => {
      jest.useFakeTimers();
      const { source, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      const read = iterator.next();
      await flushMicrotasks();
      answer(0, 0);
      await flushMicrotasks();
      answer(1, 'done');
      await expect(read).resolves.toEqual(item([0]));
      expect(jest.getTimerCount()).toBe(0);
      await expect(iterator.next()).resolves.toEqual(DONE);
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('ends without a batch when the source ends during a read that outlived its batch', async () => {
      jest.useFakeTimers();
      const { source, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      const read = iterator.next();
      await flushMicrotasks();
      answer(0, 0);
      await jest.advanceTimersByTimeAsync(50);
      await expect(read).resolves.toEqual(item([0]));
      answer(1, 'done'); // nobody reads
      await flushMicrotasks();
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('ends a read waiting for the rest of a batch when the source ends after that read outlived the timer', async () => {
      jest.useFakeTimers();
      const { reads, source, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      const first = iterator.next();
      await flushMicrotasks();
      answer(0, 0);
      await jest.advanceTimersByTimeAsync(50);
      await expect(first).resolves.toEqual(item([0]));
      const second = iterator.next(); // joins the read still in flight
      await flushMicrotasks();
      expect(reads).toHaveLength(2); // no second read beside it
      answer(1, 'done');
      await expect(second).resolves.toEqual(DONE);
    });

    it('clears the timer and the partial batch on return()', async () => {
      jest.useFakeTimers();
      const { state, source, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      const read = iterator.next();
      await flushMicrotasks();
      answer(0, 0);
      await flushMicrotasks();
      expect(jest.getTimerCount()).toBe(1);
      await expect(iterator.return!()).resolves.toEqual(DONE);
      await expect(read).resolves.toEqual(DONE);
      expect(jest.getTimerCount()).toBe(0);
      expect(state.returned).toBe(true);
      await expect(iterator.next()).resolves.toEqual(DONE);
      await expect(iterator.return!()).resolves.toEqual(DONE);
    });

    it('closes the source at once on return() while a source next() is pending', async () => {
      const gate = deferred();
      const state = { finallyRan: false, yieldedAfterGate: false };
      const mediator = createMediator({
        handlers: [
          handler(Numbers, async function* () {
            try {
              yield 0;
              await gate.promise; // the second read hangs here
              state.yieldedAfterGate = true;
              yield 1;
            } finally {
              state.finallyRan = true;
            }
          }),
        ],
      });
      const iterator = open(mediator.createStream(new Numbers()).pipe(batch(3)));
      const read = iterator.next();
      await flushMicrotasks();
      // return() settles the waiting read and does not wait for the stuck generator
      await expect(iterator.return!()).resolves.toEqual(DONE);
      await expect(read).resolves.toEqual(DONE);
      gate.resolve(); // a generator runs its finally once its pending await is over
      await flushMicrotasks(20);
      expect(state.finallyRan).toBe(true);
      expect(state.yieldedAfterGate).toBe(true);
    });

    it('calls return() on a source whose next() is pending, without waiting for that next()', async () => {
      const { reads, state, source } = manualSource();
      const iterator = open(mediatorFor(source).createStream(new Numbers()).pipe(batch(3)));
      void iterator.next();
      await flushMicrotasks();
      expect(reads).toHaveLength(1);
      const closing = iterator.return!();
      expect(state.returned).toBe(true);
      await expect(closing).resolves.toEqual(DONE);
      reads[0]!.reject(new Error('ignored: the stage is closed'));
      await flushMicrotasks();
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('copes with a source that has no return()', async () => {
      let reads = 0;
      const bare: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.resolve(item(reads++)),
        }),
      };
      const context = { signal: undefined, options: DEFAULT_PIPELINE, stream: 'Numbers' };
      const first = open(batch<number>(2).iterate(bare, context));
      await expect(first.next()).resolves.toEqual(item([0, 1]));
      await expect(first.return!()).resolves.toEqual(DONE);
      const second = open(batch<number>(2).iterate(bare, context));
      const read = second.next(); // a read in flight
      await expect(second.return!()).resolves.toEqual(DONE);
      await expect(read).resolves.toEqual(DONE);
    });

    it("rejects a pending read with the caller's abort reason, closes the source and unlinks", async () => {
      jest.useFakeTimers();
      const { controller, signal, listeners } = trackedController();
      const { state, source, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers(), { signal })
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      const read = iterator.next();
      await flushMicrotasks();
      answer(0, 0);
      await flushMicrotasks();
      expect(jest.getTimerCount()).toBe(1);
      controller.abort(new Error('stop'));
      await expect(read).rejects.toThrow('stop');
      expect(state.returned).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
      expect(listeners()).toBe(0);
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('reports an abort between reads at the next read, once', async () => {
      const { controller, signal, listeners } = trackedController();
      const { state, source } = countingSource();
      const iterator = open(
        mediatorFor(source).createStream(new Numbers(), { signal }).pipe(batch(2)),
      );
      await expect(iterator.next()).resolves.toEqual(item([0, 1]));
      controller.abort(new Error('stop'));
      await expect(iterator.next()).rejects.toThrow('stop');
      await expect(iterator.next()).resolves.toEqual(DONE);
      await flushMicrotasks(20);
      expect(state.finallyRan).toBe(true);
      expect(listeners()).toBe(0);
    });

    it('refuses to start when the signal is already aborted', async () => {
      const controller = new AbortController();
      const { state, source } = countingSource();
      const context = { signal: controller.signal, options: DEFAULT_PIPELINE, stream: 'Numbers' };
      controller.abort(new Error('too late'));
      const iterator = open(batch<number>(2).iterate(source(), context));
      await expect(iterator.next()).rejects.toThrow('too late');
      expect(state.pulled).toBe(0);
    });

    it('removes its abort listener after a normal end', async () => {
      const { signal, listeners } = trackedController();
      const batches: number[][] = [];
      for await (const b of mediatorFor(upTo(5))
        .createStream(new Numbers(), { signal })
        .pipe(batch(2))) {
        batches.push(b);
      }
      expect(batches).toEqual([[0, 1], [2, 3], [4]]);
      expect(listeners()).toBe(0);
    });

    it('passes a source error through once and clears the timer', async () => {
      jest.useFakeTimers();
      const { state, source, reads, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      const read = iterator.next();
      await flushMicrotasks();
      answer(0, 0);
      await flushMicrotasks();
      reads[1]!.reject(new Error('source broke'));
      await expect(read).rejects.toThrow('source broke');
      expect(jest.getTimerCount()).toBe(0);
      expect(state.returned).toBe(true);
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('reports an error from a read that outlived its batch at the next read', async () => {
      jest.useFakeTimers();
      const { source, reads, answer } = manualSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(batch({ size: 3, maxWaitMs: 50 })),
      );
      const read = iterator.next();
      await flushMicrotasks();
      answer(0, 0);
      await jest.advanceTimersByTimeAsync(50);
      await expect(read).resolves.toEqual(item([0]));
      reads[1]!.reject(new Error('late failure'));
      await flushMicrotasks();
      await expect(iterator.next()).rejects.toThrow('late failure');
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('turns a source next() that throws into a rejected read', async () => {
      const throwing: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({
          next: () => {
            throw new Error('sync throw');
          },
        }),
      };
      const context = { signal: undefined, options: DEFAULT_PIPELINE, stream: 'Numbers' };
      const iterator = open(batch<number>(2).iterate(throwing, context));
      await expect(iterator.next()).rejects.toThrow('sync throw');
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('refuses a second next() while one is pending', async () => {
      const { source } = manualSource();
      const iterator = open(mediatorFor(source).createStream(new Numbers()).pipe(batch(2)));
      void iterator.next();
      await expect(iterator.next()).rejects.toThrow(/before the previous next\(\) settled/);
      await iterator.return!();
    });
  });

  describe('on the for await path, over sources that hold items already', () => {
    class Ticks extends StreamRequest<number> {}

    it('takes a batch from a synchronous generator in one call, reading no further', async () => {
      let pulled = 0;
      let finallyRan = false;
      function* naturals() {
        try {
          for (let i = 0; ; i++) {
            pulled++;
            yield i;
          }
        } finally {
          finallyRan = true;
        }
      }
      const iterator = open(
        createMediator({ handlers: [handler(Numbers, () => naturals())] })
          .createStream(new Numbers())
          .pipe(batch(10)),
      );
      await expect(iterator.next()).resolves.toEqual(item([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
      expect(pulled).toBe(10);
      await expect(iterator.next()).resolves.toEqual(
        item([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]),
      );
      expect(pulled).toBe(20);
      await iterator.return!();
      expect(finallyRan).toBe(true);
    });

    it('delivers the final partial batch when a synchronous source ends inside a take', async () => {
      const batches: number[][] = [];
      for await (const b of mediatorFor(upTo(25)).createStream(new Numbers()).pipe(batch(10))) {
        batches.push(b);
      }
      expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
      expect(batches.flat()).toEqual(upTo(25)());
    });

    it('drops the partial batch and fails once when a synchronous source throws inside a take', async () => {
      function* failing() {
        yield 1;
        yield 2;
        throw new Error('bad row');
      }
      const iterator = open(mediatorFor(failing).createStream(new Numbers()).pipe(batch(10)));
      await expect(iterator.next()).rejects.toThrow('bad row');
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('takes the items a push source buffered while the consumer was busy in one call', async () => {
      const ticks = new Subject<number>();
      const iterator = open(
        createMediator({ handlers: [handler(Ticks, () => ticks)] })
          .createStream(new Ticks(), { bufferCapacity: 100 })
          .pipe(batch(4)),
      );
      const first = iterator.next();
      await flushMicrotasks();
      for (let i = 0; i < 10; i++) ticks.next(i);
      await expect(first).resolves.toEqual(item([0, 1, 2, 3]));
      await expect(iterator.next()).resolves.toEqual(item([4, 5, 6, 7]));
      const last = iterator.next();
      ticks.next(10);
      ticks.complete();
      await expect(last).resolves.toEqual(item([8, 9, 10]));
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('still starts the clock of a batch begun by a take', async () => {
      jest.useFakeTimers();
      const ticks = new Subject<number>();
      const iterator = open(
        createMediator({ handlers: [handler(Ticks, () => ticks)] })
          .createStream(new Ticks())
          .pipe(batch({ size: 10, maxWaitMs: 50 })),
      );
      const first = iterator.next();
      await flushMicrotasks();
      ticks.next(1);
      ticks.next(2);
      await jest.advanceTimersByTimeAsync(50);
      await expect(first).resolves.toEqual(item([1, 2]));
      ticks.next(3);
      ticks.next(4); // buffered while no read waits
      const second = iterator.next(); // takes 3 and 4 at once, starting the batch's clock
      await jest.advanceTimersByTimeAsync(49);
      let settled = false;
      void second.then(() => (settled = true));
      await flushMicrotasks();
      expect(settled).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await expect(second).resolves.toEqual(item([3, 4]));
      await iterator.return!();
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('on the Observable path', () => {
    it('lets a pull source see the valve of a parallel stage through it', async () => {
      const { state, source } = countingSource();
      const gates: Deferred<void>[] = [];
      const results: number[][] = [];
      const sub = mediatorFor(source)
        .createStream$(new Numbers())
        .pipe(
          batch(10),
          parallel(
            async (b: number[]) => {
              const gate = deferred();
              gates.push(gate);
              await gate.promise;
              return b;
            },
            { concurrency: 2 },
          ),
        )
        .subscribe((b) => results.push(b));
      await flushMicrotasks(200);
      expect(gates).toHaveLength(2);
      expect(state.pulled).toBeLessThanOrEqual(2 * 10 + 2);
      gates[0]!.resolve();
      await flushMicrotasks(200);
      expect(results).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
      expect(gates).toHaveLength(3);
      expect(state.pulled).toBeLessThanOrEqual(3 * 10 + 2);
      sub.unsubscribe();
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(true);
    });

    it('lets a pull source see the valve through a count-or-time batch too', async () => {
      const { state, source } = countingSource();
      const gates: Deferred<void>[] = [];
      const sub = mediatorFor(source)
        .createStream$(new Numbers())
        .pipe(
          batch({ size: 10, maxWaitMs: 60_000 }),
          parallel(
            async (b: number[]) => {
              const gate = deferred();
              gates.push(gate);
              await gate.promise;
              return b;
            },
            { concurrency: 2 },
          ),
        )
        .subscribe();
      await flushMicrotasks(200);
      expect(gates).toHaveLength(2);
      expect(state.pulled).toBeLessThanOrEqual(2 * 10 + 2);
      sub.unsubscribe();
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(true);
    });

    it('cuts by count or time (marbles)', () => {
      new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(
        ({ cold, expectObservable, expectSubscriptions }) => {
          const source = cold('-a-b------c-d-e-f|');
          const expected = '   ------x-------y--(z|)';
          expectObservable(source.pipe(batch({ size: 3, maxWaitMs: 5 }))).toBe(expected, {
            x: ['a', 'b'],
            y: ['c', 'd', 'e'],
            z: ['f'],
          });
          expectSubscriptions(source.subscriptions).toBe('^----------------!');
        },
      );
    });

    it('emits nothing while idle and drops the partial batch on error (marbles)', () => {
      new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(
        ({ cold, expectObservable }) => {
          const idle = cold('-a 20ms b-#');
          expectObservable(idle.pipe(batch({ size: 3, maxWaitMs: 5 }))).toBe('------x 17ms #', {
            x: ['a'],
          });
        },
      );
    });

    it('clears its timer on completion, error and unsubscription', () => {
      jest.useFakeTimers();
      const subject = new Subject<number>();
      const batches: number[][] = [];
      subject.pipe(batch({ size: 3, maxWaitMs: 50 })).subscribe((b) => batches.push(b));
      subject.next(1);
      expect(jest.getTimerCount()).toBe(1);
      jest.advanceTimersByTime(49);
      expect(batches).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(batches).toEqual([[1]]);
      expect(jest.getTimerCount()).toBe(0);
      subject.next(2);
      subject.complete();
      expect(batches).toEqual([[1], [2]]);
      expect(jest.getTimerCount()).toBe(0);

      const failing = new Subject<number>();
      const errors: unknown[] = [];
      failing.pipe(batch({ size: 3, maxWaitMs: 50 })).subscribe({ error: (e) => errors.push(e) });
      failing.next(1);
      failing.error(new Error('boom'));
      expect(errors).toHaveLength(1);
      expect(jest.getTimerCount()).toBe(0);

      const abandoned = new Subject<number>();
      const sub = abandoned.pipe(batch({ size: 3, maxWaitMs: 50 })).subscribe();
      abandoned.next(1);
      sub.unsubscribe();
      expect(jest.getTimerCount()).toBe(0);
      expect(abandoned.observed).toBe(false);
    });

    it('stops a synchronous source in the middle of its burst when the consumer unsubscribes', () => {
      let emitted = 0;
      const batches: number[][] = [];
      range(0, 1_000_000)
        .pipe(
          map((n) => (emitted++, n)),
          batch({ size: 3, maxWaitMs: 50 }),
          take(2),
        )
        .subscribe((b) => batches.push(b));
      expect(batches).toEqual([
        [0, 1, 2],
        [3, 4, 5],
      ]);
      expect(emitted).toBe(6);
    });

    it('uses RxJS bufferCount semantics for count-only batches', async () => {
      await expect(lastValueFrom(from([1, 2, 3, 4, 5]).pipe(batch(2), toArray()))).resolves.toEqual(
        [[1, 2], [3, 4], [5]],
      );
    });
  });

  describe('options', () => {
    it.each([
      [0, RangeError, /'size'.*got 0/],
      [1.5, RangeError, /'size'.*got 1\.5/],
      [NaN, RangeError, /'size'.*got NaN/],
      [{ size: -1 }, RangeError, /'size'.*got -1/],
      [{ size: '10' }, TypeError, /'size'.*'10'/],
      [{ maxWaitMs: 0 }, RangeError, /'maxWaitMs'.*got 0/],
      [{ maxWaitMs: -5 }, RangeError, /'maxWaitMs'.*got -5/],
      [{ maxWaitMs: Infinity }, RangeError, /'maxWaitMs'.*got Infinity/],
      [{ maxWaitMs: NaN }, RangeError, /'maxWaitMs'.*got NaN/],
      [{ maxWaitMs: '50' }, TypeError, /'maxWaitMs'.*'50'/],
      ['10', TypeError, /size or an options object.*'10'/],
      [null, TypeError, /size or an options object.*null/],
      [[10], TypeError, /size or an options object.*\[10\]/],
    ])('refuses %p when the operator is created', (options, type, message) => {
      expect(() => batch(options as never)).toThrow(type);
      expect(() => batch(options as never)).toThrow(message);
    });

    it('accepts a fractional maxWaitMs', () => {
      expect(() => batch({ size: 2, maxWaitMs: 0.5 })).not.toThrow();
    });
  });

  describe('properties', () => {
    it('gives back the input exactly, in full batches but the last, none empty, on both paths', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer(), { maxLength: 60 }),
          fc.integer({ min: 1, max: 12 }),
          fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
          async (items, size, maxWaitMs) => {
            const op = () => batch<number>(maxWaitMs === undefined ? size : { size, maxWaitMs });
            const mediator = createMediator({ handlers: [handler(Numbers, () => items)] });
            const viaIterate: number[][] = [];
            for await (const b of mediator.createStream(new Numbers()).pipe(op())) {
              viaIterate.push(b);
            }
            const viaObservable = await lastValueFrom(
              mediator.createStream$(new Numbers()).pipe(op(), toArray()),
            );
            for (const batches of [viaIterate, viaObservable]) {
              expect(batches.flat()).toEqual(items);
              expect(batches.every((b) => b.length > 0)).toBe(true);
              expect(batches.slice(0, -1).every((b) => b.length === size)).toBe(true);
              expect(batches.length).toBe(Math.ceil(items.length / size));
            }
          },
        ),
        { numRuns: 100 },
      );
    });

    it('never reads more than one item ahead of a slow consumer', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 10 }),
          fc.integer({ min: 1, max: 8 }),
          async (size, reads) => {
            const { state, source } = countingSource();
            const iterator = open(
              mediatorFor(source).createStream(new Numbers()).pipe(batch(size)),
            );
            for (let i = 0; i < reads; i++) {
              await iterator.next();
              await flushMicrotasks(20);
              expect(state.pulled - (i + 1) * size).toBeLessThanOrEqual(1);
            }
            await iterator.return!();
            expect(state.finallyRan).toBe(true);
          },
        ),
        { numRuns: 40 },
      );
    });
  });
});

/** Maps an AsyncIterable lazily (a spy between a stage and its consumer). */
function mapIterable<T, R>(source: AsyncIterable<T>, fn: (value: T) => R): AsyncIterable<R> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      return {
        next: async () => {
          const result = await iterator.next();
          return result.done ? result : { value: fn(result.value), done: false };
        },
        return: async () => {
          await iterator.return?.();
          return DONE;
        },
      };
    },
  };
}
