import { randomUUID } from 'node:crypto';
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
  #correlationId: string | undefined;
  /** A notification handler's context defers to the publish call's, so one id is shared lazily. */
  readonly #parent: Context | undefined;

  constructor(
    readonly messageName: string,
    readonly signal: AbortSignal,
    correlationId: string | undefined,
    readonly handlerName?: string,
    /** How a stream call buffers push sources, for every level of its pipeline. */
    readonly bridge?: BridgeOptions,
    parent?: Context,
  ) {
    this.#correlationId = correlationId;
    this.#parent = parent;
  }

  get correlationId(): string {
    return (this.#correlationId ??= this.#parent?.correlationId ?? randomUUID());
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
