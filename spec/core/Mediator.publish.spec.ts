import { describe, expect, it, jest } from '@jest/globals';
import { lastValueFrom } from 'rxjs';
import {
  createMediator,
  handler,
  isNotificationHandlersError,
  Notification,
  notificationBehavior,
  NotificationHandlersError,
  Query,
  type BackgroundErrorInfo,
  type HandlerContext,
  type HandlerRegistration,
  type MediatorOptions,
} from '../../src/index.js';
import { deferred, flushMicrotasks, type Deferred } from '../helpers/deferred.js';
import { trackedController } from '../helpers/signals.js';

class OrderPlaced extends Notification {
  constructor(readonly id = '42') {
    super();
  }
}
class Unheard extends Notification {}
class GetOrder extends Query<string> {}

/** A notification handler that records its runs and finishes when told to. */
interface Probe {
  readonly registration: HandlerRegistration;
  readonly started: number;
  readonly finished: number;
  readonly contexts: HandlerContext[];
  /** Settles the oldest unfinished run. */
  release(error?: unknown): void;
}

function probe(name: string, log: string[] = []): Probe {
  const runs: Deferred<void>[] = [];
  const state = { started: 0, finished: 0, contexts: [] as HandlerContext[] };
  let released = 0;
  const registration = handler(
    OrderPlaced,
    async (_event, context) => {
      state.started++;
      state.contexts.push(context);
      log.push(`${name}:start`);
      const run = deferred();
      runs.push(run);
      try {
        await run.promise;
      } finally {
        state.finished++;
        log.push(`${name}:end`);
      }
    },
    { name },
  );
  return {
    registration,
    get started() {
      return state.started;
    },
    get finished() {
      return state.finished;
    },
    contexts: state.contexts,
    release(error?: unknown) {
      const run = runs[released++]!;
      if (error === undefined) run.resolve();
      else run.reject(error);
    },
  };
}

function failing(name: string, error: unknown, log: string[] = []): HandlerRegistration {
  return handler(
    OrderPlaced,
    () => {
      log.push(`${name}:start`);
      return Promise.reject(error);
    },
    { name },
  );
}

function succeeding(name: string, log: string[] = []): HandlerRegistration {
  return handler(OrderPlaced, () => void log.push(`${name}:start`), { name });
}

function mediatorWith(
  handlers: HandlerRegistration[],
  options: Omit<MediatorOptions, 'handlers'> = {},
) {
  const reported: [unknown, BackgroundErrorInfo][] = [];
  const mediator = createMediator({
    onError: (error, info) => void reported.push([error, info]),
    ...options,
    handlers,
  });
  return { mediator, reported };
}

/** Tracks whether a promise has settled, without waiting for it. */
function watch(promise: Promise<unknown>) {
  const state = { settled: false, error: undefined as unknown, rejected: false };
  promise.then(
    () => (state.settled = true),
    (error: unknown) => {
      state.settled = true;
      state.rejected = true;
      state.error = error;
    },
  );
  return state;
}

