import { describe, expect, it, jest } from '@jest/globals';
import { EMPTY } from 'rxjs';
import {
  createMediator,
  DuplicateHandlerError,
  DuplicateMessageNameError,
  handledMessagesOf,
  handler,
  Handles,
  isInvalidHandlerResultError,
  Mediator,
  MessageName,
  Notification,
  notificationBehavior,
  Query,
  requestBehavior,
  type HandlerContext,
  type HandlerRegistration,
  type MediatorOptions,
  type NotificationHandler,
  type RequestHandler,
} from '../../src/index.js';
import {
  ExportOrders,
  GetOrder,
  NotAMessage,
  order,
  OrderPlaced,
  PlaceOrder,
  type Order,
} from '../helpers/orders.js';

class OrderShipped extends Notification {
  constructor(readonly orderId: string) {
    super();
  }
}

/** The handler names a notification's handlers run under, in order, as behaviors see them. */
async function handlerNamesOf(options: MediatorOptions, event: Notification): Promise<string[]> {
  const names: string[] = [];
  const mediator = createMediator({
    ...options,
    behaviors: [
      notificationBehavior((_n, next, ctx) => (names.push(ctx.handlerName ?? '?'), next())),
    ],
  });
  await mediator.publish(event);
  return names;
}

/** The error `fn` throws (fails the test if it does not throw). */
function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

