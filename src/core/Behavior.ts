import { describeValue } from './Handler.js';
import type { HandlerContext } from './HandlerContext.js';
import { kindOf } from './MessageName.js';
import type { MessageKind } from '../errors/HandlerNotFoundError.js';
import type {
  ItemOf,
  MaybePromise,
  MessageClass,
  NotificationMessage,
  RequestMessage,
  ResultOf,
  StreamMessage,
  StreamSource,
} from './types.js';

/**
 * What a behavior may change for the rest of the pipeline when it calls `next()`.
 *
 * @example
 * ```ts
 * // Give the handler a signal that also aborts after 5 s.
 * requestBehavior((req, next, ctx) =>
 *   next(req, { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5_000)]) }),
 * );
 * ```
 */
export interface NextOptions {
  /**
   * The signal the inner behaviors and the handler see as `context.signal`. Pass one that
   * aborts when the outer signal does (e.g. `AbortSignal.any([ctx.signal, mine])`): the
   * pipeline does not link them for you.
   *
   * A function is called the first time anyone reads `context.signal` (at most once), so a
   * behavior that only may need to abort (a timeout) pays for an `AbortController` only when
   * the handler actually looks at its signal. Default: the current `context.signal`.
   */
  readonly signal?: AbortSignal | (() => AbortSignal);
}

/**
 * Wraps request handling. Call `next()` to run the rest of the pipeline (optionally with a
 * replacement request), or don't, to short-circuit. `next` may be called again, e.g. to retry.
 *
 * @example
 * ```ts
 * const timing: RequestBehavior = {
 *   async handle(request, next, ctx) {
 *     const t0 = performance.now();
 *     try { return await next(); } finally { report(ctx.messageName, performance.now() - t0); }
 *   },
 * };
 * ```
 */
export interface RequestBehavior<M extends RequestMessage<any> = RequestMessage<any>> {
  handle(
    request: M,
    next: (request?: M, options?: NextOptions) => Promise<ResultOf<M>>,
    context: HandlerContext,
  ): MaybePromise<ResultOf<M>>;
}

/**
 * Wraps stream handling. `next()` returns the inner stream as an AsyncIterable, so an
 * `async *handle` that re-yields keeps consumer pull intact; the behavior may return any
 * {@link StreamSource}.
 *
 * @example
 * ```ts
 * const counting: StreamBehavior = {
 *   async *handle(request, next, ctx) {
 *     let n = 0;
 *     try { for await (const item of next()) { n++; yield item; } }
 *     finally { report(ctx.messageName, n); }
 *   },
 * };
 * ```
 */
export interface StreamBehavior<M extends StreamMessage<any> = StreamMessage<any>> {
  handle(
    request: M,
    next: (request?: M, options?: NextOptions) => AsyncIterable<ItemOf<M>>,
    context: HandlerContext,
  ): MaybePromise<StreamSource<ItemOf<M>>>;
}

/**
 * Wraps each notification handler's run; `context.handlerName` names the handler.
 *
 * @example
 * ```ts
 * const audit: NotificationBehavior = {
 *   async handle(event, next, ctx) { await next(); audit.log(ctx.messageName, ctx.handlerName); },
 * };
 * ```
 */
export interface NotificationBehavior<N extends NotificationMessage = NotificationMessage> {
  handle(
    notification: N,
    next: (notification?: N, options?: NextOptions) => Promise<void>,
    context: HandlerContext,
  ): MaybePromise<void>;
}

/** Any behavior. */
export type Behavior = RequestBehavior | StreamBehavior | NotificationBehavior;

/** One behavior in a pipeline, as the mediator consumes it. Made by {@link requestBehavior} and friends. */
export interface BehaviorRegistration {
  /** Which pipeline it wraps. */
  readonly kind: MessageKind;
  /** Message classes it applies to; undefined for all messages of its kind. */
  readonly for: readonly MessageClass[] | undefined;
  /** Its name, for errors and diagnostics. */
  readonly name: string;
  /** Returns the behavior to run. Called once per dispatch unless `shared` is true. */
  readonly resolve: () => Behavior;
  /** True when `resolve` always returns the same instance. */
  readonly shared: boolean;
}

