import { describe, expect, it, jest } from '@jest/globals';
import { of } from 'rxjs';
import {
  createMediator,
  handler,
  notificationBehavior,
  requestBehavior,
  streamBehavior,
  type BehaviorRegistration,
  type HandlerContext,
  type RequestBehavior,
  type RequestMessage,
} from '../../src/index.js';
import { deferred } from '../helpers/deferred.js';
import {
  ExportOrders,
  GetOrder,
  NotAMessage,
  order,
  OrderPlaced,
  PlaceOrder,
  UUID,
  type Order,
} from '../helpers/orders.js';

/** Records the order in which behaviors enter and leave around the handler. */
function tracer(log: string[], label: string) {
  return requestBehavior(async function traced(_request, next) {
    log.push(`${label}>`);
    try {
      return await next();
    } finally {
      log.push(`${label}<`);
    }
  });
}

describe('requestBehavior', () => {
  describe('forms', () => {
    it('wraps the handler given as a function', async () => {
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => order(q.id, 1))],
        behaviors: [
          requestBehavior<GetOrder>(async (_q, next) => ({ ...(await next()), total: 99 })),
        ],
      });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1', 99));
    });

    it("wraps the handler given as an object, calling handle() with the object's this", async () => {
      class Doubling implements RequestBehavior<GetOrder> {
        readonly factor = 2;
        async handle(_q: GetOrder, next: () => Promise<Order>): Promise<Order> {
          const o = await next();
          return { ...o, total: o.total * this.factor };
        }
      }
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => order(q.id, 21))],
        behaviors: [requestBehavior(new Doubling())],
      });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1', 42));
    });

    it('names the registration after the function or class, unless a name is given', () => {
      class Audit implements RequestBehavior {
        handle(_r: RequestMessage<any>, next: () => Promise<unknown>): Promise<unknown> {
          return next();
        }
      }
      expect(
        requestBehavior(function timing(_r, next) {
          return next();
        }).name,
      ).toBe('timing');
      expect(requestBehavior(new Audit()).name).toBe('Audit');
      expect(requestBehavior(new Audit(), { name: 'audit.v2' }).name).toBe('audit.v2');
      expect(requestBehavior((_r, next) => next()).name).toBe('request behavior');
    });
  });

  describe('composition', () => {
    it('runs behaviors in registration order, the first outermost', async () => {
      const log: string[] = [];
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => (log.push('handler'), order(q.id)))],
        behaviors: [tracer(log, 'A'), tracer(log, 'B'), tracer(log, 'C')],
      });
      await mediator.send(new GetOrder('1'));
      expect(log).toEqual(['A>', 'B>', 'C>', 'handler', 'C<', 'B<', 'A<']);
    });

    it('can short-circuit: the handler is not called', async () => {
      const handle = jest.fn(() => order('from handler'));
      const mediator = createMediator({
        handlers: [handler(GetOrder, handle)],
        behaviors: [requestBehavior<GetOrder>(() => order('cached'))],
      });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('cached'));
      expect(handle).not.toHaveBeenCalled();
    });

    it('passes the original request on when next() is called without one', async () => {
      let seen: GetOrder | undefined;
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => ((seen = q), order(q.id)))],
        behaviors: [requestBehavior((_q, next) => next())],
      });
      const query = new GetOrder('1');
      await mediator.send(query);
      expect(seen).toBe(query);
    });

    it('transforms the request with next(replacement): inner behaviors and the handler see the replacement', async () => {
      const seen: string[] = [];
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => (seen.push(`handler:${q.id}`), order(q.id)))],
        behaviors: [
          requestBehavior<GetOrder>((q, next) => next(new GetOrder(q.id.toUpperCase()))),
          requestBehavior<GetOrder>((q, next) => (seen.push(`inner:${q.id}`), next())),
        ],
      });
      await expect(mediator.send(new GetOrder('abc'))).resolves.toEqual(order('ABC'));
      expect(seen).toEqual(['inner:ABC', 'handler:ABC']);
    });

    it('transforms the response', async () => {
      const mediator = createMediator({
        handlers: [handler(PlaceOrder, (c) => `order-${c.sku}`)],
        behaviors: [requestBehavior<PlaceOrder>(async (_c, next) => (await next()).toUpperCase())],
      });
      await expect(mediator.send(new PlaceOrder('book', 1))).resolves.toBe('ORDER-BOOK');
    });

    it('can call next() again to retry: the handler runs twice', async () => {
      const handle = jest
        .fn<(q: GetOrder) => Promise<Order>>()
        .mockRejectedValueOnce(new Error('transient'))
        .mockImplementation(async (q) => order(q.id));
      const mediator = createMediator({
        handlers: [handler(GetOrder, handle)],
        behaviors: [
          requestBehavior(async (_q, next) => {
            try {
              return await next();
            } catch {
              return next();
            }
          }),
        ],
      });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1'));
      expect(handle).toHaveBeenCalledTimes(2);
    });

    it('hands the behavior a Promise of the last value when the handler answers with an Observable', async () => {
      let inner: unknown;
      const mediator = createMediator({
        handlers: [handler(GetOrder, () => of(order('1'), order('2')))],
        behaviors: [requestBehavior((_q, next) => (inner = next()))],
      });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('2'));
      expect(inner).toBeInstanceOf(Promise);
    });

    it('ignores stream and notification behaviors', async () => {
      const stream = jest.fn<
        (r: unknown, next: () => AsyncIterable<unknown>) => AsyncIterable<unknown>
      >((_r, next) => next());
      const notification = jest.fn<(n: unknown, next: () => Promise<void>) => Promise<void>>(
        (_n, next) => next(),
      );
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => order(q.id))],
        behaviors: [streamBehavior(stream), notificationBehavior(notification)],
      });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1'));
      expect(stream).not.toHaveBeenCalled();
      expect(notification).not.toHaveBeenCalled();
    });
  });

  describe('scope', () => {
    it("applies a behavior with 'for' only to the listed request classes", async () => {
      const seen: string[] = [];
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => order(q.id)), handler(PlaceOrder, (c) => c.sku)],
        behaviors: [
          requestBehavior((r, next) => (seen.push(r.constructor.name), next()), {
            for: [GetOrder],
          }),
        ],
      });
      await mediator.send(new PlaceOrder('book', 1));
      await mediator.send(new GetOrder('1'));
      await mediator.send(new PlaceOrder('pen', 1));
      expect(seen).toEqual(['GetOrder']);
    });

    it('does not apply to a subclass of a listed class (scopes are exact classes)', async () => {
      class GetArchivedOrder extends GetOrder {}
      const scoped = jest.fn<(r: GetOrder, next: () => Promise<Order>) => Promise<Order>>(
        (_r, next) => next(),
      );
      const mediator = createMediator({
        handlers: [
          handler(GetOrder, (q) => order(q.id)),
          handler(GetArchivedOrder, (q) => order(q.id)),
        ],
        behaviors: [requestBehavior(scoped, { for: [GetOrder] })],
      });
      await mediator.send(new GetArchivedOrder('1'));
      expect(scoped).not.toHaveBeenCalled();
    });
  });

  describe('resolution', () => {
    it('resolves a shared behavior once, when the mediator is built, not per call', async () => {
      const registration = requestBehavior((_q, next) => next());
      const resolve = jest.fn(registration.resolve);
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => order(q.id)), handler(PlaceOrder, (c) => c.sku)],
        behaviors: [{ ...registration, resolve }],
      });
      const afterBuild = resolve.mock.calls.length;
      for (let i = 0; i < 3; i++) {
        await mediator.send(new GetOrder(`${i}`));
        await mediator.send(new PlaceOrder('x', i));
      }
      expect(afterBuild).toBeGreaterThan(0);
      expect(resolve).toHaveBeenCalledTimes(afterBuild);
    });

    it('resolves a behavior registered with shared: false on every call', async () => {
      let created = 0;
      const perCall: BehaviorRegistration = {
        kind: 'request',
        for: undefined,
        name: 'perCall',
        shared: false,
        resolve: jest.fn(() => {
          const id = ++created;
          return {
            handle: async (_r: unknown, next: () => Promise<unknown>) => ({
              ...((await next()) as Order),
              total: id,
            }),
          };
        }),
      };
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => order(q.id))],
        behaviors: [perCall],
      });
      expect(perCall.resolve).not.toHaveBeenCalled();
      const answers = [
        await mediator.send(new GetOrder('a')),
        await mediator.send(new GetOrder('b')),
      ];
      expect(perCall.resolve).toHaveBeenCalledTimes(2);
      expect(answers).toEqual([order('a', 1), order('b', 2)]);
    });
  });

  describe('context', () => {
    it('gives every behavior the same signal, correlation id and message name as the handler', async () => {
      const seen: Array<[string, HandlerContext]> = [];
      const observe = (label: string) =>
        requestBehavior((_q, next, ctx) => (seen.push([label, ctx]), next()));
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q, ctx) => (seen.push(['handler', ctx]), order(q.id)))],
        behaviors: [observe('outer'), observe('inner')],
      });
      const { signal } = new AbortController();
      await mediator.send(new GetOrder('1'), { signal });
      expect(seen.map(([label]) => label)).toEqual(['outer', 'inner', 'handler']);
      const correlationIds = new Set(seen.map(([, ctx]) => ctx.correlationId));
      expect(correlationIds.size).toBe(1);
      expect([...correlationIds][0]).toMatch(UUID);
      for (const [, ctx] of seen) {
        expect(ctx.signal).toBe(signal);
        expect(ctx.messageName).toBe('GetOrder');
      }
    });

    it("lets a behavior see the caller's abort, and the call rejects with its reason", async () => {
      let behaviorSignal: AbortSignal | undefined;
      const mediator = createMediator({
        handlers: [handler(GetOrder, () => deferred<Order>().promise)],
        behaviors: [requestBehavior((_q, next, ctx) => ((behaviorSignal = ctx.signal), next()))],
      });
      const controller = new AbortController();
      const result = mediator.send(new GetOrder('1'), { signal: controller.signal });
      const reason = new Error('stop');
      controller.abort(reason);
      await expect(result).rejects.toBe(reason);
      expect(behaviorSignal?.aborted).toBe(true);
    });
  });

  describe('errors', () => {
    it('turns a synchronous throw in a behavior into a rejection with that error', async () => {
      const boom = new Error('behavior failed');
      const handle = jest.fn(() => order('1'));
      const mediator = createMediator({
        handlers: [handler(GetOrder, handle)],
        behaviors: [
          requestBehavior(() => {
            throw boom;
          }),
        ],
      });
      let result: Promise<Order> | undefined;
      expect(() => (result = mediator.send(new GetOrder('1')))).not.toThrow();
      await expect(result).rejects.toBe(boom);
      expect(handle).not.toHaveBeenCalled();
    });

    it("lets an outer behavior catch an inner behavior's synchronous throw through next()", async () => {
      const boom = new Error('inner failed');
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => order(q.id))],
        behaviors: [
          requestBehavior<GetOrder>(async (_q, next) => {
            try {
              return await next();
            } catch (error) {
              return order(error === boom ? 'recovered' : 'wrong error');
            }
          }),
          requestBehavior(() => {
            throw boom;
          }),
        ],
      });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('recovered'));
    });

    it("passes the handler's error through behaviors unchanged", async () => {
      const boom = new Error('handler failed');
      const mediator = createMediator({
        handlers: [handler(GetOrder, () => Promise.reject<Order>(boom))],
        behaviors: [
          requestBehavior((_q, next) => next()),
          requestBehavior(async (_q, next) => next()),
        ],
      });
      await expect(mediator.send(new GetOrder('1'))).rejects.toBe(boom);
    });
  });

  describe('bad input', () => {
    it.each<[string, unknown, string]>([
      [
        'a number',
        42,
        'A request behavior must be a function or an object with a handle() method, got number 42.',
      ],
      [
        'null',
        null,
        'A request behavior must be a function or an object with a handle() method, got null.',
      ],
      ['an object without handle()', { run() {} }, 'got an instance of Object.'],
      ['an object whose handle is not a function', { handle: 'x' }, 'got an instance of Object.'],
    ])('throws a TypeError for %s', (_case, behavior, message) => {
      expect(() => requestBehavior(behavior as RequestBehavior)).toThrow(TypeError);
      expect(() => requestBehavior(behavior as RequestBehavior)).toThrow(message);
    });

    it("throws a TypeError for an empty 'for' list", () => {
      expect(() => requestBehavior((_r, next) => next(), { for: [] })).toThrow(
        new TypeError(
          "Option 'for' must be a non-empty array of message classes, got an instance of Array.",
        ),
      );
    });

    it("throws a TypeError for a 'for' that is not an array", () => {
      expect(() => requestBehavior((_r, next) => next(), { for: GetOrder as never })).toThrow(
        "Option 'for' must be a non-empty array of message classes, got function GetOrder.",
      );
    });

    it("throws a TypeError naming a stream or notification class listed in a request behavior's 'for'", () => {
      expect(() =>
        requestBehavior((_r, next) => next(), { for: [GetOrder, ExportOrders as never] }),
      ).toThrow(
        new TypeError(
          "Option 'for' of a request behavior lists ExportOrders, which is a stream message.",
        ),
      );
      expect(() => requestBehavior((_r, next) => next(), { for: [OrderPlaced as never] })).toThrow(
        'lists OrderPlaced, which is a notification message.',
      );
    });

    it("throws a TypeError naming a 'for' entry that is not a message class", () => {
      expect(() => requestBehavior((_r, next) => next(), { for: [NotAMessage as never] })).toThrow(
        new TypeError(
          "Option 'for' of a request behavior lists function NotAMessage, which is not a message class.",
        ),
      );
      expect(() =>
        requestBehavior((_r, next) => next(), { for: [new GetOrder('1') as never] }),
      ).toThrow('lists an instance of GetOrder, which is not a message class.');
    });
  });
});
