import { isObservable, Observable, type Subscription } from 'rxjs';
import { HandlerNotFoundError, type MessageKind } from '../errors/HandlerNotFoundError.js';
import { DuplicateHandlerError } from '../errors/DuplicateHandlerError.js';
import { DuplicateMessageNameError } from '../errors/DuplicateMessageNameError.js';
import {
  checkFunction,
  checkInteger,
  checkObject,
  checkOneOf,
  checkOptionalString,
  checkSignal,
  show,
} from '../errors/validate.js';
import { openStream, type SourceOwner } from '../streaming/openStream.js';
import { isPromiseLike } from '../streaming/toAsyncIterator.js';
import { toObservable } from '../streaming/toObservable.js';
import { currentValve, subscribeThroughValve } from '../streaming/Valve.js';
import { checkScope, type BehaviorRegistration, type BehaviorSet } from './Behavior.js';
import { describeValue, type HandlerRegistration } from './Handler.js';
import { Context, NEVER_ABORTED, type CallOptions } from './HandlerContext.js';
import { handledMessagesOf } from './Handles.js';
import { kindOf, messageNameOf } from './MessageName.js';
import {
  notificationPipeline,
  requestPipeline,
  settle,
  streamPipeline,
  type Pipeline,
} from './pipeline.js';
import {
  publishToHandlers,
  PUBLISH_STRATEGIES,
  type PublishStrategy,
  type NotificationRoute,
} from './publishToHandlers.js';
import { StreamIterator } from './StreamIterator.js';
import { MediatorStream } from './MediatorStream.js';
import {
  DEFAULT_PIPELINE,
  resolvePipelineOptions,
  type ResolvedPipelineOptions,
  type StreamPipelineOptions,
} from '../streaming/StreamPipelineOptions.js';
import type {
  ItemOf,
  MessageClass,
  NotificationMessage,
  RequestMessage,
  ResultOf,
  StreamMessage,
} from './types.js';

/**
 * Options of `createStream()` and `createStream$()`: the call's signal and correlation id, and
 * pipeline settings that override the mediator's `streams` defaults for this call.
 */
export interface StreamOptions extends CallOptions, StreamPipelineOptions {}

/** Options of `publish()`. */
export interface PublishOptions extends CallOptions {
  /**
   * How the handlers run. Default: the mediator's `publish.strategy` (`'sequential'`).
   * - `'sequential'`: one after another in registration order; the first failure stops the rest
   *   and is the rejection, unchanged.
   * - `'parallel'`: all at once (up to `concurrency`); settles when every handler has finished;
   *   rejects with the first failure unchanged, and reports any further ones to `onError`.
   * - `'allSettled'`: like `'parallel'`, but rejects with a `NotificationHandlersError` naming
   *   every failing handler.
   */
  readonly strategy?: PublishStrategy;
  /** Most handlers running at once under `'parallel'` and `'allSettled'`. Default: Infinity. */
  readonly concurrency?: number;
  /**
   * Resolve at once and let the handlers run in the background. Their failures go to the
   * mediator's `onError`; they are never swallowed. Default: false.
   */
  readonly fireAndForget?: boolean;
}

/** Where a failure that has no caller to reject went. */
export interface BackgroundErrorInfo {
  readonly messageName: string;
  readonly correlationId: string;
  /** `'fireAndForget'`: a background publish failed; `'additionalFailure'`: a second handler failed under `'parallel'`. */
  readonly reason: 'fireAndForget' | 'additionalFailure';
}

/** Configuration of a {@link Mediator}. Every option is validated when the mediator is created. */
export interface MediatorOptions {
  /** Handler registrations (from `handler()`), or instances of `@Handles`-decorated classes. */
  readonly handlers?: Iterable<HandlerRegistration | object>;
  /**
   * Pipeline behaviors (from `requestBehavior()` and friends) and behavior sets (resilience
   * policies such as `retry()`); the first is outermost.
   */
  readonly behaviors?: Iterable<BehaviorRegistration | BehaviorSet>;
  /** Defaults for `publish()`. */
  readonly publish?: { readonly strategy?: PublishStrategy; readonly concurrency?: number };
  /** Defaults of the streaming pipeline; each call may override them. */
  readonly streams?: StreamPipelineOptions;
  /**
   * Receives failures no caller can see (fire-and-forget publishes, extra failures under
   * `'parallel'`). Default: `process.emitWarning`, so nothing is swallowed.
   */
  readonly onError?: (error: unknown, info: BackgroundErrorInfo) => void;
}

