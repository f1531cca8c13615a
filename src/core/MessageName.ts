import { KIND, NAME } from './symbols.js';
import type { MessageKind } from '../errors/HandlerNotFoundError.js';

/**
 * Gives a message class a stable name that survives minification and process boundaries. The
 * name appears in errors, logs, metric labels and, later, on the wire. Without it the mediator
 * uses a static `messageName` field, and only then the class name.
 *
 * @param name - A non-empty name, unique among the mediator's messages.
 * @example
 * ```ts
 * @MessageName('orders.get')
 * class GetOrder extends Query<Order> { constructor(readonly id: string) { super(); } }
 * // or, without decorators:
 * class GetOrder extends Query<Order> { static readonly messageName = 'orders.get'; }
 * ```
 */
export function MessageName(
  name: string,
): <C extends abstract new (...args: never[]) => unknown>(target: C) => void {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new TypeError(`@MessageName needs a non-empty string, got ${JSON.stringify(name)}.`);
  }
  return (target) => {
    Object.defineProperty(target, NAME, { value: name });
  };
}

/**
 * The stable name of a message class: `@MessageName`, else an own static `messageName` string,
 * else the class name. Read once at registration, never per call.
 *
 * @example
 * ```ts
 * messageNameOf(GetOrder); // 'orders.get'
 * ```
 */
export function messageNameOf(messageClass: abstract new (...args: never[]) => unknown): string {
  if (Object.hasOwn(messageClass, NAME))
    return (messageClass as unknown as Record<symbol, string>)[NAME]!;
  if (Object.hasOwn(messageClass, 'messageName')) {
    const value = (messageClass as unknown as { messageName: unknown }).messageName;
    if (typeof value === 'string' && value.trim() !== '') return value;
    throw new TypeError(
      `Static 'messageName' of class ${messageClass.name} must be a non-empty string.`,
    );
  }
  if (messageClass.name) return messageClass.name;
  throw new TypeError(
    'An anonymous message class needs a name: use @MessageName(…) or a static messageName.',
  );
}

/** Which verb dispatches instances of `messageClass`, or undefined if it is not a message. @internal */
export function kindOf(messageClass: unknown): MessageKind | undefined {
  if (typeof messageClass !== 'function') return undefined;
  const proto = (messageClass as { prototype?: unknown }).prototype;
  if (typeof proto !== 'object' || proto === null) return undefined;
  return (proto as Record<symbol, MessageKind | undefined>)[KIND];
}
