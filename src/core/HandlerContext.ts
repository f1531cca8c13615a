import { randomUUID } from 'node:crypto';
import { show } from '../errors/validate.js';
import type { BridgeOptions } from '../streaming/toAsyncIterator.js';

/**
 * What every handler and behavior receives beside the message.
 *
 * @example
 * ```ts
 * class GetOrderHandler implements RequestHandler<GetOrder> {
 *   handle(query: GetOrder, { signal, correlationId }: HandlerContext) {
 *     return db.orders.find(query.id, { signal, tag: correlationId });
 *   }
 * }
 * ```
 */
export interface HandlerContext {
  /** Aborted when the caller aborts, unsubscribes or stops iterating. Pass it on to I/O. */
  readonly signal: AbortSignal;
  /** The caller's correlation id, or a generated UUID (made on first read). */
  readonly correlationId: string;
  /** The message's stable name (see `@MessageName`). */
  readonly messageName: string;
  /** For notification handlers and their behaviors: the name of the handler being run. */
  readonly handlerName?: string;
}

/** Options every verb accepts. */
export interface CallOptions {
  /** Aborts the call: the handler's signal fires and the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Correlation id to carry through handlers, behaviors, logs and metrics. Generated when absent. */
  readonly correlationId?: string;
}

/** A signal that is never aborted: given to handlers when the caller passed none. @internal */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * The context object. The correlation id is generated lazily, so calls that never read it pay
 * nothing for it.
 * @internal
 */
export class Context implements HandlerContext {
  #signal: AbortSignal | (() => AbortSignal);
  #correlationId: string | undefined;
  /** A notification handler's context defers to the publish call's, so one id is shared lazily. */
  readonly #parent: Context | undefined;

  constructor(
    readonly messageName: string,
    signal: AbortSignal | (() => AbortSignal),
    correlationId: string | undefined,
    readonly handlerName?: string,
    /** How a stream call buffers push sources, for every level of its pipeline. */
    readonly bridge?: BridgeOptions,
    parent?: Context,
  ) {
    this.#signal = signal;
    this.#correlationId = correlationId;
    this.#parent = parent;
  }

  /** The signal; a lazy one (see `NextOptions.signal`) is made on first read. */
  get signal(): AbortSignal {
    const signal = this.#signal;
    if (typeof signal !== 'function') return signal;
    const made = signal();
    if (!(made instanceof AbortSignal)) {
      throw new TypeError(
        `The signal factory passed to next() must return an AbortSignal, got ${show(made)}.`,
      );
    }
    return (this.#signal = made);
  }

  get correlationId(): string {
    return (this.#correlationId ??= this.#parent?.correlationId ?? randomUUID());
  }

  /** The same call under another signal (a behavior's `next(message, { signal })`). */
  withSignal(signal: AbortSignal | (() => AbortSignal)): Context {
    if (!(signal instanceof AbortSignal) && typeof signal !== 'function') {
      throw new TypeError(
        `Option 'signal' of next() must be an AbortSignal or a function returning one, got ${show(signal)}.`,
      );
    }
    return new Context(
      this.messageName,
      signal,
      this.#correlationId,
      this.handlerName,
      this.bridge,
      this.#correlationId === undefined ? this : undefined,
    );
  }

  /** The same call seen from one notification handler. */
  forHandler(handlerName: string): Context {
    return new Context(
      this.messageName,
      this.signal,
      this.#correlationId,
      handlerName,
      undefined,
      this,
    );
  }
}
