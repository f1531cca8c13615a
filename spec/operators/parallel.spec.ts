import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { from, lastValueFrom, map, Subject, toArray, filter } from 'rxjs';
import {
  BufferOverflowError,
  createMediator,
  handler,
  pullable,
  StreamRequest,
} from '../../src/index.js';
import { parallel } from '../../src/operators/parallel.js';
import { deferred, flushMicrotasks, type Deferred } from '../helpers/deferred.js';
import { countingSource } from '../helpers/countingSource.js';

class Numbers extends StreamRequest<number> {
  constructor(readonly count = Infinity) {
    super();
  }
}

function mediatorFor(source: () => AsyncIterable<number>) {
  return createMediator({ handlers: [handler(Numbers, () => source())] });
}

/** Tasks that finish only when the spec says so. */
function gatedTasks() {
  const gates: Deferred<void>[] = [];
  const running = { now: 0, max: 0, signals: [] as AbortSignal[] };
  const task = async (item: number, { signal }: { signal: AbortSignal }) => {
    running.now++;
    running.max = Math.max(running.max, running.now);
    running.signals.push(signal);
    const gate = deferred();
    gates[item] = gate;
    try {
      await gate.promise;
      return item * 10;
    } finally {
      running.now--;
    }
  };
  return { gates, running, task };
}

/** Starts iterating, as `for await` would. */
function open<T>(stream: AsyncIterable<T>): AsyncIterator<T> {
  return stream[Symbol.asyncIterator]();
}

const paths = {
  'for await (iterate)': <R>(
    mediator: ReturnType<typeof mediatorFor>,
    op: ReturnType<typeof parallel<number, R>>,
  ) => mediator.createStream(new Numbers()).pipe(op),
  'Observable (mergeMap)': <R>(
    mediator: ReturnType<typeof mediatorFor>,
    op: ReturnType<typeof parallel<number, R>>,
  ) => {
    const observable = mediator.createStream$(new Numbers()).pipe(op);
    // Read it with a one-at-a-time consumer: parallel's valve gates the pull source.
    return {
      async *[Symbol.asyncIterator]() {
        const items: R[] = [];
        let done = false;
        let error: unknown;
        let wake: (() => void) | undefined;
        const sub = observable.subscribe({
          next: (v) => {
            items.push(v);
            wake?.();
          },
          error: (e: unknown) => {
            error = e;
            done = true;
            wake?.();
          },
          complete: () => {
            done = true;
            wake?.();
          },
        });
        try {
          for (;;) {
            if (items.length > 0) {
              yield items.shift()!;
              continue;
            }
            if (error !== undefined) throw error;
            if (done) return;
            await new Promise<void>((r) => (wake = r));
          }
        } finally {
          sub.unsubscribe();
        }
      },
    } as AsyncIterable<R>;
  },
};

