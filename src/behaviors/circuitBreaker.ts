import type { Observable } from 'rxjs';
import type { BehaviorSet, RequestBehavior, StreamBehavior } from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import type { MessageClass, RequestMessage, StreamMessage } from '../core/types.js';
import { isBulkheadRejectedError } from '../errors/BulkheadRejectedError.js';
import { isCircuitOpenError, type CircuitRejection } from '../errors/CircuitOpenError.js';
import { isAbortError } from '../errors/isAbortError.js';
import { isMemoryPressureError } from '../errors/MemoryPressureError.js';
import { isRateLimitedError } from '../errors/RateLimitedError.js';
import { isRequestTimeoutError } from '../errors/RequestTimeoutError.js';
import { isStreamTimeoutError } from '../errors/StreamTimeoutError.js';
import {
  checkFunction,
  checkInteger,
  checkObject,
  checkOptionalString,
  show,
} from '../errors/validate.js';
import { DONE } from '../streaming/DONE.js';
import { syncTakerOf, TAKE_SYNC, type SyncTaker } from '../streaming/takeSync.js';
import { Circuit, WINDOW_BUCKETS, type CircuitSettings, type Ticket } from './Circuit.js';
import { EventChannel } from './EventChannel.js';
import { policyBehaviors } from './policyBehaviors.js';

export type { CircuitSnapshot } from './Circuit.js';
import type { CircuitSnapshot } from './Circuit.js';

/**
 * A circuit's state:
 * - `'closed'`: calls run; their outcomes are counted over the sampling window;
 * - `'open'`: calls are refused until the break duration has passed;
 * - `'halfOpen'`: a few trial calls run; their outcome closes or reopens the circuit;
 * - `'isolated'`: held open by `isolate()` until `reset()`.
 *
 * @example
 * ```ts
 * const state: CircuitState = payments.state('ChargeCard'); // 'closed' | 'open' | 'halfOpen' | 'isolated'
 * ```
 */
export type CircuitState = 'closed' | 'open' | 'halfOpen' | 'isolated';

/**
 * Why a circuit opened: its failure ratio over the sampling window reached `failureRatio`, a
 * half-open trial failed, or a trial neither succeeded nor failed within `trialTimeoutMs`.
 *
 * @example
 * ```ts
 * const reason: CircuitBreakReason = 'trialTimedOut';
 * ```
 */
