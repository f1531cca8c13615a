/**
 * Request and notification dispatch cost (issue 3, Performance): what `send()` and `publish()`
 * add on top of calling the handlers directly. Every side returns a checksum of the answers, and
 * the harness checks it, so both sides do the same work and none of it can be optimised away.
 */
import { lastValueFrom, of, type Observable } from 'rxjs';
import {
  createMediator,
  handler,
  Notification,
  Query,
  requestBehavior,
  type NotificationHandler,
  type RequestHandler,
} from '../../src/index.js';
import type { BenchCase } from '../harness.js';
import { GetOrderTotal, type OrderTotal } from './fixtures.js';

class GetOrderTotal$ extends Query<OrderTotal> {
  static readonly messageName = 'bench.orders.total$';
  constructor(readonly orderId: number) {
    super();
  }
}

class OrderPlaced extends Notification {
  static readonly messageName = 'bench.orders.placed';
  constructor(readonly orderId: number) {
    super();
  }
}

/** An async handler answering with a small object. */
class GetOrderTotalHandler implements RequestHandler<GetOrderTotal> {
  async handle(query: GetOrderTotal): Promise<OrderTotal> {
    return { orderId: query.orderId, total: 1 };
  }
}

/** An Observable-returning handler: `of(value)`. */
class GetOrderTotal$Handler implements RequestHandler<GetOrderTotal$> {
  handle(query: GetOrderTotal$): Observable<OrderTotal> {
    return of({ orderId: query.orderId, total: 1 });
  }
}

/** An async notification handler that records the event. */
class CountOrder implements NotificationHandler<OrderPlaced> {
  count = 0;
  async handle(event: OrderPlaced): Promise<void> {
    this.count += event.orderId;
  }
}

export const dispatchCases: readonly BenchCase[] = [
  {
    name: 'send-vs-direct',
    headline: true,
    title: 'send() with no behaviors vs await handler.handle(req)',
    goal: { max: 1.5, stretch: 1.15 },
    checksumPerOp: 1,
    setup() {
      const impl = new GetOrderTotalHandler();
      const mediator = createMediator({ handlers: [handler(GetOrderTotal, impl)] });
      const query = new GetOrderTotal(7);
      return {
        baseline: {
          label: 'await handler.handle(req)',
          async run(n) {
            let sum = 0;
            for (let i = 0; i < n; i++) sum += (await impl.handle(query)).total;
            return sum;
          },
        },
        candidate: {
          label: 'await mediator.send(req)',
          async run(n) {
            let sum = 0;
            for (let i = 0; i < n; i++) sum += (await mediator.send(query)).total;
            return sum;
          },
        },
      };
    },
  },
  {
    name: 'send-observable-vs-lastValueFrom',
    title: 'send() to an of(value) handler vs lastValueFrom(handler.handle(req))',
    goal: { max: 1.25 },
    checksumPerOp: 1,
    setup() {
      const impl = new GetOrderTotal$Handler();
      const mediator = createMediator({ handlers: [handler(GetOrderTotal$, impl)] });
      const query = new GetOrderTotal$(7);
      return {
        baseline: {
          label: 'await lastValueFrom(handler.handle(req))',
          async run(n) {
            let sum = 0;
            for (let i = 0; i < n; i++) sum += (await lastValueFrom(impl.handle(query))).total;
            return sum;
          },
        },
        candidate: {
          label: 'await mediator.send(req)',
          async run(n) {
            let sum = 0;
            for (let i = 0; i < n; i++) sum += (await mediator.send(query)).total;
            return sum;
          },
        },
      };
    },
  },
  {
    name: 'send-3-behaviors-vs-send',
    title: 'send() through 3 pass-through behaviors vs bare send()',
    goal: { max: 2 },
    checksumPerOp: 1,
    setup() {
      const impl = new GetOrderTotalHandler();
      const bare = createMediator({ handlers: [handler(GetOrderTotal, impl)] });
      // Pass-through as a user would write it: hand back next()'s promise.
      const passThrough = requestBehavior<GetOrderTotal>((_request, next) => next());
      const wrapped = createMediator({
        handlers: [handler(GetOrderTotal, impl)],
        behaviors: [passThrough, passThrough, passThrough],
      });
      const query = new GetOrderTotal(7);
      return {
        baseline: {
          label: 'await mediator.send(req)',
          async run(n) {
            let sum = 0;
            for (let i = 0; i < n; i++) sum += (await bare.send(query)).total;
            return sum;
          },
        },
        candidate: {
          label: 'await mediator.send(req) + 3 behaviors',
          async run(n) {
            let sum = 0;
            for (let i = 0; i < n; i++) sum += (await wrapped.send(query)).total;
            return sum;
          },
        },
      };
    },
  },
  {
    name: 'publish-3-vs-direct',
    title: "publish() to 3 handlers ('sequential') vs awaiting the 3 handlers in turn",
    // Issue 3 gives no goal for publish(): informative.
    checksumPerOp: 3,
    setup() {
      const direct = [new CountOrder(), new CountOrder(), new CountOrder()] as const;
      const published = [new CountOrder(), new CountOrder(), new CountOrder()] as const;
      // Three handlers of one class are one handler registered thrice (a DuplicateHandlerError),
      // so each gets its own name, as three real handlers would have.
      const mediator = createMediator({
        handlers: published.map((h, i) =>
          handler(OrderPlaced, { handle: (e: OrderPlaced) => h.handle(e) }, { name: `count${i}` }),
        ),
      });
      const event = new OrderPlaced(1);
      const total = (hs: readonly CountOrder[]): number => hs.reduce((s, h) => s + h.count, 0);
      const [a, b, c] = direct;
      return {
        baseline: {
          label: 'await h1/h2/h3.handle(event)',
          async run(n) {
            const before = total(direct);
            for (let i = 0; i < n; i++) {
              await a.handle(event);
              await b.handle(event);
              await c.handle(event);
            }
            return total(direct) - before;
          },
        },
        candidate: {
          label: 'await mediator.publish(event)',
          async run(n) {
            const before = total(published);
            for (let i = 0; i < n; i++) await mediator.publish(event);
            return total(published) - before;
          },
        },
      };
    },
  },
];
