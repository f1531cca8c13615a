import { KIND, NOTIFICATION } from './symbols.js';

/**
 * Base class of an event published to any number of handlers (zero included) with `publish()`.
 *
 * @example
 * ```ts
 * class OrderPlaced extends Notification {
 *   constructor(readonly orderId: string) { super(); }
 * }
 * await mediator.publish(new OrderPlaced('42'), { strategy: 'parallel' });
 * ```
 */
export abstract class Notification {
  /** Phantom: marks notifications for the type checker. Never present at run time. */
  declare readonly [NOTIFICATION]: true;
}
Object.defineProperty(Notification.prototype, KIND, { value: 'notification' });
