import type { Observable } from 'rxjs';
import type { BehaviorSet, RequestBehavior, StreamBehavior } from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import type { MessageClass } from '../core/types.js';
import { RequestTimeoutError } from '../errors/RequestTimeoutError.js';
import {
  isStreamTimeoutError,
  StreamTimeoutError,
  type StreamTimeoutKind,
} from '../errors/StreamTimeoutError.js';
import { checkObject, checkOptionalString, show } from '../errors/validate.js';
import { streamTimeout, type StreamTimeoutOptions } from '../operators/streamTimeout.js';
import type { StreamOperator } from '../streaming/StreamOperator.js';
import { DEFAULT_PIPELINE } from '../streaming/StreamPipelineOptions.js';
import { DONE } from '../streaming/DONE.js';
import { EventChannel } from './EventChannel.js';
import { onAbort } from './onAbort.js';
import { policyBehaviors } from './policyBehaviors.js';
import { RequestDeadlines } from './RequestDeadlines.js';

/**
 * Options of {@link timeout}. Give `ms`, `stream`, or both.
 *
 * @example
 * ```ts
 * const options: TimeoutOptions = { ms: 2_000, stream: { idleMs: 5_000 }, name: 'db' };
 * ```
 */
export interface TimeoutOptions {
  /**
   * Longest a request may take, in milliseconds: after that it rejects with a
   * `RequestTimeoutError` and the handler's signal is aborted with that error as its reason. No
   * default: without `ms`, requests are not wrapped.
   */
  readonly ms?: number;
  /**
   * Limits on streams, with the meanings of the `streamTimeout()` operator (`firstMs`: first
   * item after the first read; `idleMs`: each wait of the reader for an item; `totalMs`: the
   * whole stream from the first read). A stream that breaks one fails with a
   * `StreamTimeoutError`, its handler's source is closed and its signal aborted with that error.
   * No default: without `stream`, streams are not wrapped.
   */
  readonly stream?: StreamTimeoutOptions;
  /** Apply only to these message classes (requests and/or streams). Default: every message the options cover. */
  readonly for?: readonly MessageClass[];
  /** The policy's name in its events. Default: `'timeout'`. */
  readonly name?: string;
}

/**
 * A `timeout()` policy gave up on a call.
 *
 * @example
 * ```ts
 * policy.events.subscribe((e: TimeoutEvent) => log.warn(`${e.messageName}: ${e.kind} > ${e.ms} ms`));
 * ```
 */
export interface TimeoutEvent {
  readonly type: 'timeout';
  /** The policy's `name`. */
  readonly policy: string;
  readonly messageName: string;
  /** The call that timed out. */
  readonly context: HandlerContext;
  /** `'request'`, or which stream limit fired. */
  readonly kind: 'request' | StreamTimeoutKind;
  /** The limit that fired, in milliseconds. */
  readonly ms: number;
  /** What the caller gets (also the handler's signal's abort reason). */
  readonly error: RequestTimeoutError | StreamTimeoutError;
}

/**
 * What {@link timeout} returns: a behavior set for the mediator's `behaviors`, with its events.
 *
 * @example
 * ```ts
 * const limit = timeout({ ms: 2_000 });
 * limit.events.subscribe((e) => metrics.timeouts.inc({ message: e.messageName, kind: e.kind }));
 * createMediator({ handlers, behaviors: [limit] });
 * ```
 */
export interface TimeoutPolicy extends BehaviorSet {
  /** The policy's name (option `name`). */
  readonly name: string;
  /** One event per call that timed out. */
  readonly events: Observable<TimeoutEvent>;
}

/** The longest delay `setTimeout` honours. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Bounds how long requests and streams may take (issue 5, point 3).
 *
 * - **Requests** (`ms`): the call rejects with a {@link RequestTimeoutError} `ms` after it entered
 *   this behavior, even if the handler ignores its signal, and the handler's `context.signal` is
 *   aborted with that error as its reason. The signal is made lazily: a handler that never reads
 *   it costs no `AbortController`. It also aborts (with the caller's reason) when the caller's
 *   signal does, and the call then rejects at once with that reason (a cancellation, not a
 *   timeout). All requests of one policy share one timer (their deadlines come in the order
 *   they started); no timer is created or cleared per call.
 * - **Streams** (`stream`): the `streamTimeout()` operator's stage runs inside the pipeline, so
 *   idle time is time this behavior's reader spends waiting. A timeout closes the handler's
 *   source, aborts its signal with the {@link StreamTimeoutError}, and fails the stream with it.
 *
 * A timeout is a failure (a retry outside retries it, a breaker counts it); an abort is not.
 * Place it innermost, next to the handler: `deadLetters → retry → circuitBreaker → bulkhead →
 * rateLimit → timeout → handler`, so each attempt gets its own time.
 *
 * @param msOrOptions - `ms` for requests only, or {@link TimeoutOptions}.
 * @example
 * ```ts
 * const mediator = createMediator({
 *   handlers,
 *   behaviors: [
 *     retry({ maxAttempts: 3 }),
 *     timeout({ ms: 2_000, stream: { firstMs: 5_000, idleMs: 1_000 } }),
 *   ],
 * });
 * await mediator.send(new GetQuote('sku-1')); // RequestTimeoutError after 2 s per attempt
 * ```
 */