export type CircuitBreakReason = 'failureRatio' | 'trialFailed' | 'trialTimedOut';

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerOptions<M = RequestMessage<any> | StreamMessage<any>> {
  /**
   * Open when at least this share of the calls in the sampling window failed (and at least
   * `minimumThroughput` calls were seen). `0 < failureRatio ≤ 1`. Default: 0.5.
   */
  readonly failureRatio?: number;
  /**
   * How far back outcomes count, in ms: a ring of 10 time buckets, so calls are forgotten a
   * tenth of the window at a time. A whole number ≥ 10. Default: 10_000.
   */
  readonly samplingWindowMs?: number;
  /** Calls (failures plus successes) the window must hold before the ratio is judged. Default: 10. */
  readonly minimumThroughput?: number;
  /** How long an open circuit refuses calls before it lets trials through, in ms. Default: 30_000. */
  readonly breakDurationMs?: number;
  /**
   * Trial calls a half-open circuit lets through; it closes once all have succeeded, and
   * reopens at the first that fails. Calls beyond them are refused. Default: 1.
   */
  readonly halfOpenMaxTrials?: number;
  /**
   * A trial that has neither succeeded nor failed within this many ms counts as failed: the
   * circuit reopens and the trial's late outcome is ignored (the call itself runs on). For a
   * stream trial, the limit restarts with each item delivered. Default: `breakDurationMs`, so a
   * hung trial costs at most what a failed one costs.
   */
  readonly trialTimeoutMs?: number;
  /**
   * Whether an error counts as a failure of the dependency; an error it rejects counts as a
   * success (the dependency answered: a validation error, a 404). Not asked about timeouts
   * (always failures), cancellations and admission rejections (never counted). If it throws,
   * the call counts as a failure and still fails with its own error (the predicate's exception
   * is dropped). Default: every error is a failure.
   */
  readonly isFailure?: (error: unknown) => boolean;
  /**
   * Which circuit a call belongs to: `'messageType'` (one per message name), `'global'` (one
   * circuit, key `'*'`, for every message the policy covers), or a function returning the key
   * (a string). The same option as `bulkhead()`'s and `rateLimit()`'s. Default: `'messageType'`.
   */
  readonly scope?: 'messageType' | 'global' | ((request: M, context: HandlerContext) => string);
  /**
   * Most circuits (keys) kept. A new key beyond it evicts the least recently used closed
   * circuit (forgetting its window); only when none is closed, the least recently used open or
   * half-open one. Circuits isolated by key are never evicted. Finding the one to evict scans
   * the circuits, so a new key costs O(maxKeys) once the map is full; a known key, O(1).
   * Default: 1000.
   */
  readonly maxKeys?: number;
  /** How a stream counts. Each stream is one call: completing is a success, failing a failure. */
  readonly stream?: {
    /**
     * A stream that has delivered this many items counts as a success there and then (its
     * trial slot is freed), whatever happens to it later. Default: Infinity (only completion).
     */
    readonly successAfterItems?: number;
  };
  /** Guard only these message classes (requests and/or streams). Default: every request and stream. */
  readonly for?: readonly MessageClass[];
  /** The policy's name in events. Default: `'circuitBreaker'`. */
  readonly name?: string;
}

interface CircuitEventBase {
  /** The policy's `name`. */
  readonly policy: string;
  /**
   * The message name of the call behind the event; for `reset()`/`isolate()`, of the last call
   * that used the circuit (undefined if none has).
   */
  readonly messageName: string | undefined;
  /** The circuit's key. */
  readonly key: string;
  /** The call behind the event, if one is. */
  readonly context?: HandlerContext;
}

/** The circuit opened. */
export interface CircuitBreakEvent extends CircuitEventBase {
  readonly type: 'break';
  readonly reason: CircuitBreakReason;
  /** The failure ratio that tripped it: of the window, or of the trials decided so far. */
  readonly failureRatio: number;
  /** The error of the failure that tripped it (none for a trial that timed out). */
  readonly error?: unknown;
}

/** The break duration has passed and a call arrived: it runs as the first trial. */
export interface CircuitHalfOpenEvent extends CircuitEventBase {
  readonly type: 'halfOpen';
}

/** The circuit closed: every trial succeeded, or `reset()` was called. */
export interface CircuitResetEvent extends CircuitEventBase {
  readonly type: 'reset';
}

/** Any state change (after the `break`, `halfOpen` or `reset` event that caused it). */
export interface CircuitStateChangeEvent extends CircuitEventBase {
  readonly type: 'stateChange';
  readonly from: CircuitState;
  readonly to: CircuitState;
}

/** A call was refused with a `CircuitOpenError`. */
export interface CircuitRejectEvent extends CircuitEventBase {
  readonly type: 'reject';
  readonly state: CircuitRejection;
  readonly retryAfterMs: number;
}

/**
 * What a {@link circuitBreaker} reports, discriminated on `type`.
 *
 * @example
 * ```ts
 * breaker.events.subscribe((e) => {
 *   if (e.type === 'stateChange') log.warn(`circuit ${e.key}: ${e.from} → ${e.to}`);
 * });
 * ```
 */
export type CircuitBreakerEvent =
  | CircuitBreakEvent
  | CircuitHalfOpenEvent
  | CircuitResetEvent
  | CircuitStateChangeEvent
  | CircuitRejectEvent;

