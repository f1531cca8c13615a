import type { Observable } from 'rxjs';
import type {
  BehaviorSet,
  NextOptions,
  RequestBehavior,
  StreamBehavior,
} from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import type { MessageClass } from '../core/types.js';
import { BulkheadRejectedError } from '../errors/BulkheadRejectedError.js';
import { checkInteger, checkObject, checkOptionalString, show } from '../errors/validate.js';
import { DONE } from '../streaming/DONE.js';
import { EventChannel } from './EventChannel.js';
import { onAbort } from './onAbort.js';
import { policyBehaviors } from './policyBehaviors.js';

/**
 * Which calls share a bulkhead: `'messageType'` (one per message name), `'global'` (one for
 * every call the policy covers, key `'*'`), or a function naming the key of a call (a tenant, a
 * downstream host…).
 *
 * @example
 * ```ts
 * const perTenant: BulkheadScope<PlaceOrder> = (order) => order.tenantId;
 * ```
 */
export type BulkheadScope<M = any> =
  'messageType' | 'global' | ((request: M, context: HandlerContext) => string);

/**
 * Options of {@link bulkhead}.
 *
 * @example
 * ```ts
 * const options: BulkheadOptions = { maxConcurrent: 4, maxQueue: 20, queueTimeoutMs: 2_000 };
 * ```
 */
export interface BulkheadOptions<M = any> {
  /** Calls that may run at once per key. Required, a whole number ≥ 1. */
  readonly maxConcurrent: number;
  /** Calls that may wait for a slot per key, first come first served. Default: 0 (no waiting). */
  readonly maxQueue?: number;
  /**
   * Longest a call may wait in the queue, in ms; it is then rejected with reason
   * `'queueTimeout'`. Default: none (it waits until a slot frees or its caller aborts).
   */
  readonly queueTimeoutMs?: number;
  /**
   * Which calls share slots (see {@link BulkheadScope}). A key function's keys are kept only
   * while some call runs or waits under them, so the number of keys never exceeds the number of
   * calls in flight. Default: `'messageType'`.
   */
  readonly scope?: BulkheadScope<M>;
  /** Apply only to these message classes (requests and/or streams). Default: every request and stream. */
  readonly for?: readonly MessageClass[];
  /** The policy's name in its events. Default: `'bulkhead'`. */
  readonly name?: string;
}

/**
 * Calls running and waiting under one key.
 *
 * @example
 * ```ts
 * const { running, queued }: BulkheadStats = policy.stats('RenderReport');
 * ```
 */
export interface BulkheadStats {
  readonly running: number;
  readonly queued: number;
}

/**
 * Calls running and waiting under all keys together, and how many keys are held.
 *
 * @example
 * ```ts
 * const { running, queued, keys }: BulkheadTotals = policy.stats();
 * ```
 */
export interface BulkheadTotals extends BulkheadStats {
  /** Keys with state now (a key function's keys are dropped when idle). */
  readonly keys: number;
}

interface BulkheadEventBase {
  /** The policy's `name`. */
  readonly policy: string;
  readonly messageName: string;
  /** The call concerned. */
  readonly context: HandlerContext;
  /** The bulkhead's key (message name, `'*'`, or the key function's result). */
  readonly key: string;
  /** Calls running under the key, after the decision. */
  readonly running: number;
  /** Calls waiting under the key, after the decision. */
  readonly queued: number;
}

/**
 * A bulkhead's decisions: `'reject'` (the call failed with a `BulkheadRejectedError`),
 * `'queued'` (it waits for a slot), `'admitted'` (a call that waited got its slot, after
 * `waitedMs`). A call admitted at once raises no event. A queued call whose caller aborted
 * leaves silently (a cancellation, not a decision of the bulkhead).
 *
 * @example
 * ```ts
 * policy.events.subscribe((e) => { if (e.type === 'reject') rejected.inc({ key: e.key, reason: e.reason }); });
 * ```
 */
