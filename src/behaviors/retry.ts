import type { Observable } from 'rxjs';
import type { BehaviorSet, RequestBehavior, StreamBehavior } from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import type { ItemOf, MessageClass, StreamMessage } from '../core/types.js';
import { isCircuitOpenError } from '../errors/CircuitOpenError.js';
import { isAbortError } from '../errors/isAbortError.js';
import {
  checkFunction,
  checkInteger,
  checkObject,
  checkOneOf,
  checkOptionalString,
  show,
} from '../errors/validate.js';
import {
  backoffCeiling,
  backoffDelay,
  checkBackoff,
  MAX_TIMER_MS,
  type Backoff,
} from '../operators/backoff.js';
import { recordAttempts } from './attempts.js';
import { EventChannel } from './EventChannel.js';
import { onAbort } from './onAbort.js';
import { policyBehaviors } from './policyBehaviors.js';
import { RetryStream } from './RetryStream.js';

/** Where a failed stream stood, as {@link RetryStreamOptions.resume} hears it. */
export interface RetryStreamPosition<T = unknown> {
  /** Items the consumer has received, over every run of the stream. */
  readonly delivered: number;
  /** The last item the consumer received; undefined when none was. */
  readonly lastItem: T | undefined;
}

/** How {@link retry} re-runs a stream that failed after delivering items. */
export interface RetryStreamOptions<M extends StreamMessage<any> = StreamMessage<any>> {
  /**
   * - `'restart'`: run the same request again and skip the first `delivered` items of the new
   *   run, so the consumer gets each item once. This assumes that equal requests yield the same
   *   items in the same order; a re-run that ends before the skipped prefix does fails the stream
   *   with the error that caused the restart (it never completes as if it had succeeded).
   * - `'resume'`: run `resume(request, position)` instead and pass every item of the new run
   *   through: the handler is told where to go on, through the request.
   *
   * Default: `'restart'`.
   */
  readonly mode?: 'restart' | 'resume';
  /**
   * The request of a re-run in `'resume'` mode (required there, and refused in `'restart'`
   * mode): given the original request and where the stream stands, over every run so far.
   * It is called for every re-run, even when nothing was delivered yet. If it throws, the stream
   * fails with its exception.
   */
  readonly resume?: (request: M, position: RetryStreamPosition<ItemOf<M>>) => M;
}

/** What {@link RetryOptions.shouldRetry} hears beside the error. */
export interface RetryContext {
  /** The attempt that failed: 1 for the first. For a stream, counted over every run. */
  readonly attempt: number;
  /** The request the policy received (for a stream, the original one, before any `resume`). */
  readonly request: unknown;
  /** For a stream, the items delivered so far; 0 for a request. */
  readonly delivered: number;
  /** The call's context (message name, correlation id, signal). */
  readonly context: HandlerContext;
}

/** Options of {@link retry}. */
export interface RetryOptions<M extends StreamMessage<any> = StreamMessage<any>> {
  /**
   * Attempts per call, the first one included: `1` never retries. A whole number ≥ 1, or
   * Infinity (then bound the call with `budgetMs`). For a stream, counted since the last item
   * delivered: a stream that made progress starts afresh. Default: 3.
   */
  readonly maxAttempts?: number;
  /**
   * `'exponential'`: the retry that is attempt n (n ≥ 2) waits `delayMs × 2^(n-2)`; `'fixed'`:
   * every retry waits `delayMs`. Default: `'exponential'`.
   */
  readonly backoff?: 'fixed' | 'exponential';
  /** Wait before the first retry, in whole ms; the base of the backoff. Default: 100. */
  readonly delayMs?: number;
  /** Upper bound of one wait before jitter, in whole ms, or Infinity. Default: 30 000. */
  readonly maxDelayMs?: number;
  /**
   * Full jitter: wait a random whole number of ms in `[0, delay]` instead of `delay`, so that
   * many callers failing together do not retry in lockstep. Default: true.
   */
  readonly jitter?: boolean;
  /**
   * Total time for the call, in whole ms from the start of its first attempt (for a stream, over
   * every run). No attempt starts once it has run out, and the next wait is capped to what is
   * left: with jitter the random wait is drawn from the shorter range; without jitter, a wait
   * that would end as the budget does leaves no time, so the call gives up at once (reason
   * `'budget'`) instead of sleeping first. A running attempt is not cut short (that is a
   * timeout's job). Default: Infinity.
   */
  readonly budgetMs?: number;
  /**
   * Whether an error is worth another attempt. It is not asked about cancellations (never
   * retried), about a `CircuitOpenError` unless `retryOpenCircuit` is set, or once the attempts
   * are used up. If it throws, the call fails with its exception (the attempts made so far are
   * recorded for a dead-letter behavior). Default: every error is.
   */
  readonly shouldRetry?: (error: unknown, context: RetryContext) => boolean;
  /**
   * A `CircuitOpenError` from a circuit breaker inside the retry: false gives up at once (reason
   * `'openCircuit'`); true waits for the breaker, `max(backoff wait, error.retryAfterMs)` (not
   * shortened by `maxDelayMs`), if that fits the budget, and gives up on an isolated circuit.
   * Default: false.
   */
  readonly retryOpenCircuit?: boolean;
  /** How streams are re-run. Default: `{ mode: 'restart' }`. */
  readonly stream?: RetryStreamOptions<M>;
  /** Retry only these request and stream classes. Default: every request and stream. */
  readonly for?: readonly MessageClass[];
  /** The policy's name in its events. Default: `'retry'`. */
  readonly name?: string;
}

