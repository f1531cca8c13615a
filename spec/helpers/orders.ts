/**
 * Plain message fixtures (no container, no decorators) shared by the core specs: a query, two
 * commands, a stream request and a notification of a tiny orders domain.
 */
import { Command, Notification, Query, StreamRequest } from '../../src/index.js';

export interface Order {
  readonly id: string;
  readonly total: number;
}

/** A query answered with one {@link Order}. */
export class GetOrder extends Query<Order> {
  constructor(readonly id: string) {
    super();
  }
}

/** A command answered with the new order's id. */
export class PlaceOrder extends Command<string> {
  constructor(
    readonly sku: string,
    readonly quantity: number,
  ) {
    super();
  }
}

/** A command with no answer (`Command<void>`). */
export class CancelOrder extends Command {
  constructor(readonly id: string) {
    super();
  }
}

/** A stream request yielding many {@link Order}s. */
export class ExportOrders extends StreamRequest<Order> {}

/** A notification. */
export class OrderPlaced extends Notification {
  constructor(readonly orderId: string) {
    super();
  }
}

/** A class that looks like a message to a reader but extends no message base class. */
export class NotAMessage {
  readonly id = '1';
}

/** An order for tests: `order('1')` is `{ id: '1', total: 10 }`. */
export function order(id: string, total = 10): Order {
  return { id, total };
}

/** The shape of a `crypto.randomUUID()` (version 4). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