export type BulkheadEvent =
  | (BulkheadEventBase & {
      readonly type: 'reject';
      readonly reason: 'queueFull' | 'queueTimeout';
      readonly error: BulkheadRejectedError;
    })
  | (BulkheadEventBase & { readonly type: 'queued' })
  | (BulkheadEventBase & { readonly type: 'admitted'; readonly waitedMs: number });

/**
 * What {@link bulkhead} returns: a behavior set for the mediator's `behaviors`, with its events
 * and live counts.
 *
 * @example
 * ```ts
 * const reports = bulkhead({ maxConcurrent: 4, maxQueue: 20, for: [RenderReport] });
 * createMediator({ handlers, behaviors: [reports] });
 * gauge.set(reports.stats().queued);
 * ```
 */
export interface BulkheadPolicy extends BehaviorSet {
  /** The policy's name (option `name`). */
  readonly name: string;
  /** Rejections, waits and admissions after a wait. */
  readonly events: Observable<BulkheadEvent>;
  /** Calls running and waiting under all keys together. */
  stats(): BulkheadTotals;
  /** Calls running and waiting under `key` (zeros for a key with no state). */
  stats(key: string): BulkheadStats;
}

/** The longest delay `setTimeout` honours. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Limits how many requests and streams run at once (issue 5, point 4): a bulkhead, so that one
 * slow dependency cannot take every resource. Per message type by default, global, or per key.
 *
 * - A request holds a slot from admission until it settles. A stream holds one from its first
 *   read until it completes, fails, is broken out of or aborted.
 * - When every slot is taken, the call waits in a bounded FIFO queue (`maxQueue`) and is admitted
 *   as soon as a slot frees. A full queue rejects at once with a {@link BulkheadRejectedError}
 *   (`reason: 'queueFull'`); a call waiting longer than `queueTimeoutMs` is rejected with
 *   `reason: 'queueTimeout'`. The handler never runs for a rejected call.
 * - A waiting call whose caller aborts leaves the queue at once (its timer cleared) and rejects
 *   with the signal's reason.
 *
 * Rejections are admission failures, not failures of the dependency: a circuit breaker outside
 * ignores them, a retry outside retries them. The happy path (a free slot) costs a counter and no
 * timer, closure or promise of its own.
 *
 * @param options - See {@link BulkheadOptions}.
 * @example
 * ```ts
 * const mediator = createMediator({
 *   handlers,
 *   behaviors: [bulkhead({ maxConcurrent: 10, maxQueue: 100, queueTimeoutMs: 5_000 })],
 * });
 * try { await mediator.send(new RenderReport(id)); }
 * catch (error) { if (isBulkheadRejectedError(error)) return res.status(503).end(); throw error; }
 * ```
 */
export function bulkhead<M = any>(options: BulkheadOptions<M>): BulkheadPolicy {
  checkObject('options', options);
  if (options === undefined) {
    throw new TypeError(`bulkhead() needs options with 'maxConcurrent', got undefined.`);
  }
  const maxConcurrent = checkInteger('maxConcurrent', options.maxConcurrent, 1);
  const maxQueue =
    options.maxQueue === undefined ? 0 : checkInteger('maxQueue', options.maxQueue, 0);
  const queueTimeoutMs = checkQueueTimeout(options.queueTimeoutMs);
  const scope = checkScope(options.scope);
  const name = checkOptionalString('name', options.name) ?? 'bulkhead';
  const slots = new Bulkhead(name, maxConcurrent, maxQueue, queueTimeoutMs, scope);

  const request: RequestBehavior = {
    handle(message, next, context) {
      const compartment = slots.compartmentOf(message, context);
      if (compartment.running < maxConcurrent) {
        compartment.running++;
        return next().then(compartment.onValue, compartment.onError);
      }
      return new Promise((resolve, reject) => {
        compartment.enqueue(new QueuedRequest(next, context, resolve, reject));
      });
    },
  };
  const stream: StreamBehavior = {
    handle: (message, next, context) => ({
      [Symbol.asyncIterator]: () => new BulkheadStream(slots, message, next, context),
    }),
  };
  return {
    behaviors: policyBehaviors(name, options.for, { request, stream }),
    name,
    events: slots.channel.events,
    stats: ((key?: string) => slots.stats(key)) as BulkheadPolicy['stats'],
  };
}

