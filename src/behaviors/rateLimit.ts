import type { Observable } from 'rxjs';
import type {
  BehaviorSet,
  RequestBehavior,
  StreamBehavior,
  BehaviorRegistration,
} from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import type { MessageClass, RequestMessage, StreamMessage } from '../core/types.js';
import { RateLimitedError } from '../errors/RateLimitedError.js';
import {
  checkInteger,
  checkObject,
  checkOneOf,
  checkOptionalString,
  show,
} from '../errors/validate.js';
import { DONE } from '../streaming/DONE.js';
import { EventChannel } from './EventChannel.js';
import { onAbort } from './onAbort.js';
import { policyBehaviors } from './policyBehaviors.js';
import { TokenBucket, type TokenWaiter } from './TokenBucket.js';

type Message = RequestMessage<any> | StreamMessage<any>;

/** Options of {@link rateLimit}. */
export interface RateLimitOptions<M extends Message = Message> {
  /** Tokens added per second, per key: the sustained rate. Required, a number > 0 (fractions allowed: `0.5` is one call every 2 s). */
  readonly perSecond: number;
  /**
   * The bucket's size: how many calls may pass at once after a quiet spell. A whole number ≥ 1.
   * Default: `max(1, ceil(perSecond))` — one second's worth.
   */
  readonly burst?: number;
  /**
   * What shares a bucket: `'messageType'` (one per message name), `'global'` (one for every
   * message the policy covers; key `'*'`), or a function returning the key of a call (a tenant,
   * a user…; keys are not scoped by message name: include it if you need to). Default:
   * `'messageType'`.
   */
  readonly scope?: 'messageType' | 'global' | ((request: M, context: HandlerContext) => string);
  /**
   * Most buckets kept. When a new key would exceed it, the buckets nobody waits on that have
   * refilled are dropped (a fresh bucket is the same). A bucket that has not refilled is never
   * dropped, since its key would start again with a full burst and exceed its rate: when no
   * bucket can go, the new key's call is refused with a {@link RateLimitedError} (reason
   * `'maxKeys'`). Default: 10_000.
   */
  readonly maxKeys?: number;
  /**
   * Longest a call may wait for its token, in ms. A call whose wait would be longer is refused
   * at once with a {@link RateLimitedError}; `0` never waits. Default: Infinity.
   */
  readonly maxWaitMs?: number;
  /** Most calls waiting per key; one more is refused with a {@link RateLimitedError}. Default: 1000. */
  readonly maxQueue?: number;
  /**
   * What a stream spends tokens on. `'items'`: every pull takes a token before the source is
   * read, so a pull source is slowed to the rate (the pull that finds the end takes one too;
   * pulls after the end take none); `'starts'`: only opening the stream takes one. Default:
   * `'items'`.
   */
  readonly stream?: 'items' | 'starts';
  /** Limit only these message classes (requests and stream requests). Default: every request and stream. */
  readonly for?: readonly MessageClass<M>[];
  /** The policy's name in its events. Default: `'rateLimit'`. */
  readonly name?: string;
}

interface RateLimitEventBase {
  readonly policy: string;
  readonly messageName: string;
  /** The call that waits or was refused. */
  readonly context: HandlerContext;
  /** Its bucket's key. */
  readonly key: string;
}

/** A decision of a {@link rateLimit} policy. */
export type RateLimitEvent =
  | (RateLimitEventBase & {
      /** A call found no token and joined the queue. */
      readonly type: 'wait';
      /** How long it is expected to wait, in ms (shorter if a waiter ahead of it leaves). */
      readonly waitMs: number;
    })
  | (RateLimitEventBase & {
      /** A call was refused with a {@link RateLimitedError}. */
      readonly type: 'reject';
      /** `maxWait`: its wait would exceed `maxWaitMs`; `maxQueue`: its key's queue was full; `maxKeys`: no room for a new key. */
      readonly reason: 'maxWait' | 'maxQueue' | 'maxKeys';
      /** The error's `retryAfterMs`. */
      readonly retryAfterMs: number;
    });

/** Counters of a {@link rateLimit} policy since it was created, and its state now. */
export interface RateLimitStats {
  /** Calls (and stream pulls) that got a token, at once or after waiting. */
  readonly admitted: number;
  /** Of those and of the cancelled, how many had to wait. */
  readonly delayed: number;
  /** Calls refused with a {@link RateLimitedError}. */
  readonly rejected: number;
  /** Waiting calls that left the queue because they were aborted or closed. */
  readonly cancelled: number;
  /** Calls waiting now, over all keys. */
  readonly waiting: number;
  /** Buckets held now. */
  readonly keys: number;
}