interface Route extends Pipeline {
  /** The handler, for registration errors; `outer` (from Pipeline) names the outermost step. */
  readonly owner: SourceOwner;
}

/**
 * Dispatches messages to their handlers through pipeline behaviors. Every verb has a Promise or
 * AsyncIterable form and an Observable form (`$`). Routes and behavior chains are built once, when
 * the mediator is created; dispatch is one `Map` lookup.
 *
 * @example
 * ```ts
 * const mediator = createMediator({ handlers: [handler(GetOrder, (q) => orders.get(q.id))] });
 * const order = await mediator.send(new GetOrder('42'));          // Order
 * mediator.send$(new GetOrder('42')).subscribe(console.log);      // Observable<Order>
 * ```
 */
export class Mediator {
  readonly #requests = new Map<unknown, Route>();
  /** Every message class the mediator knows (handlers and behavior scopes), by message name. */
  readonly #messageClasses = new Map<string, MessageClass>();
  readonly #streams = new Map<unknown, Route>();
  readonly #notifications = new Map<unknown, NotificationRoute>();
  readonly #pipeline: ResolvedPipelineOptions;
  readonly #strategy: PublishStrategy;
  readonly #concurrency: number;
  readonly #onError: (error: unknown, info: BackgroundErrorInfo) => void;