type KeyOf = (request: unknown, context: HandlerContext) => string;

function checkQueueTimeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    throw new TypeError(`Option 'queueTimeoutMs' must be a number, got ${show(value)}.`);
  }
  if (!(value > 0 && value <= MAX_DELAY)) {
    throw new RangeError(
      `Option 'queueTimeoutMs' must be a number of milliseconds > 0 and ≤ ${MAX_DELAY}, got ${show(value)}.`,
    );
  }
  return value;
}

function checkScope(value: unknown): 'messageType' | 'global' | KeyOf {
  if (value === undefined) return 'messageType';
  if (value === 'messageType' || value === 'global' || typeof value === 'function') {
    return value as 'messageType' | 'global' | KeyOf;
  }
  throw new TypeError(
    `Option 'scope' must be 'messageType', 'global' or a function returning a key, got ${show(value)}.`,
  );
}

/** One call waiting for a slot. */
interface Waiter {
  readonly context: HandlerContext;
  /** Queue links. */
  before: Waiter | undefined;
  after: Waiter | undefined;
  enqueuedAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Removes the listener on the caller's signal while it waits. */
  unlisten: (() => void) | undefined;
  /** It got a slot (already counted as running) and left the queue. */
  admit(compartment: Compartment): void;
  /** It left the queue without a slot. */
  refuse(error: unknown): void;
}

/** The state of every key. */
class Bulkhead {
  readonly channel = new EventChannel<BulkheadEvent>();
  readonly #compartments = new Map<string, Compartment>();
  /** The single compartment of a global bulkhead. */
  readonly #global: Compartment | undefined;

  constructor(
    readonly name: string,
    readonly maxConcurrent: number,
    readonly maxQueue: number,
    readonly queueTimeoutMs: number | undefined,
    readonly scope: 'messageType' | 'global' | KeyOf,
  ) {
    if (scope === 'global') {
      this.#global = new Compartment('*', this);
      this.#compartments.set('*', this.#global);
    }
  }