describe('createMediator', () => {
  it('returns a Mediator, with no options at all', () => {
    expect(createMediator()).toBeInstanceOf(Mediator);
  });

  describe('registration', () => {
    it('accepts handler(Message, function)', async () => {
      const mediator = createMediator({ handlers: [handler(GetOrder, (q) => order(q.id))] });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1'));
    });

    it("accepts handler(Message, object) and calls handle() with the object's this", async () => {
      class Repository implements RequestHandler<GetOrder> {
        readonly total = 7;
        handle(q: GetOrder): Order {
          return order(q.id, this.total);
        }
      }
      const mediator = createMediator({ handlers: [handler(GetOrder, new Repository())] });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1', 7));
    });

    it('accepts an instance of a @Handles class', async () => {
      @Handles(GetOrder)
      class GetOrderHandler implements RequestHandler<GetOrder> {
        handle(q: GetOrder): Order {
          return order(q.id, 3);
        }
      }
      const mediator = createMediator({ handlers: [new GetOrderHandler()] });
      await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1', 3));
    });

    it('registers one @Handles instance for each notification class it lists', async () => {
      @Handles(OrderPlaced, OrderShipped)
      class Audit implements NotificationHandler<OrderPlaced | OrderShipped> {
        readonly log: string[] = [];
        handle(event: OrderPlaced | OrderShipped): void {
          this.log.push(`${event.constructor.name}:${event.orderId}`);
        }
      }
      const audit = new Audit();
      const mediator = createMediator({ handlers: [audit] });
      await mediator.publish(new OrderPlaced('1'));
      await mediator.publish(new OrderShipped('1'));
      expect(audit.log).toEqual(['OrderPlaced:1', 'OrderShipped:1']);
      expect(handledMessagesOf(Audit)).toEqual([OrderPlaced, OrderShipped]);
    });

    it('names handlers by option, else by function or class name; the name shows in errors', async () => {
      @Handles(GetOrder)
      class EmptyLookup implements RequestHandler<GetOrder> {
        handle(): typeof EMPTY {
          return EMPTY;
        }
      }
      const nameIn = async (
        registration: HandlerRegistration | object,
      ): Promise<string | undefined> => {
        const error: unknown = await createMediator({ handlers: [registration] })
          .send(new GetOrder('1'))
          .catch((e: unknown) => e);
        return isInvalidHandlerResultError(error) ? error.handlerName : undefined;
      };
      expect(
        await nameIn(
          handler(GetOrder, function lookup() {
            return EMPTY;
          }),
        ),
      ).toBe('lookup');
      expect(await nameIn(handler(GetOrder, () => EMPTY, { name: 'orders.lookup' }))).toBe(
        'orders.lookup',
      );
      expect(await nameIn(new EmptyLookup())).toBe('EmptyLookup');
      expect(await nameIn(handler(GetOrder, new EmptyLookup()))).toBe('EmptyLookup');
    });

    it('resolves a shared handler once, and a handler registered with shared: false on every call', async () => {
      const make = (shared: boolean) => {
        let created = 0;
        const resolve = jest.fn(() => {
          const id = ++created;
          return { handle: (q: GetOrder) => order(q.id, id) };
        });
        const registration: HandlerRegistration<GetOrder> = {
          message: GetOrder,
          name: 'lookup',
          resolve,
          shared,
          identity: resolve,
        };
        return { mediator: createMediator({ handlers: [registration] }), resolve };
      };
      const shared = make(true);
      const perCall = make(false);
      const sharedAnswers = [
        await shared.mediator.send(new GetOrder('a')),
        await shared.mediator.send(new GetOrder('b')),
      ];
      const perCallAnswers = [
        await perCall.mediator.send(new GetOrder('a')),
        await perCall.mediator.send(new GetOrder('b')),
      ];
      expect(shared.resolve).toHaveBeenCalledTimes(1);
      expect(sharedAnswers).toEqual([order('a', 1), order('b', 1)]);
      expect(perCall.resolve).toHaveBeenCalledTimes(2);
      expect(perCallAnswers).toEqual([order('a', 1), order('b', 2)]);
    });
  });

  describe('duplicates', () => {
    it('throws DuplicateHandlerError naming both handlers when a request gets a second handler', () => {
      const error = thrownBy(() =>
        createMediator({
          handlers: [
            handler(GetOrder, function first() {
              return order('1');
            }),
            handler(GetOrder, function second() {
              return order('2');
            }),
          ],
        }),
      );
      expect(error).toBeInstanceOf(DuplicateHandlerError);
      expect(error).toMatchObject({
        messageName: 'GetOrder',
        existingHandler: 'first',
        duplicateHandler: 'second',
      });
      expect(error.message).toBe(
        "'GetOrder' already has handler 'first'; cannot also register 'second'.",
      );
    });

    it('throws DuplicateHandlerError when a @Handles instance and handler() claim the same request', () => {
      @Handles(PlaceOrder)
      class PlaceOrderHandler implements RequestHandler<PlaceOrder> {
        handle(): string {
          return 'id';
        }
      }
      expect(() =>
        createMediator({ handlers: [new PlaceOrderHandler(), handler(PlaceOrder, () => 'other')] }),
      ).toThrow(DuplicateHandlerError);
    });

    it('throws DuplicateHandlerError when a stream request gets a second handler', () => {
      const rows = function* rows() {
        yield order('1');
      };
      expect(() =>
        createMediator({
          handlers: [handler(ExportOrders, rows), handler(ExportOrders, () => [order('2')])],
        }),
      ).toThrow("'ExportOrders' already has handler 'rows'");
    });

    it('throws DuplicateHandlerError when the same notification handler instance is registered twice', () => {
      @Handles(OrderPlaced)
      class SendConfirmation implements NotificationHandler<OrderPlaced> {
        handle(): void {}
      }
      const instance = new SendConfirmation();
      const error = thrownBy(() => createMediator({ handlers: [instance, instance] }));
      expect(error).toBeInstanceOf(DuplicateHandlerError);
      expect(error.message).toBe(
        "Handler 'SendConfirmation' is registered twice for 'OrderPlaced'.",
      );
    });

    it('throws DuplicateHandlerError when the same notification handler function is registered twice', () => {
      const notify = (): void => {};
      expect(() =>
        createMediator({ handlers: [handler(OrderPlaced, notify), handler(OrderPlaced, notify)] }),
      ).toThrow(DuplicateHandlerError);
    });

    it('accepts two distinct anonymous functions for one notification and numbers their names', async () => {
      const names = await handlerNamesOf(
        {
          handlers: [
            handler(OrderPlaced, () => {}),
            handler(OrderPlaced, () => {}),
            handler(OrderPlaced, () => {}),
          ],
        },
        new OrderPlaced('1'),
      );
      expect(names).toEqual([
        'OrderPlaced handler',
        'OrderPlaced handler #2',
        'OrderPlaced handler #3',
      ]);
    });

    it('tells handler classes apart by identity, not by class name', async () => {
      const makeAudit = () => {
        @Handles(OrderPlaced)
        class Audit implements NotificationHandler<OrderPlaced> {
          handle(): void {}
        }
        return new Audit();
      };
      expect(
        await handlerNamesOf({ handlers: [makeAudit(), makeAudit()] }, new OrderPlaced('1')),
      ).toEqual(['Audit', 'Audit #2']);
    });

    it('throws DuplicateMessageNameError when two classes share a @MessageName', () => {
      @MessageName('orders.get')
      class GetOrderV1 extends Query<Order> {}
      @MessageName('orders.get')
      class GetOrderV2 extends Query<Order> {}
      const error = thrownBy(() =>
        createMediator({
          handlers: [handler(GetOrderV1, () => order('1')), handler(GetOrderV2, () => order('2'))],
        }),
      );
      expect(error).toBeInstanceOf(DuplicateMessageNameError);
      expect(error).toMatchObject({ messageName: 'orders.get' });
      expect(error.message).toContain("'orders.get'");
    });

    it('throws DuplicateMessageNameError when a static messageName equals another class name, across kinds', () => {
      class Impostor extends Notification {
        static readonly messageName = 'GetOrder';
      }
      expect(() =>
        createMediator({
          handlers: [handler(GetOrder, () => order('1')), handler(Impostor, () => {})],
        }),
      ).toThrow(DuplicateMessageNameError);
    });

    it("throws DuplicateMessageNameError when a behavior's 'for' lists a class whose name is taken", () => {
      @MessageName('GetOrder')
      class Shadow extends Query<Order> {}
      expect(() =>
        createMediator({
          handlers: [handler(GetOrder, () => order('1'))],
          behaviors: [requestBehavior((_q, next) => next(), { for: [Shadow] })],
        }),
      ).toThrow(DuplicateMessageNameError);
    });

    it('accepts the same class in handlers and in a behavior scope', () => {
      expect(() =>
        createMediator({
          handlers: [handler(GetOrder, () => order('1'))],
          behaviors: [requestBehavior((_q, next) => next(), { for: [GetOrder] })],
        }),
      ).not.toThrow();
    });
  });

  describe('invalid options', () => {
    it.each<[string, unknown, typeof TypeError | typeof RangeError, string]>([
      [
        'publish.strategy bogus',
        { publish: { strategy: 'bogus' } },
        TypeError,
        "Option 'publish.strategy' must be one of 'sequential', 'parallel', 'allSettled', got 'bogus'.",
      ],
      [
        'publish.concurrency 0',
        { publish: { concurrency: 0 } },
        RangeError,
        "Option 'publish.concurrency' must be a whole number ≥ 1 or Infinity, got 0.",
      ],
      [
        'publish.concurrency 1.5',
        { publish: { concurrency: 1.5 } },
        RangeError,
        "Option 'publish.concurrency' must be a whole number ≥ 1 or Infinity, got 1.5.",
      ],
      [
        'publish.concurrency -1',
        { publish: { concurrency: -1 } },
        RangeError,
        "Option 'publish.concurrency' must be a whole number ≥ 1 or Infinity, got -1.",
      ],
      [
        'publish.concurrency NaN',
        { publish: { concurrency: NaN } },
        RangeError,
        "Option 'publish.concurrency' must be a whole number ≥ 1 or Infinity, got NaN.",
      ],
      [
        "publish.concurrency '3'",
        { publish: { concurrency: '3' } },
        TypeError,
        "Option 'publish.concurrency' must be a number, got '3'.",
      ],
      [
        'streams.bufferCapacity 0',
        { streams: { bufferCapacity: 0 } },
        RangeError,
        "Option 'streams.bufferCapacity' must be a whole number ≥ 1, got 0.",
      ],
      [
        'streams.bufferCapacity Infinity',
        { streams: { bufferCapacity: Infinity } },
        RangeError,
        "Option 'streams.bufferCapacity' must be a whole number ≥ 1, got Infinity.",
      ],
      [
        'onError not a function',
        { onError: 'log' },
        TypeError,
        "Option 'onError' must be a function, got 'log'.",
      ],
      ['options null', null, TypeError, 'Mediator options must be an object, got null.'],
      [
        'handlers not iterable',
        { handlers: 42 },
        TypeError,
        "Option 'handlers' must be an iterable (e.g. an array), got 42.",
      ],
      [
        'behaviors not iterable',
        { behaviors: {} },
        TypeError,
        "Option 'behaviors' must be an iterable (e.g. an array), got {}.",
      ],
    ])('throws for %s, naming the option and the value', (_case, options, errorClass, message) => {
      const error = thrownBy(() => createMediator(options as MediatorOptions));
      expect(error).toBeInstanceOf(errorClass);
      expect(error.message).toBe(message);
    });

    it('accepts publish.concurrency Infinity and whole numbers', () => {
      expect(() =>
        createMediator({
          publish: { strategy: 'parallel', concurrency: Infinity },
          streams: { bufferCapacity: 1 },
        }),
      ).not.toThrow();
      expect(() =>
        createMediator({ publish: { strategy: 'allSettled', concurrency: 4 } }),
      ).not.toThrow();
    });

    const entryError =
      /^Each entry of 'handlers' must come from handler\(Message, impl\) or be an instance of a @Handles\(…\) class with a handle\(\) method, got /;

    it.each<[string, unknown, string]>([
      ['a plain object', {}, 'an instance of Object'],
      ['a number', 42, 'number 42'],
      ['null', null, 'null'],
      [
        'an undecorated object with handle()',
        new (class Plain {
          handle() {}
        })(),
        'an instance of Plain',
      ],
      [
        'a @Handles class instead of an instance',
        (() => {
          @Handles(GetOrder)
          class Decorated {
            handle() {
              return order('1');
            }
          }
          return Decorated;
        })(),
        'function Decorated',
      ],
      ['a bare function', (q: GetOrder) => order(q.id), 'function (anonymous)'],
    ])('throws a TypeError for a handlers entry that is %s', (_case, entry, shown) => {
      const error = thrownBy(() => createMediator({ handlers: [entry as object] }));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toMatch(entryError);
      expect(error.message.endsWith(`got ${shown}.`)).toBe(true);
    });

    it('throws a TypeError for a @Handles instance without a handle() method', () => {
      // @ts-expect-error the decorator already refuses, at compile time, a class without handle()
      @Handles(GetOrder)
      class NoHandle {}
      expect(() => createMediator({ handlers: [new NoHandle()] })).toThrow(entryError);
    });

    it.each<[string, unknown]>([
      ['a bare behavior function', (_r: unknown, next: () => unknown) => next()],
      ['a bare behavior object', { handle: (_r: unknown, next: () => unknown) => next() }],
      ['a number', 42],
    ])(
      'throws a TypeError for a behaviors entry that is %s, rather than ignoring it',
      (_case, entry) => {
        const error = thrownBy(() => createMediator({ behaviors: [entry as never] }));
        expect(error).toBeInstanceOf(TypeError);
        expect(error.message).toMatch(
          /^Each entry of 'behaviors' must come from requestBehavior\(\), streamBehavior\(\), notificationBehavior\(\), interceptRequest\(\) or be a behavior set such as retry\(\), got /,
        );
      },
    );
  });
});