/** What {@link rateLimit} returns: its behaviors for `behaviors`, its events and its counters. */
export interface RateLimitPolicy extends BehaviorSet {
  /** The policy's name (option `name`), as its events carry it. */
  readonly name: string;
  /** Every wait and refusal. */
  readonly events: Observable<RateLimitEvent>;
  /** Counters and current state. */
  stats(): RateLimitStats;
}

/**
 * Limits how often calls run, per key, with a token bucket: each request (and, for streams,
 * each pulled item or each stream start) takes a token; tokens refill at `perSecond` up to
 * `burst`. A call that finds no token waits for one, first come first served, and runs when it
 * gets it — nothing is dropped. A stream limited by items waits before each pull, so a pull
 * source (a generator, an AsyncIterable, `pullable(…)`) is read only as fast as the rate allows;
 * a push Observable keeps pushing into the stream's bounded buffer, whose overflow strategy
 * applies.
 *
 * Refusals, always with a {@link RateLimitedError} carrying `retryAfterMs` (when a token would
 * be free for the call), and before the handler runs: a wait longer than `maxWaitMs`, a full
 * queue (`maxQueue`), no room for a new key (`maxKeys`). A stream pull refused mid-stream fails
 * the stream and closes its source. A waiting call whose signal aborts leaves the queue at once
 * and rejects with the signal's reason; a stream closed while it waits leaves it too.
 *
 * Cost: with a token free, a clock read and a little arithmetic per call, no timer, no promise
 * of its own; a stream limited by starts passes its items straight through. Timers exist only
 * while calls wait: one per key. Place it inside retry, breaker and bulkhead (`… → bulkhead →
 * rateLimit → timeout → handler`), so a retry takes a new token and waiting does not count
 * against a timeout.
 *
 * @example
 * ```ts
 * const smsLimit = rateLimit({ perSecond: 5, burst: 10, maxWaitMs: 2_000, for: [SendSms] });
 * smsLimit.events.subscribe((e) => e.type === 'reject' && metrics.inc('sms_rate_limited'));
 * const mediator = createMediator({ handlers, behaviors: [retry(), smsLimit] });
 * ```
 */
export function rateLimit<M extends Message = Message>(
  options: RateLimitOptions<M>,
): RateLimitPolicy {
  if (options === undefined) {
    throw new TypeError("rateLimit() needs options with 'perSecond', got undefined.");
  }
  checkObject('options', options);
  const perSecond = checkRate(options.perSecond);
  const burst =
    options.burst === undefined
      ? Math.max(1, Math.ceil(perSecond))
      : checkInteger('burst', options.burst, 1);
  const maxKeys =
    options.maxKeys === undefined ? 10_000 : checkInteger('maxKeys', options.maxKeys, 1);
  const maxWaitMs =
    options.maxWaitMs === undefined ? Infinity : checkDuration('maxWaitMs', options.maxWaitMs);
  const maxQueue =
    options.maxQueue === undefined ? 1000 : checkInteger('maxQueue', options.maxQueue, 0);
  const streamMode =
    options.stream === undefined
      ? 'items'
      : checkOneOf('stream', options.stream, ['items', 'starts']);
  const scope = options.scope ?? 'messageType';
  if (typeof scope !== 'function') checkOneOf('scope', scope, ['messageType', 'global']);
  const name = checkOptionalString('name', options.name) ?? 'rateLimit';

  const limiter = new Limiter(
    name,
    perSecond,
    burst,
    maxKeys,
    maxWaitMs,
    maxQueue,
    scope as 'messageType' | 'global' | KeyOf,
  );
  const keyOf = limiter.keyOf;

  const request: RequestBehavior = {
    handle(message, next, context) {
      const key = keyOf(message, context);
      const wait = limiter.acquire(limiter.bucket(key, context), context, key);
      return wait === undefined ? next() : wait.promise.then(() => next());
    },
  };
  const stream: StreamBehavior =
    streamMode === 'starts'
      ? {
          handle(message, next, context) {
            const key = keyOf(message, context);
            const wait = limiter.acquire(limiter.bucket(key, context), context, key);
            if (wait === undefined) return next();
            return new PacedStream(limiter, key, context, next, false, wait);
          },
        }
      : {
          handle(message, next, context) {
            return new PacedStream(limiter, keyOf(message, context), context, next, true);
          },
        };
  const behaviors: BehaviorRegistration[] = policyBehaviors(name, options.for, {
    request,
    stream,
  });
  return {
    behaviors,
    name,
    events: limiter.channel.events,
    stats: () => limiter.stats(),
  };
}

type KeyOf = (message: unknown, context: HandlerContext) => string;

