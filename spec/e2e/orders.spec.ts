import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Container } from 'inversify';
import { toArray, lastValueFrom } from 'rxjs';
import {
  Mediator,
  isHandlerNotFoundError,
  type RequestBehavior,
  type HandlerContext,
} from '../../src/index.js';
import { MediatorModule } from '../../src/integrations/inversify/index.js';
import {
  ExportOrders,
  ExportOrdersHandler,
  GetOrder,
  orderHandlers,
  OrderRepository,
  Outbox,
  PlaceOrder,
  PlaceOrderHandler,
} from './fixtures/orders.js';
import { injectable } from 'inversify';

@injectable()
class RecordingBehavior implements RequestBehavior {
  static seen: string[] = [];
  async handle(
    request: object,
    next: () => Promise<unknown>,
    context: HandlerContext,
  ): Promise<unknown> {
    RecordingBehavior.seen.push(`${context.messageName}`);
    return next();
  }
}

function boot(): { container: Container; mediator: Mediator } {
  const container = new Container();
  container.bind(OrderRepository).toSelf();
  container.bind(Outbox).toSelf();
  container.load(
    new MediatorModule({
      handlers: orderHandlers,
      behaviors: [{ kind: 'request', use: RecordingBehavior }],
    }),
  );
  return { container, mediator: container.get(Mediator) };
}

describe('orders on a real inversify container', () => {
  it('places an order, publishes to both event handlers and reads it back', async () => {
    const { container, mediator } = boot();
    const id = await mediator.send(new PlaceOrder('book', 2), { correlationId: 'c-1' });
    const order = await mediator.send(new GetOrder(id));
    expect(order).toEqual({ id, sku: 'book', quantity: 2 });
    const outbox = container.get(Outbox);
    expect(outbox.emails).toEqual([id]);
    expect(outbox.audit).toEqual([`AuditOrder:${id}:c-1`]);
  });

  it('gives a request-scoped handler a fresh instance per call', async () => {
    const { mediator } = boot();
    const before = PlaceOrderHandler.instances;
    await mediator.send(new PlaceOrder('a', 1));
    await mediator.send(new PlaceOrder('b', 1));
    expect(PlaceOrderHandler.instances - before).toBe(2);
  });

  it('streams orders both ways and runs the handler finally on break', async () => {
    const { mediator } = boot();
    for (const [sku, q] of [
      ['a', 1],
      ['b', 5],
      ['c', 9],
    ] as const)
      await mediator.send(new PlaceOrder(sku, q));
    const skus: string[] = [];
    for await (const order of mediator.createStream(new ExportOrders(2))) skus.push(order.sku);
    expect(skus).toEqual(['b', 'c']);

    const viaObservable = await lastValueFrom(
      mediator.createStream$(new ExportOrders()).pipe(toArray()),
    );
    expect(viaObservable.map((o) => o.sku)).toEqual(['a', 'b', 'c']);

    const runs = ExportOrdersHandler.finallyRuns;
    for await (const order of mediator.createStream(new ExportOrders())) {
      expect(order.sku).toBe('a');
      break;
    }
    expect(ExportOrdersHandler.finallyRuns).toBe(runs + 1);
  });

  it('runs container-resolved behaviors for requests with the stable message names', async () => {
    RecordingBehavior.seen = [];
    const { mediator } = boot();
    await mediator.send(new GetOrder('none'));
    expect(RecordingBehavior.seen).toEqual(['orders.get']);
  });

  it("passes a handler's own error to the caller unchanged", async () => {
    const { mediator } = boot();
    await expect(mediator.send(new PlaceOrder('x', 0))).rejects.toThrow(
      new RangeError('quantity must be ≥ 1, got 0'),
    );
  });

  it('aborts a call: the caller gets the abort reason', async () => {
    const { mediator } = boot();
    const controller = new AbortController();
    const pending = mediator.send(new GetOrder('o-1'), { signal: controller.signal });
    controller.abort(new Error('user left'));
    await expect(pending).rejects.toThrow('user left');
  });

  it('names the missing message when nothing handles it', async () => {
    const container = new Container();
    container.load(new MediatorModule({}));
    const error = await container
      .get(Mediator)
      .send(new GetOrder('1'))
      .catch((e: unknown) => e);
    expect(isHandlerNotFoundError(error) && error.messageName).toBe('orders.get');
  });
});
