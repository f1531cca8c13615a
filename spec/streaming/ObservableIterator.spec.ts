import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { from, Observable, of, Subject, throwError, concat } from 'rxjs';
import {
  BufferOverflowError,
  createMediator,
  handler,
  StreamRequest,
  streamBehavior,
} from '../../src/index.js';
import { ObservableIterator } from '../../src/streaming/ObservableIterator.js';

const DONE = { value: undefined, done: true };

/** Reads an iterator to its end; returns the items and the error it failed with, if any. */
async function readAll<T>(iterator: AsyncIterator<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for (;;) {
      const result = await iterator.next();
      if (result.done) return { items, error: undefined };
      items.push(result.value);
    }
  } catch (error) {
    return { items, error };
  }
}

/** A source that records how it is used. */
function observedSource<T>(
  subscribe: (subscriber: { next(v: T): void; complete(): void; closed: boolean }) => void,
) {
  const stats = { subscriptions: 0, teardowns: 0, emitted: 0 };
  const source = new Observable<T>((subscriber) => {
    stats.subscriptions++;
    subscribe({
      next: (v) => {
        stats.emitted++;
        subscriber.next(v);
      },
      complete: () => subscriber.complete(),
      get closed() {
        return subscriber.closed;
      },
    });
    return () => {
      stats.teardowns++;
    };
  });
  return { source, stats };
}