  constructor(options: MediatorOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Mediator options must be an object, got ${show(options)}.`);
    }
    checkFunction('onError', options.onError);
    checkObject('publish', options.publish);
    checkObject('streams', options.streams);
    this.#onError = options.onError ?? reportToProcess;
    this.#strategy = checkOneOf(
      'publish.strategy',
      options.publish?.strategy ?? 'sequential',
      PUBLISH_STRATEGIES,
    );
    this.#concurrency = checkInteger(
      'publish.concurrency',
      options.publish?.concurrency ?? Infinity,
      1,
      true,
    );
    this.#pipeline = resolvePipelineOptions(DEFAULT_PIPELINE, options.streams, 'streams.');
    this.#build(
      listOf('handlers', options.handlers).flatMap(toRegistrations),
      listOf('behaviors', options.behaviors).flatMap(checkBehavior),
    );
  }

  /**
   * Sends a request to its one handler and resolves with its answer. Rejects with the
   * handler's own error unchanged, with `HandlerNotFoundError`, or, when `signal` aborts, with
   * the signal's reason (even if the handler ignores the signal).
   *
   * @example
   * ```ts
   * const order = await mediator.send(new GetOrder('42'), { signal: AbortSignal.timeout(500) });
   * ```
   */
  send<M extends RequestMessage<any>>(request: M, options?: CallOptions): Promise<ResultOf<M>> {
    const route = this.#requests.get(
      (request as { constructor?: unknown } | null | undefined)?.constructor,
    );
    if (route === undefined) return Promise.reject(this.#unroutable(request, 'request', 'send'));
    let signal: AbortSignal | undefined;
    let correlationId: string | undefined;
    if (options != null) {
      try {
        signal = checkSignal(options.signal);
        correlationId = checkOptionalString('correlationId', options.correlationId);
      } catch (error) {
        return Promise.reject(error);
      }
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    const context = new Context(route.owner.messageName, signal ?? NEVER_ABORTED, correlationId);
    let answer: Promise<unknown>;
    try {
      const raw = route.invoke(request, context);
      answer = raw instanceof Promise ? raw : settle(raw, route.outer, context);
    } catch (error) {
      return Promise.reject(error);
    }
    return (signal === undefined ? answer : raceAbort(answer, signal)) as Promise<ResultOf<M>>;
  }

  /**
   * The Observable form of {@link Mediator.send}: cold and lazy (the handler runs on each
   * subscription), emits the answer once and completes. Unsubscribing aborts the handler's signal.
   *
   * @example
   * ```ts
   * const subscription = mediator.send$(new GetOrder('42')).subscribe((order) => render(order));
   * subscription.unsubscribe(); // the handler's context.signal fires
   * ```
   */
  send$<M extends RequestMessage<any>>(request: M, options?: CallOptions): Observable<ResultOf<M>> {
    return new Observable<ResultOf<M>>((subscriber) => {
      const controller = new AbortController();
      const unlink = link(options?.signal, controller);
      // Once the handler has answered, finalization must not abort its signal (as if cancelled).
      let settled = false;
      this.send(request, { correlationId: options?.correlationId, signal: controller.signal }).then(
        (value) => {
          settled = true;
          unlink();
          subscriber.next(value);
          subscriber.complete();
        },
        (error: unknown) => {
          settled = true;
          unlink();
          subscriber.error(error);
        },
      );
      return () => {
        unlink();
        if (!settled) controller.abort();
      };
    });
  }

  /**
   * Opens a stream request for `for await`. The handler starts on the first read. Breaking out
   * of the loop, or aborting `signal`, aborts the handler's signal and closes its source at once.
   * Throws `HandlerNotFoundError` or `TypeError` right here when the request cannot be routed.
   *
   * @example
   * ```ts
   * for await (const order of mediator.createStream(new ExportOrders(), { signal })) {
   *   if (order.total > 1000) break; // the handler's finally runs, its signal aborts
   * }
   * ```
   */
  createStream<M extends StreamMessage<any>>(
    request: M,
    options?: StreamOptions,
  ): MediatorStream<ItemOf<M>> {
    const route = this.#streamRoute(request);
    const pipeline = this.#pipelineFor(options);
    const call = {
      invoke: route.invoke,
      owner: route.outer,
      bridge: pipeline,
      message: request,
      signal: checkSignal(options?.signal),
      correlationId: checkOptionalString('correlationId', options?.correlationId),
    };
    return new MediatorStream<ItemOf<M>>(() => new StreamIterator<ItemOf<M>>(call), {
      signal: call.signal,
      options: pipeline,
      stream: route.owner.messageName,
    });
  }

  /**
   * The Observable form of {@link Mediator.createStream}: cold, one handler run per
   * subscription. An Observable from the handler passes straight through (no buffering); other
   * sources are pulled one item at a time. Unsubscribing aborts the handler's signal.
   *
   * @example
   * ```ts
   * mediator.createStream$(new ExportOrders()).pipe(take(10)).subscribe(console.log);
   * ```
   */
  createStream$<M extends StreamMessage<any>>(
    request: M,
    options?: StreamOptions,
  ): Observable<ItemOf<M>> {
    const route = this.#streamRoute(request);
    const bridge = this.#pipelineFor(options);
    const signal = checkSignal(options?.signal);
    const correlationId = checkOptionalString('correlationId', options?.correlationId);
    return new Observable<ItemOf<M>>((subscriber) => {
      if (signal?.aborted) return subscriber.error(signal.reason);
      const controller = new AbortController();
      let finished = false;
      let inner: Subscription | undefined;
      const unlink = link(signal, controller, (reason) => subscriber.error(reason));
      const fail = (error: unknown): void => {
        finished = true;
        unlink();
        subscriber.error(error);
      };
      // An Observable, even one a promise resolves to, passes straight through (no buffer);
      // any other source is pulled one item at a time.
      const connect = (source: unknown): void => {
        if (subscriber.closed) return;
        const items = isObservable(source)
          ? (source as Observable<ItemOf<M>>)
          : toObservable<ItemOf<M>>(() => openStream(source, route.outer, bridge));
        inner = items.subscribe({
          next: (value) => subscriber.next(value),
          error: fail,
          complete: () => {
            finished = true;
            unlink();
            subscriber.complete();
          },
        });
      };
      try {
        const raw = route.invoke(
          request,
          new Context(route.owner.messageName, controller.signal, correlationId, undefined, bridge),
        );
        if (isPromiseLike(raw)) {
          // Connected later: keep the downstream stage's valve visible to the source then.
          const valve = currentValve();
          Promise.resolve(raw).then(
            (source) =>
              valve === undefined
                ? connect(source)
                : subscribeThroughValve(valve, () => connect(source)),
            fail,
          );
        } else connect(raw);
      } catch (error) {
        fail(error);
      }
      return () => {
        inner?.unsubscribe();
        unlink();
        if (!finished) controller.abort();
      };
    });
  }

  /**
   * Publishes a notification to all its handlers (none is fine) and settles when they have
   * finished, as the strategy says. With `fireAndForget`, resolves at once instead.
   *
   * @example
   * ```ts
   * await mediator.publish(new OrderPlaced('42'), { strategy: 'allSettled', concurrency: 4 });
   * ```
   */
  publish<N extends NotificationMessage>(notification: N, options?: PublishOptions): Promise<void> {
    const route = this.#notifications.get(
      (notification as { constructor?: unknown } | null | undefined)?.constructor,
    );
    let strategy = this.#strategy;
    let concurrency = this.#concurrency;
    let signal: AbortSignal | undefined;
    let correlationId: string | undefined;
    try {
      if (
        route === undefined &&
        kindOf((notification as { constructor?: unknown } | null | undefined)?.constructor) !==
          'notification'
      ) {
        throw this.#unroutable(notification, 'notification', 'publish');
      }
      if (options !== undefined) {
        if (options.strategy !== undefined)
          strategy = checkOneOf('strategy', options.strategy, PUBLISH_STRATEGIES);
        if (options.concurrency !== undefined)
          concurrency = checkInteger('concurrency', options.concurrency, 1, true);
        signal = checkSignal(options.signal);
        correlationId = checkOptionalString('correlationId', options.correlationId);
        if (signal?.aborted) throw signal.reason;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (route === undefined) return Promise.resolve();
    const context = new Context(route.messageName, signal ?? NEVER_ABORTED, correlationId);
    const onExtraFailure = (error: unknown): void =>
      this.#report(error, {
        messageName: route.messageName,
        correlationId: context.correlationId,
        reason: 'additionalFailure',
      });
    const done = publishToHandlers(
      route,
      notification,
      context,
      strategy,
      concurrency,
      onExtraFailure,
    );
    if (options?.fireAndForget === true) {
      done.catch((error: unknown) => {
        if (signal?.aborted && error === signal.reason) return; // the caller's own abort is no failure
        this.#report(error, {
          messageName: route.messageName,
          correlationId: context.correlationId,
          reason: 'fireAndForget',
        });
      });
      return Promise.resolve();
    }
    return signal === undefined ? done : raceAbort(done, signal);
  }

  /**
   * The Observable form of {@link Mediator.publish}: cold; completes without a value when the
   * handlers have finished. Unsubscribing aborts their signal.
   *
   * @example
   * ```ts
   * mediator.publish$(new OrderPlaced('42')).subscribe({ complete: () => console.log('delivered') });
   * ```
   */
  publish$<N extends NotificationMessage>(
    notification: N,
    options?: Omit<PublishOptions, 'fireAndForget'>,
  ): Observable<never> {
    return new Observable<never>((subscriber) => {
      const controller = new AbortController();
      const unlink = link(options?.signal, controller);
      let settled = false; // once the handlers have finished, finalization must not abort them
      this.publish(notification, { ...options, signal: controller.signal }).then(
        () => {
          settled = true;
          unlink();
          subscriber.complete();
        },
        (error: unknown) => {
          settled = true;
          unlink();
          subscriber.error(error);
        },
      );
      return () => {
        unlink();
        if (!settled) controller.abort();
      };
    });
  }

  /**
   * The message class registered under a message name (see `@MessageName`), or undefined. Used
   * to turn stored messages back into instances, e.g. when replaying dead letters.
   *
   * @example
   * ```ts
   * const Class = mediator.messageClass('orders.place');
   * const request = Object.assign(Object.create(Class!.prototype), stored.payload);
   * ```
   */
  messageClass(name: string): MessageClass | undefined {
    return this.#messageClasses.get(name);
  }

  #report(error: unknown, info: BackgroundErrorInfo): void {
    try {
      this.#onError(error, info);
    } catch (thrown) {
      reportToProcess(thrown, info);
    }
  }

  #streamRoute(request: unknown): Route {
    const route = this.#streams.get(
      (request as { constructor?: unknown } | null | undefined)?.constructor,
    );
    if (route === undefined) throw this.#unroutable(request, 'stream', 'createStream');
    return route;
  }

  #pipelineFor(options: StreamOptions | undefined): ResolvedPipelineOptions {
    return resolvePipelineOptions(this.#pipeline, options ?? undefined);
  }

  /** Why a value could not be routed: not a message, the wrong verb, or no handler. */
  #unroutable(value: unknown, kind: MessageKind, verb: string): Error {
    const messageClass = (value as { constructor?: unknown } | null | undefined)?.constructor;
    const actual = kindOf(messageClass);
    const expected = {
      request: 'a Query or Command',
      stream: 'a StreamRequest',
      notification: 'a Notification',
    }[kind];
    if (actual === undefined || typeof value !== 'object') {
      return new TypeError(`${verb}() needs ${expected} instance, got ${describeValue(value)}.`);
    }
    let name: string;
    try {
      name = messageNameOf(messageClass as MessageClass);
    } catch (error) {
      return error as Error; // an anonymous class: returned, so send() rejects rather than throws
    }
    if (actual !== kind) {
      const right = { request: 'send()', stream: 'createStream()', notification: 'publish()' }[
        actual
      ];
      return new TypeError(
        `${verb}() cannot dispatch '${name}': it is a ${actual} message; use ${right}.`,
      );
    }
    return new HandlerNotFoundError(name, kind);
  }

  #build(
    handlers: readonly HandlerRegistration[],
    behaviors: readonly BehaviorRegistration[],
  ): void {
    const names = this.#messageClasses;
    const nameOf = (messageClass: MessageClass): string => {
      const name = messageNameOf(messageClass);
      const owner = names.get(name);
      if (owner !== undefined && owner !== messageClass) throw new DuplicateMessageNameError(name);
      names.set(name, messageClass);
      return name;
    };
    const behaviorsFor = (kind: MessageKind, messageClass: MessageClass): BehaviorRegistration[] =>
      behaviors.filter(
        (b) => b.kind === kind && (b.for === undefined || b.for.includes(messageClass)),
      );
    for (const behavior of behaviors) behavior.for?.forEach(nameOf);

    const byNotification = new Map<MessageClass, HandlerRegistration[]>();
    for (const registration of handlers) {
      const { message } = registration;
      const kind = kindOf(message);
      const messageName = nameOf(message);
      const owner = { handlerName: registration.name, messageName };
      if (kind === 'notification') {
        const list = byNotification.get(message) ?? [];
        if (list.some((r) => r.identity === registration.identity)) {
          throw new DuplicateHandlerError(messageName, registration.name, registration.name);
        }
        const clashes = list.filter(
          (r) => r.name === registration.name || r.name.startsWith(`${registration.name} #`),
        ).length;
        list.push(
          clashes === 0
            ? registration
            : { ...registration, name: `${registration.name} #${clashes + 1}` },
        );
        byNotification.set(message, list);
        continue;
      }
      const routes = kind === 'request' ? this.#requests : this.#streams;
      const existing = routes.get(message);
      if (existing !== undefined)
        throw new DuplicateHandlerError(messageName, existing.owner.handlerName, registration.name);
      const scoped = behaviorsFor(kind!, message);
      const pipeline =
        kind === 'request'
          ? requestPipeline(registration, scoped, owner)
          : streamPipeline(registration, scoped, owner, this.#pipeline);
      routes.set(message, { ...pipeline, owner });
    }
    for (const [message, list] of byNotification) {
      const messageName = messageNameOf(message);
      const scoped = behaviorsFor('notification', message);
      this.#notifications.set(message, {
        messageName,
        handlers: list.map((r) => ({
          name: r.name,
          invoke: notificationPipeline(r, scoped, { handlerName: r.name, messageName }).invoke,
        })),
      });
    }
  }
}

