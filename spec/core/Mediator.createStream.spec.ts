import { describe, expect, it } from '@jest/globals';
import { Observable, of, range, Subject, tap } from 'rxjs';
import {
  BufferOverflowError,
  createMediator,
  handler,
  HandlerNotFoundError,
  InvalidHandlerResultError,
  isAbortError,
  Query,
  StreamRequest,
  type HandlerContext,
  type StreamSource,
} from '../../src/index.js';
import { deferred, flushMicrotasks } from '../helpers/deferred.js';
import { trackedController } from '../helpers/signals.js';
import { collect } from '../helpers/collect.js';

class Numbers extends StreamRequest<number> {}
class Unhandled extends StreamRequest<number> {}
class GetNumber extends Query<number> {}

const DONE = { value: undefined, done: true } as const;

/** A mediator whose only stream handler is `impl`, registered under the name 'NumbersHandler'. */
function mediatorFor(impl: (request: Numbers, context: HandlerContext) => unknown) {
  return createMediator({
    handlers: [
      handler(Numbers, impl as (r: Numbers, c: HandlerContext) => StreamSource<number>, {
        name: 'NumbersHandler',
      }),
    ],
  });
}

function iteratorOf<T>(stream: AsyncIterable<T>): AsyncIterator<T> {
  return stream[Symbol.asyncIterator]();
}