/** Why {@link retry} let a failure through. */
export type RetryGiveUpReason =
  /** `maxAttempts` were made. */
  | 'attempts'
  /** The next attempt could not start within `budgetMs`. */
  | 'budget'
  /** `shouldRetry` said no. */
  | 'predicate'
  /** A `CircuitOpenError`, with `retryOpenCircuit` off or the circuit isolated. */
  | 'openCircuit'
  /** A restarted stream ended before the items already delivered: the stream fails. */
  | 'restartEndedEarly';

interface RetryEventBase {
  /** The policy's `name`. */
  readonly policy: string;
  /** The message name of the call. */
  readonly messageName: string;
  /** The call's context. */
  readonly context: HandlerContext;
}

/** {@link retry} is about to wait `delayMs`, then run attempt `attempt`. */
export interface RetryAttemptEvent extends RetryEventBase {
  readonly type: 'retry';
  /** The attempt about to run: 2 for the first retry. For a stream, counted over every run. */
  readonly attempt: number;
  /** The wait before it, in ms. */
  readonly delayMs: number;
  /** The error of the attempt that failed. */
  readonly error: unknown;
}

/** {@link retry} let a failure through; the call fails with `error`. */
export interface RetryGiveUpEvent extends RetryEventBase {
  readonly type: 'giveUp';
  /** Attempts made, the first one included (for a stream, every run). */
  readonly attempts: number;
  /** The error the call fails with: the last attempt's. */
  readonly error: unknown;
  readonly reason: RetryGiveUpReason;
}

/** Every decision {@link retry} announces. */
export type RetryEvent = RetryAttemptEvent | RetryGiveUpEvent;

/**
 * What {@link retry} returns: a {@link BehaviorSet} for the mediator's `behaviors`, with the
 * policy's events.
 *
 * @example
 * ```ts
 * const retries = retry({ maxAttempts: 4 });
 * retries.events.subscribe((e) => metrics.increment(`retry_${e.type}`, { message: e.messageName }));
 * createMediator({ handlers, behaviors: [retries] });
 * ```
 */
export interface RetryPolicy extends BehaviorSet {
  /** The policy's name, as its events carry it. */
  readonly name: string;
  /** A `'retry'` event before each wait, a `'giveUp'` event when a failure gets through. */
  readonly events: Observable<RetryEvent>;
}

