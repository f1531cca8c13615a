import { describe, expect, it } from '@jest/globals';
import { from, map, Observable, lastValueFrom, toArray } from 'rxjs';
import {
  createMediator,
  handler,
  StreamRequest,
  streamBehavior,
  type BehaviorRegistration,
  type HandlerContext,
  BufferOverflowError,
  InvalidHandlerResultError,
} from '../../src/index.js';
import { deferred, flushMicrotasks } from '../helpers/deferred.js';
import { collect } from '../helpers/collect.js';

class Numbers extends StreamRequest<number> {
  constructor(readonly count = 3) {
    super();
  }
}
class Words extends StreamRequest<string> {}

/** A handler yielding 1..count, that records how far it got. */
function countingHandler() {
  const state = {
    produced: 0,
    finallyRan: false,
    runs: 0,
    requests: [] as Numbers[],
    context: undefined as HandlerContext | undefined,
  };
  const registration = handler(Numbers, async function* (request, context) {
    state.runs++;
    state.requests.push(request);
    state.context = context;
    try {
      for (let i = 1; i <= request.count; i++) {
        state.produced++;
        yield i;
      }
    } finally {
      state.finallyRan = true;
    }
  });
  return { state, registration };
}

function mediatorWith(behaviors: BehaviorRegistration[]) {
  const { state, registration } = countingHandler();
  const words = handler(Words, () => ['a', 'b']);
  return { state, mediator: createMediator({ handlers: [registration, words], behaviors }) };
}

const passThrough = () =>
  streamBehavior<Numbers>(async function* (_, next) {
    for await (const item of next()) yield item;
  });