/** A promise that rejects with the signal's reason when it aborts, and never settles otherwise. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
  );
}

describe('Mediator.createStream', () => {
  describe('handler results', () => {
    it.each<[string, () => unknown]>([
      [
        'an async generator',
        () =>
          (async function* () {
            yield 1;
            yield 2;
            yield 3;
          })(),
      ],
      [
        'a sync generator',
        () =>
          (function* () {
            yield 1;
            yield 2;
            yield 3;
          })(),
      ],
      ['an array', () => [1, 2, 3]],
      ['a synchronous Observable', () => of(1, 2, 3)],
      [
        'an asynchronous Observable',
        () =>
          new Observable<number>((s) => {
            void Promise.resolve().then(() => {
              s.next(1);
              s.next(2);
              s.next(3);
              s.complete();
            });
          }),
      ],
      [
        'a promise of an AsyncIterable',
        async () =>
          (async function* () {
            yield* [1, 2, 3];
          })(),
      ],
      ['a promise of an Observable', () => Promise.resolve(of(1, 2, 3))],
    ])('yields every item of %s in order', async (_, result) => {
      await expect(collect(mediatorFor(result).createStream(new Numbers()))).resolves.toEqual([
        1, 2, 3,
      ]);
    });

    it.each<[string, () => unknown, string]>([
      ['undefined', () => undefined, 'returned undefined'],
      ['null', () => null, 'returned null'],
      ['42', () => 42, 'returned a number that is not a stream source'],
      ['a plain object', () => ({}), 'returned an object that is not a stream source'],
      ['a string', () => 'abc', 'returned a string that is not a stream source'],
      ['a promise of undefined', () => Promise.resolve(undefined), 'returned undefined'],
    ])(
      'fails the first next() with InvalidHandlerResultError naming the handler when it returns %s',
      async (_, result, problem) => {
        const stream = mediatorFor(result).createStream(new Numbers());
        const iterator = stream[Symbol.asyncIterator](); // neither of these throws
        const error = await iterator.next().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidHandlerResultError);
        const invalid = error as InvalidHandlerResultError;
        expect(invalid.handlerName).toBe('NumbersHandler');
        expect(invalid.messageName).toBe('Numbers');
        expect(invalid.message).toContain("Handler 'NumbersHandler' for 'Numbers'");
        expect(invalid.message).toContain(problem);
        await expect(iterator.next()).resolves.toEqual(DONE);
      },
    );

    it('rejects the first next() with the error a handler throws synchronously, unchanged, and aborts its signal', async () => {
      const boom = new Error('boom');
      let context: HandlerContext | undefined;
      const stream = mediatorFor((_, ctx) => {
        context = ctx;
        throw boom;
      }).createStream(new Numbers());
      const iterator = stream[Symbol.asyncIterator]();
      await expect(iterator.next()).rejects.toBe(boom);
      expect(context?.signal.aborted).toBe(true);
      await expect(iterator.next()).resolves.toEqual(DONE);
    });
    it('rejects once with the rejection of a handler that returns a rejected promise, then is done', async () => {
      // Regression: a source that failed to open used to re-reject every later next().
      const boom = new Error('boom');
      const iterator = iteratorOf(
        mediatorFor(() => Promise.reject(boom)).createStream(new Numbers()),
      );
      await expect(iterator.next()).rejects.toBe(boom);
      await expect(iterator.next()).resolves.toEqual(DONE);
    });
    it('rejects with the error a sync generator throws, after the items before it', async () => {
      const boom = new Error('boom');
      const iterator = iteratorOf(
        mediatorFor(function* () {
          yield 1;
          throw boom;
        }).createStream(new Numbers()),
      );
      await expect(iterator.next()).resolves.toEqual({ value: 1, done: false });
      await expect(iterator.next()).rejects.toBe(boom);
    });

    it("runs a sync generator's finally when the consumer breaks", async () => {
      let finallyRan = false;
      const stream = mediatorFor(function* () {
        try {
          yield* [1, 2, 3];
        } finally {
          finallyRan = true;
        }
      }).createStream(new Numbers());
      for await (const n of stream) if (n === 1) break;
      expect(finallyRan).toBe(true);
    });

    it('runs the finally of an AsyncIterable that a promise delivered when the consumer breaks', async () => {
      let finallyRan = false;
      const stream = mediatorFor(async () =>
        (async function* () {
          try {
            yield* [1, 2, 3];
          } finally {
            finallyRan = true;
          }
        })(),
      ).createStream(new Numbers());
      for await (const n of stream) if (n === 1) break;
      expect(finallyRan).toBe(true);
    });

    it('closes a source that a promise delivers only after return() was called', async () => {
      const source = deferred<AsyncIterable<number>>();
      let closed = 0;
      const iterator = iteratorOf(mediatorFor(() => source.promise).createStream(new Numbers()));
      const pending = iterator.next();
      await expect(iterator.return!()).resolves.toEqual(DONE);
      source.resolve({
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.resolve({ value: 1, done: false as const }),
          return: () => {
            closed++;
            return Promise.resolve({ value: undefined, done: true as const });
          },
        }),
      });
      await expect(pending).resolves.toEqual(DONE);
      await flushMicrotasks();
      expect(closed).toBe(1);
    });
  });

  describe('laziness', () => {
    it('does not run the handler before the first next()', async () => {
      let runs = 0;
      const stream = mediatorFor(() => {
        runs++;
        return [1];
      }).createStream(new Numbers());
      const iterator = stream[Symbol.asyncIterator]();
      expect(runs).toBe(0);
      await iterator.next();
      expect(runs).toBe(1);
    });

    it('runs the handler again for each [Symbol.asyncIterator]() call', async () => {
      let runs = 0;
      const stream = mediatorFor(() => [++runs]).createStream(new Numbers());
      expect(await collect(stream)).toEqual([1]);
      expect(await collect(stream)).toEqual([2]);
      expect(runs).toBe(2);
    });
  });

  describe('routing and options', () => {
    it('throws HandlerNotFoundError at once when no handler handles the request', () => {
      const mediator = mediatorFor(() => []);
      expect(() => mediator.createStream(new Unhandled())).toThrow(HandlerNotFoundError);
      expect(() => mediator.createStream(new Unhandled())).toThrow(
        "No stream handler is registered for 'Unhandled'.",
      );
    });

    it.each<[string, unknown, string]>([
      [
        'a plain object',
        { id: 1 },
        'createStream() needs a StreamRequest instance, got an instance of Object.',
      ],
      ['a number', 42, 'createStream() needs a StreamRequest instance, got number 42.'],
      ['null', null, 'createStream() needs a StreamRequest instance, got null.'],
      [
        'a query',
        new GetNumber(),
        "createStream() cannot dispatch 'GetNumber': it is a request message; use send().",
      ],
    ])('throws a TypeError at once for %s', (_, value, message) => {
      const mediator = mediatorFor(() => []);
      expect(() => mediator.createStream(value as Numbers)).toThrow(TypeError);
      expect(() => mediator.createStream(value as Numbers)).toThrow(message);
    });

    it('throws a RangeError naming bufferCapacity at once when it is not a whole number ≥ 1', () => {
      const mediator = mediatorFor(() => []);
      expect(() => mediator.createStream(new Numbers(), { bufferCapacity: 0 })).toThrow(RangeError);
      expect(() => mediator.createStream(new Numbers(), { bufferCapacity: 0 })).toThrow(
        "Option 'bufferCapacity'",
      );
      expect(() => mediator.createStream(new Numbers(), { bufferCapacity: 0 })).toThrow('got 0');
    });

    it('throws a TypeError naming signal at once when it is not an AbortSignal', () => {
      const mediator = mediatorFor(() => []);
      const call = () =>
        mediator.createStream(new Numbers(), { signal: 'nope' as unknown as AbortSignal });
      expect(call).toThrow(TypeError);
      expect(call).toThrow("Option 'signal' must be an AbortSignal, got 'nope'.");
    });

    it('hands the caller correlation id and the message name to the handler context', async () => {
      let context: HandlerContext | undefined;
      const mediator = mediatorFor((_, ctx) => {
        context = ctx;
        return [1];
      });
      await collect(mediator.createStream(new Numbers(), { correlationId: 'corr-7' }));
      expect(context?.correlationId).toBe('corr-7');
      expect(context?.messageName).toBe('Numbers');
    });

    it('generates a correlation id when the caller gives none', async () => {
      let context: HandlerContext | undefined;
      await collect(
        mediatorFor((_, ctx) => {
          context = ctx;
          return [1];
        }).createStream(new Numbers()),
      );
      expect(context?.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('breaking out of for await', () => {
    it("runs the handler's finally and aborts its signal", async () => {
      let context: HandlerContext | undefined;
      let finallyRan = false;
      const mediator = mediatorFor(async function* (_, ctx) {
        context = ctx;
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          finallyRan = true;
        }
      });
      const seen: number[] = [];
      for await (const n of mediator.createStream(new Numbers())) {
        seen.push(n);
        if (n === 2) break;
      }
      // for await awaits return(), which awaits the generator's finally
      expect(seen).toEqual([0, 1, 2]);
      expect(finallyRan).toBe(true);
      expect(context?.signal.aborted).toBe(true);
    });

    it("removes its listener from the caller's signal", async () => {
      const { signal, listeners } = trackedController();
      const mediator = mediatorFor(async function* () {
        for (let i = 0; ; i++) yield i;
      });
      for await (const n of mediator.createStream(new Numbers(), { signal })) {
        expect(listeners()).toBe(1);
        if (n === 1) break;
      }
      expect(listeners()).toBe(0);
    });

    it('reaches the handler through its aborted signal while the handler awaits something', async () => {
      let finallyRan = false;
      const mediator = mediatorFor(async function* (_, ctx) {
        try {
          yield 1;
          await untilAborted(ctx.signal); // a generator busy here cannot take return() until this settles
          yield 2;
        } finally {
          finallyRan = true;
        }
      });
      const iterator = iteratorOf(mediator.createStream(new Numbers()));
      await expect(iterator.next()).resolves.toEqual({ value: 1, done: false });
      const pending = iterator.next();
      pending.catch(() => undefined);
      await flushMicrotasks();
      expect(finallyRan).toBe(false);
      await expect(iterator.return!()).resolves.toEqual(DONE);
      expect(finallyRan).toBe(true);
      // The read that was in flight fails with the abort the handler saw.
      const error = await pending.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAbortError(error)).toBe(true);
    });

    it('is done after return() and does not run the handler again', async () => {
      let runs = 0;
      const iterator = iteratorOf(
        mediatorFor(() => {
          runs++;
          return [1, 2, 3];
        }).createStream(new Numbers()),
      );
      await iterator.next();
      await iterator.return!();
      await expect(iterator.next()).resolves.toEqual(DONE);
      expect(runs).toBe(1);
    });

    it('return() before the first next() never runs the handler', async () => {
      let runs = 0;
      const iterator = iteratorOf(
        mediatorFor(() => {
          runs++;
          return [1];
        }).createStream(new Numbers()),
      );
      await expect(iterator.return!()).resolves.toEqual(DONE);
      await expect(iterator.next()).resolves.toEqual(DONE);
      expect(runs).toBe(0);
    });
  });

  describe("the caller's signal", () => {
    it('rejects a pending next() at once with the reason when the handler listens to its signal', async () => {
      const { controller, signal, listeners } = trackedController();
      const handlerFinally = deferred();
      let context: HandlerContext | undefined;
      const mediator = mediatorFor(async function* (_, ctx) {
        context = ctx;
        try {
          yield 1;
          await untilAborted(ctx.signal);
        } finally {
          handlerFinally.resolve();
        }
      });
      const iterator = iteratorOf(mediator.createStream(new Numbers(), { signal }));
      await iterator.next();
      const pending = iterator.next();
      let settled = false;
      pending.catch(() => (settled = true));
      await flushMicrotasks();
      expect(settled).toBe(false);
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await flushMicrotasks(2);
      expect(settled).toBe(true);
      await expect(pending).rejects.toBe(reason);
      expect(context?.signal.aborted).toBe(true);
      expect(context?.signal.reason).toBe(reason);
      await handlerFinally.promise;
      await expect(iterator.next()).resolves.toEqual(DONE);
      expect(listeners()).toBe(0);
    });

    it('rejects a pending next() at once with the reason even when the handler ignores its signal', async () => {
      const { controller, signal, listeners } = trackedController();
      const never = deferred<never>();
      let context: HandlerContext | undefined;
      const mediator = mediatorFor(async function* (_, ctx) {
        context = ctx;
        yield 1;
        await never.promise;
      });
      const iterator = iteratorOf(mediator.createStream(new Numbers(), { signal }));
      await iterator.next();
      const pending = iterator.next();
      let settled = false;
      pending.catch(() => (settled = true));
      await flushMicrotasks();
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await flushMicrotasks(2);
      expect(settled).toBe(true);
      await expect(pending).rejects.toBe(reason);
      expect(context?.signal.aborted).toBe(true);
      await expect(iterator.next()).resolves.toEqual(DONE);
      expect(listeners()).toBe(0);
    });

    it('fails the next read with the reason when the signal aborts between reads, and closes the handler', async () => {
      const { controller, signal } = trackedController();
      let finallyRan = false;
      const mediator = mediatorFor(async function* () {
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          finallyRan = true;
        }
      });
      const iterator = iteratorOf(mediator.createStream(new Numbers(), { signal }));
      await iterator.next();
      const reason = new Error('stop');
      controller.abort(reason);
      await expect(iterator.next()).rejects.toBe(reason);
      await flushMicrotasks();
      expect(finallyRan).toBe(true);
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('rejects the first next() with the reason of an already-aborted signal without running the handler or adding a listener', async () => {
      const { controller, signal, listeners } = trackedController();
      const reason = new Error('too late');
      controller.abort(reason);
      let runs = 0;
      const iterator = iteratorOf(
        mediatorFor(() => {
          runs++;
          return [1];
        }).createStream(new Numbers(), { signal }),
      );
      await expect(iterator.next()).rejects.toBe(reason);
      expect(runs).toBe(0);
      expect(listeners()).toBe(0);
      await expect(iterator.next()).resolves.toEqual(DONE);
    });

    it('removes its listener when the stream completes', async () => {
      const { signal, listeners } = trackedController();
      const stream = mediatorFor(() => [1, 2]).createStream(new Numbers(), { signal });
      const seen: number[] = [];
      for await (const n of stream) {
        seen.push(n);
        expect(listeners()).toBe(1);
      }
      expect(seen).toEqual([1, 2]);
      expect(listeners()).toBe(0);
    });

    it('passes a source error through unchanged, once, and removes its listener', async () => {
      const { signal, listeners } = trackedController();
      const boom = new Error('boom');
      const iterator = iteratorOf(
        mediatorFor(async function* () {
          yield 1;
          throw boom;
        }).createStream(new Numbers(), { signal }),
      );
      await expect(iterator.next()).resolves.toEqual({ value: 1, done: false });
      await expect(iterator.next()).rejects.toBe(boom);
      expect(listeners()).toBe(0);
      await expect(iterator.next()).resolves.toEqual(DONE);
    });
  });

  it('passes a source error through unchanged, once, without a caller signal', async () => {
    const boom = new Error('boom');
    const iterator = iteratorOf(
      mediatorFor(async function* () {
        yield 1;
        throw boom;
      }).createStream(new Numbers()),
    );
    await iterator.next();
    await expect(iterator.next()).rejects.toBe(boom);
    await expect(iterator.next()).resolves.toEqual(DONE);
  });

  it("hands out the source's own next() promise when the caller gives no signal (the hot path)", async () => {
    const promises: Promise<IteratorResult<number>>[] = [];
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          const promise = Promise.resolve({ value: promises.length, done: false as const });
          promises.push(promise);
          return promise;
        },
      }),
    };
    const iterator = iteratorOf(mediatorFor(() => source).createStream(new Numbers()));
    const first = iterator.next();
    const second = iterator.next();
    expect(first).toBe(promises[0]);
    expect(second).toBe(promises[1]);
    // With a signal the read is guarded, so it is a different promise.
    const guarded = iteratorOf(
      mediatorFor(() => source).createStream(new Numbers(), {
        signal: new AbortController().signal,
      }),
    ).next();
    expect(guarded).not.toBe(promises[2]);
    await expect(guarded).resolves.toEqual({ value: 2, done: false });
  });

  describe('Observable sources read with for await', () => {
    it('fails with BufferOverflowError(capacity 100) after delivering the 100 buffered items of a synchronous range(0, 5000)', async () => {
      let emitted = 0;
      const stream = mediatorFor(() => range(0, 5000).pipe(tap(() => emitted++))).createStream(
        new Numbers(),
        {
          bufferCapacity: 100,
        },
      );
      const delivered: number[] = [];
      let failure: unknown;
      try {
        for await (const n of stream) delivered.push(n);
      } catch (error) {
        failure = error;
      }
      // The source emits all at once inside subscribe(): 100 fit, the 101st overflows.
      expect(delivered).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(failure).toBeInstanceOf(BufferOverflowError);
      expect((failure as BufferOverflowError).capacity).toBe(100);
      expect(emitted).toBe(101); // and the source was stopped there
    });

    it("uses the mediator's streams.bufferCapacity when the call gives none", async () => {
      const mediator = createMediator({
        handlers: [handler(Numbers, () => range(0, 50))],
        streams: { bufferCapacity: 10 },
      });
      const delivered: number[] = [];
      await expect(
        (async () => {
          for await (const n of mediator.createStream(new Numbers())) delivered.push(n);
        })(),
      ).rejects.toEqual(expect.objectContaining({ name: 'BufferOverflowError', capacity: 10 }));
      expect(delivered).toHaveLength(10);
    });

    it('loses nothing from a Subject-like source that a slow consumer keeps within capacity', async () => {
      let sink!: { next(n: number): void; complete(): void };
      const mediator = mediatorFor(
        () =>
          new Observable<number>((subscriber) => {
            sink = subscriber;
            subscriber.next(0);
          }),
      );
      let produced = 1;
      const burst = (): void => {
        for (let i = 0; i < 5; i++) sink.next(produced++);
      };
      const received: number[] = [];
      for await (const n of mediator.createStream(new Numbers(), { bufferCapacity: 5 })) {
        received.push(n);
        if (received.length === produced) {
          // the buffer is empty: refill it to capacity while this consumer is still busy
          if (produced < 21) burst();
          else sink.complete();
        }
        await flushMicrotasks(); // slow work
      }
      expect(received).toEqual(Array.from({ length: 21 }, (_, i) => i));
    });

    it('return() unsubscribes the Observable and aborts the handler signal while a next() is pending', async () => {
      let tornDown = false;
      let context: HandlerContext | undefined;
      const mediator = mediatorFor(
        (_, ctx) =>
          new Observable<number>(() => {
            context = ctx;
            return () => {
              tornDown = true;
            };
          }),
      );
      const iterator = iteratorOf(mediator.createStream(new Numbers()));
      const pending = iterator.next();
      await flushMicrotasks();
      expect(tornDown).toBe(false);
      await expect(iterator.return!()).resolves.toEqual(DONE);
      expect(tornDown).toBe(true);
      expect(context?.signal.aborted).toBe(true);
      await expect(pending).resolves.toEqual(DONE);
    });

    it('unsubscribes the Observable when the caller signal aborts during a pending next()', async () => {
      const { controller, signal, listeners } = trackedController();
      const subject = new Subject<number>();
      const stream = mediatorFor(() => subject).createStream(new Numbers(), { signal });
      const iterator = stream[Symbol.asyncIterator]();
      const pending = iterator.next();
      await flushMicrotasks();
      expect(subject.observed).toBe(true);
      const reason = new Error('stop');
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      expect(subject.observed).toBe(false);
      expect(listeners()).toBe(0);
    });
  });
});
