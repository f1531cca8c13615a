import type { NextOptions } from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import { RequestTimeoutError } from '../errors/RequestTimeoutError.js';
import { onAbort } from './onAbort.js';

type Next = (request?: any, options?: NextOptions) => Promise<unknown>;

/**
 * A promise's resolving functions, captured by one shared executor (it runs synchronously inside
 * `new Promise`), so a call allocates no executor closure.
 */
const captured: {
  resolve: ((value: unknown) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
} = { resolve: undefined, reject: undefined };
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  captured.resolve = resolve;
  captured.reject = reject;
}

/** Compact the queue once this many settled calls sit behind live ones (plus 2 × live). */
const SLACK = 64;

/** Clock ticks per `ms`: how finely calls are stamped (see {@link RequestDeadlines}). */
const TICKS = 32;

/**
 * The request side of a `timeout()` policy: runs calls under one shared limit, `ms`, and rejects
 * each that outlives it.
 *
 * Every call gets the same `ms`, so deadlines come in the order calls start: one timer and a
 * FIFO array serve them all, with no timer and no clock read per call (reading the clock costs
 * about as much as a bare `send()` here). The clock is read when the timer fires, and a call is
 * stamped with the time of the first firing after it started; while calls are in flight the
 * timer fires at least every `tick` (`ms / 32`, ≥ 1 ms) and at the oldest call's deadline. So a
 * call times out between `ms` and `ms + tick` after it started, never early. The first call after
 * an idle spell reads the clock itself (exact).
 *
 * A call that settles is only marked (lazy deletion); the array is emptied whenever no call is
 * in flight, or compacted when settled calls pile up behind a slow one, so it holds O(live)
 * entries. The timer lapses once nothing is in flight. Like `AbortSignal.timeout()`'s, it never
 * keeps the process alive by itself (unref'd).
 * @internal
 */