/**
 * What {@link circuitBreaker} returns: behaviors for the mediator's `behaviors` option, its
 * events, and access to its circuits.
 *
 * @example
 * ```ts
 * const breaker = circuitBreaker({ for: [ChargeCard] });
 * createMediator({ handlers, behaviors: [breaker] });
 * app.get('/health', (_, res) => res.json(breaker.snapshot()));
 * ```
 */
export interface CircuitBreakerPolicy extends BehaviorSet {
  /** The policy's name, as its events report it. */
  readonly name: string;
  /** Every decision: break, halfOpen, reset, stateChange, reject. */
  readonly events: Observable<CircuitBreakerEvent>;
  /** The state of one circuit (`'closed'` for a key never seen). */
  state(key: string): CircuitState;
  /** Every circuit kept, least recently used first. */
  snapshot(): CircuitSnapshot[];
  /** Closes one circuit (forgetting its window), or every circuit and a policy-wide isolation. */
  reset(key?: string): void;
  /** Holds one circuit open, or every circuit (present and future keys), until `reset()`. */
  isolate(key?: string): void;
}

/**
 * A circuit breaker for requests and streams (the seed's `CircuitBreakerBehavior`, done right):
 * state per policy and per key (the message name unless `scope` says otherwise), never global.
 *
 * - **Closed**: calls run; outcomes are counted in a sliding window of `samplingWindowMs`. Once
 *   it holds `minimumThroughput` calls and at least `failureRatio` of them failed, it opens.
 * - **Open**: calls are refused with a `CircuitOpenError` (its `retryAfterMs` says when a trial
 *   will be let through); the handler does not run. No timer runs: the first call after
 *   `breakDurationMs` turns it half-open and becomes a trial.
 * - **Half-open**: up to `halfOpenMaxTrials` trials run; all succeeding closes it, one failing
 *   (or hanging past `trialTimeoutMs`) reopens it for another `breakDurationMs`.
 * - **Isolated**: `isolate()` holds it open until `reset()`.
 *
 * What counts: a cancellation (the call's signal aborted, or an abort error) and admission
 * rejections from further in (`BulkheadRejectedError`, `RateLimitedError`,
 * `MemoryPressureError`, an inner breaker's `CircuitOpenError`) are neither success nor
 * failure; `RequestTimeoutError` and `StreamTimeoutError` are failures; other errors are
 * failures unless `isFailure` says no (then successes). A stream counts once: admitted at its
 * first read, a success when it completes (or has delivered `stream.successAfterItems` items),
 * a failure when it fails before; a consumer that stops early leaves it uncounted. A stream in
 * progress when the circuit opens runs on. Place it inside `retry` (outermost first:
 * deadLetters → retry → circuitBreaker → bulkhead → rateLimit → timeout → handler).
 *
 * @example
 * ```ts
 * const breaker = circuitBreaker({ failureRatio: 0.5, minimumThroughput: 20, breakDurationMs: 15_000, for: [GetQuote] });
 * breaker.events.subscribe((e) => e.type === 'stateChange' && log.warn(`${e.key}: ${e.from} → ${e.to}`));
 * const mediator = createMediator({ handlers, behaviors: [retry({ maxAttempts: 3 }), breaker, timeout({ ms: 2000 })] });
 * ```
 */
