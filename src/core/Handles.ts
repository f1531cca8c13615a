import type { HandlerFor } from './Handler.js';
import { describeValue } from './Handler.js';
import { kindOf } from './MessageName.js';
import type { Message, MessageClass } from './types.js';

const HANDLES = Symbol.for('fs-mediator.handles');

/**
 * Marks a class as the handler of one or more message classes. It only writes metadata on the
 * class; registration reads it once (`createMediator({ handlers: [new X()] })` or the inversify
 * module). Handler identity is the class object, never its name.
 *
 * @example
 * ```ts
 * @Handles(GetOrder)
 * class GetOrderHandler implements RequestHandler<GetOrder> {
 *   handle(q: GetOrder) { return orders.get(q.id); }
 * }
 * ```
 */
export function Handles<M extends Message>(
  ...messages: MessageClass<M>[]
): (target: abstract new (...args: any[]) => HandlerFor<M>) => void {
  if (messages.length === 0) throw new TypeError('@Handles needs at least one message class.');
  for (const message of messages) {
    if (kindOf(message) === undefined) {
      throw new TypeError(
        `@Handles needs message classes (subclasses of Query, Command, StreamRequest or Notification), got ${describeValue(message)}.`,
      );
    }
  }
  return (target) => {
    const previous = handledMessagesOf(target);
    Object.defineProperty(target, HANDLES, {
      value: [...previous, ...messages],
      configurable: true,
    });
  };
}

/**
 * The message classes a `@Handles`-decorated class handles; empty when it is not decorated.
 *
 * @example
 * ```ts
 * handledMessagesOf(GetOrderHandler); // [GetOrder]
 * ```
 */
export function handledMessagesOf(handlerClass: unknown): readonly MessageClass[] {
  if (typeof handlerClass !== 'function' || !Object.hasOwn(handlerClass, HANDLES)) return [];
  return (handlerClass as unknown as Record<symbol, readonly MessageClass[]>)[HANDLES]!;
}
