import type { HandlerContext } from '../core/HandlerContext.js';
import { CircuitOpenError, type CircuitRejection } from '../errors/CircuitOpenError.js';
import type { EventChannel } from './EventChannel.js';
import type { CircuitBreakReason, CircuitBreakerEvent, CircuitState } from './circuitBreaker.js';

/** Buckets in a sampling window: old calls are forgotten a tenth of the window at a time. @internal */
export const WINDOW_BUCKETS = 10;

/** What every circuit of one policy shares: its settings and where it reports. @internal */
export interface CircuitSettings {
  readonly policy: string;
  readonly channel: EventChannel<CircuitBreakerEvent>;
  readonly failureRatio: number;
  readonly minimumThroughput: number;
  /** `samplingWindowMs / WINDOW_BUCKETS`. */
  readonly bucketMs: number;
  readonly breakDurationMs: number;
  readonly halfOpenMaxTrials: number;
  readonly trialTimeoutMs: number;
}

/** A half-open trial in flight. @internal */
export class Trial {
  constructor(
    readonly context: HandlerContext,
    /** When it counts as failed if it has neither succeeded nor failed (performance.now()). */
    public deadline: number,
  ) {}
}

/**
 * What `admit()` hands a call, to give back with its outcome: a closed circuit's generation (no
 * allocation on the hot path), or the trial slot it holds.
 * @internal
 */
export type Ticket = number | Trial;

/** One circuit's state, as `snapshot()` reports it. */
export interface CircuitSnapshot {
  /** The circuit's key. */
  readonly key: string;
  readonly state: CircuitState;
  /** Failures counted in the sampling window (zero unless closed: opening clears the window). */
  readonly failures: number;
  /** Successes counted in the sampling window. */
  readonly successes: number;
  /** Half-open trials running now. */
  readonly trialsInFlight: number;
  /** Half-open trials that have succeeded since the circuit went half-open. */
  readonly trialSuccesses: number;
  /** When it last opened, in `Date.now()` milliseconds; undefined unless open or half-open. */
  readonly openedAt: number | undefined;
  /** Milliseconds until an open circuit lets a trial through; Infinity when isolated; else 0. */
  readonly retryAfterMs: number;
}

/**
 * The state machine of one key of a circuit breaker policy: closed → open (failure ratio over a
 * sliding window of time buckets, once `minimumThroughput` calls were seen) → half-open (lazily,
 * when a call arrives after the break duration) → closed (every trial slot succeeded) or open
 * again (a trial failed or outlived `trialTimeoutMs`); isolated until reset.
 *
 * No timers: time-dependent transitions are applied when a call (or `state()`/`snapshot()`)
 * looks. Every transition bumps `generation`, so a call admitted before it cannot change the
 * circuit after it (a call in flight when the circuit opened runs on and is ignored).
 * @internal
 */
export class Circuit {
  state: CircuitState = 'closed';
  /** Bumped on every transition; a closed call's ticket. */
  generation = 0;
  /** Isolated by `isolate(key)`: never evicted. */
  pinned = false;
  /** When a call last used it, as a policy-wide counter (for least-recently-used eviction). */
  used = 0;
  /** When it last opened (performance.now()). */
  openedAt = 0;
  /** The message name of the last call that needed the slow path (or created it). */
  messageName: string | undefined;

  // The sampling window: a ring of counts; `#epoch` is the bucket number of `#current`.
  readonly #failures = new Uint32Array(WINDOW_BUCKETS);
  readonly #successes = new Uint32Array(WINDOW_BUCKETS);
  #failureTotal = 0;
  #successTotal = 0;
  #epoch = -Infinity;
  #current = 0;

  // Half-open bookkeeping.
  #trials: Trial[] = [];
  #trialSuccesses = 0;

  constructor(
    readonly key: string,
    readonly settings: CircuitSettings,
    messageName: string | undefined,
  ) {
    this.messageName = messageName;
  }

  /**
   * Lets a call through and returns its ticket, or throws the {@link CircuitOpenError} that
   * refuses it. Closed: no clock read, no allocation.
   */
  admit(context: HandlerContext): Ticket {
    return this.state === 'closed' ? this.generation : this.#admitSlow(context);
  }