/** Accepts `handler()` registrations and instances of `@Handles` classes. */
function toRegistrations(entry: HandlerRegistration | object): HandlerRegistration[] {
  if (isRegistration(entry)) return [entry];
  const messages = handledMessagesOf((entry as { constructor?: unknown } | null)?.constructor);
  if (messages.length === 0 || typeof (entry as { handle?: unknown }).handle !== 'function') {
    throw new TypeError(
      `Each entry of 'handlers' must come from handler(Message, impl) or be an instance of a @Handles(…) class with a handle() method, got ${describeValue(entry)}.`,
    );
  }
  const instance = entry as HandlerRegistration['resolve'] extends () => infer H ? H : never;
  const name = (entry as object).constructor.name;
  // Identity is the class: registering two instances of one handler class is a duplicate.
  return messages.map((message) => ({
    message,
    name,
    resolve: () => instance,
    shared: true,
    identity: (entry as object).constructor,
  }));
}

/** The entries of an iterable option, or a TypeError naming the option. */
function listOf<T>(option: string, value: Iterable<T> | undefined): T[] {
  if (value === undefined) return [];
  if (typeof (value as { [Symbol.iterator]?: unknown } | null)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(
      `Option '${option}' must be an iterable (e.g. an array), got ${show(value)}.`,
    );
  }
  return [...value];
}