/** The buckets of one policy, its counters and its events. */
class Limiter {
  readonly channel = new EventChannel<RateLimitEvent>();
  readonly keyOf: KeyOf;
  readonly #buckets = new Map<string, TokenBucket>();
  /** The one bucket of a global scope. */
  readonly #global: TokenBucket | undefined;
  /** Before this time (performance.now()) no bucket can have refilled: see `#makeRoom`. */
  #noRoomUntil = -Infinity;
  admitted = 0;
  delayed = 0;
  rejected = 0;
  cancelled = 0;

  constructor(
    readonly name: string,
    readonly perSecond: number,
    readonly burst: number,
    readonly maxKeys: number,
    readonly maxWaitMs: number,
    readonly maxQueue: number,
    scope: 'messageType' | 'global' | KeyOf,
  ) {
    if (scope === 'global') {
      this.#global = new TokenBucket(perSecond, burst, performance.now());
      this.keyOf = () => '*';
    } else if (scope === 'messageType') {
      this.keyOf = (_message, context) => context.messageName;
    } else {
      const user = scope;
      this.keyOf = (message, context) => {
        const key = user(message, context);
        if (typeof key !== 'string') {
          throw new TypeError(
            `Option 'scope' of ${name}() must return a string key, got ${show(key)} for ${context.messageName}.`,
          );
        }
        return key;
      };
    }
  }

  /** The bucket of `key`, made when missing; throws a RateLimitedError when no room is left. */
  bucket(key: string, context: HandlerContext): TokenBucket {
    if (this.#global !== undefined) return this.#global;
    const found = this.#buckets.get(key);
    if (found !== undefined) return found;
    const now = performance.now();
    if (this.#buckets.size >= this.maxKeys) this.#makeRoom(now);
    if (this.#buckets.size >= this.maxKeys) {
      // No bucket has refilled: refusing is the only answer that is bounded and keeps the rate.
      throw this.#refuse(key, context, 'maxKeys', 1000 / this.perSecond);
    }
    const bucket = new TokenBucket(this.perSecond, this.burst, now);
    this.#buckets.set(key, bucket);
    return bucket;
  }

  /**
   * Takes a token for one call: undefined when it got one at once (the hot path), a
   * {@link Wait} when it must wait; throws a RateLimitedError when refused, or the signal's
   * reason when the call was aborted before it could wait.
   */
  acquire(bucket: TokenBucket, context: HandlerContext, key: string): Wait | undefined {
    if (bucket.tryTake(performance.now())) {
      this.admitted++;
      return undefined;
    }
    const waitMs = bucket.waitMs();
    if (bucket.waiting >= this.maxQueue) {
      throw this.#refuse(key, context, 'maxQueue', waitMs);
    }
    if (waitMs > this.maxWaitMs) {
      throw this.#refuse(key, context, 'maxWait', waitMs);
    }
    const signal = context.signal;
    // A listener added to an aborted signal never fires.
    if (signal.aborted) throw signal.reason;
    this.delayed++;
    if (this.channel.observed) {
      this.channel.emit({
        type: 'wait',
        policy: this.name,
        messageName: context.messageName,
        context,
        key: key,
        waitMs,
      });
    }
    return new Wait(this, bucket, signal);
  }

  stats(): RateLimitStats {
    let waiting = this.#global?.waiting ?? 0;
    for (const bucket of this.#buckets.values()) waiting += bucket.waiting;
    return {
      admitted: this.admitted,
      delayed: this.delayed,
      rejected: this.rejected,
      cancelled: this.cancelled,
      waiting,
      keys: this.#global === undefined ? this.#buckets.size : 1,
    };
  }

  #refuse(
    key: string,
    context: HandlerContext,
    reason: 'maxWait' | 'maxQueue' | 'maxKeys',
    retryAfterMs: number,
  ): RateLimitedError {
    this.rejected++;
    if (this.channel.observed) {
      this.channel.emit({
        type: 'reject',
        policy: this.name,
        messageName: context.messageName,
        context,
        key,
        reason,
        retryAfterMs,
      });
    }
    return new RateLimitedError(key, retryAfterMs);
  }

  /**
   * Drops every bucket nobody waits on that has refilled (a fresh bucket is the same), never
   * one that has not: its key would start again with a full burst and exceed its rate. When
   * none could go, remembers when the first one can, so that refused keys until then cost no
   * scan.
   */
  #makeRoom(now: number): void {
    if (now < this.#noRoomUntil) return;
    const buckets = this.#buckets;
    let soonest = Infinity;
    for (const [key, bucket] of buckets) {
      if (bucket.isIdleAndFull(now)) this.#drop(key, bucket);
      else soonest = Math.min(soonest, bucket.fullInMs(now));
    }
    if (buckets.size >= this.maxKeys) this.#noRoomUntil = now + soonest;
  }

  #drop(key: string, bucket: TokenBucket): void {
    this.#buckets.delete(key);
    bucket.evicted = true;
  }
}

/** One call waiting for its token. */
class Wait implements TokenWaiter {
  readonly promise: Promise<void>;
  /** Removes the listener on the signal. */
  readonly #unlisten: () => void;
  #resolve!: () => void;
  #reject!: (error: unknown) => void;