export function circuitBreaker<M = RequestMessage<any> | StreamMessage<any>>(
  options: CircuitBreakerOptions<M> = {},
): CircuitBreakerPolicy {
  checkObject('options', options);
  const name = checkOptionalString('name', options.name) ?? 'circuitBreaker';
  const failureRatio = checkRatio(options.failureRatio);
  const samplingWindowMs =
    options.samplingWindowMs === undefined
      ? 10_000
      : checkInteger('samplingWindowMs', options.samplingWindowMs, WINDOW_BUCKETS);
  const minimumThroughput =
    options.minimumThroughput === undefined
      ? 10
      : checkInteger('minimumThroughput', options.minimumThroughput, 1);
  const breakDurationMs =
    options.breakDurationMs === undefined
      ? 30_000
      : checkInteger('breakDurationMs', options.breakDurationMs, 1);
  const halfOpenMaxTrials =
    options.halfOpenMaxTrials === undefined
      ? 1
      : checkInteger('halfOpenMaxTrials', options.halfOpenMaxTrials, 1);
  const trialTimeoutMs =
    options.trialTimeoutMs === undefined
      ? breakDurationMs
      : checkInteger('trialTimeoutMs', options.trialTimeoutMs, 1);
  checkFunction('isFailure', options.isFailure);
  const scope = options.scope ?? 'messageType';
  if (scope !== 'messageType' && scope !== 'global' && typeof scope !== 'function') {
    throw new TypeError(
      `Option 'scope' must be 'messageType', 'global' or a function returning a key, got ${show(scope)}.`,
    );
  }
  const maxKeys =
    options.maxKeys === undefined ? 1000 : checkInteger('maxKeys', options.maxKeys, 1);
  checkObject('stream', options.stream);
  const successAfterItems =
    options.stream?.successAfterItems === undefined
      ? Infinity
      : checkInteger('stream.successAfterItems', options.stream.successAfterItems, 1, true);

  const channel = new EventChannel<CircuitBreakerEvent>();
  const settings: CircuitSettings = {
    policy: name,
    channel,
    failureRatio,
    minimumThroughput,
    bucketMs: samplingWindowMs / WINDOW_BUCKETS,
    breakDurationMs,
    halfOpenMaxTrials,
    trialTimeoutMs,
  };
  const circuits = new Circuits(settings, maxKeys);
  const isFailure = options.isFailure as ((error: unknown) => boolean) | undefined;
  const keyOf = scope as (request: unknown, context: HandlerContext) => unknown;

  const circuitOf = (request: unknown, context: HandlerContext): Circuit => {
    if (scope === 'messageType') return circuits.get(context.messageName, context.messageName);
    if (scope === 'global') return circuits.get('*', context.messageName);
    const key = keyOf(request, context);
    if (typeof key !== 'string') {
      throw new TypeError(
        `Option 'scope' of ${name}() must return a string key, got ${show(key)} for ${context.messageName}.`,
      );
    }
    return circuits.get(key, context.messageName);
  };

  /** Books a call's error on its circuit. */
  const settleError = (
    circuit: Circuit,
    ticket: Ticket,
    error: unknown,
    context: HandlerContext,
  ): void => {
    switch (classify(error, context, isFailure)) {
      case FAILURE:
        return circuit.failed(ticket, error, context);
      case SUCCESS:
        return circuit.succeeded(ticket);
      default:
        return circuit.released(ticket);
    }
  };

  const request: RequestBehavior = {
    handle(message, next, context) {
      const circuit = circuitOf(message, context);
      const ticket = circuit.admit(context);
      return next().then(
        (value) => {
          circuit.succeeded(ticket);
          return value;
        },
        (error: unknown) => {
          settleError(circuit, ticket, error, context);
          throw error;
        },
      );
    },
  };

  const stream: StreamBehavior = {
    handle(message, next, context) {
      return new BreakerStream(
        () => circuitOf(message, context),
        next as () => AsyncIterable<unknown>,
        context,
        successAfterItems,
        settleError,
      ) as AsyncIterable<never>;
    },
  };

  return {
    name,
    behaviors: policyBehaviors(name, options.for, { request, stream }),
    events: channel.events,
    state: (key) => circuits.state(key),
    snapshot: () => circuits.snapshot(),
    reset: (key) => circuits.reset(key),
    isolate: (key) => circuits.isolate(key),
  };
}

const FAILURE = 0;
const SUCCESS = 1;
const NEITHER = 2;
type Outcome = typeof FAILURE | typeof SUCCESS | typeof NEITHER;