export class RequestDeadlines {
  readonly #ms: number;
  readonly #tick: number;
  readonly #onTimeout: (context: HandlerContext, error: RequestTimeoutError) => void;
  /** Calls, oldest first, in `[#head, #tail)`; those before `#stamped` have a deadline. */
  readonly #calls: (TimedCall | undefined)[] = [];
  #head = 0;
  #stamped = 0;
  #tail = 0;
  #live = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    ms: number,
    onTimeout: (context: HandlerContext, error: RequestTimeoutError) => void,
  ) {
    this.#ms = ms;
    this.#tick = Math.max(1, ms / TICKS);
    this.#onTimeout = onTimeout;
  }

  /** Runs the rest of the pipeline under the limit; the behavior's `handle`. */
  run(request: unknown, next: Next, context: HandlerContext): Promise<unknown> {
    const outer = context.signal;
    if (outer.aborted) return Promise.reject(outer.reason);
    const call = new TimedCall(this, context);
    this.#calls[this.#tail++] = call;
    this.#live++;
    if (this.#timer === undefined) {
      // Nothing in flight: stamp this call exactly.
      call.deadline = performance.now() + this.#ms;
      this.#stamped = this.#tail;
      this.#arm(Math.min(this.#tick, this.#ms));
    }
    call.link(outer);
    const answer = new Promise<unknown>(capture);
    call.resolve = captured.resolve!;
    call.reject = captured.reject!;
    next(request, { signal: call.signal }).then(
      (value) => call.fulfil(value),
      (error: unknown) => call.fail(error),
    );
    return answer;
  }

  /** A call settled by itself (answered, failed or was cancelled). */
  settled(): void {
    const live = --this.#live;
    if (live === 0) {
      this.#clear(this.#head, this.#tail);
      this.#head = this.#stamped = this.#tail = 0;
    } else if (this.#tail - this.#head > 2 * live + SLACK) {
      this.#compact();
    }
  }

  /** Calls in flight now. */
  get live(): number {
    return this.#live;
  }

  /** Entries held now, in flight or settled. */
  get held(): number {
    return this.#tail - this.#head;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    const calls = this.#calls;
    // Calls that started since the last firing: stamp them now (late by less than a tick).
    const deadline = now + this.#ms;
    for (let i = this.#stamped; i < this.#tail; i++) calls[i]!.deadline = deadline;
    this.#stamped = this.#tail;
    let head = this.#head;
    let expired: TimedCall[] | undefined;
    while (head < this.#tail) {
      const call = calls[head]!;
      if (!call.done) {
        if (call.deadline > now) break;
        call.done = true;
        (expired ??= []).push(call);
      }
      calls[head++] = undefined;
    }
    this.#head = head;
    if (head === this.#tail) this.#head = this.#stamped = this.#tail = 0;
    // A timer may fire a fraction of a millisecond before performance.now() says it is due.
    else this.#arm(Math.max(1, Math.min(this.#tick, Math.ceil(calls[head]!.deadline - now))));
    if (expired === undefined) return;
    // The queue is consistent before anything runs: an abort listener may send again.
    this.#live -= expired.length;
    for (const call of expired) call.expire(new RequestTimeoutError(call.messageName, this.#ms));
  };

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#fire, delay);
    this.#timer.unref?.();
  }

  #compact(): void {
    const calls = this.#calls;
    let to = 0;
    let stamped = 0;
    for (let from = this.#head; from < this.#tail; from++) {
      const call = calls[from]!;
      if (call.done) continue;
      calls[to++] = call;
      if (from < this.#stamped) stamped = to;
    }
    this.#clear(to, this.#tail);
    this.#head = 0;
    this.#stamped = stamped;
    this.#tail = to;
  }

  #clear(from: number, to: number): void {
    const calls = this.#calls;
    for (let i = from; i < to; i++) calls[i] = undefined;
  }

  /** Called by an expired call once its caller knows. */
  reportTimeout(context: HandlerContext, error: RequestTimeoutError): void {
    this.#onTimeout(context, error);
  }
}

/** One request under a deadline. */
class TimedCall {
  /** Settled: answered, failed, cancelled or timed out. */
  done = false;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  /** The handler's signal's controller, once the handler read its signal. */
  #controller: AbortController | undefined;
  /** Why the call ended early (timeout or cancellation), for a signal made after that. */
  #reason: unknown;
  /** Removes the listener on the caller's signal. */
  #unlisten: (() => void) | undefined;

  /** When it times out (performance.now() time); 0 until stamped. */
  deadline = 0;

  constructor(
    readonly owner: RequestDeadlines,
    readonly context: HandlerContext,
  ) {}

  get messageName(): string {
    return this.context.messageName;
  }

  /** The handler's signal, made on its first read (the lazy form of `NextOptions.signal`). */
  readonly signal = (): AbortSignal => {
    const controller = new AbortController();
    this.#controller = controller;
    if (this.#reason !== undefined) controller.abort(this.#reason);
    return controller.signal;
  };

  /** Follows the caller's signal (`context.signal`): its abort cancels the call at once. */
  link(outer: AbortSignal): void {
    this.#unlisten = onAbort(outer, this); // this object listens: no closure per call
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    this.#cancel(this.context.signal.reason);
  }

  fulfil(value: unknown): void {
    if (this.#settle()) this.resolve(value);
  }

  fail(error: unknown): void {
    if (this.#settle()) this.reject(error);
  }

  /** The deadline passed (the queue already counted this call out). */
  expire(error: RequestTimeoutError): void {
    this.#unlink();
    this.#abort(error);
    this.owner.reportTimeout(this.context, error);
    this.reject(error);
  }

  #cancel(reason: unknown): void {
    this.#unlisten = undefined; // fired once: nothing to remove
    if (!this.#settle()) return;
    this.#abort(reason);
    this.reject(reason);
  }

  #abort(reason: unknown): void {
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  #settle(): boolean {
    if (this.done) return false;
    this.done = true;
    this.#unlink();
    this.owner.settled();
    return true;
  }

  #unlink(): void {
    if (this.#unlisten !== undefined) {
      this.#unlisten();
      this.#unlisten = undefined;
    }
  }
}