  /** The compartment of a call; may throw (a key function that throws or returns a non-string). */
  compartmentOf(request: unknown, context: HandlerContext): Compartment {
    if (this.#global !== undefined) return this.#global;
    const scope = this.scope;
    let key: unknown;
    if (scope === 'messageType') key = context.messageName;
    else {
      key = (scope as KeyOf)(request, context);
      if (typeof key !== 'string') {
        throw new TypeError(
          `Option 'scope' of ${this.name}() must return a string key, got ${show(key)} for ${context.messageName}.`,
        );
      }
    }
    let compartment = this.#compartments.get(key as string);
    if (compartment === undefined) {
      compartment = new Compartment(key as string, this);
      this.#compartments.set(key as string, compartment);
    }
    return compartment;
  }

  /** A compartment has nothing running or queued: forget a key function's key. */
  idle(compartment: Compartment): void {
    if (typeof this.scope === 'function') this.#compartments.delete(compartment.key);
  }

  stats(key?: string): BulkheadStats | BulkheadTotals {
    if (key !== undefined) {
      const compartment = this.#compartments.get(key);
      return { running: compartment?.running ?? 0, queued: compartment?.queued ?? 0 };
    }
    let running = 0;
    let queued = 0;
    for (const compartment of this.#compartments.values()) {
      running += compartment.running;
      queued += compartment.queued;
    }
    return { running, queued, keys: this.#compartments.size };
  }

  emit(
    type: 'queued' | 'admitted' | 'reject',
    compartment: Compartment,
    context: HandlerContext,
    extra?:
      { waitedMs: number } | { reason: 'queueFull' | 'queueTimeout'; error: BulkheadRejectedError },
  ): void {
    this.channel.emit({
      type,
      policy: this.name,
      messageName: context.messageName,
      context,
      key: compartment.key,
      running: compartment.running,
      queued: compartment.queued,
      ...extra,
    } as BulkheadEvent);
  }
}

/** The slots and the queue of one key. */
class Compartment {
  running = 0;
  queued = 0;
  #first: Waiter | undefined;
  #last: Waiter | undefined;

  constructor(
    readonly key: string,
    readonly owner: Bulkhead,
  ) {}

  /** Settle handlers for a request's answer, made once per key rather than per call. */
  readonly onValue = (value: unknown): unknown => {
    this.release();
    return value;
  };

  readonly onError = (error: unknown): never => {
    this.release();
    throw error;
  };

  /** A call ended: its slot passes to the first waiter, or frees. */
  release(): void {
    const waiter = this.#first;
    if (waiter === undefined) {
      if (--this.running === 0) this.owner.idle(this);
      return;
    }
    this.#unqueue(waiter);
    const owner = this.owner;
    if (owner.channel.observed) {
      owner.emit('admitted', this, waiter.context, {
        waitedMs: performance.now() - waiter.enqueuedAt,
      });
    }
    waiter.admit(this);
  }

  /** Every slot is taken: the call waits, or is refused when the queue is full. */
  enqueue(waiter: Waiter): void {
    const owner = this.owner;
    if (this.queued >= owner.maxQueue) return this.#reject(waiter, 'queueFull');
    const signal = waiter.context.signal;
    if (signal.aborted) return waiter.refuse(signal.reason);
    waiter.enqueuedAt = performance.now();
    waiter.before = this.#last;
    if (this.#last === undefined) this.#first = waiter;
    else this.#last.after = waiter;
    this.#last = waiter;
    this.queued++;
    if (owner.queueTimeoutMs !== undefined) {
      waiter.timer = setTimeout(() => {
        waiter.timer = undefined;
        this.#unqueue(waiter);
        this.#reject(waiter, 'queueTimeout');
      }, owner.queueTimeoutMs);
    }
    waiter.unlisten = onAbort(signal, () => {
      waiter.unlisten = undefined;
      this.#unqueue(waiter);
      waiter.refuse(signal.reason);
    });
    if (owner.channel.observed) owner.emit('queued', this, waiter.context);
  }

  /** Takes a waiter out of the queue (it leaves without a slot unless the caller admits it). */
  remove(waiter: Waiter): void {
    this.#unqueue(waiter);
    if (this.running === 0 && this.queued === 0) this.owner.idle(this);
  }

  #unqueue(waiter: Waiter): void {
    const { before, after } = waiter;
    if (before === undefined) this.#first = after;
    else before.after = after;
    if (after === undefined) this.#last = before;
    else after.before = before;
    waiter.before = waiter.after = undefined;
    this.queued--;
    if (waiter.timer !== undefined) {
      clearTimeout(waiter.timer);
      waiter.timer = undefined;
    }
    if (waiter.unlisten !== undefined) {
      waiter.unlisten();
      waiter.unlisten = undefined;
    }
  }

  #reject(waiter: Waiter, reason: 'queueFull' | 'queueTimeout'): void {
    const owner = this.owner;
    const error = new BulkheadRejectedError(this.key, reason, owner.maxConcurrent, owner.maxQueue);
    if (owner.channel.observed) owner.emit('reject', this, waiter.context, { reason, error });
    waiter.refuse(error);
  }
}

/** A request waiting for a slot. */
class QueuedRequest implements Waiter {
  before: Waiter | undefined;
  after: Waiter | undefined;
  enqueuedAt = 0;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Removes the listener on the caller's signal while it waits. */
  unlisten: (() => void) | undefined;

