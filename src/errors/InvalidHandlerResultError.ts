import { brand, hasBrand } from './brand.js';

const BRAND = brand('InvalidHandlerResultError');

/**
 * A handler returned something the mediator cannot use: a stream handler that returned
 * `undefined` or a non-iterable value, or an Observable request handler that completed without
 * emitting. Names the handler and the message so the culprit is obvious.
 *
 * @example
 * ```ts
 * for await (const o of mediator.createStream(new ExportOrders())) {}
 * // InvalidHandlerResultError: Handler 'ExportOrdersHandler' for 'ExportOrders' returned undefined; …
 * ```
 */
export class InvalidHandlerResultError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'InvalidHandlerResultError';

  constructor(
    /** The name of the handler at fault. */
    readonly handlerName: string,
    /** The message it was handling. */
    readonly messageName: string,
    /** What was wrong, and what was expected instead. */
    readonly problem: string,
  ) {
    super(`Handler '${handlerName}' for '${messageName}' ${problem}`);
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is an {@link InvalidHandlerResultError}, from this or any other copy of the
 * package.
 *
 * @example
 * ```ts
 * if (isInvalidHandlerResultError(e)) console.error(`fix ${e.handlerName}`);
 * ```
 */
export function isInvalidHandlerResultError(error: unknown): error is InvalidHandlerResultError {
  return hasBrand(error, BRAND);
}
