import { KIND, RESULT } from './symbols.js';

/**
 * Base class of a request that changes state: dispatched with `send()`, handled by exactly one
 * handler, answering with `TResult` (`void` by default). Dispatches exactly like {@link Query}.
 *
 * @typeParam TResult - What the handler answers with; `void` when nothing.
 * @example
 * ```ts
 * class PlaceOrder extends Command<string> {
 *   constructor(readonly sku: string, readonly quantity: number) { super(); }
 * }
 * const orderId = await mediator.send(new PlaceOrder('book', 2)); // orderId: string
 * ```
 */
export abstract class Command<TResult = void> {
  /** Phantom: carries `TResult` for inference. Never present at run time. */
  declare readonly [RESULT]: TResult;
}
Object.defineProperty(Command.prototype, KIND, { value: 'request' });