describe('Mediator.publish', () => {
  describe('routing', () => {
    it('resolves when the notification has no handlers', async () => {
      const { mediator } = mediatorWith([succeeding('a')]);
      await expect(mediator.publish(new Unheard())).resolves.toBeUndefined();
    });

    it.each<[string, unknown, string]>([
      ['a number', 42, 'publish() needs a Notification instance, got number 42.'],
      ['a plain object', {}, 'publish() needs a Notification instance, got an instance of Object.'],
      [
        'a query',
        new GetOrder(),
        "publish() cannot dispatch 'GetOrder': it is a request message; use send().",
      ],
    ])('rejects %s with a TypeError', async (_, value, message) => {
      const { mediator } = mediatorWith([]);
      const result = mediator.publish(value as OrderPlaced);
      await expect(result).rejects.toThrow(TypeError);
      await expect(result).rejects.toThrow(message);
    });

    it('gives every handler its own name in context.handlerName and one shared correlation id', async () => {
      const seen: [string | undefined, string][] = [];
      const record = (_: OrderPlaced, context: HandlerContext): void =>
        void seen.push([context.handlerName, context.correlationId]);
      const { mediator } = mediatorWith([
        handler(OrderPlaced, record, { name: 'Email' }),
        handler(OrderPlaced, (e, c) => record(e, c), { name: 'Audit' }),
      ]);
      await mediator.publish(new OrderPlaced(), { correlationId: 'corr-1' });
      expect(seen).toEqual([
        ['Email', 'corr-1'],
        ['Audit', 'corr-1'],
      ]);
    });
  });

  describe("strategy 'sequential' (the default)", () => {
    it('runs the handlers one after another in registration order', async () => {
      const log: string[] = [];
      const a = probe('a', log);
      const b = probe('b', log);
      const { mediator } = mediatorWith([a.registration, b.registration]);
      const done = watch(mediator.publish(new OrderPlaced()));
      await flushMicrotasks();
      expect(log).toEqual(['a:start']);
      a.release();
      await flushMicrotasks();
      expect(log).toEqual(['a:start', 'a:end', 'b:start']);
      expect(done.settled).toBe(false);
      b.release();
      await flushMicrotasks();
      expect(done.settled).toBe(true);
      expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end']);
    });

    it('stops at the first failure and rejects with that error unchanged', async () => {
      const log: string[] = [];
      const boom = new Error('boom');
      const { mediator, reported } = mediatorWith([
        succeeding('a', log),
        failing('b', boom, log),
        succeeding('c', log),
      ]);
      await expect(mediator.publish(new OrderPlaced())).rejects.toBe(boom);
      expect(log).toEqual(['a:start', 'b:start']);
      expect(reported).toEqual([]);
    });

    it('rejects with the error a handler throws synchronously', async () => {
      const boom = new Error('sync');
      const { mediator } = mediatorWith([
        handler(OrderPlaced, () => {
          throw boom;
        }),
      ]);
      await expect(mediator.publish(new OrderPlaced())).rejects.toBe(boom);
    });
  });

  describe("strategy 'parallel'", () => {
    it('starts every handler before any has finished', async () => {
      const probes = [probe('a'), probe('b'), probe('c')];
      const { mediator } = mediatorWith(probes.map((p) => p.registration));
      const done = watch(mediator.publish(new OrderPlaced(), { strategy: 'parallel' }));
      await flushMicrotasks();
      expect(probes.map((p) => p.started)).toEqual([1, 1, 1]);
      expect(probes.map((p) => p.finished)).toEqual([0, 0, 0]);
      probes.forEach((p) => p.release());
      await flushMicrotasks();
      expect(done.settled).toBe(true);
    });

    it('never runs more handlers at once than the concurrency limit', async () => {
      let running = 0;
      let maxRunning = 0;
      const gates: Deferred<void>[] = [];
      const handlers = Array.from({ length: 7 }, (_, i) =>
        handler(
          OrderPlaced,
          async () => {
            running++;
            maxRunning = Math.max(maxRunning, running);
            const gate = deferred();
            gates.push(gate);
            await gate.promise;
            running--;
          },
          { name: `h${i}` },
        ),
      );
      const { mediator } = mediatorWith(handlers);
      const done = watch(
        mediator.publish(new OrderPlaced(), { strategy: 'parallel', concurrency: 3 }),
      );
      await flushMicrotasks();
      expect(gates).toHaveLength(3);
      for (let released = 0; released < 7; released++) {
        gates[released]!.resolve();
        await flushMicrotasks();
      }
      expect(gates).toHaveLength(7);
      expect(maxRunning).toBe(3);
      expect(done.settled).toBe(true);
    });

    it('settles only after every handler has finished, even after a failure', async () => {
      const boom = new Error('boom');
      const slow = probe('slow');
      const { mediator } = mediatorWith([failing('fast', boom), slow.registration]);
      const done = watch(mediator.publish(new OrderPlaced(), { strategy: 'parallel' }));
      await flushMicrotasks();
      expect(done.settled).toBe(false);
      slow.release();
      await flushMicrotasks();
      expect(done.rejected).toBe(true);
      expect(done.error).toBe(boom);
    });

    it('rejects with the first failure unchanged and reports the others to onError as additionalFailure', async () => {
      const first = new Error('first');
      const second = new Error('second');
      const a = probe('a');
      const b = probe('b');
      const c = probe('c');
      const { mediator, reported } = mediatorWith([a.registration, b.registration, c.registration]);
      const done = mediator.publish(new OrderPlaced(), {
        strategy: 'parallel',
        correlationId: 'corr-2',
      });
      await flushMicrotasks();
      b.release(first); // fails first although registered second
      a.release(second);
      c.release();
      await expect(done).rejects.toBe(first);
      expect(reported).toEqual([
        [
          second,
          { messageName: 'OrderPlaced', correlationId: 'corr-2', reason: 'additionalFailure' },
        ],
      ]);
    });

    it('lets the other handlers run when one fails', async () => {
      const log: string[] = [];
      const { mediator } = mediatorWith(
        [failing('a', new Error('a'), log), succeeding('b', log), succeeding('c', log)],
        {
          publish: { strategy: 'parallel', concurrency: 1 },
        },
      );
      await expect(mediator.publish(new OrderPlaced())).rejects.toThrow('a');
      expect(log).toEqual(['a:start', 'b:start', 'c:start']);
    });

    it("uses the mediator's publish.strategy when the call gives none", async () => {
      const probes = [probe('a'), probe('b')];
      const { mediator } = mediatorWith(
        probes.map((p) => p.registration),
        { publish: { strategy: 'parallel' } },
      );
      void mediator.publish(new OrderPlaced());
      await flushMicrotasks();
      expect(probes.map((p) => p.started)).toEqual([1, 1]);
      probes.forEach((p) => p.release());
    });
  });

  describe("strategy 'allSettled'", () => {
    it('runs every handler despite failures and names each failing one, in registration order', async () => {
      const log: string[] = [];
      const errorA = new Error('a broke');
      const errorC = new TypeError('c broke');
      const a = probe('Email', log);
      const c = probe('Audit', log);
      const { mediator, reported } = mediatorWith([
        a.registration,
        succeeding('Stock', log),
        c.registration,
      ]);
      const done = mediator.publish(new OrderPlaced(), { strategy: 'allSettled' });
      await flushMicrotasks();
      c.release(errorC); // the later-registered handler fails first
      a.release(errorA);
      const error = await done.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NotificationHandlersError);
      expect(isNotificationHandlersError(error)).toBe(true);
      const aggregate = error as NotificationHandlersError;
      expect(aggregate.failures).toEqual([
        { handlerName: 'Email', error: errorA },
        { handlerName: 'Audit', error: errorC },
      ]);
      expect(aggregate.errors).toEqual([errorA, errorC]);
      expect(aggregate.handlerCount).toBe(3);
      expect(aggregate.messageName).toBe('OrderPlaced');
      expect(aggregate.message).toBe(
        "2 of 3 handlers of 'OrderPlaced' failed: 'Email' (Error: a broke), 'Audit' (TypeError: c broke).",
      );
      expect(log).toEqual(expect.arrayContaining(['Email:start', 'Stock:start', 'Audit:start']));
      expect(reported).toEqual([]);
    });

    it('resolves when every handler succeeds', async () => {
      const { mediator } = mediatorWith([succeeding('a'), succeeding('b')]);
      await expect(
        mediator.publish(new OrderPlaced(), { strategy: 'allSettled' }),
      ).resolves.toBeUndefined();
    });

    it('respects the concurrency limit', async () => {
      const probes = [probe('a'), probe('b'), probe('c')];
      const { mediator } = mediatorWith(probes.map((p) => p.registration));
      const done = mediator.publish(new OrderPlaced(), { strategy: 'allSettled', concurrency: 2 });
      await flushMicrotasks();
      expect(probes.map((p) => p.started)).toEqual([1, 1, 0]);
      probes[0]!.release(new Error('x'));
      await flushMicrotasks();
      expect(probes[2]!.started).toBe(1);
      probes[1]!.release();
      probes[2]!.release();
      await expect(done).rejects.toBeInstanceOf(NotificationHandlersError);
    });
  });

  describe('notification behaviors', () => {
    it('wrap each handler run once, with context.handlerName set', async () => {
      const calls: (string | undefined)[] = [];
      const log: string[] = [];
      const { mediator } = mediatorWith([succeeding('a', log), succeeding('b', log)], {
        behaviors: [
          notificationBehavior(async (_, next, context) => {
            calls.push(context.handlerName);
            log.push(`before ${context.handlerName}`);
            await next();
            log.push(`after ${context.handlerName}`);
          }),
        ],
      });
      await mediator.publish(new OrderPlaced());
      expect(calls).toEqual(['a', 'b']);
      expect(log).toEqual(['before a', 'a:start', 'after a', 'before b', 'b:start', 'after b']);
    });

    it('can pass a replacement notification, observe failures, and skip a handler', async () => {
      const received: string[] = [];
      const boom = new Error('boom');
      const failures: unknown[] = [];
      const { mediator } = mediatorWith(
        [
          handler(OrderPlaced, (e) => void received.push(`a:${e.id}`), { name: 'a' }),
          handler(OrderPlaced, () => Promise.reject(boom), { name: 'b' }),
          handler(OrderPlaced, (e) => void received.push(`c:${e.id}`), { name: 'c' }),
        ],
        {
          behaviors: [
            notificationBehavior<OrderPlaced>(async (event, next, context) => {
              if (context.handlerName === 'c') return; // short-circuit
              try {
                await next(new OrderPlaced(`${event.id}!`));
              } catch (error) {
                failures.push(error);
                throw error;
              }
            }),
          ],
        },
      );
      await expect(
        mediator.publish(new OrderPlaced('7'), { strategy: 'allSettled' }),
      ).rejects.toBeInstanceOf(NotificationHandlersError);
      expect(received).toEqual(['a:7!']);
      expect(failures).toEqual([boom]);
    });
  });

  describe('fireAndForget', () => {
    it('resolves before the handlers finish', async () => {
      const slow = probe('slow');
      const { mediator } = mediatorWith([slow.registration]);
      await expect(
        mediator.publish(new OrderPlaced(), { fireAndForget: true }),
      ).resolves.toBeUndefined();
      expect(slow.started).toBe(1);
      expect(slow.finished).toBe(0);
      slow.release();
    });

    it("reports a failure to onError with reason 'fireAndForget'", async () => {
      const boom = new Error('boom');
      const slow = probe('slow');
      const { mediator, reported } = mediatorWith([slow.registration]);
      await mediator.publish(new OrderPlaced(), { fireAndForget: true, correlationId: 'corr-3' });
      expect(reported).toEqual([]);
      slow.release(boom);
      await flushMicrotasks();
      expect(reported).toEqual([
        [boom, { messageName: 'OrderPlaced', correlationId: 'corr-3', reason: 'fireAndForget' }],
      ]);
    });

    it('reports through process.emitWarning when the mediator has no onError', async () => {
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const boom = new Error('boom');
        const mediator = createMediator({ handlers: [failing('a', boom)] });
        await mediator.publish(new OrderPlaced(), { fireAndForget: true, correlationId: 'corr-4' });
        await flushMicrotasks();
        expect(emitWarning).toHaveBeenCalledTimes(1);
        expect(emitWarning).toHaveBeenCalledWith(boom, {
          type: 'FsMediatorBackgroundError',
          detail: "fireAndForget while publishing 'OrderPlaced' (correlation id corr-4)",
        });
      } finally {
        emitWarning.mockRestore();
      }
    });

    it('falls back to process.emitWarning when onError itself throws', async () => {
      const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        const broken = new Error('onError broke');
        const mediator = createMediator({
          handlers: [failing('a', new Error('boom'))],
          onError: () => {
            throw broken;
          },
        });
        await mediator.publish(new OrderPlaced(), { fireAndForget: true });
        await flushMicrotasks();
        expect(emitWarning).toHaveBeenCalledWith(
          broken,
          expect.objectContaining({ type: 'FsMediatorBackgroundError' }),
        );
      } finally {
        emitWarning.mockRestore();
      }
    });
  });

  describe('abort', () => {
    it('rejects with the reason of an already-aborted signal without running any handler', async () => {
      const log: string[] = [];
      const { controller, signal, listeners } = trackedController();
      const reason = new Error('too late');
      controller.abort(reason);
      const { mediator } = mediatorWith([succeeding('a', log)]);
      await expect(mediator.publish(new OrderPlaced(), { signal })).rejects.toBe(reason);
      expect(log).toEqual([]);
      expect(listeners()).toBe(0);
    });

    it('rejects at once with the reason and starts no further handler when aborted during a sequential publish', async () => {
      const log: string[] = [];
      const { controller, signal } = trackedController();
      const a = probe('a', log);
      const { mediator } = mediatorWith([a.registration, succeeding('b', log)]);
      const done = watch(mediator.publish(new OrderPlaced(), { signal }));
      await flushMicrotasks();
      expect(a.contexts[0]?.signal).toBe(signal);
      const reason = new Error('stop');
      controller.abort(reason);
      await flushMicrotasks(2);
      expect(done.rejected).toBe(true); // while handler 'a' is still running
      expect(done.error).toBe(reason);
      a.release();
      await flushMicrotasks();
      expect(log).toEqual(['a:start', 'a:end']);
    });

    it('starts no further handler once aborted under a concurrency limit', async () => {
      const { controller, signal } = trackedController();
      const probes = [probe('a'), probe('b'), probe('c')];
      const { mediator } = mediatorWith(probes.map((p) => p.registration));
      const done = mediator.publish(new OrderPlaced(), {
        signal,
        strategy: 'parallel',
        concurrency: 1,
      });
      await flushMicrotasks();
      const reason = new Error('stop');
      controller.abort(reason);
      await expect(done).rejects.toBe(reason);
      probes[0]!.release();
      await flushMicrotasks();
      expect(probes.map((p) => p.started)).toEqual([1, 0, 0]);
    });

    it("removes its listener from the caller's signal when the publish settles", async () => {
      const ok = trackedController();
      const a = probe('a');
      const { mediator } = mediatorWith([a.registration]);
      const done = mediator.publish(new OrderPlaced(), { signal: ok.signal });
      await flushMicrotasks();
      expect(ok.listeners()).toBe(1);
      a.release();
      await done;
      expect(ok.listeners()).toBe(0);

      const failed = trackedController();
      const { mediator: failingMediator } = mediatorWith([failing('b', new Error('b'))]);
      await expect(
        failingMediator.publish(new OrderPlaced(), { signal: failed.signal }),
      ).rejects.toThrow('b');
      expect(failed.listeners()).toBe(0);
    });
  });

  describe('invalid options', () => {
    it("rejects strategy 'x' with a TypeError naming the option and value", async () => {
      const { mediator } = mediatorWith([succeeding('a')]);
      const result = mediator.publish(new OrderPlaced(), { strategy: 'x' as 'parallel' });
      await expect(result).rejects.toThrow(TypeError);
      await expect(result).rejects.toThrow(
        "Option 'strategy' must be one of 'sequential', 'parallel', 'allSettled', got 'x'.",
      );
    });

    it.each([0, -1, 1.5])(
      'rejects concurrency %p with a RangeError naming the option and value',
      async (concurrency) => {
        const { mediator } = mediatorWith([succeeding('a')]);
        const result = mediator.publish(new OrderPlaced(), { strategy: 'parallel', concurrency });
        await expect(result).rejects.toThrow(RangeError);
        await expect(result).rejects.toThrow(
          `Option 'concurrency' must be a whole number ≥ 1 or Infinity, got ${concurrency}.`,
        );
      },
    );

    it('rejects a signal that is not an AbortSignal with a TypeError', async () => {
      const { mediator } = mediatorWith([succeeding('a')]);
      await expect(
        mediator.publish(new OrderPlaced(), { signal: {} as AbortSignal }),
      ).rejects.toThrow("Option 'signal' must be an AbortSignal, got {}.");
    });

    it('validates options even when the notification has no handlers', async () => {
      const { mediator } = mediatorWith([]);
      await expect(mediator.publish(new Unheard(), { concurrency: 0 })).rejects.toThrow(RangeError);
    });
  });
});