describe('handler', () => {
  it('throws a TypeError for a class that is not a message class', () => {
    expect(() => handler(NotAMessage as never, () => 1)).toThrow(
      new TypeError(
        'handler() needs a message class (a subclass of Query, Command, StreamRequest or Notification), got function NotAMessage.',
      ),
    );
    expect(() => handler(new GetOrder('1') as never, () => 1)).toThrow(
      'got an instance of GetOrder.',
    );
  });

  it('throws a TypeError naming the message for an implementation that is neither function nor handler object', () => {
    expect(() => handler(GetOrder, 42 as never)).toThrow(
      new TypeError(
        'handler(GetOrder, …) needs a function or an object with a handle() method, got number 42.',
      ),
    );
    expect(() => handler(GetOrder, { run: () => order('1') } as never)).toThrow(
      'got an instance of Object.',
    );
  });
});

describe('Handles', () => {
  it('throws a TypeError without message classes, or for a class that is not one', () => {
    expect(() => Handles()).toThrow(new TypeError('@Handles needs at least one message class.'));
    expect(() => Handles(NotAMessage as never)).toThrow(
      new TypeError(
        '@Handles needs message classes (subclasses of Query, Command, StreamRequest or Notification), got function NotAMessage.',
      ),
    );
  });

  it('writes metadata only: the class is unchanged and handledMessagesOf reads it back', () => {
    class Plain implements RequestHandler<GetOrder> {
      handle(q: GetOrder, _ctx?: HandlerContext): Order {
        return order(q.id);
      }
    }
    const before = Object.getOwnPropertyNames(Plain.prototype);
    Handles(GetOrder)(Plain);
    expect(Object.getOwnPropertyNames(Plain.prototype)).toEqual(before);
    expect(handledMessagesOf(Plain)).toEqual([GetOrder]);
    expect(handledMessagesOf(class Undecorated {})).toEqual([]);
  });
});
