import { brand, hasBrand } from './brand.js';

const BRAND = brand('HandlerNotFoundError');

/** The kinds of message the mediator dispatches. */
export type MessageKind = 'request' | 'stream' | 'notification';

/**
 * Thrown (as a rejection) when a request or stream request is dispatched and no handler is
 * registered for its exact class. Notifications never raise it: no handlers is not an error.
 *
 * @example
 * ```ts
 * try { await mediator.send(new GetOrder('42')); }
 * catch (e) { if (isHandlerNotFoundError(e)) console.error(e.messageName); }
 * ```
 */
export class HandlerNotFoundError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'HandlerNotFoundError';

  constructor(
    /** The message name of the request that had no handler. */
    readonly messageName: string,
    /** Which verb was used: `send` looks for a request handler, `createStream` for a stream one. */
    readonly kind: MessageKind,
  ) {
    super(`No ${kind} handler is registered for '${messageName}'.`);
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link HandlerNotFoundError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * mediator.send(query).catch((e) => { if (isHandlerNotFoundError(e)) return fallback; throw e; });
 * ```
 */
export function isHandlerNotFoundError(error: unknown): error is HandlerNotFoundError {
  return hasBrand(error, BRAND);
}
