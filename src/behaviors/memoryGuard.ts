import { getHeapStatistics } from 'node:v8';
import type { Observable } from 'rxjs';
import type { BehaviorSet, RequestBehavior, StreamBehavior } from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import type { MessageClass, RequestMessage, StreamMessage } from '../core/types.js';
import { MemoryPressureError } from '../errors/MemoryPressureError.js';
import {
  checkFunction,
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

type Message = RequestMessage<any> | StreamMessage<any>;

/** Options of {@link memoryGuard}. */
export interface MemoryGuardOptions<M extends Message = Message> {
  /** Heap in use (bytes) above which the guard trips. Required, a whole number ≥ 1. */
  readonly highWaterBytes: number;
  /**
   * Heap in use (bytes) below which a tripped guard clears; below `highWaterBytes`, so that a
   * heap hovering at the threshold does not flap. Default: 80 % of `highWaterBytes`.
   */
  readonly lowWaterBytes?: number;
  /**
   * What a tripped guard does. `'reject'`: requests and new streams are refused with a
   * {@link MemoryPressureError}; running streams go on. `'pause'`: every stream pull (a new
   * stream's first one included: its handler does not start) waits until the guard clears;
   * requests are still refused. Default: `'reject'`.
   */
  readonly mode?: 'reject' | 'pause';
  /**
   * How old a heap reading may be, in ms: the heap is read at most this often, by the first call
   * after the reading expired (an unref'd timer marks it expired, so calls read no clock), and
   * paused pulls re-check it this often. `0` reads the heap on every call. Default: 100.
   */
  readonly checkIntervalMs?: number;
  /**
   * Longest a pull may stay paused, in ms; beyond it the stream fails with a
   * {@link MemoryPressureError}. Default: Infinity.
   */
  readonly maxPauseMs?: number;
  /**
   * Reads the heap in use, in bytes. Default: V8's `used_heap_size` (`v8.getHeapStatistics()`,
   * the figure `process.memoryUsage().heapUsed` also reports, at about 1/30 of its cost).
   */
  readonly readHeapUsed?: () => number;
  /** Guard only these message classes (requests and stream requests). Default: every request and stream. */
  readonly for?: readonly MessageClass<M>[];
  /** The policy's name in its events. Default: `'memoryGuard'`. */
  readonly name?: string;
}

/** A decision or a state change of a {@link memoryGuard} policy. */
export type MemoryGuardEvent =
  | {
      /** The heap rose above the high watermark. */
      readonly type: 'trip';
      readonly policy: string;
      /** The call whose check took the reading; undefined for a re-check of paused pulls or `state()`. */
      readonly messageName: string | undefined;
      readonly heapUsedBytes: number;
      readonly highWaterBytes: number;
    }
  | {
      /** The heap fell below the low watermark. */
      readonly type: 'clear';
      readonly policy: string;
      /** The call whose check took the reading; undefined for a re-check of paused pulls or `state()`. */
      readonly messageName: string | undefined;
      readonly heapUsedBytes: number;
      readonly lowWaterBytes: number;
    }
  | {
      /** A call was refused with a {@link MemoryPressureError}. */
      readonly type: 'reject';
      readonly policy: string;
      readonly messageName: string;
      readonly context: HandlerContext;
      /** `tripped`: it arrived while the guard was tripped; `maxPause`: a pull paused longer than `maxPauseMs`. */
      readonly reason: 'tripped' | 'maxPause';
      readonly heapUsedBytes: number;
    }
  | {
      /** A stream pull started waiting for the guard to clear. */
      readonly type: 'pause';
      readonly policy: string;
      readonly messageName: string;
      readonly context: HandlerContext;
      readonly heapUsedBytes: number;
    }
  | {
      /** A paused pull goes on (not emitted for one that was aborted, closed or timed out). */
      readonly type: 'resume';
      readonly policy: string;
      readonly messageName: string;
      readonly context: HandlerContext;
      /** How long it was paused, in ms. */
      readonly pausedMs: number;
    };

/** The guard's state, as of its latest heap reading. */
export interface MemoryGuardState {
  /** True from a reading above `highWaterBytes` until one below `lowWaterBytes`. */
  readonly tripped: boolean;
  /** The latest reading, in bytes. */
  readonly heapUsedBytes: number;
}

/** Counters of a {@link memoryGuard} policy since it was created, and its paused pulls now. */
export interface MemoryGuardStats {
  /** Calls refused with a {@link MemoryPressureError}. */
  readonly rejected: number;
  /** Stream pulls that had to wait for the guard to clear. */
  readonly paused: number;
  /** Pulls waiting now. */
  readonly pausedNow: number;
  /** Times the guard tripped. */
  readonly trips: number;
}

/** What {@link memoryGuard} returns: its behaviors for `behaviors`, its events, state and counters. */
export interface MemoryGuardPolicy extends BehaviorSet {
  /** The policy's name (option `name`), as its events carry it. */
  readonly name: string;
  /** Trips, clears, refusals, pauses and resumes. */
  readonly events: Observable<MemoryGuardEvent>;
  /** The state; reads the heap first when the reading is older than `checkIntervalMs`. */
  state(): MemoryGuardState;
  /** Counters. */
  stats(): MemoryGuardStats;
}

/**
 * Stops taking on work while the heap is high: the guard trips when the heap in use rises above
 * `highWaterBytes` and clears when it falls below `lowWaterBytes` (hysteresis). While tripped it
 * refuses requests and new streams with a {@link MemoryPressureError} (`mode: 'reject'`), or
 * makes stream pulls wait, so pull sources stop being read, until the heap is low again
 * (`mode: 'pause'`).
 *
 * Requests are refused in both modes, never held: a held request keeps its payload in memory,
 * which is what the guard is short of. A retry policy outside the guard retries the refusal with
 * backoff. A paused pull rejects with the signal's reason as soon as its stream is aborted, and
 * a stream closed while paused releases its pull at once; either way its timers are cleared.
 *
 * Cost: a flag check per call (per pull in pause mode), no clock read; the heap is read at most
 * every `checkIntervalMs` (about 0.3 µs per read), then an unref'd timer marks the reading stale
 * after `checkIntervalMs`. Other timers run only while pulls are paused: one re-check timer for
 * the guard, plus one per pull with a `maxPauseMs`. Place it first (outermost),
 * so refused work costs nothing downstream.
 *
 * @example
 * ```ts
 * const guard = memoryGuard({ highWaterBytes: 1.5 * 2 ** 30, lowWaterBytes: 2 ** 30, mode: 'pause' });
 * guard.events.subscribe((e) => e.type === 'trip' && log.warn('heap high, pausing streams', e));
 * const mediator = createMediator({ handlers, behaviors: [guard, retry()] });
 * ```
 */
export function memoryGuard<M extends Message = Message>(
  options: MemoryGuardOptions<M>,
): MemoryGuardPolicy {
  if (options === undefined) {
    throw new TypeError("memoryGuard() needs options with 'highWaterBytes', got undefined.");
  }
  checkObject('options', options);
  const high = checkInteger('highWaterBytes', options.highWaterBytes, 1);
  const low =
    options.lowWaterBytes === undefined
      ? Math.floor(high * 0.8)
      : checkInteger('lowWaterBytes', options.lowWaterBytes, 0);
  if (low >= high) {
    throw new RangeError(
      `Option 'lowWaterBytes' must be below highWaterBytes (${high}), got ${show(low)}.`,
    );
  }
  const mode =
    options.mode === undefined ? 'reject' : checkOneOf('mode', options.mode, ['reject', 'pause']);
  const interval =
    options.checkIntervalMs === undefined
      ? 100
      : checkInteger('checkIntervalMs', options.checkIntervalMs, 0);
  const maxPauseMs =
    options.maxPauseMs === undefined
      ? Infinity
      : checkInteger('maxPauseMs', options.maxPauseMs, 1, true);
  checkFunction('readHeapUsed', options.readHeapUsed);
  const name = checkOptionalString('name', options.name) ?? 'memoryGuard';
  const guard = new Guard(
    name,
    high,
    low,
    interval,
    maxPauseMs,
    options.readHeapUsed ?? readV8HeapUsed,
  );

  const request: RequestBehavior = {
    handle(_message, next, context) {
      if (guard.check(context)) throw guard.refuse(context, 'tripped');
      return next();
    },
  };
  const stream: StreamBehavior =
    mode === 'reject'
      ? {
          handle(_message, next, context) {
            if (guard.check(context)) throw guard.refuse(context, 'tripped');
            return next();
          },
        }
      : {
          handle(_message, next, context) {
            return new PausingStream(guard, context, next);
          },
        };
  return {
    behaviors: policyBehaviors(name, options.for, { request, stream }),
    name,
    events: guard.channel.events,
    state: () => {
      guard.check(undefined);
      return { tripped: guard.tripped, heapUsedBytes: guard.heapUsed };
    },
    stats: () => ({
      rejected: guard.rejected,
      paused: guard.pausedTotal,
      pausedNow: guard.paused.size,
      trips: guard.trips,
    }),
  };
}

function readV8HeapUsed(): number {
  return getHeapStatistics().used_heap_size;
}

/** Node clamps longer timers to 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The watermark state of one policy, its paused pulls, counters and events. */
class Guard {
  readonly channel = new EventChannel<MemoryGuardEvent>();
  readonly paused = new Set<Pause>();
  tripped = false;
  heapUsed = 0;
  rejected = 0;
  pausedTotal = 0;
  trips = 0;
  /** True when the reading is older than `interval`: the next check reads the heap. */
  #stale = true;
  /** Marks the reading stale once it is `interval` old; unref'd, it never holds the process. */
  #expiry: ReturnType<typeof setTimeout> | undefined;
  /** Re-checks the heap while pulls are paused. */
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly name: string,
    readonly high: number,
    readonly low: number,
    readonly interval: number,
    readonly maxPauseMs: number,
    readonly read: () => number,
  ) {}

  /** True while tripped; reads the heap first when the last reading is stale. */
  check(context: HandlerContext | undefined): boolean {
    // A flag, not a clock read: the hot path costs a property read.
    if (this.#stale) this.#sample(context?.messageName);
    return this.tripped;
  }

  refuse(context: HandlerContext, reason: 'tripped' | 'maxPause'): MemoryPressureError {
    this.rejected++;
    if (this.channel.observed) {
      this.channel.emit({
        type: 'reject',
        policy: this.name,
        messageName: context.messageName,
        context,
        reason,
        heapUsedBytes: this.heapUsed,
      });
    }
    return new MemoryPressureError(this.heapUsed, this.high);
  }

  /** Adds a paused pull; the re-check timer runs while any is paused. */
  pause(pause: Pause): void {
    this.paused.add(pause);
    this.pausedTotal++;
    this.#timer ??= setTimeout(this.#recheck, Math.max(1, this.interval));
  }

  /** A paused pull left (resumed, aborted, closed, timed out). */
  leave(pause: Pause): void {
    this.paused.delete(pause);
    if (this.paused.size === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #sample(messageName: string | undefined): void {
    const used = this.read();
    if (typeof used !== 'number' || !(used >= 0)) {
      throw new TypeError(
        `Option 'readHeapUsed' of ${this.name}() must return a number of bytes ≥ 0, got ${show(used)}.`,
      );
    }
    if (this.interval > 0) {
      this.#stale = false;
      if (this.#expiry !== undefined) clearTimeout(this.#expiry); // a re-check read early
      this.#expiry = setTimeout(this.#expire, this.interval);
      this.#expiry.unref?.();
    }
    this.heapUsed = used;
    if (!this.tripped && used > this.high) {
      this.tripped = true;
      this.trips++;
      if (this.channel.observed) {
        this.channel.emit({
          type: 'trip',
          policy: this.name,
          messageName,
          heapUsedBytes: used,
          highWaterBytes: this.high,
        });
      }
    } else if (this.tripped && used < this.low) {
      this.tripped = false;
      if (this.channel.observed) {
        this.channel.emit({
          type: 'clear',
          policy: this.name,
          messageName,
          heapUsedBytes: used,
          lowWaterBytes: this.low,
        });
      }
      // Whoever read the heap, paused pulls go on now rather than at the next re-check.
      for (const pause of [...this.paused]) pause.resume();
    }
  }

  readonly #expire = (): void => {
    this.#expiry = undefined;
    this.#stale = true;
  };

  readonly #recheck = (): void => {
    this.#timer = undefined;
    try {
      this.#sample(undefined); // resumes every pause if the guard clears
    } catch (error) {
      // A broken reader fails the paused streams rather than holding them forever.
      for (const pause of [...this.paused]) pause.fail(error);
      return;
    }
    if (this.paused.size !== 0) this.#timer = setTimeout(this.#recheck, Math.max(1, this.interval));
  };
}

/** One stream pull waiting for the guard to clear. */
class Pause {
  readonly #startedAt = performance.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Removes the listener on the signal. */
  readonly #unlisten: () => void;

  constructor(
    readonly guard: Guard,
    readonly context: HandlerContext,
    readonly signal: AbortSignal,
    readonly resolve: (go: boolean) => void,
    readonly reject: (error: unknown) => void,
  ) {
    this.#unlisten = onAbort(signal, () => this.fail(signal.reason));
    guard.pause(this);
    if (guard.maxPauseMs !== Infinity) {
      this.#timer = setTimeout(this.#onTimeout, Math.min(MAX_TIMER_MS, guard.maxPauseMs));
    }
    if (guard.channel.observed) {
      guard.channel.emit({
        type: 'pause',
        policy: guard.name,
        messageName: context.messageName,
        context,
        heapUsedBytes: guard.heapUsed,
      });
    }
  }

  /** The guard cleared: pull. */
  resume(): void {
    this.#leave();
    const guard = this.guard;
    if (guard.channel.observed) {
      guard.channel.emit({
        type: 'resume',
        policy: guard.name,
        messageName: this.context.messageName,
        context: this.context,
        pausedMs: performance.now() - this.#startedAt,
      });
    }
    this.resolve(true);
  }

  /** The stream was closed: end without pulling. */
  cancel(): void {
    this.#leave();
    this.resolve(false);
  }

  fail(error: unknown): void {
    this.#leave();
    this.reject(error);
  }

  #leave(): void {
    this.#unlisten();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.guard.leave(this);
  }

  readonly #onTimeout = (): void => {
    this.#timer = undefined;
    this.fail(this.guard.refuse(this.context, 'maxPause'));
  };
}