/**
 * Several behavior registrations that belong together: a resilience policy that wraps both
 * requests and streams, for instance. `behaviors` accepts a set wherever it accepts a
 * registration; its registrations take its place, in order.
 *
 * @example
 * ```ts
 * const audit: BehaviorSet = { behaviors: [requestBehavior(auditRequest), streamBehavior(auditStream)] };
 * createMediator({ handlers, behaviors: [audit] });
 * ```
 */
export interface BehaviorSet {
  readonly behaviors: readonly BehaviorRegistration[];
}

/** Options of {@link requestBehavior}, {@link streamBehavior} and {@link notificationBehavior}. */
export interface BehaviorOptions<M> {
  /** Apply only to these message classes (exact classes). Default: every message of the kind. */
  readonly for?: readonly MessageClass<M>[];
  /** A name for diagnostics; default: the class or function name. */
  readonly name?: string;
}

/**
 * Registers a request behavior. Behaviors run in registration order: the first is outermost.
 *
 * @example
 * ```ts
 * createMediator({
 *   handlers,
 *   behaviors: [
 *     requestBehavior(async (req, next) => { console.time('req'); try { return await next(); } finally { console.timeEnd('req'); } }),
 *     requestBehavior(new ValidateOrder(), { for: [PlaceOrder] }),
 *   ],
 * });
 * ```
 */
export function requestBehavior<M extends RequestMessage<any> = RequestMessage<any>>(
  behavior: RequestBehavior<M> | RequestBehavior<M>['handle'],
  options?: BehaviorOptions<M>,
): BehaviorRegistration {
  return register('request', behavior, options);
}

/**
 * Registers a stream behavior (first registered is outermost).
 *
 * @example
 * ```ts
 * streamBehavior(async function* (req, next) { for await (const x of next()) yield x; }, { for: [ExportOrders] });
 * ```
 */
export function streamBehavior<M extends StreamMessage<any> = StreamMessage<any>>(
  behavior: StreamBehavior<M> | StreamBehavior<M>['handle'],
  options?: BehaviorOptions<M>,
): BehaviorRegistration {
  return register('stream', behavior, options);
}

/**
 * Registers a notification behavior; it wraps each handler's run (first registered is outermost).
 *
 * @example
 * ```ts
 * notificationBehavior(async (event, next, ctx) => { await next(); seen(ctx.handlerName); });
 * ```
 */
export function notificationBehavior<N extends NotificationMessage = NotificationMessage>(
  behavior: NotificationBehavior<N> | NotificationBehavior<N>['handle'],
  options?: BehaviorOptions<N>,
): BehaviorRegistration {
  return register('notification', behavior, options);
}

function register(
  kind: MessageKind,
  behavior: unknown,
  options: BehaviorOptions<unknown> = {},
): BehaviorRegistration {
  let instance: Behavior;
  let name: string;
  if (typeof behavior === 'function') {
    instance = { handle: behavior } as Behavior;
    name = behavior.name || `${kind} behavior`;
  } else if (
    typeof behavior === 'object' &&
    behavior !== null &&
    typeof (behavior as Behavior).handle === 'function'
  ) {
    instance = behavior as Behavior;
    name = behavior.constructor?.name || `${kind} behavior`;
  } else {
    throw new TypeError(
      `A ${kind} behavior must be a function or an object with a handle() method, got ${describeValue(behavior)}.`,
    );
  }
  return {
    kind,
    for: checkScope(kind, options.for),
    name: options.name ?? name,
    resolve: () => instance,
    shared: true,
  };
}

/** Validates a behavior's `for` list against its kind. @internal */
export function checkScope(
  kind: MessageKind,
  scope: readonly unknown[] | undefined,
): readonly MessageClass[] | undefined {
  if (scope === undefined) return undefined;
  if (!Array.isArray(scope) || scope.length === 0) {
    throw new TypeError(
      `Option 'for' must be a non-empty array of message classes, got ${describeValue(scope)}.`,
    );
  }
  for (const message of scope) {
    const actual = kindOf(message);
    if (actual !== kind) {
      throw new TypeError(
        actual === undefined
          ? `Option 'for' of a ${kind} behavior lists ${describeValue(message)}, which is not a message class.`
          : `Option 'for' of a ${kind} behavior lists ${(message as { name: string }).name}, which is a ${actual} message.`,
      );
    }
  }
  return scope as readonly MessageClass[];
}
