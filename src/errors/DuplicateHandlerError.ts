import { brand, hasBrand } from './brand.js';

const BRAND = brand('DuplicateHandlerError');

/**
 * Thrown at registration when a request or stream request gets a second handler, or when the
 * same handler is registered twice for one notification. Raised when the mediator is built,
 * never at first use.
 *
 * @example
 * ```ts
 * // throws DuplicateHandlerError: 'GetOrder' already has handler 'GetOrderHandler'
 * createMediator({ handlers: [handler(GetOrder, a), handler(GetOrder, b)] });
 * ```
 */
export class DuplicateHandlerError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'DuplicateHandlerError';

  constructor(
    /** The message whose handler was registered twice. */
    readonly messageName: string,
    /** The name of the handler registered first. */
    readonly existingHandler: string,
    /** The name of the handler that was refused. */
    readonly duplicateHandler: string,
  ) {
    super(
      existingHandler === duplicateHandler
        ? `Handler '${duplicateHandler}' is registered twice for '${messageName}'.`
        : `'${messageName}' already has handler '${existingHandler}'; cannot also register '${duplicateHandler}'.`,
    );
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link DuplicateHandlerError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * try { createMediator(config); } catch (e) { if (isDuplicateHandlerError(e)) process.exit(1); }
 * ```
 */
export function isDuplicateHandlerError(error: unknown): error is DuplicateHandlerError {
  return hasBrand(error, BRAND);
}