describe('parallel', () => {
  describe.each(Object.entries(paths))('on the %s path', (_name, openPath) => {
    it('runs at most `concurrency` tasks at once and reads the source only for free slots', async () => {
      const { state, source } = countingSource();
      const { gates, running, task } = gatedTasks();
      const iterator = open(openPath(mediatorFor(source), parallel(task, { concurrency: 3 })));
      const first = iterator.next();
      await flushMicrotasks(30);
      expect(running.now).toBe(3);
      expect(state.pulled).toBeLessThanOrEqual(3 + 1);
      gates[0]!.resolve();
      await expect(first).resolves.toEqual({ value: 0, done: false });
      await flushMicrotasks(30);
      expect(running.max).toBe(3);
      expect(state.pulled).toBeLessThanOrEqual(4 + 1);
      await iterator.return!();
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(true);
      expect(running.signals.every((s) => s.aborted)).toBe(true);
    });

    it('keeps input order when ordered, even when later tasks finish first', async () => {
      const { source } = countingSource(4);
      const { gates, task } = gatedTasks();
      const iterator = open(
        openPath(mediatorFor(source), parallel(task, { concurrency: 4, ordered: true })),
      );
      const first = iterator.next();
      await flushMicrotasks(30);
      gates[3]!.resolve();
      gates[2]!.resolve();
      gates[1]!.resolve();
      await flushMicrotasks(30);
      gates[0]!.resolve();
      const results = [
        await first,
        await iterator.next(),
        await iterator.next(),
        await iterator.next(),
      ];
      expect(results.slice(0, 4)).toEqual([0, 10, 20, 30].map((value) => ({ value, done: false })));
    });

    it('fails once with the first task error, after aborting the other tasks', async () => {
      const { state, source } = countingSource();
      const { gates, running, task } = gatedTasks();
      const failing = async (item: number, ctx: { signal: AbortSignal }) => {
        if (item === 1) throw new Error('boom');
        return task(item, ctx);
      };
      const iterator = open(openPath(mediatorFor(source), parallel(failing, { concurrency: 3 })));
      await expect(iterator.next()).rejects.toThrow('boom');
      expect(running.signals.length).toBeGreaterThan(0);
      expect(running.signals.every((s) => s.aborted)).toBe(true);
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(true);
      void gates;
    });
  });

  describe('on the for await path', () => {
    it('emits results as they complete when unordered', async () => {
      const { source } = countingSource(3);
      const { gates, task } = gatedTasks();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(parallel(task, { concurrency: 3, ordered: false })),
      );
      const firstRead = iterator.next();
      await flushMicrotasks(30);
      gates[2]!.resolve();
      await expect(firstRead).resolves.toEqual({ value: 20, done: false });
      gates[0]!.resolve();
      gates[1]!.resolve();
      await expect(iterator.next()).resolves.toEqual({ value: 0, done: false });
      await expect(iterator.next()).resolves.toEqual({ value: 10, done: false });
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('holds at most `concurrency` undelivered results when a slow consumer stops reading', async () => {
      const { state, source } = countingSource();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers())
          .pipe(parallel((n: number) => n, { concurrency: 5 })),
      );
      await iterator.next();
      await flushMicrotasks(50); // the consumer is "busy": nothing reads
      expect(state.pulled).toBeLessThanOrEqual(1 + 5 + 1);
      await iterator.return!();
    });

    it('takes concurrency and order from the stream options when not given', async () => {
      const { source } = countingSource();
      const { running, task } = gatedTasks();
      const mediator = mediatorFor(source);
      const iterator = open(
        mediator.createStream(new Numbers(), { maxDegreeOfParallelism: 2 }).pipe(parallel(task)),
      );
      void iterator.next();
      await flushMicrotasks(30);
      expect(running.now).toBe(2);
      await iterator.return!();
    });

    it("rejects a pending read with the caller's abort reason and aborts the tasks", async () => {
      const { state, source } = countingSource();
      const { running, task } = gatedTasks();
      const controller = new AbortController();
      const iterator = open(
        mediatorFor(source)
          .createStream(new Numbers(), { signal: controller.signal })
          .pipe(parallel(task, { concurrency: 2 })),
      );
      const read = iterator.next();
      await flushMicrotasks(30);
      controller.abort(new Error('stop'));
      await expect(read).rejects.toThrow('stop');
      expect(running.signals.every((s) => s.aborted)).toBe(true);
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(true);
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });

    it('passes a source error through once, after aborting running tasks', async () => {
      const { running, task } = gatedTasks();
      const mediator = createMediator({
        handlers: [
          handler(Numbers, async function* () {
            yield 0;
            throw new Error('source broke');
          }),
        ],
      });
      const iterator = open(
        mediator.createStream(new Numbers()).pipe(parallel(task, { concurrency: 2 })),
      );
      await expect(iterator.next()).rejects.toThrow('source broke');
      expect(running.signals[0]?.aborted).toBe(true);
      await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    });
  });

  describe('on the Observable path', () => {
    it('gates a pull source through synchronous operators (map, filter) so mergeMap never queues', async () => {
      const { state, source } = countingSource();
      const { gates, running, task } = gatedTasks();
      const results: number[] = [];
      const sub = pullable(source())
        .pipe(
          map((n) => n * 2),
          filter((n) => n % 4 === 0),
          parallel(task, { concurrency: 2 }),
        )
        .subscribe((v) => results.push(v));
      await flushMicrotasks(50);
      expect(running.now).toBe(2);
      // two tasks hold items 0 and 4 (0, 2 → 0 kept; 4 kept): at most one more read is pending
      expect(state.pulled).toBeLessThanOrEqual(4 + 1);
      gates[0]!.resolve();
      await flushMicrotasks(50);
      expect(results).toEqual([0]);
      expect(state.pulled).toBeLessThanOrEqual(6 + 1);
      sub.unsubscribe();
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(true);
    });

    it('buffers a push source up to bufferCapacity, then applies the overflow strategy', async () => {
      const subject = new Subject<number>();
      const { task } = gatedTasks();
      const errors: unknown[] = [];
      subject
        .pipe(parallel(task, { concurrency: 1, bufferCapacity: 2 }))
        .subscribe({ error: (e: unknown) => errors.push(e) });
      subject.next(0); // running
      subject.next(1); // waiting
      subject.next(2); // waiting
      expect(errors).toEqual([]);
      subject.next(3);
      expect(errors[0]).toBeInstanceOf(BufferOverflowError);
      expect(subject.observed).toBe(false);
    });

    it('drops and counts under a lossy strategy instead of failing', async () => {
      const subject = new Subject<number>();
      const { gates, task } = gatedTasks();
      const results: number[] = [];
      subject
        .pipe(parallel(task, { concurrency: 1, bufferCapacity: 1, overflow: 'dropOldest' }))
        .subscribe((v) => results.push(v));
      [0, 1, 2, 3].forEach((n) => subject.next(n)); // 0 runs; 1, 2 dropped; 3 waits
      gates[0]!.resolve();
      await flushMicrotasks(30);
      gates[3]!.resolve();
      await flushMicrotasks(30);
      expect(results).toEqual([0, 30]);
    });

    it('stops a synchronous source in the middle of its burst when the stage fails', () => {
      let emitted = 0;
      const errors: unknown[] = [];
      from(Array.from({ length: 100_000 }, (_, i) => i))
        .pipe(
          map((n) => (emitted++, n)),
          parallel(() => new Promise<number>(() => undefined), {
            concurrency: 1,
            bufferCapacity: 10,
          }),
        )
        .subscribe({ error: (e: unknown) => errors.push(e) });
      expect(errors[0]).toBeInstanceOf(BufferOverflowError);
      expect(emitted).toBe(12);
    });

    it('does not abort task signals after a normal completion', async () => {
      const signals: AbortSignal[] = [];
      await lastValueFrom(
        from([1, 2, 3]).pipe(
          parallel((n: number, { signal }) => (signals.push(signal), n)),
          toArray(),
        ),
      );
      expect(signals.some((s) => s.aborted)).toBe(false);
    });
  });

  describe('options', () => {
    it.each([
      [{ concurrency: 0 }, RangeError, /'concurrency'.*got 0/],
      [{ concurrency: 1.5 }, RangeError, /'concurrency'/],
      [{ ordered: 'yes' }, TypeError, /'ordered'.*'yes'/],
      [{ bufferCapacity: -1 }, RangeError, /'bufferCapacity'/],
      [{ overflow: 'sometimes' }, TypeError, /'overflow'/],
      [{ overflow: 'block' }, TypeError, /cannot be 'block'/],
    ])('refuses %p when the operator is created', (options, type, message) => {
      expect(() => parallel((n: number) => n, options as never)).toThrow(type);
      expect(() => parallel((n: number) => n, options as never)).toThrow(message);
    });

    it('refuses a task that is not a function', () => {
      expect(() => parallel(42 as never)).toThrow(/needs a task function, got 42/);
    });
  });

  describe('properties', () => {
    it('loses, duplicates and (when ordered) reorders nothing, for any inputs, concurrency and task timings', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer(), { maxLength: 40 }),
          fc.integer({ min: 1, max: 6 }),
          fc.boolean(),
          fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 10 }),
          async (items, concurrency, ordered, delays) => {
            const task = async (n: number, { index }: { index: number }) => {
              for (let i = 0; i < delays[index % delays.length]!; i++) await Promise.resolve();
              return n;
            };
            const mediator = createMediator({ handlers: [handler(Numbers, () => items)] });
            const viaIterate: number[] = [];
            for await (const n of mediator
              .createStream(new Numbers())
              .pipe(parallel(task, { concurrency, ordered })))
              viaIterate.push(n);
            const viaObservable = await lastValueFrom(
              mediator
                .createStream$(new Numbers())
                .pipe(parallel(task, { concurrency, ordered }), toArray()),
            );
            for (const out of [viaIterate, viaObservable]) {
              if (ordered) expect(out).toEqual(items);
              else expect([...out].sort((a, b) => a - b)).toEqual([...items].sort((a, b) => a - b));
            }
          },
        ),
        { numRuns: 60 },
      );
    });

    it('never reads more than concurrency + 1 items ahead of a slow consumer', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 1, max: 20 }),
          async (concurrency, reads) => {
            const { state, source } = countingSource();
            const iterator = open(
              mediatorFor(source)
                .createStream(new Numbers())
                .pipe(parallel(async (n: number) => n, { concurrency })),
            );
            for (let i = 0; i < reads; i++) {
              await iterator.next();
              await flushMicrotasks(20);
              expect(state.pulled - (i + 1)).toBeLessThanOrEqual(concurrency + 1);
            }
            await iterator.return!();
          },
        ),
        { numRuns: 40 },
      );
    });
  });
});

void jest;
