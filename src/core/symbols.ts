/**
 * Phantom and runtime markers shared by the message classes. `Symbol.for` keys keep the kind
 * readable across two copies of the package.
 * @internal
 */

/** Phantom key carrying a request's result type. Never set at run time. */
export const RESULT: unique symbol = Symbol.for('fs-mediator.result') as never;
/** Phantom key carrying a stream request's item type. Never set at run time. */
export const ITEM: unique symbol = Symbol.for('fs-mediator.item') as never;
/** Phantom key marking notifications. Never set at run time. */
export const NOTIFICATION: unique symbol = Symbol.for('fs-mediator.notification') as never;

/** Runtime key on each base class's prototype: which verb dispatches it. */
export const KIND = Symbol.for('fs-mediator.kind');
/** Runtime key for a name given with `@MessageName`. */
export const NAME = Symbol.for('fs-mediator.messageName');