export function timeout(msOrOptions: number | TimeoutOptions): TimeoutPolicy {
  const options: TimeoutOptions =
    typeof msOrOptions === 'number' ? { ms: msOrOptions } : msOrOptions;
  checkObject('options', options);
  if (options === undefined) {
    throw new TypeError(`timeout() needs a number of milliseconds or an options object.`);
  }
  const name = checkOptionalString('name', options.name) ?? 'timeout';
  const ms = checkMs('ms', options.ms);
  const stream = checkStream(options.stream);
  if (ms === undefined && stream === undefined) {
    throw new TypeError(`timeout() needs option 'ms' or 'stream', got ${show(options)}.`);
  }
  const channel = new EventChannel<TimeoutEvent>();
  const onTimeout = (
    context: HandlerContext,
    error: RequestTimeoutError | StreamTimeoutError,
  ): void => {
    if (!channel.observed) return;
    channel.emit({
      type: 'timeout',
      policy: name,
      messageName: context.messageName,
      context,
      kind: error instanceof RequestTimeoutError ? 'request' : error.kind,
      ms: error.ms,
      error,
    });
  };

  let request: RequestBehavior | undefined;
  if (ms !== undefined) {
    const deadlines = new RequestDeadlines(ms, onTimeout);
    request = { handle: (message, next, context) => deadlines.run(message, next, context) };
  }
  let streamPart: StreamBehavior | undefined;
  if (stream !== undefined) {
    const stage = streamTimeout<unknown>(stream);
    const totalMs = stream.totalMs;
    streamPart = {
      handle: (message, next, context) => ({
        [Symbol.asyncIterator]: () =>
          new TimedStream(
            stage,
            totalMs,
            (signal) => next(message, { signal }),
            context,
            onTimeout,
          ),
      }),
    };
  }
  return {
    behaviors: policyBehaviors(name, options.for, { request, stream: streamPart }),
    name,
    events: channel.events,
  };
}

function checkMs(option: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    throw new TypeError(`Option '${option}' must be a number of milliseconds, got ${show(value)}.`);
  }
  if (!(value > 0 && value <= MAX_DELAY)) {
    throw new RangeError(
      `Option '${option}' must be a number of milliseconds > 0 and ≤ ${MAX_DELAY}, got ${show(value)}.`,
    );
  }
  return value;
}

function checkStream(value: unknown): StreamTimeoutOptions | undefined {
  if (value === undefined) return undefined;
  checkObject('stream', value);
  const { firstMs, idleMs, totalMs } = value as StreamTimeoutOptions;
  const limits = {
    firstMs: checkMs('stream.firstMs', firstMs),
    idleMs: checkMs('stream.idleMs', idleMs),
    totalMs: checkMs('stream.totalMs', totalMs),
  };
  if (limits.firstMs === undefined && limits.idleMs === undefined && limits.totalMs === undefined) {
    throw new TypeError(
      `Option 'stream' needs at least one of 'firstMs', 'idleMs' or 'totalMs', got ${show(value)}.`,
    );
  }
  return limits;
}

type OnTimeout = (context: HandlerContext, error: RequestTimeoutError | StreamTimeoutError) => void;

/**
 * One run of a timed stream: the `streamTimeout()` stage over the inner pipeline, whose handler
 * runs under a signal of ours (made when first read) so that a timeout can abort it.
 *
 * The stage closes its source (the inner pipeline) before it reports a timeout; closing goes
 * through a thin shim that tells this run. A close the reader did not ask for, while the
 * caller's signal is intact, is a timeout: if a read is pending, the stage rejects it right after
 * with the `StreamTimeoutError`, and the handler's signal is aborted with that very error; if no
 * read is pending it can only be `totalMs` (the first and idle limits run only while a read
 * waits), so the signal is aborted at once and the reader's next read fails with the same error.
 */