  constructor(
    readonly run: () => Promise<unknown>,
    readonly context: HandlerContext,
    readonly resolve: (answer: Promise<unknown>) => void,
    readonly refuse: (error: unknown) => void,
  ) {}

  admit(compartment: Compartment): void {
    this.resolve(this.run().then(compartment.onValue, compartment.onError));
  }
}

type NextStream = (request?: any, options?: NextOptions) => AsyncIterable<unknown>;

/**
 * One run of a stream under a bulkhead. The first read takes a slot (waiting in the queue if it
 * must); the slot is released exactly once, when the stream completes, fails or is closed.
 */
class BulkheadStream implements AsyncIterator<unknown>, Waiter {
  before: Waiter | undefined;
  after: Waiter | undefined;
  enqueuedAt = 0;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Removes the listener on the caller's signal while it waits. */
  unlisten: (() => void) | undefined;
  #state: 'new' | 'queued' | 'open' | 'done' = 'new';
  #compartment: Compartment | undefined;
  #iterator: AsyncIterator<unknown> | undefined;
  #pending:
    | { resolve(result: Promise<IteratorResult<unknown>>): void; reject(error: unknown): void }
    | undefined;

  constructor(
    readonly slots: Bulkhead,
    readonly request: unknown,
    readonly openInner: NextStream,
    readonly context: HandlerContext,
  ) {}

  next(): Promise<IteratorResult<unknown>> {
    switch (this.#state) {
      case 'open':
        return this.#iterator!.next().then(this.#onResult, this.#onError);
      case 'new':
        return this.#acquire();
      case 'queued':
        return Promise.reject(new Error('next() called again before the previous next() settled.'));
      default:
        return Promise.resolve(DONE);
    }
  }

  return(): Promise<IteratorResult<unknown>> {
    const state = this.#state;
    this.#state = 'done';
    if (state === 'queued') {
      this.#compartment!.remove(this);
      const pending = this.#pending!;
      this.#pending = undefined;
      pending.resolve(Promise.resolve(DONE));
    } else if (state === 'open') {
      this.#compartment!.release();
      const closing = this.#iterator!.return?.();
      if (closing !== undefined) return closing.then(() => DONE);
    }
    return Promise.resolve(DONE);
  }

  admit(compartment: Compartment): void {
    const pending = this.#pending!;
    this.#pending = undefined;
    this.#state = 'open';
    this.#compartment = compartment;
    pending.resolve(this.#openAndRead());
  }

  refuse(error: unknown): void {
    this.#state = 'done';
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }

  #acquire(): Promise<IteratorResult<unknown>> {
    let compartment: Compartment;
    try {
      compartment = this.slots.compartmentOf(this.request, this.context);
    } catch (error) {
      this.#state = 'done';
      return Promise.reject(error);
    }
    this.#compartment = compartment;
    if (compartment.running < this.slots.maxConcurrent) {
      compartment.running++;
      this.#state = 'open';
      return this.#openAndRead();
    }
    this.#state = 'queued';
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      compartment.enqueue(this);
    });
  }

  /** The slot is ours: run the inner pipeline and read its first item. */
  #openAndRead(): Promise<IteratorResult<unknown>> {
    try {
      this.#iterator = this.openInner()[Symbol.asyncIterator]();
    } catch (error) {
      return Promise.reject(error).catch(this.#onError);
    }
    return this.next();
  }

  readonly #onResult = (result: IteratorResult<unknown>): IteratorResult<unknown> => {
    if (result.done === true && this.#state === 'open') {
      this.#state = 'done';
      this.#compartment!.release();
    }
    return result;
  };

  readonly #onError = (error: unknown): never => {
    if (this.#state === 'open') {
      this.#state = 'done';
      this.#compartment!.release();
    }
    throw error;
  };
}