describe('ObservableIterator', () => {
  it('does not subscribe before the first next()', async () => {
    const { source, stats } = observedSource<number>((s) => s.next(1));
    const iterator = new ObservableIterator(source, 10);
    expect(stats.subscriptions).toBe(0);
    await expect(iterator.next()).resolves.toEqual({ value: 1, done: false });
    expect(stats.subscriptions).toBe(1);
  });

  it('delivers every item of a source that emits synchronously, then stays done', async () => {
    const iterator = new ObservableIterator(of(1, 2, 3), 10);
    expect(await readAll(iterator)).toEqual({ items: [1, 2, 3], error: undefined });
    await expect(iterator.next()).resolves.toEqual(DONE);
  });

  it('delivers the items emitted before an error first, then rejects once with that error unchanged', async () => {
    const boom = new Error('boom');
    const iterator = new ObservableIterator(
      concat(
        of('a', 'b'),
        throwError(() => boom),
      ),
      10,
    );
    await expect(iterator.next()).resolves.toEqual({ value: 'a', done: false });
    await expect(iterator.next()).resolves.toEqual({ value: 'b', done: false });
    await expect(iterator.next()).rejects.toBe(boom);
    await expect(iterator.next()).resolves.toEqual(DONE);
  });

  it('resolves a pending next() with the next item the source pushes', async () => {
    const subject = new Subject<number>();
    const iterator = new ObservableIterator(subject, 10);
    const pending = iterator.next();
    subject.next(7);
    await expect(pending).resolves.toEqual({ value: 7, done: false });
  });

  it('rejects a pending next() when the source fails', async () => {
    const subject = new Subject<number>();
    const iterator = new ObservableIterator(subject, 10);
    const pending = iterator.next();
    const boom = new Error('boom');
    subject.error(boom);
    await expect(pending).rejects.toBe(boom);
    await expect(iterator.next()).resolves.toEqual(DONE);
  });

  it('resolves a pending next() with done when the source completes', async () => {
    const subject = new Subject<number>();
    const iterator = new ObservableIterator(subject, 10);
    const pending = iterator.next();
    subject.complete();
    await expect(pending).resolves.toEqual(DONE);
  });

  it('return() while a next() is pending resolves both with done and unsubscribes the source', async () => {
    const { source, stats } = observedSource<number>(() => undefined);
    const iterator = new ObservableIterator(source, 10);
    const pending = iterator.next();
    expect(stats.teardowns).toBe(0);
    await expect(iterator.return!()).resolves.toEqual(DONE);
    expect(stats.teardowns).toBe(1);
    await expect(pending).resolves.toEqual(DONE);
    await expect(iterator.next()).resolves.toEqual(DONE);
  });

  it('return() drops buffered items: the next read is done', async () => {
    const subject = new Subject<number>();
    const iterator = new ObservableIterator(subject, 10);
    const first = iterator.next();
    subject.next(1);
    subject.next(2);
    subject.next(3);
    await expect(first).resolves.toEqual({ value: 1, done: false });
    await iterator.return!();
    expect(subject.observed).toBe(false);
    await expect(iterator.next()).resolves.toEqual(DONE);
  });

  it('rejects a second next() issued before the first one settled', async () => {
    const subject = new Subject<number>();
    const iterator = new ObservableIterator(subject, 10);
    const first = iterator.next();
    await expect(iterator.next()).rejects.toThrow(
      'next() called again before the previous next() settled.',
    );
    subject.next(1);
    await expect(first).resolves.toEqual({ value: 1, done: false });
  });

  describe('overflow', () => {
    it('fails with BufferOverflowError after delivering the buffered items, and unsubscribes at the overflow', async () => {
      const subject = new Subject<number>();
      const iterator = new ObservableIterator(subject, 2);
      const first = iterator.next(); // a waiting reader takes the first item directly
      subject.next(0);
      subject.next(1);
      subject.next(2); // buffer full
      expect(subject.observed).toBe(true);
      subject.next(3); // overflow
      expect(subject.observed).toBe(false);
      await expect(first).resolves.toEqual({ value: 0, done: false });
      const { items, error } = await readAll(iterator);
      expect(items).toEqual([1, 2]);
      expect(error).toBeInstanceOf(BufferOverflowError);
      expect((error as BufferOverflowError).capacity).toBe(2);
      expect((error as Error).message).toContain('capacity 2');
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('stops a synchronous source at the overflow instead of letting it run to its end', async () => {
      // Regression: the subscription used to be known only after subscribe() returned, so a
      // synchronous source kept emitting (forever, if it was infinite) after the overflow.
      const { source, stats } = observedSource<number>((s) => {
        for (let i = 0; i < 1_000_000 && !s.closed; i++) s.next(i);
        s.complete();
      });
      const { items, error } = await readAll(new ObservableIterator(source, 10));
      expect(items).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(error).toBeInstanceOf(BufferOverflowError);
      expect(stats.emitted).toBe(11);
      expect(stats.teardowns).toBe(1);
    });

    it('loses nothing when a slow reader lets the source fill the buffer exactly to capacity', async () => {
      const subject = new Subject<number>();
      const iterator = new ObservableIterator(subject, 3);
      const first = iterator.next(); // subscribes
      subject.next(0);
      const read = [(await first).value as number];
      for (let round = 0; round < 4; round++) {
        for (let i = 1; i <= 3; i++) subject.next(round * 3 + i); // three items while nobody reads
        for (let i = 0; i < 3; i++) {
          const result = await iterator.next();
          if (!result.done) read.push(result.value);
        }
      }
      subject.complete();
      await expect(iterator.next()).resolves.toEqual(DONE);
      expect(read).toEqual(Array.from({ length: 13 }, (_, i) => i));
    });
  });
});

describe('ObservableIterator (properties)', () => {
  class Numbers extends StreamRequest<number> {
    constructor(readonly values: readonly number[]) {
      super();
    }
  }

  it('delivers exactly the source array through createStream when the buffer holds it all', async () => {
    const mediator = createMediator({ handlers: [handler(Numbers, (req) => from(req.values))] });
    await fc.assert(
      fc.asyncProperty(
        fc
          .array(fc.integer(), { maxLength: 200 })
          .chain((values) =>
            fc.tuple(
              fc.constant(values),
              fc.integer({ min: Math.max(1, values.length), max: 400 }),
            ),
          ),
        async ([values, bufferCapacity]) => {
          const out: number[] = [];
          for await (const n of mediator.createStream(new Numbers(values), { bufferCapacity }))
            out.push(n);
          expect(out).toEqual(values);
        },
      ),
    );
  });

  it('keeps every item, once and in order, through any number of pass-through stream behaviors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer(), { maxLength: 100 }),
        fc.nat({ max: 6 }),
        async (values, depth) => {
          const behaviors = Array.from({ length: depth }, () =>
            streamBehavior<Numbers>(async function* (req, next) {
              for await (const item of next()) yield item;
            }),
          );
          const mediator = createMediator({
            handlers: [
              handler(Numbers, async function* (req) {
                yield* req.values;
              }),
            ],
            behaviors,
          });
          const out: number[] = [];
          for await (const n of mediator.createStream(new Numbers(values))) out.push(n);
          expect(out).toEqual(values);
        },
      ),
    );
  });
});
