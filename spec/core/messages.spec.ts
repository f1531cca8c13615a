import { describe, expect, it } from '@jest/globals';
import { firstValueFrom, type Observable } from 'rxjs';
import {
  Command,
  createMediator,
  handler,
  isHandlerNotFoundError,
  MessageName,
  messageNameOf,
  Notification,
  Query,
  StreamRequest,
  type HandlerContext,
  type ItemOf,
  type ResultOf,
} from '../../src/index.js';
import {
  CancelOrder,
  ExportOrders,
  GetOrder,
  order,
  OrderPlaced,
  PlaceOrder,
  type Order,
} from '../helpers/orders.js';

/** True only when A and B are the same type (not merely assignable). */
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** A class expression in an array slot gets no name from its binding, as after some minifiers. */
function anonymousQuery(): typeof GetOrder {
  return [class extends Query<Order> {}][0] as unknown as typeof GetOrder;
}

describe('Query, Command, StreamRequest and Notification', () => {
  it('carry their result type only at compile time: instances serialise to their own fields', () => {
    const messages = [
      new GetOrder('1'),
      new PlaceOrder('book', 2),
      new ExportOrders(),
      new OrderPlaced('1'),
    ];
    for (const message of messages) {
      expect(Object.getOwnPropertySymbols(message)).toEqual([]);
    }
    expect(JSON.stringify(new GetOrder('1'))).toBe('{"id":"1"}');
    expect(JSON.stringify(new PlaceOrder('book', 2))).toBe('{"sku":"book","quantity":2}');
    expect(JSON.stringify(new OrderPlaced('7'))).toBe('{"orderId":"7"}');
  });

  it('dispatches a Query and a Command alike through send()', async () => {
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (q) => order(q.id)),
        handler(PlaceOrder, (c) => `${c.sku}x${c.quantity}`),
      ],
    });
    await expect(mediator.send(new GetOrder('1'))).resolves.toEqual(order('1'));
    await expect(mediator.send(new PlaceOrder('book', 2))).resolves.toBe('bookx2');
  });

  it('routes each base class to its own verb', async () => {
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (q) => order(q.id)),
        handler(ExportOrders, function* () {
          yield order('s');
        }),
        handler(OrderPlaced, () => {}),
      ],
    });
    await expect(mediator.send(new ExportOrders() as never)).rejects.toThrow('use createStream()');
    await expect(mediator.send(new OrderPlaced('1') as never)).rejects.toThrow('use publish()');
    await expect(mediator.publish(new GetOrder('1') as never)).rejects.toThrow('use send()');
    expect(() => mediator.createStream(new GetOrder('1') as never)).toThrow('use send()');
  });
});

describe('type inference', () => {
  const mediator = createMediator({
    handlers: [
      handler(GetOrder, (q) => order(q.id)),
      handler(PlaceOrder, async () => 'o-1'),
      handler(CancelOrder, () => {}),
      handler(ExportOrders, function* () {
        yield order('s1');
      }),
      handler(OrderPlaced, () => {}),
    ],
  });

  it('types send() by the request class with no generic written by the caller', async () => {
    const o: Order = await mediator.send(new GetOrder('1'));
    const id: string = await mediator.send(new PlaceOrder('book', 1));
    const nothing: void = await mediator.send(new CancelOrder('1'));
    // @ts-expect-error the answer of GetOrder is an Order, not a string
    const wrong: string = await mediator.send(new GetOrder('1'));
    // @ts-expect-error Command<void> answers nothing usable
    const alsoWrong: number = await mediator.send(new CancelOrder('1'));

    expect(o).toEqual(order('1'));
    expect(id).toBe('o-1');
    expect(nothing).toBeUndefined();
    expect([wrong, alsoWrong]).toEqual([order('1'), undefined]);
  });

  it('types send$() and createStream() items by the message class', async () => {
    const order$: Observable<Order> = mediator.send$(new GetOrder('2'));
    const items: Order[] = [];
    for await (const item of mediator.createStream(new ExportOrders())) {
      const typed: Order = item;
      items.push(typed);
    }
    expect(await firstValueFrom(order$)).toEqual(order('2'));
    expect(items).toEqual([order('s1')]);
  });

  it('exposes ResultOf and ItemOf that recover the payload types', () => {
    const result: Equals<ResultOf<GetOrder>, Order> = true;
    const command: Equals<ResultOf<CancelOrder>, void> = true;
    const item: Equals<ItemOf<ExportOrders>, Order> = true;
    // @ts-expect-error ResultOf is exact: not any
    const loose: Equals<ResultOf<GetOrder>, unknown> = true;
    expect([result, command, item, loose]).toEqual([true, true, true, true]);
  });

  it('refuses the wrong kind of message at compile time (and at run time)', async () => {
    // @ts-expect-error a StreamRequest is not a request: use createStream()
    const stream = mediator.send(new ExportOrders());
    // @ts-expect-error a Notification is not a request: use publish()
    const event = mediator.send(new OrderPlaced('1'));
    // @ts-expect-error a plain object is not a message
    const plain = mediator.send({ id: '1' });
    // @ts-expect-error a request is not a notification
    const published = mediator.publish(new GetOrder('1'));
    // @ts-expect-error a request is not a stream request
    const streamed = (): unknown => mediator.createStream(new GetOrder('1'));

    await expect(stream).rejects.toThrow(TypeError);
    await expect(event).rejects.toThrow(TypeError);
    await expect(plain).rejects.toThrow(TypeError);
    await expect(published).rejects.toThrow(TypeError);
    expect(streamed).toThrow(TypeError);
  });

  it('checks a handler against its message: parameter and answer types', async () => {
    const typed = handler(GetOrder, (q: GetOrder, ctx: HandlerContext) =>
      order(`${q.id}@${ctx.messageName}`),
    );
    await expect(createMediator({ handlers: [typed] }).send(new GetOrder('1'))).resolves.toEqual(
      order('1@GetOrder'),
    );
    // @ts-expect-error GetOrder has no field 'sku'
    handler(GetOrder, (q) => order(q.sku));
    // @ts-expect-error GetOrder must be answered with an Order
    handler(GetOrder, () => 42);
    // @ts-expect-error a stream handler must return a stream source of Orders
    handler(ExportOrders, () => order('1'));
  });
});