/**
 * Retries failed requests and streams, as a pipeline behavior (issue 5, point 1): up to
 * `maxAttempts` attempts, exponential (or fixed) backoff with full jitter, an overall time
 * budget that also caps the next wait, and a predicate on the error.
 *
 * - **Cancellation is never retried**: when the call's signal is aborted as a failure arrives, or
 *   the error is an `AbortError`/`TimeoutError` DOMException, it propagates unchanged. Aborting
 *   during a wait rejects at once with the signal's reason and clears the timer.
 * - **Giving up rethrows the last error unchanged** (after a `'giveUp'` event), with the number of
 *   attempts recorded for a dead-letter behavior outside.
 * - **Circuit breakers**: put `retry` outside `circuitBreaker`. A `CircuitOpenError` is not
 *   retried into unless `retryOpenCircuit` is set, and then only after its `retryAfterMs`.
 * - **Streams never re-emit an item**: a failed stream is re-run, either restarted with the
 *   items already delivered skipped (the default) or resumed from where it stood
 *   ({@link RetryStreamOptions}). Items are pulled one at a time, as the consumer asks; breaking
 *   out or aborting closes the current run and clears a pending wait at once. `maxAttempts`
 *   counts runs since the last item delivered, so a long stream that keeps making progress is
 *   not failed by occasional hiccups; `budgetMs` still bounds the whole stream.
 *
 * ```text
 * maxAttempts: 3, delayMs: 100, jitter: false:
 * attempt 1 ✖ ─100 ms─ attempt 2 ✖ ─200 ms─ attempt 3 ✖ → 'giveUp' (attempts), rejects with error 3
 * with budgetMs: 250:
 * attempt 1 ✖ ─100 ms─ attempt 2 ✖ → 200 ms would end past the budget: 'giveUp' (budget) at once
 * ```
 *
 * When nothing fails, a request pays one `then` and one closure; a stream pays one `then` per
 * item. No timer, clock read (unless `budgetMs` is set) or AbortController on that path.
 *
 * @example
 * ```ts
 * const retries = retry({
 *   maxAttempts: 4,
 *   delayMs: 200,
 *   budgetMs: 5_000,
 *   shouldRetry: (error) => !(error instanceof ValidationError),
 *   stream: { mode: 'resume', resume: (req, { lastItem }) => req.after(lastItem?.id) },
 *   for: [GetQuote, ExportOrders],
 * });
 * const mediator = createMediator({
 *   handlers,
 *   behaviors: [deadLetters({ store }), retries, circuitBreaker(), timeout(2_000)],
 * });
 * ```
 */
export function retry<M extends StreamMessage<any> = StreamMessage<any>>(
  options: RetryOptions<M> = {},
): RetryPolicy {
  checkObject('options', options);
  const name = checkOptionalString('name', options.name) ?? 'retry';
  const maxAttempts =
    options.maxAttempts === undefined
      ? 3
      : checkInteger('maxAttempts', options.maxAttempts, 1, true);
  const backoff = checkBackoff('', options, { delayMs: 100, maxDelayMs: 30_000 });
  const budgetMs =
    options.budgetMs === undefined ? Infinity : checkInteger('budgetMs', options.budgetMs, 1, true);
  checkFunction('shouldRetry', options.shouldRetry);
  const retryOpenCircuit = checkBoolean('retryOpenCircuit', options.retryOpenCircuit) ?? false;
  const { restart, resume } = checkStream(options.stream as RetryStreamOptions<any> | undefined);
  const channel = new EventChannel<RetryEvent>();
  const rules = new RetryRules(
    name,
    maxAttempts,
    backoff,
    budgetMs,
    options.shouldRetry,
    retryOpenCircuit,
    restart,
    resume as Resume | undefined,
    channel,
  );
  const request: RequestBehavior = {
    handle(message, next, context) {
      const startedAt = rules.timed ? performance.now() : 0;
      return next().then(undefined, (error: unknown) =>
        retryRequest(rules, error, message, next, context, startedAt),
      );
    },
  };
  const stream: StreamBehavior = {
    handle: (message, next, context) => new RetryStream(rules, message, next, context),
  };
  return {
    name,
    events: channel.events,
    behaviors: policyBehaviors('retry', options.for, { request, stream }),
  };
}

/** @internal */
export type Resume = (request: unknown, position: RetryStreamPosition) => unknown;

/** A decision's value when the failure is a cancellation. @internal */
export const CANCELLED = -1;

/**
 * The policy's settings and its decisions, shared by the request and the stream behavior.
 * @internal
 */
export class RetryRules {
  /** True when there is a budget, so a call must read the clock when it starts. */
  readonly timed: boolean;

  constructor(
    readonly name: string,
    readonly maxAttempts: number,
    readonly backoff: Backoff,
    readonly budgetMs: number,
    readonly shouldRetry: RetryOptions['shouldRetry'],
    readonly retryOpenCircuit: boolean,
    readonly restart: boolean,
    readonly resume: Resume | undefined,
    readonly channel: EventChannel<RetryEvent>,
  ) {
    this.timed = budgetMs !== Infinity;
  }