/** How an error counts: see {@link circuitBreaker}. */
function classify(
  error: unknown,
  context: HandlerContext,
  isFailure: ((error: unknown) => boolean) | undefined,
): Outcome {
  if (context.signal.aborted || isAbortError(error)) return NEITHER;
  if (isRequestTimeoutError(error) || isStreamTimeoutError(error)) return FAILURE;
  if (
    isCircuitOpenError(error) ||
    isBulkheadRejectedError(error) ||
    isRateLimitedError(error) ||
    isMemoryPressureError(error)
  ) {
    return NEITHER;
  }
  if (isFailure === undefined) return FAILURE;
  try {
    return isFailure(error) ? FAILURE : SUCCESS;
  } catch {
    // A broken predicate must not replace the call's error nor leave its ticket unsettled.
    return FAILURE;
  }
}

function checkRatio(value: unknown): number {
  if (value === undefined) return 0.5;
  if (typeof value !== 'number') {
    throw new TypeError(`Option 'failureRatio' must be a number, got ${show(value)}.`);
  }
  if (!(value > 0 && value <= 1)) {
    throw new RangeError(`Option 'failureRatio' must be a number > 0 and ≤ 1, got ${show(value)}.`);
  }
  return value;
}

/**
 * The circuits of one policy, by key. Recency is a stamp per circuit (a Map re-insert per call
 * costs more): eviction scans for the oldest, but only when a new key arrives with the map full.
 */
class Circuits {
  readonly #circuits = new Map<string, Circuit>();
  /** The circuit used last: a repeat call skips the lookup (its stamp is already the newest). */
  #last: Circuit | undefined;
  #clock = 0;
  /** `isolate()` without a key: new circuits start isolated until `reset()`. */
  #isolatedAll = false;

  constructor(
    readonly settings: CircuitSettings,
    readonly maxKeys: number,
  ) {}

