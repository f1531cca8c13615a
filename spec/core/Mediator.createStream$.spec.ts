import { describe, expect, it } from '@jest/globals';
import { firstValueFrom, lastValueFrom, Observable, range, take, toArray } from 'rxjs';
import {
  createMediator,
  handler,
  HandlerNotFoundError,
  InvalidHandlerResultError,
  StreamRequest,
  type HandlerContext,
  type StreamSource,
} from '../../src/index.js';
import { deferred, flushMicrotasks, type Deferred } from '../helpers/deferred.js';
import { trackedController } from '../helpers/signals.js';

class Numbers extends StreamRequest<number> {}
class Unhandled extends StreamRequest<number> {}

function mediatorFor(impl: (request: Numbers, context: HandlerContext) => unknown) {
  return createMediator({
    handlers: [
      handler(Numbers, impl as (r: Numbers, c: HandlerContext) => StreamSource<number>, {
        name: 'NumbersHandler',
      }),
    ],
  });
}

/** Subscribes and records what arrives. */
function record<T>(source: Observable<T>) {
  const log = { values: [] as T[], error: undefined as unknown, completed: false };
  const subscription = source.subscribe({
    next: (v) => log.values.push(v),
    error: (e: unknown) => (log.error = e),
    complete: () => (log.completed = true),
  });
  return { log, subscription };
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
  );
}

