/**
 * Float noise allowed when comparing token counts: `0.1 + 0.2` tokens are enough for `0.3`. Far
 * below any rate a user can observe (1e-9 of a token).
 */
const EPSILON = 1e-9;

/** Node clamps longer timers to 1 ms; a token is never further away than this anyway. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One call waiting in a {@link TokenBucket}'s queue. @internal */
export interface TokenWaiter {
  /** Called once, when the waiter's token is taken for it (it has left the queue). */
  grant(): void;
}

/**
 * A token bucket with a FIFO queue of waiting calls (one rate-limit key). Tokens refill
 * continuously at `perSecond`, up to `burst`; refill is computed from the clock when the bucket
 * is used, never by an interval timer. While calls wait, one timer is armed for the moment the
 * first in line gets its token; it is cleared when nobody waits.
 * @internal
 */
export class TokenBucket {
  #tokens: number;
  /** When `#tokens` was last brought up to date (performance.now()). */
  #stamp: number;
  readonly #waiters = new Set<TokenWaiter>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Set when the key map dropped this bucket: holders must look the key up again. */
  evicted = false;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#stamp = now;
  }

  /** Calls waiting now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Takes a token when one is free and nobody is waiting ahead; else leaves the bucket as is. */
  tryTake(now: number): boolean {
    this.#refill(now);
    if (this.#waiters.size !== 0 || this.#tokens < 1 - EPSILON) return false;
    this.#tokens = this.#tokens > 1 ? this.#tokens - 1 : 0;
    return true;
  }

  /**
   * How long a call joining the queue now would wait, in ms: until the bucket has accrued a
   * token for every waiter ahead of it and one for itself. Valid right after {@link tryTake}.
   */
  waitMs(): number {
    return ((this.#waiters.size + 1 - this.#tokens) * 1000) / this.perSecond;
  }

  /** Queues a waiter (after {@link tryTake} said no); it is granted in FIFO order. */
  enqueue(waiter: TokenWaiter): void {
    this.#waiters.add(waiter);
    this.#arm();
  }

  /** Takes a waiter out of the queue (it was aborted or gave up); false if it was not there. */
  remove(waiter: TokenWaiter): boolean {
    if (!this.#waiters.delete(waiter)) return false;
    // The timer aims at the first waiter's token; the next in line needs that same token.
    if (this.#waiters.size === 0) {
      this.#disarm();
      if (this.#tokens > this.burst) this.#tokens = this.burst;
    }
    return true;
  }

  /** True when nobody waits and the bucket is full again: dropping it loses nothing. */
  isIdleAndFull(now: number): boolean {
    if (this.#waiters.size !== 0) return false;
    return this.#tokens + ((now - this.#stamp) * this.perSecond) / 1000 >= this.burst - EPSILON;
  }

  /**
   * A lower bound of the time until the bucket can be idle and full, in ms: tokens only come
   * back at `perSecond` (waiters may leave sooner than they are served, so they are not counted).
   */
  fullInMs(now: number): number {
    const tokens = this.#tokens + ((now - this.#stamp) * this.perSecond) / 1000;
    return tokens >= this.burst ? 0 : ((this.burst - tokens) * 1000) / this.perSecond;
  }

  /**
   * Adds the tokens accrued since the last refill. The `burst` cap applies only while nobody
   * waits: a queue is never idle, so what a late timer accrued belongs to the next waiter rather
   * than being lost (the rate would drift low for periods that are not whole ms).
   */
  #refill(now: number): void {
    const elapsed = now - this.#stamp;
    if (elapsed > 0) {
      const tokens = this.#tokens + (elapsed * this.perSecond) / 1000;
      this.#tokens = tokens < this.burst || this.#waiters.size !== 0 ? tokens : this.burst;
      this.#stamp = now;
    }
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#waiters.size === 0) return;
    // Float noise must not push the timer a whole ms late; an early timer simply re-arms.
    const ms = Math.ceil(((1 - this.#tokens) * 1000) / this.perSecond - 1e-6);
    this.#timer = setTimeout(this.#onTimer, Math.min(MAX_TIMER_MS, Math.max(1, ms)));
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#refill(performance.now());
    for (const waiter of this.#waiters) {
      if (this.#tokens < 1 - EPSILON) break;
      this.#tokens = this.#tokens > 1 ? this.#tokens - 1 : 0;
      this.#waiters.delete(waiter);
      waiter.grant();
    }
    if (this.#waiters.size === 0 && this.#tokens > this.burst) this.#tokens = this.burst;
    this.#arm();
  };
}
