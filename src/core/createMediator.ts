import { Mediator, type MediatorOptions } from './Mediator.js';

/**
 * The zero-configuration way to get a mediator: no container, no decorators required.
 *
 * @example
 * ```ts
 * const mediator = createMediator({
 *   handlers: [handler(GetOrder, (q) => orders.get(q.id)), new ExportOrdersHandler(db)],
 *   behaviors: [requestBehavior(logTiming)],
 * });
 * ```
 */
export function createMediator(options: MediatorOptions = {}): Mediator {
  return new Mediator(options);
}