/**
 * A stream whose every pull first checks the guard, and waits while it is tripped. The source is
 * opened on the first pull that may go, so a stream started under pressure does not run its
 * handler until the guard clears.
 */
class PausingStream<T> implements AsyncIterableIterator<T> {
  #source: AsyncIterator<T> | undefined;
  #pause: Pause | undefined;
  #closed = false;

  constructor(
    readonly guard: Guard,
    readonly context: HandlerContext,
    readonly upstream: () => AsyncIterable<T>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#closed) return Promise.resolve(DONE);
    let tripped: boolean;
    try {
      tripped = this.guard.check(this.context);
    } catch (error) {
      this.#close();
      return Promise.reject(error);
    }
    if (!tripped) return this.#pull();
    const signal = this.context.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<boolean>((resolve, reject) => {
      this.#pause = new Pause(this.guard, this.context, signal, resolve, reject);
    }).then(
      (go) => {
        this.#pause = undefined;
        return go && !this.#closed ? this.#pull() : DONE;
      },
      (error: unknown) => {
        this.#pause = undefined;
        this.#close();
        throw error;
      },
    );
  }

  return(): Promise<IteratorResult<T>> {
    this.#pause?.cancel();
    this.#pause = undefined;
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
    return source.next();
  }

  /** Failed before reading on: close the source in the background. */
  #close(): void {
    this.#closed = true;
    const source = this.#source;
    this.#source = undefined;
    source?.return?.()?.catch(() => undefined);
  }
}