describe('MessageName', () => {
  it('gives a class the name messageNameOf() returns', () => {
    @MessageName('orders.get')
    class Named extends Query<Order> {}
    expect(messageNameOf(Named)).toBe('orders.get');
  });

  it('survives renaming of the class, as a minifier would do', () => {
    @MessageName('orders.get')
    class Named extends Query<Order> {}
    Object.defineProperty(Named, 'name', { value: 'a' });
    expect(messageNameOf(Named)).toBe('orders.get');
  });

  it('wins over a static messageName', () => {
    @MessageName('from.decorator')
    class Both extends Query<Order> {
      static readonly messageName = 'from.static';
    }
    expect(messageNameOf(Both)).toBe('from.decorator');
  });

  it.each([[''], ['   '], [42], [undefined]])('throws a TypeError for the name %p', (name) => {
    expect(() => MessageName(name as string)).toThrow(TypeError);
    expect(() => MessageName(name as string)).toThrow('@MessageName needs a non-empty string');
  });
});

describe('messageNameOf', () => {
  it('uses a static messageName when there is no decorator', () => {
    class Static extends Command {
      static readonly messageName = 'orders.cancel';
    }
    expect(messageNameOf(Static)).toBe('orders.cancel');
  });

  it('falls back to the class name', () => {
    expect(messageNameOf(GetOrder)).toBe('GetOrder');
  });

  it('does not let a subclass inherit its parent name (each class needs its own)', () => {
    @MessageName('orders.get')
    class Parent extends Query<Order> {}
    class Child extends Parent {}
    class StaticParent extends Notification {
      static readonly messageName = 'orders.event';
    }
    class StaticChild extends StaticParent {}
    expect(messageNameOf(Child)).toBe('Child');
    expect(messageNameOf(StaticChild)).toBe('StaticChild');
  });

  it('throws a TypeError naming the class when a static messageName is empty or not a string', () => {
    class Empty extends Query<number> {
      static readonly messageName = '';
    }
    class NotString extends StreamRequest<number> {
      static readonly messageName = 7;
    }
    expect(() => messageNameOf(Empty)).toThrow(
      new TypeError("Static 'messageName' of class Empty must be a non-empty string."),
    );
    expect(() => messageNameOf(NotString)).toThrow("Static 'messageName' of class NotString");
  });

  it('throws a TypeError telling how to name an anonymous class', () => {
    const Anonymous = anonymousQuery();
    expect(Anonymous.name).toBe('');
    expect(() => messageNameOf(Anonymous)).toThrow(TypeError);
    expect(() => messageNameOf(Anonymous)).toThrow(
      /anonymous message class.*@MessageName.*static messageName/,
    );
  });

  it('accepts an anonymous class once it is named by decorator or static field', () => {
    const ByDecorator = anonymousQuery();
    MessageName('anon.decorated')(ByDecorator);
    const ByStatic = anonymousQuery();
    Object.defineProperty(ByStatic, 'messageName', { value: 'anon.static' });
    expect(messageNameOf(ByDecorator)).toBe('anon.decorated');
    expect(messageNameOf(ByStatic)).toBe('anon.static');
  });

  it('makes createMediator refuse an anonymous message class at registration', () => {
    const Anonymous = anonymousQuery();
    expect(() =>
      createMediator({
        handlers: [
          handler(Anonymous, function named() {
            return order('1');
          }),
        ],
      }),
    ).toThrow(/anonymous message class/);
  });
});

describe('message names at run time', () => {
  it('are what handlers see as context.messageName and what errors name', async () => {
    @MessageName('orders.lookup')
    class Lookup extends Query<string> {}
    @MessageName('orders.missing')
    class Missing extends Query<string> {}
    const mediator = createMediator({ handlers: [handler(Lookup, (_q, ctx) => ctx.messageName)] });

    await expect(mediator.send(new Lookup())).resolves.toBe('orders.lookup');
    const error: unknown = await mediator.send(new Missing()).catch((e: unknown) => e);
    expect(isHandlerNotFoundError(error) && error.messageName).toBe('orders.missing');
    expect((error as Error).message).toContain("'orders.missing'");
  });
});