class TimedStream implements AsyncIterator<unknown> {
  readonly #stage: StreamOperator<unknown, unknown>;
  readonly #totalMs: number | undefined;
  readonly #open: (signal: () => AbortSignal) => AsyncIterable<unknown>;
  readonly #context: HandlerContext;
  readonly #onTimeout: OnTimeout;
  #iterator: AsyncIterator<unknown> | undefined;
  #controller: AbortController | undefined;
  /** Why the handler's signal must be (or was) aborted, once known. */
  #reason: unknown;
  /** Removes the listener on the caller's signal. */
  #unlisten: (() => void) | undefined;
  #reading = false;
  #closing = false;
  #finished = false;
  /** Our timeout: `'pending'` until the stage's rejection names it. */
  #timedOut: StreamTimeoutError | 'pending' | undefined;

  constructor(
    stage: StreamOperator<unknown, unknown>,
    totalMs: number | undefined,
    open: (signal: () => AbortSignal) => AsyncIterable<unknown>,
    context: HandlerContext,
    onTimeout: OnTimeout,
  ) {
    this.#stage = stage;
    this.#totalMs = totalMs;
    this.#open = open;
    this.#context = context;
    this.#onTimeout = onTimeout;
  }

  next(): Promise<IteratorResult<unknown>> {
    const iterator = this.#iterator ?? this.#start();
    this.#reading = true;
    return iterator.next().then(this.#onResult, this.#onError);
  }

  return(): Promise<IteratorResult<unknown>> {
    this.#closing = true;
    const iterator = this.#iterator;
    if (iterator === undefined || this.#finished) {
      this.#finish();
      return Promise.resolve(DONE);
    }
    const closing = iterator.return?.() ?? Promise.resolve(DONE);
    this.#finish();
    return closing;
  }

  #start(): AsyncIterator<unknown> {
    const source = this.#open(this.#signal)[Symbol.asyncIterator]();
    const shim: AsyncIterator<unknown> = {
      next: () => source.next(),
      return: () => {
        this.#sourceClosed();
        return source.return?.() ?? Promise.resolve(DONE);
      },
    };
    const timed = this.#stage.iterate(
      { [Symbol.asyncIterator]: () => shim },
      {
        signal: this.#context.signal,
        options: DEFAULT_PIPELINE,
        stream: this.#context.messageName,
      },
    );
    return (this.#iterator = timed[Symbol.asyncIterator]());
  }

  /** The handler's signal: follows the caller's, and aborts on a timeout or an early close. */
  readonly #signal = (): AbortSignal => {
    const controller = new AbortController();
    this.#controller = controller;
    const outer = this.#context.signal;
    if (this.#reason !== undefined) controller.abort(this.#reason);
    else if (outer.aborted) controller.abort(outer.reason);
    else if (!this.#finished) {
      this.#unlisten = onAbort(outer, () => {
        this.#unlisten = undefined;
        controller.abort(outer.reason);
      });
    }
    return controller.signal;
  };

  /** The stage closed the inner pipeline. */
  #sourceClosed(): void {
    if (this.#closing) {
      // The reader left early: the handler's work is no longer wanted.
      this.#abort(new DOMException('The stream was closed before it completed.', 'AbortError'));
    } else if (!this.#context.signal.aborted) {
      if (this.#reading) this.#timedOut = 'pending';
      else this.#timeout(new StreamTimeoutError('total', this.#totalMs!));
    }
    // else cancelled by the caller: the handler's signal follows the caller's.
  }

  #timeout(error: StreamTimeoutError): void {
    this.#timedOut = error;
    this.#abort(error);
    this.#onTimeout(this.#context, error);
  }

  #abort(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#unlink();
    this.#controller?.abort(reason);
  }

  readonly #onResult = (result: IteratorResult<unknown>): IteratorResult<unknown> => {
    this.#reading = false;
    if (result.done === true) this.#finish();
    return result;
  };

  readonly #onError = (error: unknown): never => {
    this.#reading = false;
    const timedOut = this.#timedOut;
    if (timedOut !== undefined && isStreamTimeoutError(error)) {
      this.#finish();
      if (timedOut !== 'pending') throw timedOut;
      this.#timeout(error);
      throw error;
    }
    this.#finish();
    throw error;
  };

  #finish(): void {
    this.#finished = true;
    this.#unlink();
  }

  #unlink(): void {
    if (this.#unlisten !== undefined) {
      this.#unlisten();
      this.#unlisten = undefined;
    }
  }
}
