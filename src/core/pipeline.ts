import { isObservable, type Observable } from 'rxjs';
import { InvalidHandlerResultError } from '../errors/InvalidHandlerResultError.js';
import { openStream, type SourceOwner } from '../streaming/openStream.js';
import type { BridgeOptions } from '../streaming/toAsyncIterator.js';
import type { Behavior, BehaviorRegistration, NextOptions } from './Behavior.js';
import type { HandlerRegistration } from './Handler.js';
import { NEVER_ABORTED, type Context } from './HandlerContext.js';

/** Runs a message through its behaviors and handler; returns the raw result. @internal */
export type Invoke = (message: unknown, context: Context) => unknown;

type Handle = (
  message: unknown,
  next: (message?: unknown, options?: NextOptions) => unknown,
  context: Context,
) => unknown;

/** The handler's `handle`, resolved once when its instance is shared. */
function handlerCall(registration: HandlerRegistration): Invoke {
  if (registration.shared) {
    const instance = registration.resolve() as { handle: Invoke };
    return (message, context) => instance.handle(message, context);
  }
  return (message, context) =>
    (registration.resolve() as { handle: Invoke }).handle(message, context);
}

function behaviorGetter(registration: BehaviorRegistration): () => Behavior {
  if (!registration.shared) return registration.resolve;
  const instance = registration.resolve();
  return () => instance;
}

/** A composed pipeline, and who produces its outermost result (for errors about that result). */
export interface Pipeline {
  readonly invoke: Invoke;
  readonly outer: SourceOwner;
}

type WrapNext = (step: Invoke, message: unknown, context: Context, owner: SourceOwner) => unknown;

/**
 * Builds the chain once per message type: behavior 0 is outermost. `wrapNext` turns the inner
 * step's raw result into what `next()` hands a behavior (a promise for requests and
 * notifications, an AsyncIterable for streams); `owner` names that inner step in errors.
 */
function compose(
  handler: HandlerRegistration,
  behaviors: readonly BehaviorRegistration[],
  owner: SourceOwner,
  wrapNext: WrapNext,
): Pipeline {
  let invoke = handlerCall(handler);
  let outer = owner;
  for (let i = behaviors.length - 1; i >= 0; i--) {
    const behavior = behaviors[i]!;
    const get = behaviorGetter(behavior);
    const inner = invoke;
    const innerOwner = outer;
    invoke = (message, context) =>
      (get().handle as Handle)(
        message,
        (replacement, options) =>
          wrapNext(
            inner,
            replacement === undefined ? message : replacement,
            options?.signal === undefined ? context : context.withSignal(options.signal),
            innerOwner,
          ),
        context,
      );
    outer = { handlerName: behavior.name, messageName: owner.messageName };
  }
  return { invoke, outer };
}

/**
 * Turns a request handler's raw result into a promise without wrapping a promise that is one
 * already: the fast path for Promise and value handlers.
 * @internal
 */
export function settle(
  raw: unknown,
  owner: SourceOwner,
  context: { readonly signal: AbortSignal },
): Promise<unknown> {
  if (raw instanceof Promise) return raw;
  if (isObservable(raw)) return lastValue(raw, owner, context.signal);
  return Promise.resolve(raw);
}

function settleStep(
  step: Invoke,
  message: unknown,
  context: Context,
  owner: SourceOwner,
): Promise<unknown> {
  try {
    return settle(step(message, context), owner, context);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The pipeline of one request type. @internal */
export function requestPipeline(
  handler: HandlerRegistration,
  behaviors: readonly BehaviorRegistration[],
  owner: SourceOwner,
): Pipeline {
  return compose(handler, behaviors, owner, settleStep);
}

/** The pipeline of one notification handler. @internal */
export function notificationPipeline(
  handler: HandlerRegistration,
  behaviors: readonly BehaviorRegistration[],
  owner: SourceOwner,
): Pipeline {
  return compose(handler, behaviors, owner, settleStep);
}

/**
 * The pipeline of one stream request type; each behavior's `next()` is a lazy AsyncIterable,
 * buffered as the call's own options say (`context.bridge`), else as the mediator's defaults.
 * @internal
 */
export function streamPipeline(
  handler: HandlerRegistration,
  behaviors: readonly BehaviorRegistration[],
  owner: SourceOwner,
  defaults: BridgeOptions,
): Pipeline {
  return compose(handler, behaviors, owner, (step, message, context, stepOwner) => ({
    [Symbol.asyncIterator]: () =>
      openStream(step(message, context), stepOwner, context.bridge ?? defaults),
  }));
}

/** The last value of an Observable answer; unsubscribes when the signal aborts. */
function lastValue(
  source: Observable<unknown>,
  owner: SourceOwner,
  signal: AbortSignal,
): Promise<unknown> {
  // Nobody can abort: the lean path, as lean as RxJS's own lastValueFrom.
  if (signal === NEVER_ABORTED) {
    return new Promise((resolve, reject) => {
      let hasValue = false;
      let last: unknown;
      source.subscribe({
        next: (value) => {
          hasValue = true;
          last = value;
        },
        error: reject,
        complete: () => (hasValue ? resolve(last) : reject(emptyAnswer(owner))),
      });
    });
  }
  return new Promise((resolve, reject) => {
    let hasValue = false;
    let last: unknown;
    const onAbort = (): void => {
      subscription.unsubscribe();
      reject(signal.reason);
    };
    const subscription = source.subscribe({
      next: (value) => {
        hasValue = true;
        last = value;
      },
      error: (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
      complete: () => {
        signal.removeEventListener('abort', onAbort);
        if (hasValue) resolve(last);
        else reject(emptyAnswer(owner));
      },
    });
    // `of(x)` has completed inside subscribe(): nothing left to abort.
    if (!subscription.closed) signal.addEventListener('abort', onAbort, { once: true });
  });
}

function emptyAnswer(owner: SourceOwner): InvalidHandlerResultError {
  return new InvalidHandlerResultError(
    owner.handlerName,
    owner.messageName,
    'returned an Observable that completed without a value; a request handler must answer with exactly one result.',
  );
}
