import { brand, hasBrand } from './brand.js';

const BRAND = brand('DuplicateMessageNameError');

/**
 * Thrown at registration when two different message classes carry the same message name.
 * Names identify messages in errors, logs, metric labels and on the wire, so they must be unique.
 *
 * @example
 * ```ts
 * @MessageName('orders.get') class GetOrder extends Query<Order> {}
 * @MessageName('orders.get') class GetOrderV2 extends Query<Order> {}
 * createMediator({ handlers: [handler(GetOrder, a), handler(GetOrderV2, b)] }); // throws
 * ```
 */
export class DuplicateMessageNameError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'DuplicateMessageNameError';

  constructor(
    /** The name both classes claim. */
    readonly messageName: string,
  ) {
    super(
      `Two different message classes are named '${messageName}'. Give one of them another name with @MessageName('…') or a static 'messageName' field.`,
    );
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link DuplicateMessageNameError}, from this or any other copy of the
 * package.
 *
 * @example
 * ```ts
 * if (isDuplicateMessageNameError(e)) console.error(`rename ${e.messageName}`);
 * ```
 */
export function isDuplicateMessageNameError(error: unknown): error is DuplicateMessageNameError {
  return hasBrand(error, BRAND);
}