describe('streamBehavior', () => {
  it('keeps consumer pull through re-yielding async generators: the handler never runs ahead of a slow consumer', async () => {
    const { state, mediator } = mediatorWith([passThrough(), passThrough(), passThrough()]);
    const ahead: number[] = [];
    let consumed = 0;
    for await (const _ of mediator.createStream(new Numbers(50))) {
      consumed++;
      ahead.push(state.produced - consumed);
      await flushMicrotasks(20); // slow consumer: plenty of time for an eager source to run ahead
    }
    expect(consumed).toBe(50);
    expect(Math.max(...ahead)).toBeLessThanOrEqual(1);
  });

  it('runs behaviors in registration order, the first outermost', async () => {
    const trace: string[] = [];
    const tracing = (name: string) =>
      streamBehavior<Numbers>(async function* (_, next) {
        trace.push(`${name}:start`);
        try {
          for await (const item of next()) yield item;
        } finally {
          trace.push(`${name}:end`);
        }
      });
    const { mediator } = mediatorWith([tracing('A'), tracing('B')]);
    await collect(mediator.createStream(new Numbers(1)));
    expect(trace).toEqual(['A:start', 'B:start', 'B:end', 'A:end']);
  });

  it('can map and filter the items', async () => {
    const evens = streamBehavior<Numbers>(async function* (_, next) {
      for await (const n of next()) if (n % 2 === 0) yield n;
    });
    const tenfold = streamBehavior<Numbers>(async function* (_, next) {
      for await (const n of next()) yield n * 10;
    });
    const { mediator } = mediatorWith([tenfold, evens]);
    await expect(collect(mediator.createStream(new Numbers(6)))).resolves.toEqual([20, 40, 60]);
  });

  it('can short-circuit by returning its own source without calling next()', async () => {
    const cached = streamBehavior<Numbers>(() => [7, 8, 9]);
    const { state, mediator } = mediatorWith([cached]);
    await expect(collect(mediator.createStream(new Numbers()))).resolves.toEqual([7, 8, 9]);
    expect(state.runs).toBe(0);
  });

  it('passes a replacement request to the handler through next(replacement)', async () => {
    const replacement = new Numbers(2);
    const { state, mediator } = mediatorWith([
      streamBehavior<Numbers>((_, next) => next(replacement)),
    ]);
    await expect(collect(mediator.createStream(new Numbers(5)))).resolves.toEqual([1, 2]);
    expect(state.requests).toEqual([replacement]);
    expect(state.requests[0]).toBe(replacement);
  });

  it('can call next() again: each call runs the rest of the pipeline once more', async () => {
    const twice = streamBehavior<Numbers>(async function* (_, next) {
      yield* next();
      yield* next();
    });
    const { state, mediator } = mediatorWith([twice]);
    await expect(collect(mediator.createStream(new Numbers(2)))).resolves.toEqual([1, 2, 1, 2]);
    expect(state.runs).toBe(2);
  });

  it('applies only to the message classes listed in for', async () => {
    const seen: string[] = [];
    const onlyNumbers = streamBehavior<Numbers>(
      async function* (_, next, context) {
        seen.push(context.messageName);
        yield* next();
      },
      { for: [Numbers] },
    );
    const { mediator } = mediatorWith([onlyNumbers]);
    await expect(collect(mediator.createStream(new Words()))).resolves.toEqual(['a', 'b']);
    expect(seen).toEqual([]);
    await collect(mediator.createStream(new Numbers(1)));
    expect(seen).toEqual(['Numbers']);
  });

  it('gives the behavior the same context as the handler', async () => {
    let behaviorContext: HandlerContext | undefined;
    const { state, mediator } = mediatorWith([
      streamBehavior<Numbers>((_, next, context) => {
        behaviorContext = context;
        return next();
      }),
    ]);
    await collect(mediator.createStream(new Numbers(1), { correlationId: 'c-1' }));
    expect(behaviorContext).toBe(state.context);
    expect(behaviorContext?.correlationId).toBe('c-1');
  });

  it('may return an Observable built on next()', async () => {
    const { mediator } = mediatorWith([
      streamBehavior<Numbers>((_, next) => from(next()).pipe(map((n) => n * 100))),
    ]);
    await expect(collect(mediator.createStream(new Numbers(3)))).resolves.toEqual([100, 200, 300]);
    await expect(
      lastValueFrom(mediator.createStream$(new Numbers(2)).pipe(toArray())),
    ).resolves.toEqual([100, 200]);
  });

  it('may return a promise of a source', async () => {
    const { mediator } = mediatorWith([streamBehavior<Numbers>(async (_, next) => next())]);
    await expect(collect(mediator.createStream(new Numbers(2)))).resolves.toEqual([1, 2]);
  });

  it('runs the finally of the behavior and of the handler, and aborts their signal, when the consumer breaks', async () => {
    let behaviorFinally = false;
    let behaviorContext: HandlerContext | undefined;
    const { state, mediator } = mediatorWith([
      streamBehavior<Numbers>(async function* (_, next, context) {
        behaviorContext = context;
        try {
          for await (const n of next()) yield n;
        } finally {
          behaviorFinally = true;
        }
      }),
    ]);
    for await (const n of mediator.createStream(new Numbers(100))) if (n === 2) break;
    expect(behaviorFinally).toBe(true);
    expect(state.finallyRan).toBe(true);
    expect(state.produced).toBe(2);
    expect(behaviorContext?.signal.aborted).toBe(true);
  });

  it('closes the behavior and the handler when a createStream$ subscriber unsubscribes', async () => {
    const behaviorFinally = deferred();
    const { state, mediator } = mediatorWith([
      streamBehavior<Numbers>(async function* (_, next) {
        try {
          yield* next();
        } finally {
          behaviorFinally.resolve();
        }
      }),
    ]);
    const values: number[] = [];
    await new Promise<void>((resolve) => {
      const subscription = mediator.createStream$(new Numbers(100)).subscribe((n) => {
        values.push(n);
        if (n === 3) {
          subscription.unsubscribe();
          resolve();
        }
      });
    });
    await behaviorFinally.promise;
    expect(values).toEqual([1, 2, 3]);
    expect(state.finallyRan).toBe(true);
  });

  it("passes the behavior's own error to the consumer unchanged", async () => {
    const boom = new Error('behavior failed');
    const { mediator } = mediatorWith([
      streamBehavior<Numbers>(() => {
        throw boom;
      }),
    ]);
    await expect(collect(mediator.createStream(new Numbers()))).rejects.toBe(boom);
    await expect(lastValueFrom(mediator.createStream$(new Numbers()))).rejects.toBe(boom);
  });

  it('reads an Observable from the handler inside a behavior', async () => {
    const { mediator } = createMediatorWithObservableHandler();
    await expect(collect(mediator.createStream(new Numbers()))).resolves.toEqual([1, 2, 3]);
  });

  // Regression: a behavior's next() used the mediator-wide buffer, so the call's own
  // bufferCapacity applied only to the outermost source.
  it("applies the call's bufferCapacity to an Observable handler read through a behavior's next()", async () => {
    const mediator = createMediator({
      handlers: [handler(Numbers, () => from(Array.from({ length: 100 }, (_, i) => i)))],
      behaviors: [passThrough()],
    });
    const seen: number[] = [];
    const error = await (async () => {
      for await (const n of mediator.createStream(new Numbers(), { bufferCapacity: 5 }))
        seen.push(n);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BufferOverflowError);
    expect((error as BufferOverflowError).capacity).toBe(5);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  // Regression: an unusable result from a stream behavior was blamed on the handler.
  it('names the behavior, not the handler, when a stream behavior returns something unusable', async () => {
    const mediator = createMediator({
      handlers: [
        handler(Numbers, function numbersHandler() {
          return [1];
        }),
      ],
      behaviors: [
        streamBehavior(function brokenBehavior() {
          return undefined as never;
        }),
        passThrough(),
      ],
    });
    const error = await collect(mediator.createStream(new Numbers())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidHandlerResultError);
    expect((error as InvalidHandlerResultError).handlerName).toBe('brokenBehavior');
    expect((error as Error).message).toMatch(/'brokenBehavior' for 'Numbers' returned undefined/);
  });

  it('names an inner behavior when it is the one that returned something unusable', async () => {
    const mediator = createMediator({
      handlers: [
        handler(Numbers, function numbersHandler() {
          return [1];
        }),
      ],
      behaviors: [
        passThrough(),
        streamBehavior(function innerBroken() {
          return 42 as never;
        }),
      ],
    });
    const error = await collect(mediator.createStream(new Numbers())).catch((e: unknown) => e);
    expect((error as InvalidHandlerResultError).handlerName).toBe('innerBroken');
  });
});

function createMediatorWithObservableHandler() {
  return {
    mediator: createMediator({
      handlers: [
        handler(
          Numbers,
          () =>
            new Observable<number>((s) => {
              s.next(1);
              s.next(2);
              s.next(3);
              s.complete();
            }),
        ),
      ],
      behaviors: [passThrough()],
    }),
  };
}