  constructor(
    readonly limiter: Limiter,
    readonly bucket: TokenBucket,
    readonly signal: AbortSignal,
  ) {
    this.promise = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#unlisten = onAbort(signal, this.#onAbort);
    bucket.enqueue(this);
  }

  grant(): void {
    this.#unlisten();
    this.limiter.admitted++;
    this.#resolve();
  }

  /** Leaves the queue without a token; the promise resolves (the caller checks it closed). */
  cancel(): void {
    if (!this.bucket.remove(this)) return;
    this.#unlisten();
    this.limiter.cancelled++;
    this.#resolve();
  }

  readonly #onAbort = (): void => {
    if (!this.bucket.remove(this)) return;
    this.limiter.cancelled++;
    this.#reject(this.signal.reason);
  };
}

/**
 * A rate-limited stream: takes a token before opening the source (`'starts'`, handed the wait
 * in progress) or before every pull (`'items'`). When a token was free, a stream limited by
 * starts hands out the source's own promise; one limited by items adds one `then` per item, to
 * see the end (after which pulls take no token).
 */
class PacedStream<T> implements AsyncIterableIterator<T> {
  #bucket: TokenBucket | undefined;
  #source: AsyncIterator<T> | undefined;
  #wait: Wait | undefined;
  #closed = false;

  constructor(
    readonly limiter: Limiter,
    readonly key: string,
    readonly context: HandlerContext,
    readonly upstream: () => AsyncIterable<T>,
    readonly perItem: boolean,
    wait?: Wait,
  ) {
    this.#wait = wait;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#closed) return Promise.resolve(DONE);
    let wait = this.#wait;
    if (wait === undefined && (this.perItem || this.#source === undefined)) {
      try {
        let bucket = this.#bucket;
        if (bucket === undefined || bucket.evicted) {
          bucket = this.#bucket = this.limiter.bucket(this.key, this.context);
        }
        wait = this.limiter.acquire(bucket, this.context, this.key);
      } catch (error) {
        this.#close();
        return Promise.reject(error);
      }
      if (wait === undefined) return this.#pull();
      this.#wait = wait;
    }
    if (wait === undefined) return this.#pull();
    return wait.promise.then(
      () => {
        this.#wait = undefined;
        return this.#closed ? DONE : this.#pull();
      },
      (error: unknown) => {
        this.#wait = undefined;
        this.#close();
        throw error;
      },
    );
  }

  return(): Promise<IteratorResult<T>> {
    this.#wait?.cancel();
    this.#wait = undefined;
    const source = this.#source;
    this.#closed = true;
    this.#source = undefined;
    const closing = source?.return?.();
    return closing === undefined ? Promise.resolve(DONE) : closing.then(() => DONE);
  }

  #pull(): Promise<IteratorResult<T>> {
    let source = this.#source;
    if (source === undefined) {
      try {
        source = this.#source = this.upstream()[Symbol.asyncIterator]();
      } catch (error) {
        this.#closed = true;
        return Promise.reject(error);
      }
    }
    // Limited by items, every pull costs a token: once the source has ended, pulls must not.
    return this.perItem ? source.next().then(this.#onResult) : source.next();
  }

  readonly #onResult = (result: IteratorResult<T>): IteratorResult<T> => {
    if (result.done === true) {
      this.#closed = true;
      this.#source = undefined;
    }
    return result;
  };

  /** Failed before reading on: close the source in the background. */
  #close(): void {
    this.#closed = true;
    const source = this.#source;
    this.#source = undefined;
    source?.return?.()?.catch(() => undefined);
  }
}

function checkRate(value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`Option 'perSecond' must be a number, got ${show(value)}.`);
  }
  if (!(value > 0 && value < Infinity)) {
    throw new RangeError(`Option 'perSecond' must be a finite number > 0, got ${show(value)}.`);
  }
  return value;
}

function checkDuration(option: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`Option '${option}' must be a number, got ${show(value)}.`);
  }
  if (!(value >= 0)) {
    throw new RangeError(
      `Option '${option}' must be a number of milliseconds ≥ 0, or Infinity, got ${show(value)}.`,
    );
  }
  return value;
}
