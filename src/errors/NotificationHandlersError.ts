import { brand, hasBrand } from './brand.js';

const BRAND = brand('NotificationHandlersError');

/** One notification handler that failed, with its error as thrown. */
export interface NotificationHandlerFailure {
  /** The handler's name (its explicit name, else its class or function name). */
  readonly handlerName: string;
  /** The error it threw or rejected with, unchanged. */
  readonly error: unknown;
}

/**
 * Rejection of `publish(…, { strategy: 'allSettled' })` when one or more handlers failed. Every
 * handler ran; `failures` names each one that failed, in registration order, and `errors`
 * (from `AggregateError`) holds their errors.
 *
 * @example
 * ```ts
 * try { await mediator.publish(new OrderPlaced(id), { strategy: 'allSettled' }); }
 * catch (e) { if (isNotificationHandlersError(e)) for (const f of e.failures) log(f.handlerName); }
 * ```
 */
export class NotificationHandlersError extends AggregateError {
  declare readonly [BRAND]: true;
  override readonly name = 'NotificationHandlersError';

  constructor(
    /** The notification's message name. */
    readonly messageName: string,
    /** Each failing handler and its error. */
    readonly failures: readonly NotificationHandlerFailure[],
    /** How many handlers ran in all. */
    readonly handlerCount: number,
  ) {
    super(
      failures.map((f) => f.error),
      `${failures.length} of ${handlerCount} handlers of '${messageName}' failed: ${failures
        .map((f) => `'${f.handlerName}' (${describe(f.error)})`)
        .join(', ')}.`,
    );
    Object.defineProperty(this, BRAND, { value: true });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * True when `error` is a {@link NotificationHandlersError}, from this or any other copy of the
 * package.
 *
 * @example
 * ```ts
 * if (isNotificationHandlersError(e)) e.failures.forEach((f) => log(f.handlerName, f.error));
 * ```
 */
export function isNotificationHandlersError(error: unknown): error is NotificationHandlersError {
  return hasBrand(error, BRAND);
}