describe('Mediator.createStream$', () => {
  it('passes an Observable from the handler straight through: a synchronous range(0, 10000) arrives whole, synchronously', () => {
    const mediator = mediatorFor(() => range(0, 10_000));
    const { log } = record(mediator.createStream$(new Numbers(), { bufferCapacity: 1 }));
    // No bridge, no buffer: every item arrived inside subscribe(), and a capacity of 1 did not matter.
    expect(log.values).toHaveLength(10_000);
    expect(log.values[9_999]).toBe(9_999);
    expect(log.error).toBeUndefined();
    expect(log.completed).toBe(true);
  });

  it('emits the items of an async generator in order and completes', async () => {
    const mediator = mediatorFor(async function* () {
      yield* [1, 2, 3];
    });
    await expect(
      lastValueFrom(mediator.createStream$(new Numbers()).pipe(toArray())),
    ).resolves.toEqual([1, 2, 3]);
  });

  it('emits the items of an array and of a promise of an AsyncIterable', async () => {
    await expect(
      lastValueFrom(
        mediatorFor(() => [1, 2])
          .createStream$(new Numbers())
          .pipe(toArray()),
      ),
    ).resolves.toEqual([1, 2]);
    const viaPromise = mediatorFor(async () =>
      (async function* () {
        yield 3;
      })(),
    );
    await expect(
      lastValueFrom(viaPromise.createStream$(new Numbers()).pipe(toArray())),
    ).resolves.toEqual([3]);
  });

  it('pulls an AsyncIterable one item at a time, never ahead of what was emitted', async () => {
    let requested = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          requested++;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await flushMicrotasks(3);
          inFlight--;
          return requested <= 5
            ? { value: requested, done: false }
            : { value: undefined, done: true };
        },
      }),
    };
    const aheadBy: number[] = [];
    const done = deferred();
    const emitted: number[] = [];
    mediatorFor(() => source)
      .createStream$(new Numbers())
      .subscribe({
        next: (n) => {
          emitted.push(n);
          aheadBy.push(requested - emitted.length);
        },
        complete: () => done.resolve(),
      });
    await done.promise;
    expect(emitted).toEqual([1, 2, 3, 4, 5]);
    expect(maxInFlight).toBe(1);
    expect(Math.max(...aheadBy)).toBe(0); // the next item is requested only after this one was emitted
    expect(requested).toBe(6); // five items and the read that found the end
  });

  it('stops pulling a generator once take(3) has what it needs, and runs its finally', async () => {
    let yielded = 0;
    const handlerFinally = deferred();
    let context: HandlerContext | undefined;
    const mediator = mediatorFor(async function* (_, ctx) {
      context = ctx;
      try {
        for (let i = 0; ; i++) {
          yielded++;
          yield i;
        }
      } finally {
        handlerFinally.resolve();
      }
    });
    await expect(
      lastValueFrom(mediator.createStream$(new Numbers()).pipe(take(3), toArray())),
    ).resolves.toEqual([0, 1, 2]);
    await handlerFinally.promise;
    expect(yielded).toBe(3);
    expect(context?.signal.aborted).toBe(true);
  });

  it("unsubscribing while the handler awaits aborts the handler's signal and runs the generator's finally", async () => {
    const handlerFinally = deferred();
    let context: HandlerContext | undefined;
    const mediator = mediatorFor(async function* (_, ctx) {
      context = ctx;
      try {
        yield 1;
        await untilAborted(ctx.signal);
        yield 2;
      } finally {
        handlerFinally.resolve();
      }
    });
    const { log, subscription } = record(mediator.createStream$(new Numbers()));
    await flushMicrotasks();
    expect(log.values).toEqual([1]);
    expect(context?.signal.aborted).toBe(false);
    subscription.unsubscribe();
    expect(context?.signal.aborted).toBe(true);
    await handlerFinally.promise;
    expect(log.values).toEqual([1]);
    expect(log.error).toBeUndefined();
  });

  it('drops an item that arrives after unsubscribing and pulls no further', async () => {
    const reads: Deferred<IteratorResult<number>>[] = [];
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          const read = deferred<IteratorResult<number>>();
          reads.push(read);
          return read.promise;
        },
        return: () => Promise.resolve({ value: undefined, done: true }),
      }),
    };
    const { log, subscription } = record(mediatorFor(() => source).createStream$(new Numbers()));
    expect(reads).toHaveLength(1);
    subscription.unsubscribe();
    reads[0]!.resolve({ value: 1, done: false });
    await flushMicrotasks();
    expect(log.values).toEqual([]);
    expect(reads).toHaveLength(1);
  });

  it('unsubscribing tears down an Observable from the handler and aborts its signal', () => {
    let tornDown = false;
    let context: HandlerContext | undefined;
    const mediator = mediatorFor(
      (_, ctx) =>
        new Observable<number>(() => {
          context = ctx;
          return () => (tornDown = true);
        }),
    );
    const { subscription } = record(mediator.createStream$(new Numbers()));
    subscription.unsubscribe();
    expect(tornDown).toBe(true);
    expect(context?.signal.aborted).toBe(true);
  });

  it("does not abort the handler's signal when the stream completes by itself", async () => {
    let context: HandlerContext | undefined;
    await lastValueFrom(
      mediatorFor((_, ctx) => {
        context = ctx;
        return [1];
      }).createStream$(new Numbers()),
    );
    expect(context?.signal.aborted).toBe(false);
  });

  describe("the caller's signal", () => {
    it('errors with the reason when it aborts, aborts the handler and removes its listener', async () => {
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
      const { log } = record(mediator.createStream$(new Numbers(), { signal }));
      await flushMicrotasks();
      expect(listeners()).toBe(1);
      const reason = new Error('caller gave up');
      controller.abort(reason);
      expect(log.error).toBe(reason);
      expect(context?.signal.reason).toBe(reason);
      await handlerFinally.promise;
      expect(log.values).toEqual([1]);
      expect(listeners()).toBe(0);
    });

    it('errors with the reason of an already-aborted signal without running the handler', () => {
      const controller = new AbortController();
      const reason = new Error('too late');
      controller.abort(reason);
      let runs = 0;
      const { log } = record(
        mediatorFor(() => {
          runs++;
          return [1];
        }).createStream$(new Numbers(), { signal: controller.signal }),
      );
      expect(log.error).toBe(reason);
      expect(runs).toBe(0);
    });

    it('removes its listener when the stream completes, errors or is unsubscribed', async () => {
      const completes = trackedController();
      await lastValueFrom(
        mediatorFor(() => [1]).createStream$(new Numbers(), { signal: completes.signal }),
      );
      expect(completes.listeners()).toBe(0);

      const fails = trackedController();
      const failing = mediatorFor(() => Promise.reject(new Error('x'))).createStream$(
        new Numbers(),
        { signal: fails.signal },
      );
      await expect(lastValueFrom(failing)).rejects.toThrow('x');
      expect(fails.listeners()).toBe(0);

      const unsubscribes = trackedController();
      const { subscription } = record(
        mediatorFor(() => new Observable<number>(() => undefined)).createStream$(new Numbers(), {
          signal: unsubscribes.signal,
        }),
      );
      expect(unsubscribes.listeners()).toBe(1);
      subscription.unsubscribe();
      expect(unsubscribes.listeners()).toBe(0);
    });
  });

  it('is cold: the handler runs once per subscription and not before', async () => {
    let runs = 0;
    const stream$ = mediatorFor(() => [++runs]).createStream$(new Numbers());
    expect(runs).toBe(0);
    await expect(firstValueFrom(stream$)).resolves.toBe(1);
    await expect(firstValueFrom(stream$)).resolves.toBe(2);
    expect(runs).toBe(2);
  });

  it('hands the correlation id to the handler context', async () => {
    let context: HandlerContext | undefined;
    await lastValueFrom(
      mediatorFor((_, ctx) => {
        context = ctx;
        return [1];
      }).createStream$(new Numbers(), { correlationId: 'corr-9' }),
    );
    expect(context?.correlationId).toBe('corr-9');
  });

  describe('errors', () => {
    it('passes a synchronous throw from the handler to the subscriber unchanged', () => {
      const boom = new Error('boom');
      const { log } = record(
        mediatorFor(() => {
          throw boom;
        }).createStream$(new Numbers()),
      );
      expect(log.error).toBe(boom);
    });

    it('passes a rejected promise from the handler to the subscriber unchanged', async () => {
      const boom = new Error('boom');
      await expect(
        lastValueFrom(mediatorFor(() => Promise.reject(boom)).createStream$(new Numbers())),
      ).rejects.toBe(boom);
    });

    it('passes an async generator failure to the subscriber after the items before it', async () => {
      const boom = new Error('boom');
      const done = deferred();
      const { log } = record(
        mediatorFor(async function* () {
          yield 1;
          done.resolve();
          throw boom;
        }).createStream$(new Numbers()),
      );
      await done.promise;
      await flushMicrotasks();
      expect(log.values).toEqual([1]);
      expect(log.error).toBe(boom);
    });

    it('errors with InvalidHandlerResultError naming the handler when it returns undefined', () => {
      const { log } = record(mediatorFor(() => undefined).createStream$(new Numbers()));
      expect(log.error).toBeInstanceOf(InvalidHandlerResultError);
      expect((log.error as Error).message).toContain(
        "Handler 'NumbersHandler' for 'Numbers' returned undefined",
      );
    });

    it('throws HandlerNotFoundError at once when no handler handles the request', () => {
      const mediator = mediatorFor(() => []);
      expect(() => mediator.createStream$(new Unhandled())).toThrow(HandlerNotFoundError);
    });

    it('throws a TypeError at once for a value that is not a stream request', () => {
      const mediator = mediatorFor(() => []);
      expect(() => mediator.createStream$({} as Numbers)).toThrow(
        'createStream() needs a StreamRequest instance',
      );
    });
  });

  // Regression: a promise of an Observable (an `async` handler returning one) was read through
  // the bounded for-await bridge and overflowed at capacity 1000.
  it('passes a promise of an Observable straight through too, without the bounded buffer', async () => {
    const mediator = mediatorFor(async () => range(0, 10_000));
    const items = await lastValueFrom(
      mediator.createStream$(new Numbers(), { bufferCapacity: 1 }).pipe(toArray()),
    );
    expect(items).toHaveLength(10_000);
    expect(items[9_999]).toBe(9_999);
  });
});
