import type { HandlerContext } from './HandlerContext.js';
import { kindOf, messageNameOf } from './MessageName.js';
import type {
  ItemOf,
  MaybePromise,
  Message,
  MessageClass,
  NotificationMessage,
  RequestMessage,
  RequestResult,
  ResultOf,
  StreamMessage,
  StreamSource,
} from './types.js';

/**
 * Handles one request class. May answer with the value, a promise of it, or an Observable whose
 * last value is the answer.
 *
 * @example
 * ```ts
 * @Handles(GetOrder)
 * class GetOrderHandler implements RequestHandler<GetOrder> {
 *   async handle(query: GetOrder, { signal }: HandlerContext) { return repo.find(query.id, signal); }
 * }
 * ```
 */
export interface RequestHandler<M extends RequestMessage<any>> {
  handle(request: M, context: HandlerContext): RequestResult<ResultOf<M>>;
}

/**
 * Handles one stream request class. May return an Observable, an AsyncIterable (an `async *`
 * method is the simplest), a synchronous Iterable, or a promise of one of those.
 *
 * @example
 * ```ts
 * @Handles(ExportOrders)
 * class ExportOrdersHandler implements StreamHandler<ExportOrders> {
 *   async *handle(req: ExportOrders, { signal }: HandlerContext) {
 *     for await (const row of db.cursor('select * from orders', { signal })) yield toOrder(row);
 *   }
 * }
 * ```
 */
export interface StreamHandler<M extends StreamMessage<any>> {
  handle(request: M, context: HandlerContext): MaybePromise<StreamSource<ItemOf<M>>>;
}

/**
 * Handles one notification class; a notification may have any number of handlers.
 *
 * @example
 * ```ts
 * @Handles(OrderPlaced)
 * class SendConfirmation implements NotificationHandler<OrderPlaced> {
 *   async handle(event: OrderPlaced) { await mailer.confirm(event.orderId); }
 * }
 * ```
 */
export interface NotificationHandler<N extends NotificationMessage> {
  handle(notification: N, context: HandlerContext): MaybePromise<void>;
}

/** The handler interface that fits message type `M`. */
export type HandlerFor<M> =
  M extends RequestMessage<any>
    ? RequestHandler<M>
    : M extends StreamMessage<any>
      ? StreamHandler<M>
      : M extends NotificationMessage
        ? NotificationHandler<M>
        : never;

/** A handler written as a function: the `handle` method alone. */
export type HandlerFunction<M> = HandlerFor<M>['handle'];

/**
 * One handler bound to one message class, as the mediator consumes it. Made by {@link handler}
 * or by the inversify module; exported for integrations that resolve handlers themselves.
 */
export interface HandlerRegistration<M extends Message = any> {
  /** The message class handled. */
  readonly message: MessageClass<M>;
  /** The handler's name, used in errors, logs and metric labels. */
  readonly name: string;
  /** Returns the handler to run. Called once per dispatch unless `shared` is true. */
  readonly resolve: () => HandlerFor<M>;
  /** True when `resolve` always returns the same instance, so the mediator may keep it. */
  readonly shared: boolean;
  /** What makes two registrations the same handler: the function, instance or class registered. */
  readonly identity: unknown;
}

/** Options of {@link handler}. */
export interface HandlerOptions {
  /** The handler's name; default: the class or function name. */
  readonly name?: string;
}

/**
 * Registers a handler for `message` without decorators: a function or an object with `handle`.
 *
 * @example
 * ```ts
 * const mediator = createMediator({
 *   handlers: [
 *     handler(GetOrder, (q) => orders.get(q.id)),           // result type checked against Order
 *     handler(ExportOrders, async function* () { yield* orders.values(); }),
 *     handler(OrderPlaced, new SendConfirmation(mailer)),
 *   ],
 * });
 * ```
 */
export function handler<M extends Message>(
  message: MessageClass<M>,
  implementation: HandlerFor<M> | HandlerFunction<M>,
  options: HandlerOptions = {},
): HandlerRegistration<M> {
  if (kindOf(message) === undefined) {
    throw new TypeError(
      `handler() needs a message class (a subclass of Query, Command, StreamRequest or Notification), got ${describeValue(message)}.`,
    );
  }
  let instance: HandlerFor<M>;
  let name: string;
  if (typeof implementation === 'function') {
    instance = { handle: implementation } as HandlerFor<M>;
    name = implementation.name || `${messageNameOf(message)} handler`;
  } else if (
    typeof implementation === 'object' &&
    implementation !== null &&
    typeof (implementation as { handle?: unknown }).handle === 'function'
  ) {
    instance = implementation;
    name = implementation.constructor?.name || `${messageNameOf(message)} handler`;
  } else {
    throw new TypeError(
      `handler(${messageNameOf(message)}, …) needs a function or an object with a handle() method, got ${describeValue(implementation)}.`,
    );
  }
  // A class instance is identified by its class ("a class registered twice is an error");
  // a function or a plain object by itself.
  const identity =
    typeof implementation === 'object' && implementation.constructor !== Object
      ? implementation.constructor
      : implementation;
  return { message, name: options.name ?? name, resolve: () => instance, shared: true, identity };
}

/** @internal */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`;
  return `${typeof value} ${String(value)}`;
}
