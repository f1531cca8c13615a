import { describe, expect, it, jest } from '@jest/globals';
import { EMPTY, Observable, of, Subject, throwError } from 'rxjs';
import {
  createMediator,
  handler,
  HandlerNotFoundError,
  InvalidHandlerResultError,
  isAbortError,
  type HandlerContext,
} from '../../src/index.js';
import { deferred } from '../helpers/deferred.js';
import { ExportOrders, GetOrder, order, OrderPlaced, UUID, type Order } from '../helpers/orders.js';
import { trackedController } from '../helpers/signals.js';

/** A mediator whose only handler answers GetOrder with `answer`. */
function answering(answer: (query: GetOrder, context: HandlerContext) => unknown) {
  return createMediator({ handlers: [handler(GetOrder, answer as (q: GetOrder) => Order)] });
}

/** Settles to what a promise settled with, without throwing. */
function outcome(promise: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe('Mediator.send', () => {
  describe('normalising what the handler returns', () => {
    it('resolves with a plain value', async () => {
      await expect(answering((q) => order(q.id)).send(new GetOrder('1'))).resolves.toEqual(
        order('1'),
      );
    });

    it('resolves with what a Promise resolves to', async () => {
      await expect(answering(async (q) => order(q.id)).send(new GetOrder('2'))).resolves.toEqual(
        order('2'),
      );
    });

    it('resolves with what a non-Promise thenable resolves to', async () => {
      const thenable: PromiseLike<Order> = {
        then: (onFulfilled, onRejected) =>
          Promise.resolve(order('t')).then(onFulfilled, onRejected),
      };
      await expect(answering(() => thenable).send(new GetOrder('t'))).resolves.toEqual(order('t'));
    });

    it('rejects with what a rejecting thenable rejects with, unchanged', async () => {
      const boom = new Error('thenable failed');
      const thenable: PromiseLike<Order> = {
        then: (onFulfilled, onRejected) =>
          Promise.reject<Order>(boom).then(onFulfilled, onRejected),
      };
      await expect(answering(() => thenable).send(new GetOrder('t'))).rejects.toBe(boom);
    });

    it('resolves with the last value of an Observable', async () => {
      await expect(
        answering(() => of(order('1'), order('2'), order('3'))).send(new GetOrder('x')),
      ).resolves.toEqual(order('3'));
    });

    it('waits for an asynchronous Observable to complete', async () => {
      const answers = new Subject<Order>();
      const pending = outcome(answering(() => answers).send(new GetOrder('x')));
      answers.next(order('early'));
      answers.next(order('late'));
      let settled = false;
      void pending.then(() => (settled = true));
      await Promise.resolve();
      expect(settled).toBe(false);
      answers.complete();
      expect(await pending).toEqual({ value: order('late') });
    });

    it('rejects with InvalidHandlerResultError naming handler and message when an Observable completes empty', async () => {
      const mediator = createMediator({
        handlers: [
          handler(GetOrder, function emptyLookup() {
            return EMPTY;
          }),
        ],
      });
      const { error } = await outcome(mediator.send(new GetOrder('1')));
      expect(error).toBeInstanceOf(InvalidHandlerResultError);
      expect(error).toMatchObject({ handlerName: 'emptyLookup', messageName: 'GetOrder' });
      expect((error as Error).message).toMatch(
        /^Handler 'emptyLookup' for 'GetOrder' .*completed without a value/,
      );
    });

    it("rejects with an Observable's error unchanged", async () => {
      const boom = new Error('stream failed');
      await expect(answering(() => throwError(() => boom)).send(new GetOrder('1'))).rejects.toBe(
        boom,
      );
    });
  });

  describe('fast path', () => {
    it("returns the handler's own Promise when there are no behaviors and no signal", () => {
      const answer = Promise.resolve(order('1'));
      const mediator = answering(() => answer);
      expect(mediator.send(new GetOrder('1'))).toBe(answer);
      expect(mediator.send(new GetOrder('1'), { correlationId: 'c-1' })).toBe(answer);
    });

    it('calls the handler synchronously, before send() returns', () => {
      const handle = jest.fn(() => order('1'));
      void answering(handle).send(new GetOrder('1'));
      expect(handle).toHaveBeenCalledTimes(1);
    });
  });

  describe('errors', () => {
    it("rejects with the handler's own error object, unchanged", async () => {
      const boom = new RangeError('no such order');
      await expect(
        answering(async () => Promise.reject(boom)).send(new GetOrder('1')),
      ).rejects.toBe(boom);
    });

    it('turns a synchronous throw into a rejection, never a throw from send()', async () => {
      const boom = new Error('sync');
      const mediator = answering(() => {
        throw boom;
      });
      let result: Promise<Order> | undefined;
      expect(() => (result = mediator.send(new GetOrder('1')))).not.toThrow();
      await expect(result).rejects.toBe(boom);
    });

    it('passes on a thrown non-Error value as it is', async () => {
      const mediator = answering(() => {
        throw 'plain string';
      });
      await expect(mediator.send(new GetOrder('1'))).rejects.toBe('plain string');
    });
  });

  describe('context', () => {
    it('gives the handler a signal that is not aborted when the caller passed none', async () => {
      let seen: HandlerContext | undefined;
      await answering((q, ctx) => ((seen = ctx), order(q.id))).send(new GetOrder('1'));
      expect(seen?.signal).toBeInstanceOf(AbortSignal);
      expect(seen?.signal.aborted).toBe(false);
    });

    it("uses the caller's correlation id", async () => {
      const mediator = answering((_q, ctx) => order(ctx.correlationId));
      await expect(mediator.send(new GetOrder('1'), { correlationId: 'req-42' })).resolves.toEqual(
        order('req-42'),
      );
    });

    it('generates a UUID correlation id when none is given, stable within a call and new per call', async () => {
      const ids: string[][] = [];
      const mediator = answering(
        (q, ctx) => (ids.push([ctx.correlationId, ctx.correlationId]), order(q.id)),
      );
      await mediator.send(new GetOrder('1'));
      await mediator.send(new GetOrder('2'));
      const [first, second] = ids as [[string, string], [string, string]];
      expect(first[0]).toMatch(UUID);
      expect(first[1]).toBe(first[0]);
      expect(second[0]).toMatch(UUID);
      expect(second[0]).not.toBe(first[0]);
    });

    it("gives the handler the message's stable name", async () => {
      await expect(
        answering((_q, ctx) => order(ctx.messageName)).send(new GetOrder('1')),
      ).resolves.toEqual(order('GetOrder'));
    });
  });

  describe('cancellation', () => {
    it('rejects with the reason of an already aborted signal without calling the handler', async () => {
      const handle = jest.fn(() => order('1'));
      const reason = new Error('caller gave up');
      const result = answering(handle).send(new GetOrder('1'), {
        signal: AbortSignal.abort(reason),
      });
      await expect(result).rejects.toBe(reason);
      expect(handle).not.toHaveBeenCalled();
    });

    it('rejects with an AbortError when aborted without a reason', async () => {
      const { error } = await outcome(
        answering(() => order('1')).send(new GetOrder('1'), { signal: AbortSignal.abort() }),
      );
      expect(error).toBeInstanceOf(DOMException);
      expect(isAbortError(error)).toBe(true);
    });

    it('rejects with the reason when aborted mid-flight, even if the handler ignores the signal', async () => {
      const never = deferred<Order>();
      let seen: AbortSignal | undefined;
      const mediator = answering((_q, ctx) => ((seen = ctx.signal), never.promise));
      const controller = new AbortController();
      const result = outcome(mediator.send(new GetOrder('1'), { signal: controller.signal }));
      const reason = new Error('stop');
      controller.abort(reason);
      expect(await result).toEqual({ error: reason });
      expect(seen?.aborted).toBe(true);
      expect(seen?.reason).toBe(reason);
      never.resolve(order('too late')); // settles harmlessly after the caller has gone
    });

    it("unsubscribes from an Observable handler's answer on abort", async () => {
      let tornDown = 0;
      const mediator = answering(() => new Observable<Order>(() => () => void tornDown++));
      const controller = new AbortController();
      const result = outcome(mediator.send(new GetOrder('1'), { signal: controller.signal }));
      expect(tornDown).toBe(0);
      controller.abort();
      const { error } = await result;
      expect(isAbortError(error)).toBe(true);
      expect(tornDown).toBe(1);
    });

    const settlers: Array<[string, () => { answer: unknown; settle(): void }]> = [
      [
        'a Promise resolves',
        () => {
          const d = deferred<Order>();
          return { answer: d.promise, settle: () => d.resolve(order('1')) };
        },
      ],
      [
        'a Promise rejects',
        () => {
          const d = deferred<Order>();
          return { answer: d.promise, settle: () => d.reject(new Error('x')) };
        },
      ],
      [
        'an Observable completes',
        () => {
          const s = new Subject<Order>();
          return { answer: s, settle: () => (s.next(order('1')), s.complete()) };
        },
      ],
      [
        'an Observable errors',
        () => {
          const s = new Subject<Order>();
          return { answer: s, settle: () => s.error(new Error('x')) };
        },
      ],
    ];

    it.each(settlers)(
      "removes every listener it added to the caller's signal after %s",
      async (_case, make) => {
        const { signal, listeners } = trackedController();
        const { answer, settle } = make();
        const result = outcome(answering(() => answer).send(new GetOrder('1'), { signal }));
        expect(listeners()).toBeGreaterThan(0);
        settle();
        await result;
        expect(listeners()).toBe(0);
      },
    );

    it("adds no listener to the caller's signal for an Observable that answers synchronously", async () => {
      const { signal, listeners } = trackedController();
      await answering(() => of(order('1'))).send(new GetOrder('1'), { signal });
      expect(listeners()).toBe(0);
    });

    it("leaves no listener on the caller's signal after an abort", async () => {
      const { controller, signal, listeners } = trackedController();
      const result = outcome(
        answering(() => new Subject<Order>()).send(new GetOrder('1'), { signal }),
      );
      controller.abort();
      await result;
      expect(listeners()).toBe(0);
    });
  });

  describe('routing', () => {
    it('rejects with HandlerNotFoundError naming the request when no handler is registered', async () => {
      const mediator = createMediator();
      const { error } = await outcome(mediator.send(new GetOrder('1')));
      expect(error).toBeInstanceOf(HandlerNotFoundError);
      expect(error).toMatchObject({ messageName: 'GetOrder', kind: 'request' });
      expect((error as Error).message).toBe("No request handler is registered for 'GetOrder'.");
    });

    it('does not route a subclass to the handler of its registered parent', async () => {
      class GetArchivedOrder extends GetOrder {}
      const handle = jest.fn(() => order('1'));
      const { error } = await outcome(answering(handle).send(new GetArchivedOrder('1')));
      expect(error).toBeInstanceOf(HandlerNotFoundError);
      expect(error).toMatchObject({ messageName: 'GetArchivedOrder' });
      expect(handle).not.toHaveBeenCalled();
    });

    it.each<[string, unknown, RegExp]>([
      ['null', null, /^send\(\) needs a Query or Command instance, got null\.$/],
      ['undefined', undefined, /^send\(\) needs a Query or Command instance, got undefined\.$/],
      ['a number', 42, /got number 42\.$/],
      ['a string', 'GetOrder', /got string GetOrder\.$/],
      ['a plain object', { id: '1' }, /got an instance of Object\.$/],
      ['a request class instead of an instance', GetOrder, /got function GetOrder\.$/],
      [
        'a Notification',
        new OrderPlaced('1'),
        /^send\(\) cannot dispatch 'OrderPlaced': it is a notification message; use publish\(\)\.$/,
      ],
      [
        'a StreamRequest',
        new ExportOrders(),
        /^send\(\) cannot dispatch 'ExportOrders': it is a stream message; use createStream\(\)\.$/,
      ],
    ])('rejects %s with a TypeError that says what to do', async (_case, value, message) => {
      const mediator = answering(() => order('1'));
      let result: Promise<unknown> | undefined;
      expect(() => (result = mediator.send(value as GetOrder))).not.toThrow();
      const { error } = await outcome(result!);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(message);
    });

    it('rejects, rather than throws, for an unregistered anonymous request class, telling how to name it', async () => {
      const Anonymous = [class extends GetOrder {}][0]!;
      let result: Promise<Order> | undefined;
      expect(() => (result = answering(() => order('1')).send(new Anonymous('1')))).not.toThrow();
      await expect(result).rejects.toThrow(/anonymous message class.*@MessageName/);
    });

    it('treats null options like no options instead of throwing', async () => {
      const mediator = answering((q) => order(q.id));
      let result: Promise<Order> | undefined;
      expect(() => (result = mediator.send(new GetOrder('1'), null as never))).not.toThrow();
      await expect(result).resolves.toEqual(order('1'));
    });

    it("rejects a 'correlationId' option that is not a string with a TypeError naming it", async () => {
      const handle = jest.fn(() => order('1'));
      const { error } = await outcome(
        answering(handle).send(new GetOrder('1'), { correlationId: 42 as never }),
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe("Option 'correlationId' must be a string, got 42.");
      expect(handle).not.toHaveBeenCalled();
    });

    it("rejects a 'signal' option that is not an AbortSignal with a TypeError naming it", async () => {
      const handle = jest.fn(() => order('1'));
      const { error } = await outcome(
        answering(handle).send(new GetOrder('1'), { signal: { aborted: true } as AbortSignal }),
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe(
        `Option 'signal' must be an AbortSignal, got {"aborted":true}.`,
      );
      expect(handle).not.toHaveBeenCalled();
    });
  });
});
