import { ITEM, KIND } from './symbols.js';

/**
 * Base class of a request answered by many items: dispatched with `createStream()` (consumed
 * with `for await`) or `createStream$()` (an Observable), handled by exactly one handler.
 *
 * @typeParam TItem - The type of each item the stream yields.
 * @example
 * ```ts
 * class ExportOrders extends StreamRequest<Order> {
 *   constructor(readonly since: Date) { super(); }
 * }
 * for await (const order of mediator.createStream(new ExportOrders(yesterday))) {
 *   write(order); // order: Order
 * }
 * ```
 */
export abstract class StreamRequest<TItem> {
  /** Phantom: carries `TItem` for inference. Never present at run time. */
  declare readonly [ITEM]: TItem;
}
Object.defineProperty(StreamRequest.prototype, KIND, { value: 'stream' });