/** Refuses a bare behavior (not wrapped by requestBehavior() & co.), which would otherwise be silently ignored. */
function checkBehavior(entry: BehaviorRegistration | BehaviorSet): BehaviorRegistration[] {
  const set = (entry as Partial<BehaviorSet> | null)?.behaviors;
  if (Array.isArray(set) && (entry as Partial<BehaviorRegistration>).kind === undefined) {
    return set.flatMap((member: BehaviorRegistration) => checkBehavior(member));
  }
  const r = entry as Partial<BehaviorRegistration> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    !['request', 'stream', 'notification'].includes(r.kind as string) ||
    typeof r.resolve !== 'function'
  ) {
    throw new TypeError(
      `Each entry of 'behaviors' must come from requestBehavior(), streamBehavior(), notificationBehavior(), interceptRequest() or be a behavior set such as retry(), got ${describeValue(entry)}.`,
    );
  }
  checkScope(r.kind!, r.for);
  return [entry as BehaviorRegistration];
}

function isRegistration(entry: unknown): entry is HandlerRegistration {
  const r = entry as HandlerRegistration;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.resolve === 'function' &&
    typeof r.message === 'function' &&
    typeof r.name === 'string'
  );
}

/** Rejects with the signal's reason as soon as it aborts; unlinks when `promise` settles. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Aborts `controller` when `signal` does; returns the unlink function. */
function link(
  signal: AbortSignal | undefined,
  controller: AbortController,
  onAbort?: (reason: unknown) => void,
): () => void {
  checkSignal(signal);
  if (signal === undefined) return noop;
  const listener = (): void => {
    controller.abort(signal.reason);
    onAbort?.(signal.reason);
  };
  if (signal.aborted) {
    controller.abort(signal.reason);
    return noop;
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

function noop(): void {}

function reportToProcess(error: unknown, info: BackgroundErrorInfo): void {
  const warning = error instanceof Error ? error : new Error(String(error));
  process.emitWarning(warning, {
    type: 'FsMediatorBackgroundError',
    detail: `${info.reason} while publishing '${info.messageName}' (correlation id ${info.correlationId})`,
  });
}
