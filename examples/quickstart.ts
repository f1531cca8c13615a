/**
 * fs-mediator quickstart: send, publish, a stream consumed both ways, and an abort.
 * Run with `npm start`.
 */
import { take, toArray } from 'rxjs';
import {
  Command,
  createMediator,
  handler,
  isAbortError,
  Notification,
  notificationBehavior,
  Query,
  requestBehavior,
  StreamRequest,
} from 'fs-mediator';

interface Order {
  id: string;
  sku: string;
  quantity: number;
}

class PlaceOrder extends Command<string> {
  static readonly messageName = 'orders.place';
  constructor(
    readonly sku: string,
    readonly quantity: number,
  ) {
    super();
  }
}

class GetOrder extends Query<Order | undefined> {
  static readonly messageName = 'orders.get';
  constructor(readonly id: string) {
    super();
  }
}

class ExportOrders extends StreamRequest<Order> {
  static readonly messageName = 'orders.export';
}

class OrderPlaced extends Notification {
  static readonly messageName = 'orders.placed';
  constructor(readonly order: Order) {
    super();
  }
}

class SlowReport extends Query<string> {
  static readonly messageName = 'reports.slow';
}

const orders = new Map<string, Order>();
const log = (line: string): void => console.log(`  ${line}`);

const mediator = createMediator({
  handlers: [
    handler(PlaceOrder, async (command) => {
      const order = { id: `o-${orders.size + 1}`, sku: command.sku, quantity: command.quantity };
      orders.set(order.id, order);
      await mediator.publish(new OrderPlaced(order), { strategy: 'parallel' });
      return order.id;
    }),
    handler(GetOrder, (query) => orders.get(query.id)),
    handler(ExportOrders, async function* exportOrders(_request, { signal }) {
      try {
        for (const order of orders.values()) {
          signal.throwIfAborted();
          yield order;
        }
      } finally {
        log('export handler: finally ran (source released)');
      }
    }),
    handler(OrderPlaced, function sendConfirmation(event) {
      log(`sendConfirmation: mail for ${event.order.id}`);
    }),
    handler(OrderPlaced, async function updateStock(event) {
      log(`updateStock: -${event.order.quantity} ${event.order.sku}`);
    }),
    handler(
      SlowReport,
      (_query, { signal }) =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => resolve('report'), 10_000);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            log('slow report handler: saw the abort, stopped its timer');
            reject(signal.reason);
          });
        }),
    ),
  ],
  behaviors: [
    requestBehavior(async function timing(request, next, context) {
      const started = performance.now();
      try {
        return await next();
      } finally {
        log(`[timing] ${context.messageName} took ${(performance.now() - started).toFixed(2)} ms`);
      }
    }),
    notificationBehavior(async function audit(_event, next, context) {
      await next();
      log(`[audit] ${context.handlerName} handled ${context.messageName}`);
    }),
  ],
});

console.log('1. send: commands and queries, result types inferred');
const first = await mediator.send(new PlaceOrder('book', 2));
await mediator.send(new PlaceOrder('pen', 10));
await mediator.send(new PlaceOrder('lamp', 1));
const order = await mediator.send(new GetOrder(first)); // Order | undefined, no generic written
log(`GetOrder(${first}) → ${JSON.stringify(order)}`);

console.log('2. publish: one event, two handlers (ran above for each order); none is fine too');
await mediator.publish(new OrderPlaced({ id: 'manual', sku: 'gift', quantity: 1 }), {
  strategy: 'allSettled',
});

console.log('3. createStream with for await (break early: the handler is told at once)');
for await (const item of mediator.createStream(new ExportOrders())) {
  log(`for await → ${item.id} ${item.sku}`);
  if (item.sku === 'pen') break;
}

console.log('4. createStream$ as an Observable');
const firstTwo = await new Promise<Order[]>((resolve, reject) =>
  mediator
    .createStream$(new ExportOrders())
    .pipe(take(2), toArray())
    .subscribe({ next: resolve, error: reject }),
);
log(`Observable → ${firstTwo.map((o) => o.id).join(', ')}`);

console.log('5. abort: the caller stops waiting, the handler stops working');
const controller = new AbortController();
setTimeout(() => controller.abort(), 20);
try {
  await mediator.send(new SlowReport(), { signal: controller.signal });
  throw new Error('the slow report should have been aborted');
} catch (error) {
  if (!isAbortError(error)) throw error;
  log(`send rejected with ${(error as Error).name}`);
}

console.log('done.');