  /**
   * After attempt `attempt` (counted since the last progress; `overall` over the whole call)
   * failed with `error`: the wait before the next attempt, {@link CANCELLED}, or why not to retry.
   * Throws what `shouldRetry` throws, recording the attempts made for it.
   */
  decide(
    error: unknown,
    attempt: number,
    overall: number,
    startedAt: number,
    request: unknown,
    delivered: number,
    context: HandlerContext,
  ): number | RetryGiveUpReason {
    if (isAbortError(error) || context.signal.aborted) return CANCELLED;
    if (attempt >= this.maxAttempts) return 'attempts';
    const open = isCircuitOpenError(error);
    if (open && !this.retryOpenCircuit) return 'openCircuit';
    const { shouldRetry } = this;
    if (shouldRetry !== undefined) {
      let again: boolean;
      try {
        again = shouldRetry(error, { attempt: overall, request, delivered, context });
      } catch (thrown) {
        recordAttempts(context, thrown, overall); // the call fails with it, after these attempts
        throw thrown;
      }
      if (!again) return 'predicate';
    }
    let cap = MAX_TIMER_MS;
    if (this.timed) {
      // The longest whole wait after which an attempt still starts strictly within the budget.
      cap = Math.ceil(this.budgetMs - (performance.now() - startedAt)) - 1;
      if (cap < 0) return 'budget';
    }
    const next = attempt + 1;
    if (open) {
      const after = error.retryAfterMs;
      if (!(after <= MAX_TIMER_MS)) return 'openCircuit'; // isolated (Infinity) or nonsense
      const wait = Math.max(backoffDelay(this.backoff, next, cap), Math.ceil(after));
      return wait > cap ? 'budget' : wait;
    }
    if (!this.backoff.jitter && backoffCeiling(this.backoff, next) > cap) return 'budget';
    return backoffDelay(this.backoff, next, cap);
  }

  /** Announces the wait before attempt `attempt`. */
  retrying(attempt: number, delayMs: number, error: unknown, context: HandlerContext): void {
    const channel = this.channel;
    if (!channel.observed) return;
    channel.emit({
      type: 'retry',
      policy: this.name,
      messageName: context.messageName,
      context,
      attempt,
      delayMs,
      error,
    });
  }

  /** Records the attempts on the error and announces the give-up; the caller then rethrows. */
  giveUp(
    error: unknown,
    attempts: number,
    reason: RetryGiveUpReason,
    context: HandlerContext,
  ): void {
    recordAttempts(context, error, attempts);
    const channel = this.channel;
    if (!channel.observed) return;
    channel.emit({
      type: 'giveUp',
      policy: this.name,
      messageName: context.messageName,
      context,
      attempts,
      error,
      reason,
    });
  }
}

/** The slow path of a request, from its first failure on. */
async function retryRequest(
  rules: RetryRules,
  error: unknown,
  request: unknown,
  next: () => Promise<unknown>,
  context: HandlerContext,
  startedAt: number,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const wait = rules.decide(error, attempt, attempt, startedAt, request, 0, context);
    if (wait === CANCELLED) throw error;
    if (typeof wait === 'string') {
      rules.giveUp(error, attempt, wait, context);
      throw error;
    }
    rules.retrying(attempt + 1, wait, error, context);
    await pause(wait, context.signal);
    try {
      return await next();
    } catch (failure) {
      error = failure;
    }
  }
}

/** Resolves after `ms`; rejects with the signal's reason as soon as it aborts, clearing the timer. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      resolve();
    }, ms);
    const stop = onAbort(signal, () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

function checkBoolean(option: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw new TypeError(`Option '${option}' must be a boolean, got ${show(value)}.`);
}

function checkStream(stream: RetryStreamOptions<any> | undefined): {
  restart: boolean;
  resume: RetryStreamOptions<any>['resume'];
} {
  if (stream === undefined) return { restart: true, resume: undefined };
  checkObject('stream', stream);
  const mode =
    stream.mode === undefined
      ? 'restart'
      : checkOneOf('stream.mode', stream.mode, ['restart', 'resume']);
  checkFunction('stream.resume', stream.resume);
  if (mode === 'resume' && stream.resume === undefined) {
    throw new TypeError(
      `Option 'stream.resume' must be a function when 'stream.mode' is 'resume', got undefined.`,
    );
  }
  if (mode === 'restart' && stream.resume !== undefined) {
    throw new TypeError(
      `Option 'stream.resume' is only used when 'stream.mode' is 'resume', got mode 'restart'; set mode: 'resume' or drop resume.`,
    );
  }
  return { restart: mode === 'restart', resume: stream.resume };
}
