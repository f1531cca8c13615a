import { describe, expect, it, jest } from '@jest/globals';
import {
  createMediator,
  handler,
  Handles,
  interceptRequest,
  requestBehavior,
  type HandlerContext,
  type RequestHandler,
} from '../../src/index.js';
import {
  ExportOrders,
  GetOrder,
  NotAMessage,
  order,
  PlaceOrder,
  type Order,
} from '../helpers/orders.js';

/** A class handler registered through its decorator: the concrete-type case the .NET seed got wrong. */
@Handles(PlaceOrder)
class PlaceOrderHandler implements RequestHandler<PlaceOrder> {
  readonly seen: PlaceOrder[] = [];
  handle(command: PlaceOrder): string {
    this.seen.push(command);
    return `${command.sku}x${command.quantity}`;
  }
}

describe('interceptRequest', () => {
  it('runs before and after for the concrete request class of a @Handles class handler', async () => {
    const placeHandler = new PlaceOrderHandler();
    const before = jest.fn<(c: PlaceOrder) => void>();
    const after = jest.fn((id: string) => id);
    const mediator = createMediator({
      handlers: [placeHandler],
      behaviors: [interceptRequest(PlaceOrder, { before, after })],
    });
    const command = new PlaceOrder('book', 2);

    await expect(mediator.send(command)).resolves.toBe('bookx2');
    expect(before).toHaveBeenCalledTimes(1);
    expect(before.mock.calls[0]?.[0]).toBe(command);
    expect(after).toHaveBeenCalledTimes(1);
    expect(after.mock.calls[0]?.[0]).toBe('bookx2');
  });

  it('rejects with the error before() throws, without calling the handler', async () => {
    const placeHandler = new PlaceOrderHandler();
    const invalid = new RangeError('quantity must be ≥ 1');
    const mediator = createMediator({
      handlers: [placeHandler],
      behaviors: [
        interceptRequest(PlaceOrder, {
          before: (c) => {
            if (c.quantity < 1) throw invalid;
          },
        }),
      ],
    });
    await expect(mediator.send(new PlaceOrder('book', 0))).rejects.toBe(invalid);
    expect(placeHandler.seen).toEqual([]);
    await expect(mediator.send(new PlaceOrder('book', 1))).resolves.toBe('bookx1');
  });

  it('lets before() replace the request: the handler and after() see the replacement', async () => {
    const placeHandler = new PlaceOrderHandler();
    const replacement = new PlaceOrder('BOOK', 2);
    let afterSaw: PlaceOrder | undefined;
    const mediator = createMediator({
      handlers: [placeHandler],
      behaviors: [
        interceptRequest(PlaceOrder, {
          before: () => replacement,
          after: (id, c) => ((afterSaw = c), id),
        }),
      ],
    });
    await expect(mediator.send(new PlaceOrder('book', 2))).resolves.toBe('BOOKx2');
    expect(placeHandler.seen).toEqual([replacement]);
    expect(placeHandler.seen[0]).toBe(replacement);
    expect(afterSaw).toBe(replacement);
  });

  it('keeps the original request when before() returns undefined', async () => {
    const placeHandler = new PlaceOrderHandler();
    const mediator = createMediator({
      handlers: [placeHandler],
      behaviors: [interceptRequest(PlaceOrder, { before: () => undefined })],
    });
    const command = new PlaceOrder('book', 1);
    await mediator.send(command);
    expect(placeHandler.seen[0]).toBe(command);
  });

  it('lets after() transform the response', async () => {
    const mediator = createMediator({
      handlers: [new PlaceOrderHandler()],
      behaviors: [interceptRequest(PlaceOrder, { after: (id) => id.toUpperCase() })],
    });
    await expect(mediator.send(new PlaceOrder('book', 3))).resolves.toBe('BOOKX3');
  });

  it('awaits an async before() and an async after()', async () => {
    const log: string[] = [];
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q) => (log.push(`handler ${q.id}`), order(q.id, 1)))],
      behaviors: [
        interceptRequest(GetOrder, {
          before: async (q) => {
            await Promise.resolve();
            log.push('before');
            return new GetOrder(`${q.id}!`);
          },
          after: async (o) => {
            await Promise.resolve();
            log.push('after');
            return { ...o, total: o.total + 1 };
          },
        }),
      ],
    });
    await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1!', 2));
    expect(log).toEqual(['before', 'handler 1!', 'after']);
  });

  it('does not run for another request class', async () => {
    const before = jest.fn<(c: PlaceOrder) => void>();
    const after = jest.fn((id: string) => id);
    const mediator = createMediator({
      handlers: [new PlaceOrderHandler(), handler(GetOrder, (q) => order(q.id))],
      behaviors: [interceptRequest(PlaceOrder, { before, after })],
    });
    await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1'));
    expect(before).not.toHaveBeenCalled();
    expect(after).not.toHaveBeenCalled();
  });

  it('does not run after() when the handler fails, whose error reaches the caller unchanged', async () => {
    const boom = new Error('db down');
    const after = jest.fn((o: Order) => o);
    const mediator = createMediator({
      handlers: [handler(GetOrder, () => Promise.reject<Order>(boom))],
      behaviors: [interceptRequest(GetOrder, { after })],
    });
    await expect(mediator.send(new GetOrder('1'))).rejects.toBe(boom);
    expect(after).not.toHaveBeenCalled();
  });

  it("calls before() and after() as methods of the interceptor, with the call's context", async () => {
    const contexts: HandlerContext[] = [];
    const interceptor = {
      suffix: '-checked',
      before(q: GetOrder, ctx: HandlerContext): GetOrder {
        contexts.push(ctx);
        return new GetOrder(q.id + this.suffix);
      },
      after(o: Order, _q: GetOrder, ctx: HandlerContext): Order {
        contexts.push(ctx);
        return { ...o, id: o.id + this.suffix };
      },
    };
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q) => order(q.id))],
      behaviors: [interceptRequest(GetOrder, interceptor)],
    });
    await expect(mediator.send(new GetOrder('1'), { correlationId: 'c-1' })).resolves.toEqual(
      order('1-checked-checked'),
    );
    expect(contexts.map((c) => [c.messageName, c.correlationId])).toEqual([
      ['GetOrder', 'c-1'],
      ['GetOrder', 'c-1'],
    ]);
  });

  it('composes with other behaviors in registration order', async () => {
    const log: string[] = [];
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q) => (log.push('handler'), order(q.id)))],
      behaviors: [
        requestBehavior(
          async (_q, next) => (log.push('outer>'), await next().finally(() => log.push('outer<'))),
        ),
        interceptRequest(GetOrder, {
          before: () => void log.push('before'),
          after: (o) => (log.push('after'), o),
        }),
      ],
    });
    await mediator.send(new GetOrder('1'));
    expect(log).toEqual(['outer>', 'before', 'handler', 'after', 'outer<']);
  });

  describe('bad input', () => {
    it("throws a TypeError when 'before' or 'after' is not a function", () => {
      expect(() => interceptRequest(GetOrder, { before: 'x' as never })).toThrow(
        new TypeError("Interceptor 'before' must be a function."),
      );
      expect(() => interceptRequest(GetOrder, { after: 1 as never })).toThrow(
        new TypeError("Interceptor 'after' must be a function."),
      );
    });

    it('throws a TypeError when the class is not a request class', () => {
      expect(() => interceptRequest(ExportOrders as never, {})).toThrow(
        new TypeError(
          "Option 'for' of a request behavior lists ExportOrders, which is a stream message.",
        ),
      );
      expect(() => interceptRequest(NotAMessage as never, {})).toThrow(
        'lists function NotAMessage, which is not a message class.',
      );
    });
  });
});