  #admitSlow(context: HandlerContext): Ticket {
    const now = performance.now();
    this.messageName = context.messageName;
    if (this.state === 'halfOpen') this.#expireTrials(now);
    if (this.state === 'open') {
      const wait = this.openedAt + this.settings.breakDurationMs - now;
      if (wait > 0) throw this.#refuse('open', wait, context);
      this.#toHalfOpen(context);
    }
    switch (this.state) {
      case 'halfOpen': {
        const trials = this.#trials;
        if (trials.length + this.#trialSuccesses < this.settings.halfOpenMaxTrials) {
          const trial = new Trial(context, now + this.settings.trialTimeoutMs);
          trials.push(trial);
          return trial;
        }
        // Every slot is taken by a trial in flight (or has succeeded): by the earliest
        // deadline, the circuit has decided or a slot is free.
        let first = Infinity;
        for (const trial of trials) first = Math.min(first, trial.deadline);
        throw this.#refuse('halfOpen', Math.max(0, first - now), context);
      }
      case 'isolated':
        throw this.#refuse('isolated', Infinity, context);
      default:
        // A listener reset the circuit while it was being admitted.
        return this.admit(context);
    }
  }

  /** The call succeeded (or its error is not a failure of the dependency). */
  succeeded(ticket: Ticket): void {
    if (typeof ticket === 'number') {
      if (ticket === this.generation) this.#record(performance.now(), false);
      return;
    }
    if (!this.#release(ticket)) return;
    const now = performance.now();
    if (now >= ticket.deadline) return this.#trialTimedOut(ticket);
    if (++this.#trialSuccesses >= this.settings.halfOpenMaxTrials) this.#close(ticket.context);
  }

  /** The call failed. */
  failed(ticket: Ticket, error: unknown, context: HandlerContext): void {
    if (typeof ticket === 'number') {
      if (ticket !== this.generation) return;
      const now = performance.now();
      this.#record(now, true);
      const failures = this.#failureTotal;
      const total = failures + this.#successTotal;
      const { minimumThroughput, failureRatio } = this.settings;
      if (total >= minimumThroughput && failures >= failureRatio * total) {
        this.#open(now, 'failureRatio', failures / total, error, context);
      }
      return;
    }
    if (!this.#release(ticket)) return;
    const now = performance.now();
    if (now >= ticket.deadline) return this.#trialTimedOut(ticket);
    this.#open(now, 'trialFailed', 1 / (this.#trialSuccesses + 1), error, context);
  }

  /** The call ended as neither success nor failure (cancelled, refused further in): frees its slot. */
  released(ticket: Ticket): void {
    if (typeof ticket !== 'number') this.#release(ticket);
  }

  /** A stream trial delivered an item: it is alive, so its deadline starts again. */
  progressed(ticket: Ticket): void {
    if (typeof ticket === 'number' || !this.#trials.includes(ticket)) return;
    const now = performance.now();
    if (now >= ticket.deadline) {
      this.#release(ticket);
      return this.#trialTimedOut(ticket);
    }
    ticket.deadline = now + this.settings.trialTimeoutMs;
  }

  /** Applies what time alone decides (a trial past its deadline); returns the state. */
  refresh(now: number): CircuitState {
    if (this.state === 'halfOpen') this.#expireTrials(now);
    return this.state;
  }

  snapshot(now: number, wallNow: number): CircuitSnapshot {
    const state = this.refresh(now);
    if (state === 'closed') this.#advance(Math.floor(now / this.settings.bucketMs));
    return {
      key: this.key,
      state,
      failures: this.#failureTotal,
      successes: this.#successTotal,
      trialsInFlight: this.#trials.length,
      trialSuccesses: this.#trialSuccesses,
      openedAt:
        state === 'open' || state === 'halfOpen' ? wallNow - (now - this.openedAt) : undefined,
      retryAfterMs:
        state === 'isolated'
          ? Infinity
          : state === 'open'
            ? Math.max(0, this.openedAt + this.settings.breakDurationMs - now)
            : 0,
    };
  }

  /** Holds the circuit open until `reset()`; `pin` when isolated by key (never evicted). */
  isolate(pin: boolean): void {
    this.pinned ||= pin;
    if (this.state === 'isolated') return;
    const from = this.state;
    this.state = 'isolated';
    this.#clear();
    this.#stateChange(from, undefined);
  }

  /** Closes the circuit and forgets its window. */
  reset(): void {
    this.pinned = false;
    if (this.state === 'closed') return this.#clear();
    this.#close(undefined);
  }

  #record(now: number, failed: boolean): void {
    const epoch = Math.floor(now / this.settings.bucketMs);
    if (epoch > this.#epoch) this.#advance(epoch);
    if (failed) {
      this.#failures[this.#current]!++;
      this.#failureTotal++;
    } else {
      this.#successes[this.#current]!++;
      this.#successTotal++;
    }
  }

  /** Moves the window to bucket number `epoch`, emptying the buckets it passes (at most all). */
  #advance(epoch: number): void {
    if (epoch <= this.#epoch) return;
    if (epoch - this.#epoch >= WINDOW_BUCKETS) {
      this.#clearWindow();
    } else {
      const failures = this.#failures;
      const successes = this.#successes;
      for (let e = this.#epoch + 1; e <= epoch; e++) {
        const i = e % WINDOW_BUCKETS;
        this.#failureTotal -= failures[i]!;
        this.#successTotal -= successes[i]!;
        failures[i] = 0;
        successes[i] = 0;
      }
    }
    this.#epoch = epoch;
    this.#current = epoch % WINDOW_BUCKETS;
  }

  #clearWindow(): void {
    this.#failures.fill(0);
    this.#successes.fill(0);
    this.#failureTotal = 0;
    this.#successTotal = 0;
  }

  /** Forgets the window and every trial; outcomes of calls admitted so far will be ignored. */
  #clear(): void {
    this.generation++;
    this.#clearWindow();
    this.#trials = [];
    this.#trialSuccesses = 0;
  }

  /** Removes a trial from the slots; false when it no longer holds one (timed out, decided). */
  #release(trial: Trial): boolean {
    const trials = this.#trials;
    const i = trials.indexOf(trial);
    if (i < 0) return false;
    trials.splice(i, 1);
    return true;
  }

  /** The earliest trial past its deadline reopens the circuit, as of that deadline. */
  #expireTrials(now: number): void {
    let late: Trial | undefined;
    for (const trial of this.#trials) {
      if (trial.deadline <= now && (late === undefined || trial.deadline < late.deadline)) {
        late = trial;
      }
    }
    if (late !== undefined) this.#trialTimedOut(late);
  }

  #trialTimedOut(trial: Trial): void {
    this.#open(
      trial.deadline,
      'trialTimedOut',
      1 / (this.#trialSuccesses + 1),
      undefined,
      trial.context,
    );
  }

  #open(
    at: number,
    reason: CircuitBreakReason,
    failureRatio: number,
    error: unknown,
    context: HandlerContext | undefined,
  ): void {
    const from = this.state;
    this.state = 'open';
    this.openedAt = at;
    this.#clear();
    const { channel, policy } = this.settings;
    if (channel.observed) {
      channel.emit({
        type: 'break',
        policy,
        messageName: context?.messageName ?? this.messageName,
        key: this.key,
        reason,
        failureRatio,
        ...(error === undefined ? {} : { error }),
        ...(context === undefined ? {} : { context }),
      });
    }
    this.#stateChange(from, context);
  }

  #toHalfOpen(context: HandlerContext): void {
    this.state = 'halfOpen';
    this.#clear();
    const { channel, policy } = this.settings;
    if (channel.observed) {
      channel.emit({
        type: 'halfOpen',
        policy,
        messageName: context.messageName,
        key: this.key,
        context,
      });
    }
    this.#stateChange('open', context);
  }

  #close(context: HandlerContext | undefined): void {
    const from = this.state;
    this.state = 'closed';
    this.#clear();
    const { channel, policy } = this.settings;
    if (channel.observed) {
      channel.emit({
        type: 'reset',
        policy,
        messageName: context?.messageName ?? this.messageName,
        key: this.key,
        ...(context === undefined ? {} : { context }),
      });
    }
    this.#stateChange(from, context);
  }

  #stateChange(from: CircuitState, context: HandlerContext | undefined): void {
    const { channel, policy } = this.settings;
    if (!channel.observed) return;
    channel.emit({
      type: 'stateChange',
      policy,
      messageName: context?.messageName ?? this.messageName,
      key: this.key,
      from,
      to: this.state,
      ...(context === undefined ? {} : { context }),
    });
  }

  #refuse(
    state: CircuitRejection,
    retryAfterMs: number,
    context: HandlerContext,
  ): CircuitOpenError {
    const { channel, policy } = this.settings;
    if (channel.observed) {
      channel.emit({
        type: 'reject',
        policy,
        messageName: context.messageName,
        key: this.key,
        state,
        retryAfterMs,
        context,
      });
    }
    return new CircuitOpenError(this.key, state, retryAfterMs);
  }
}