  get(key: string, messageName: string): Circuit {
    const last = this.#last;
    if (last !== undefined && last.key === key) return last;
    let circuit = this.#circuits.get(key);
    if (circuit === undefined) {
      if (this.#circuits.size >= this.maxKeys) this.#evict();
      circuit = this.#create(key, messageName);
    }
    circuit.used = ++this.#clock;
    return (this.#last = circuit);
  }

  state(key: string): CircuitState {
    const circuit = this.#circuits.get(key);
    if (circuit === undefined) return this.#isolatedAll ? 'isolated' : 'closed';
    return circuit.refresh(performance.now());
  }

  snapshot(): CircuitSnapshot[] {
    const now = performance.now();
    const wallNow = Date.now();
    return [...this.#circuits.values()]
      .sort((a, b) => a.used - b.used)
      .map((circuit) => circuit.snapshot(now, wallNow));
  }

  reset(key: string | undefined): void {
    if (key !== undefined) return this.#circuits.get(checkKey(key, 'reset'))?.reset();
    this.#isolatedAll = false;
    for (const circuit of [...this.#circuits.values()]) circuit.reset();
  }

  isolate(key: string | undefined): void {
    if (key !== undefined) {
      checkKey(key, 'isolate');
      let circuit = this.#circuits.get(key);
      if (circuit === undefined) {
        circuit = this.#create(key, undefined);
        circuit.used = ++this.#clock;
      }
      return circuit.isolate(true);
    }
    this.#isolatedAll = true;
    for (const circuit of [...this.#circuits.values()]) circuit.isolate(false);
  }

  #create(key: string, messageName: string | undefined): Circuit {
    const circuit = new Circuit(key, this.settings, messageName);
    if (this.#isolatedAll) circuit.state = 'isolated';
    this.#circuits.set(key, circuit);
    return circuit;
  }

  /** Forgets the least recently used closed circuit, else the least recently used unpinned one. */
  #evict(): void {
    let closed: Circuit | undefined;
    let other: Circuit | undefined;
    for (const circuit of this.#circuits.values()) {
      if (circuit.state === 'closed') {
        if (closed === undefined || circuit.used < closed.used) closed = circuit;
      } else if (!circuit.pinned && (other === undefined || circuit.used < other.used)) {
        other = circuit;
      }
    }
    const victim = closed ?? other;
    // Every circuit isolated by key: those are the user's to bound.
    if (victim !== undefined) this.#circuits.delete(victim.key);
  }
}

function checkKey(key: unknown, method: string): string {
  if (typeof key !== 'string') {
    throw new TypeError(`${method}() takes a circuit key (a string), got ${show(key)}.`);
  }
  return key;
}

type SettleError = (
  circuit: Circuit,
  ticket: Ticket,
  error: unknown,
  context: HandlerContext,
) => void;

/**
 * One stream through the breaker: admitted at its first read (a refusal rejects that read),
 * counted once. Items pass through one `then` each until the stream is counted; after that,
 * reads go straight to the inner stream.
 */
class BreakerStream implements AsyncIterableIterator<unknown>, SyncTaker<unknown> {
  #state: 'new' | 'counting' | 'counted' | 'done' = 'new';
  #circuit: Circuit | undefined;
  #ticket: Ticket = 0;
  #inner: AsyncIterator<unknown> | undefined;
  #items = 0;

  readonly #onResult = (result: IteratorResult<unknown>): IteratorResult<unknown> => {
    if (this.#state !== 'counting') return result;
    if (result.done) {
      this.#state = 'done';
      this.#circuit!.succeeded(this.#ticket);
    } else if (++this.#items >= this.successAfterItems) {
      this.#state = 'counted';
      this.#circuit!.succeeded(this.#ticket);
    } else {
      this.#circuit!.progressed(this.#ticket);
    }
    return result;
  };

  readonly #onError = (error: unknown): never => {
    if (this.#state === 'counting') {
      this.#state = 'done';
      this.settleError(this.#circuit!, this.#ticket, error, this.context);
    }
    throw error;
  };

  constructor(
    readonly circuitOf: () => Circuit,
    readonly upstream: () => AsyncIterable<unknown>,
    readonly context: HandlerContext,
    readonly successAfterItems: number,
    readonly settleError: SettleError,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<unknown>> {
    switch (this.#state) {
      case 'counting':
        return this.#inner!.next().then(this.#onResult, this.#onError);
      case 'counted':
        return this.#inner!.next();
      case 'done':
        return this.#inner === undefined ? Promise.resolve(DONE) : this.#inner.next();
      default:
        return this.#start();
    }
  }

  [TAKE_SYNC](into: unknown[], max: number): void {
    const inner = this.#inner;
    if (inner === undefined || this.#state === 'new') return;
    const taker = syncTakerOf(inner);
    if (taker === undefined) return;
    const before = into.length;
    taker[TAKE_SYNC](into, max);
    if (this.#state !== 'counting' || into.length === before) return;
    this.#items += into.length - before;
    if (this.#items >= this.successAfterItems) {
      this.#state = 'counted';
      this.#circuit!.succeeded(this.#ticket);
    } else {
      this.#circuit!.progressed(this.#ticket);
    }
  }

  return(): Promise<IteratorResult<unknown>> {
    const state = this.#state;
    this.#state = 'done';
    // Stopped by its consumer before it was counted: neither success nor failure.
    if (state === 'counting') this.#circuit!.released(this.#ticket);
    const inner = this.#inner;
    if (inner === undefined) return Promise.resolve(DONE);
    return inner.return?.() ?? Promise.resolve(DONE);
  }

  /** The first read: the breaker decides here, then the inner pipeline starts. */
  #start(): Promise<IteratorResult<unknown>> {
    this.#state = 'done'; // until admitted and opened
    let circuit: Circuit;
    try {
      circuit = this.circuitOf();
      this.#ticket = circuit.admit(this.context);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#circuit = circuit;
    try {
      this.#inner = this.upstream()[Symbol.asyncIterator]();
    } catch (error) {
      this.settleError(circuit, this.#ticket, error, this.context);
      return Promise.reject(error);
    }
    this.#state = 'counting';
    return this.next();
  }
}
