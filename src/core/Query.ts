import { KIND, RESULT } from './symbols.js';

/**
 * Base class of a request that asks for data: dispatched with `send()`, answered by exactly one
 * handler with one `TResult`. The result type travels with the class, so callers write no
 * generics. `Query` and {@link Command} dispatch identically; the name documents intent.
 *
 * @typeParam TResult - What the handler answers with.
 * @example
 * ```ts
 * class GetOrder extends Query<Order> {
 *   constructor(readonly id: string) { super(); }
 * }
 * const order = await mediator.send(new GetOrder('42')); // order: Order
 * ```
 */
export abstract class Query<TResult> {
  /** Phantom: carries `TResult` for inference. Never present at run time. */
  declare readonly [RESULT]: TResult;
}
Object.defineProperty(Query.prototype, KIND, { value: 'request' });