describe('Mediator.publish$', () => {
  it('completes without a value when the handlers have finished', async () => {
    const a = probe('a');
    const { mediator } = mediatorWith([a.registration]);
    const values: unknown[] = [];
    let completed = false;
    mediator
      .publish$(new OrderPlaced())
      .subscribe({ next: (v) => values.push(v), complete: () => (completed = true) });
    await flushMicrotasks();
    expect(completed).toBe(false);
    a.release();
    await flushMicrotasks();
    expect(completed).toBe(true);
    expect(values).toEqual([]);
  });

  it('is cold: handlers run once per subscription and not before', async () => {
    const log: string[] = [];
    const { mediator } = mediatorWith([succeeding('a', log)]);
    const published$ = mediator.publish$(new OrderPlaced());
    expect(log).toEqual([]);
    await lastValueFrom(published$, { defaultValue: undefined });
    await lastValueFrom(published$, { defaultValue: undefined });
    expect(log).toEqual(['a:start', 'a:start']);
  });

  it("aborts the handlers' signal when unsubscribed", async () => {
    const a = probe('a');
    const { mediator } = mediatorWith([a.registration]);
    const subscription = mediator.publish$(new OrderPlaced()).subscribe({ error: () => undefined });
    await flushMicrotasks();
    expect(a.contexts[0]?.signal.aborted).toBe(false);
    subscription.unsubscribe();
    expect(a.contexts[0]?.signal.aborted).toBe(true);
    a.release();
  });

  it('errors with the handler failure unchanged and honours the strategy', async () => {
    const boom = new Error('boom');
    const { mediator } = mediatorWith([failing('a', boom), succeeding('b')]);
    await expect(
      lastValueFrom(mediator.publish$(new OrderPlaced()), { defaultValue: undefined }),
    ).rejects.toBe(boom);
    await expect(
      lastValueFrom(mediator.publish$(new OrderPlaced(), { strategy: 'allSettled' }), {
        defaultValue: undefined,
      }),
    ).rejects.toBeInstanceOf(NotificationHandlersError);
  });

  it("errors with the reason when the caller's signal aborts, and removes its listener", async () => {
    const { controller, signal, listeners } = trackedController();
    const a = probe('a');
    const { mediator } = mediatorWith([a.registration]);
    let error: unknown;
    mediator
      .publish$(new OrderPlaced(), { signal })
      .subscribe({ error: (e: unknown) => (error = e) });
    await flushMicrotasks();
    expect(listeners()).toBe(1);
    const reason = new Error('stop');
    controller.abort(reason);
    await flushMicrotasks();
    expect(error).toBe(reason);
    expect(a.contexts[0]?.signal.aborted).toBe(true);
    a.release();
  });

  it("removes its listener from the caller's signal when it completes", async () => {
    const { signal, listeners } = trackedController();
    const { mediator } = mediatorWith([succeeding('a')]);
    await lastValueFrom(mediator.publish$(new OrderPlaced(), { signal }), {
      defaultValue: undefined,
    });
    expect(listeners()).toBe(0);
  });
});
