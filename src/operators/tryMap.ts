import { Observable, type Subscription } from 'rxjs';
import { BufferOverflowError } from '../errors/BufferOverflowError.js';
import { isAbortError } from '../errors/isAbortError.js';
import { checkFunction, checkInteger, checkObject, show } from '../errors/validate.js';
import { backoffDelay, checkBackoff, MAX_TIMER_MS, type Backoff } from './backoff.js';
import { OverflowBuffer } from '../streaming/OverflowBuffer.js';
import { checkStageBuffer } from '../streaming/checkStageBuffer.js';
import type { OverflowStrategy } from '../streaming/OverflowStrategy.js';
import { StreamMonitor, type StageProbe } from '../streaming/StreamMonitor.js';
import {
  streamOperator,
  type StageContext,
  type StreamOperator,
} from '../streaming/StreamOperator.js';
import { DEFAULT_PIPELINE } from '../streaming/StreamPipelineOptions.js';
import { isPromiseLike } from '../streaming/toAsyncIterator.js';
import { currentValve, outsideValve, subscribeThroughValve, Valve } from '../streaming/Valve.js';
import { DONE } from '../streaming/DONE.js';

/** What each call of a {@link tryMap} projection receives beside its item. */
export interface TryMapContext {
  /** The item's position in the input, from 0. */
  readonly index: number;
  /** Aborted when the stream is cancelled or fails: pass it on to the projection's I/O. */
  readonly signal: AbortSignal;
  /** Which attempt this call is for the item: 1 for the first, 2 for the first retry… */
  readonly attempt: number;
}

/** How {@link tryMap} retries an item whose projection failed. */
export interface TryMapRetryOptions {
  /** Attempts per item, the first one included: `1` never retries. Required, a whole number ≥ 1. */
  readonly maxAttempts: number;
  /** Wait before the first retry, in ms; the base of the backoff. Default: 0 (retry at once). */
  readonly delayMs?: number;
  /**
   * `'exponential'`: attempt n (n ≥ 2) waits `delayMs × 2^(n-2)`; `'fixed'`: every retry waits
   * `delayMs`. Default: `'exponential'`.
   */
  readonly backoff?: 'fixed' | 'exponential';
  /** Upper bound of any single wait, in ms (applied before jitter). Default: no bound. */
  readonly maxDelayMs?: number;
  /**
   * Full jitter: wait a random whole number of ms in `[0, delay]` instead of `delay`, so that
   * many streams failing together do not retry in lockstep. Default: true.
   */
  readonly jitter?: boolean;
  /**
   * Whether an error is worth another attempt. Abort errors (see `isAbortError`) are never
   * retried, whatever this says. Default: every other error is.
   */
  readonly shouldRetry?: (error: unknown) => boolean;
}

/** What {@link tryMap}'s `onError` hears about an item whose attempts were all used up. */
export interface TryMapFailure<T> {
  /** The last attempt's error. */
  readonly error: unknown;
  /** The item that failed. */
  readonly item: T;
  /** Its position in the input, from 0. */
  readonly index: number;
  /** Attempts made, the first one included. */
  readonly attempts: number;
  /** True when `fallback` supplied a value and the stream goes on; false when the stream fails. */
  readonly recovered: boolean;
}

/** Options of {@link tryMap}. */
export interface TryMapOptions<T, R> {
  /** Retry a failed item before giving up on it. Default: no retry (one attempt). */
  readonly retry?: TryMapRetryOptions;
  /**
   * The value emitted in place of an item whose attempts all failed (a value or a promise); the
   * stream goes on. If it throws or rejects, the stream fails with that error. Default: none —
   * the item's error fails the stream.
   */
  readonly fallback?: (error: unknown, item: T, index: number) => R | PromiseLike<R>;
  /**
   * Called once per item whose attempts all failed, before its fallback value is emitted
   * (`recovered: true`) or before the stream fails (`recovered: false`). Report, log or count
   * here; an exception it throws fails the stream with that exception (in place of the item's
   * error, and without emitting the fallback value), so a broken reporter is never silent.
   */
  readonly onError?: (failure: TryMapFailure<T>) => void;
  /**
   * Observable path, push sources only: items that may wait while an item is being retried or
   * awaited, before `overflow` applies. Pull sources are never read ahead of the stage. Default:
   * the stream's `bufferCapacity` (1000).
   */
  readonly bufferCapacity?: number;
  /** What a full wait buffer does with a push source's next item. Default: the stream's `overflow` (`'error'`). */
  readonly overflow?: Exclude<OverflowStrategy, 'block'>;
  /**
   * Observable path: records the stage's wait buffer (occupancy, drops, items in and out) as
   * stage `'tryMap'`. The `for await` path holds no buffer and records nothing. Default: none.
   */
  readonly monitor?: StreamMonitor;
  /** The stream's name in the monitor's stats, on the Observable path. Default: `'observable'`. */
  readonly name?: string;
}

/**
 * Maps each item with `project`, recovering item by item (the seed's per-item error handling with
 * fallback): a failed item is retried with backoff, and when its attempts are used up its
 * `fallback` value is emitted in its place and the stream goes on. The failure is reported to
 * `onError` with the item, its position and the attempts made. Without a fallback, the error
 * fails the stream, once. Abort errors are never retried (they still reach `fallback`); errors
 * that arrive after the stream was cancelled or failed are ignored. A retry wait is a timer that
 * is cleared when the stream ends.
 *
 * ```text
 * item 3 fails, retry { maxAttempts: 3, delayMs: 100, jitter: false }, fallback given:
 * attempt 1 ✖ ─100 ms─ attempt 2 ✖ ─200 ms─ attempt 3 ✖ → onError({ index: 3, attempts: 3, recovered: true })
 *                                                        → fallback value emitted, item 4 goes on
 * without fallback:                         attempt 3 ✖ → onError({ …, recovered: false }) → stream fails
 * ```
 *
 * Items are processed one at a time, in order; compose with `parallel` for concurrency. When
 * nothing fails it costs about what a plain `map` costs: no inner Observable and no wrapper per
 * item, synchronous results pass straight through (synchronously on the Observable path) and a
 * promise is awaited with a single `then`.
 *
 * On the `for await` path it is a hand-written pull stage that reads the source only when the
 * consumer asks. On the Observable path a pull source upstream (a generator handler, `pullable(…)`)
 * is read only while the stage and the stage downstream of it are free; a push source's items
 * wait in a bounded buffer with an overflow strategy while an item is awaited or retried.
 *
 * @param project - Maps one item (a value or a promise). Gets the item's index, an `AbortSignal`
 * and the attempt number.
 * @param options - Retry, fallback and reporting. The stream's items are `project`'s results or
 * `fallback`'s, which may be of another type (`null`, an "invalid" marker…).
 * @example
 * ```ts
 * const prices = mediator.createStream(new ExportOrders()).pipe(
 *   tryMap((order, { signal }) => pricing.quote(order, { signal }), {
 *     retry: { maxAttempts: 3, delayMs: 100 },
 *     fallback: (_error, order) => ({ orderId: order.id, price: null }),
 *     onError: ({ error, index, attempts }) => log.warn({ error, index, attempts }, 'quote failed'),
 *   }),
 * );
 * for await (const price of prices) write(price);
 * ```
 */
export function tryMap<T, R, F = R>(
  project: (item: T, context: TryMapContext) => R | PromiseLike<R>,
  options: TryMapOptions<T, F> = {},
): StreamOperator<T, R | F> {
  if (typeof project !== 'function')
    throw new TypeError(`tryMap() needs a project function, got ${show(project)}.`);
  checkObject('options', options);
  const retry = checkRetry(options.retry);
  checkFunction('fallback', options.fallback);
  checkFunction('onError', options.onError);
  const { capacity, overflow } = checkStageBuffer(
    'tryMap',
    options,
    'pull sources are never read ahead of the stage anyway.',
  );
  const recovery: Recovery<T, R | F> = {
    retry,
    fallback: options.fallback,
    onError: options.onError,
  };
  return streamOperator<T, R | F>(
    (source) =>
      tryMapObservable(source, project, recovery, {
        capacity: capacity ?? DEFAULT_PIPELINE.bufferCapacity,
        overflow: overflow ?? (DEFAULT_PIPELINE.overflow as Exclude<OverflowStrategy, 'block'>),
        monitor: options.monitor,
        stream: options.name ?? 'observable',
      }),
    (source, context: StageContext) => ({
      [Symbol.asyncIterator]: () =>
        new TryMapIterator(source[Symbol.asyncIterator](), project, recovery, context.signal),
    }),
  );
}

type Project<T, R> = (item: T, context: TryMapContext) => R | PromiseLike<R>;

interface RetrySettings extends Backoff {
  readonly maxAttempts: number;
  readonly shouldRetry: ((error: unknown) => boolean) | undefined;
}

interface Recovery<T, R> {
  readonly retry: RetrySettings | undefined;
  readonly fallback: TryMapOptions<T, R>['fallback'];
  readonly onError: TryMapOptions<T, R>['onError'];
}

function checkRetry(retry: TryMapRetryOptions | undefined): RetrySettings | undefined {
  if (retry === undefined) return undefined;
  checkObject('retry', retry);
  const backoff = checkBackoff('retry.', retry, { delayMs: 0, maxDelayMs: MAX_TIMER_MS });
  checkFunction('retry.shouldRetry', retry.shouldRetry);
  return {
    ...backoff,
    maxAttempts: checkInteger('retry.maxAttempts', retry.maxAttempts, 1),
    shouldRetry: retry.shouldRetry,
  };
}

/** Returned by {@link ItemRunner.run} when the item's value comes later (or never: the stream failed). */
const PENDING: unique symbol = Symbol('pending');
type Pending = typeof PENDING;

/**
 * Runs one item at a time through `project`, and through retries, fallback and `onError` when it
 * fails. Shared by both paths. The happy path is `run()`: one call, one context object, and for a
 * promise one `then` with callbacks bound once per stream. Everything else is the slow path.
 * `deliver` is never called from inside `run()` (a value ready at once is returned instead);
 * `fail` may be, when the item fails at once for good (no fallback, or a throwing fallback or
 * onError).
 */
class ItemRunner<T, R> {
  readonly #project: Project<T, R>;
  readonly #recovery: Recovery<T, R>;
  readonly #deliver: (value: R) => void;
  readonly #fail: (error: unknown) => void;
  readonly #controller = new AbortController();
  /** Read once: the `signal` getter is a native call, measurable per item. */
  readonly #signal = this.#controller.signal;
  /** True from an item's `project` call until its value is ready, or until the stream ends. */
  #busy = false;
  #item: T | undefined;
  #index = 0;
  #attempt = 1;
  /** The error being recovered from while a fallback promise is pending. */
  #error: unknown;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    project: Project<T, R>,
    recovery: Recovery<T, R>,
    deliver: (value: R) => void,
    fail: (error: unknown) => void,
  ) {
    this.#project = project;
    this.#recovery = recovery;
    this.#deliver = deliver;
    this.#fail = fail;
  }

  /** An item is awaited, retried or recovered: the stage cannot take the next one yet. */
  get busy(): boolean {
    return this.#busy;
  }

  /** The item's value when it is ready now; otherwise {@link PENDING} and `deliver` comes later. */
  run(item: T, index: number): R | Pending {
    // Busy during the call too: a push source that `project` feeds synchronously must wait its turn.
    this.#busy = true;
    let output: R | PromiseLike<R>;
    try {
      output = this.#project(item, { index, signal: this.#signal, attempt: 1 });
    } catch (error) {
      this.#hold(item, index);
      return this.#recover(error);
    }
    if (!isPromiseLike(output)) {
      this.#busy = false;
      return output;
    }
    this.#hold(item, index);
    output.then(this.#onValue, this.#onError);
    return PENDING;
  }

  /** The stream is over: forget the item, clear a retry timer, abort the signal. */
  cancel(reason?: unknown): void {
    this.#busy = false;
    this.#item = undefined;
    this.#error = undefined;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#controller.abort(reason); // no-op when already aborted
  }

  /** False once the stream ended while an item's promise or timer was pending. */
  get #live(): boolean {
    return this.#busy && !this.#signal.aborted;
  }

  /** Keeps what the slow path needs: only an item that failed or is awaited gets here. */
  #hold(item: T, index: number): void {
    this.#item = item;
    this.#index = index;
    this.#attempt = 1;
  }

  readonly #onValue = (value: R): void => {
    if (!this.#live) return;
    this.#settle(value);
  };

  readonly #onError = (error: unknown): void => {
    if (!this.#live) return;
    const value = this.#recover(error);
    if (value !== PENDING) this.#settle(value);
  };

  #settle(value: R): void {
    this.#busy = false;
    this.#item = undefined;
    this.#deliver(value);
  }

  /**
   * The slow path, after attempt `#attempt` failed with `error`: retry (at once, in this loop,
   * when there is no wait; else after a timer), then fall back or fail. Returns the value when it
   * is ready now.
   */
  #recover(error: unknown): R | Pending {
    if (this.#signal.aborted) {
      this.#busy = false; // the stream was cancelled meanwhile: its errors are nobody's concern
      return PENDING;
    }
    const { retry } = this.#recovery;
    try {
      while (
        retry !== undefined &&
        this.#attempt < retry.maxAttempts &&
        !isAbortError(error) &&
        (retry.shouldRetry === undefined || retry.shouldRetry(error))
      ) {
        const delay = backoffDelay(retry, ++this.#attempt);
        if (delay > 0) {
          this.#timer = setTimeout(this.#retry, delay);
          return PENDING;
        }
        let output: R | PromiseLike<R>;
        try {
          output = this.#attemptAgain();
        } catch (attemptError) {
          error = attemptError;
          continue;
        }
        if (isPromiseLike(output)) {
          output.then(this.#onValue, this.#onError);
          return PENDING;
        }
        this.#busy = false;
        this.#item = undefined;
        return output;
      }
      return this.#giveUp(error);
    } catch (thrown) {
      // shouldRetry or onError threw: a broken policy or reporter fails the stream, loudly
      this.#abandon(thrown);
      return PENDING;
    }
  }

  #attemptAgain(): R | PromiseLike<R> {
    return this.#project(this.#item as T, {
      index: this.#index,
      signal: this.#signal,
      attempt: this.#attempt,
    });
  }

  readonly #retry = (): void => {
    this.#timer = undefined;
    let output: R | PromiseLike<R>;
    try {
      output = this.#attemptAgain();
    } catch (error) {
      return this.#onError(error);
    }
    if (isPromiseLike(output)) output.then(this.#onValue, this.#onError);
    else this.#onValue(output);
  };

  /** Attempts are used up (or the error is not retried): fall back, or fail the stream. */
  #giveUp(error: unknown): R | Pending {
    const { fallback } = this.#recovery;
    if (fallback === undefined) {
      this.#report(error, false);
      this.#abandon(error);
      return PENDING;
    }
    let value: R | PromiseLike<R>;
    try {
      value = fallback(error, this.#item as T, this.#index);
    } catch (fallbackError) {
      this.#report(error, false);
      this.#abandon(fallbackError);
      return PENDING;
    }
    if (isPromiseLike(value)) {
      this.#error = error;
      value.then(this.#onFallbackValue, this.#onFallbackError);
      return PENDING;
    }
    this.#report(error, true);
    this.#busy = false;
    this.#item = undefined;
    return value;
  }

  readonly #onFallbackValue = (value: R): void => {
    if (!this.#live) return;
    const error = this.#error;
    this.#error = undefined;
    try {
      this.#report(error, true);
    } catch (thrown) {
      return this.#abandon(thrown);
    }
    this.#settle(value);
  };

  readonly #onFallbackError = (fallbackError: unknown): void => {
    if (!this.#live) return;
    const error = this.#error;
    this.#error = undefined;
    try {
      this.#report(error, false);
    } catch (thrown) {
      return this.#abandon(thrown);
    }
    this.#abandon(fallbackError);
  };

  #report(error: unknown, recovered: boolean): void {
    this.#recovery.onError?.({
      error,
      item: this.#item as T,
      index: this.#index,
      attempts: this.#attempt,
      recovered,
    });
  }

  /** The item cannot be recovered: the stream fails with `error`. */
  #abandon(error: unknown): void {
    this.#busy = false;
    this.#item = undefined;
    this.#fail(error);
  }
}

/**
 * The `for await` stage: each `next()` reads one source item (only then), runs it through the
 * {@link ItemRunner} and resolves with its value.
 *
 * Without a caller signal, a read is the source's read chained with one `then` (its callback
 * returns the item's result, or a promise for it when the item is awaited or recovered): nothing
 * else is allocated. With a signal, a read is a promise of its own, so that an abort rejects it at
 * once even while the source's `next()` is pending.
 */
class TryMapIterator<T, R> implements AsyncIterator<R> {
  readonly #source: AsyncIterator<T>;
  readonly #runner: ItemRunner<T, R>;
  readonly #signal: AbortSignal | undefined;
  #index = 0;
  #reading = false;
  #state: 'open' | 'failed' | 'done' = 'open';
  #failure: unknown;
  /** The pending read's settlers (fields, not an object: one allocation less per item). */
  #resolveRead: ((result: IteratorResult<R>) => void) | undefined;
  #rejectRead: ((error: unknown) => void) | undefined;
  /** Made once, so that a read allocates only its promise. */
  readonly #startRead = (
    resolve: (result: IteratorResult<R>) => void,
    reject: (error: unknown) => void,
  ): void => {
    this.#resolveRead = resolve;
    this.#rejectRead = reject;
  };
  readonly #onAbort: (() => void) | undefined;

  constructor(
    source: AsyncIterator<T>,
    project: Project<T, R>,
    recovery: Recovery<T, R>,
    signal: AbortSignal | undefined,
  ) {
    this.#source = source;
    this.#runner = new ItemRunner(
      project,
      recovery,
      (value) => this.#resolve({ value, done: false }),
      (error) => this.#fail(error),
    );
    this.#signal = signal;
    if (signal !== undefined) {
      this.#onAbort = () => this.#fail(signal.reason);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#state !== 'open') return this.#settled();
    if (this.#signal?.aborted) {
      this.#fail(this.#signal.reason);
      return this.#settled();
    }
    if (this.#reading || this.#resolveRead !== undefined)
      return Promise.reject(new Error('next() called again before the previous next() settled.'));
    this.#reading = true;
    if (this.#signal === undefined)
      return this.#source.next().then(this.#onRead, this.#onReadError);
    const read = new Promise<IteratorResult<R>>(this.#startRead);
    this.#source.next().then(this.#onItem, this.#onSourceError);
    return read;
  }

  return(): Promise<IteratorResult<R>> {
    if (this.#state === 'done') return Promise.resolve(DONE);
    const reading = this.#reading;
    this.#finish();
    this.#runner.cancel();
    this.#resolve(DONE);
    const closing = this.#source.return?.();
    if (closing === undefined) return Promise.resolve(DONE);
    // With a read in flight the source may queue return() behind it: close in the background.
    if (reading) {
      closing.catch(() => undefined);
      return Promise.resolve(DONE);
    }
    return closing.then(() => DONE);
  }

  /** Chained reads: the result now, or a promise for it. */
  readonly #onRead = (
    result: IteratorResult<T>,
  ): IteratorResult<R> | Promise<IteratorResult<R>> => {
    this.#reading = false;
    if (this.#state !== 'open') return this.#settled(); // returned meanwhile
    const step = this.#step(result);
    if (step !== PENDING) return step;
    if (this.#state !== 'open') return this.#settled(); // failed at once
    return new Promise<IteratorResult<R>>(this.#startRead);
  };

  readonly #onReadError = (error: unknown): Promise<IteratorResult<R>> => {
    this.#reading = false;
    this.#fail(error);
    return this.#settled();
  };

  /** Reads with a promise of their own (a caller signal may reject them first). */
  readonly #onItem = (result: IteratorResult<T>): void => {
    this.#reading = false;
    if (this.#state !== 'open') return;
    const step = this.#step(result);
    if (step !== PENDING) this.#resolve(step);
  };

  readonly #onSourceError = (error: unknown): void => {
    this.#reading = false;
    this.#fail(error);
  };

  /** The read's result when it is ready now; {@link PENDING} when it comes through the settlers. */
  #step(result: IteratorResult<T>): IteratorResult<R> | Pending {
    if (result.done) {
      this.#finish();
      return DONE;
    }
    const value = this.#runner.run(result.value, this.#index++);
    return value === PENDING ? PENDING : { value, done: false };
  }

  #resolve(result: IteratorResult<R>): void {
    const resolve = this.#resolveRead;
    this.#resolveRead = this.#rejectRead = undefined;
    resolve?.(result);
  }

  /** The first failure: abort the item's work, close the source, then tell the consumer once. */
  #fail(error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#failure = error;
    this.#unlink();
    this.#runner.cancel(error);
    this.#source.return?.()?.catch(() => undefined);
    const reject = this.#rejectRead;
    if (reject !== undefined) {
      this.#resolveRead = this.#rejectRead = undefined;
      this.#state = 'done';
      this.#failure = undefined;
      reject(error);
    }
  }

  #settled(): Promise<IteratorResult<R>> {
    if (this.#state === 'failed') {
      this.#state = 'done';
      const failure = this.#failure;
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    return Promise.resolve(DONE);
  }

  #finish(): void {
    this.#state = 'done';
    this.#unlink();
  }

  #unlink(): void {
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener('abort', this.#onAbort);
  }
}

interface BufferSettings {
  readonly capacity: number;
  readonly overflow: Exclude<OverflowStrategy, 'block'>;
  readonly monitor: StreamMonitor | undefined;
  readonly stream: string;
}

/**
 * The Observable stage. Synchronous results are emitted inside the upstream `next`. While an item
 * is awaited or retried, a pull source upstream is paused by the valve and a push source's items
 * wait in a bounded buffer.
 */
function tryMapObservable<T, R>(
  source: Observable<T>,
  project: Project<T, R>,
  recovery: Recovery<T, R>,
  { capacity, overflow, monitor, stream }: BufferSettings,
): Observable<R> {
  return new Observable<R>((subscriber) => {
    const probe: StageProbe | undefined = monitor?.open(
      'tryMap',
      stream,
      capacity,
      overflow,
      (): { buffered: number; inFlight: number } => ({
        buffered: waiting.size,
        inFlight: runner.busy ? 1 : 0,
      }),
    );
    const waiting: OverflowBuffer<T> = new OverflowBuffer<T>(capacity, overflow, probe);
    let upstream: Subscription | undefined;
    let index = 0;
    let upstreamDone = false;
    let finished = false;

    const fail = (error: unknown): void => {
      finished = true;
      upstream?.unsubscribe(); // stops even a synchronous source in the middle of its burst
      runner.cancel(error); // the item's work is aborted before the consumer hears of it
      waiting.clear();
      subscriber.error(error);
    };
    const emit = (value: R): void => {
      if (probe !== undefined) probe.itemsOut++;
      subscriber.next(value);
    };
    /** Runs waiting items until one goes async; then completes, or lets the source read again. */
    const drain = (): void => {
      while (!finished && !runner.busy && waiting.size > 0) {
        const value = runner.run(waiting.shift(), index++);
        if (value !== PENDING) emit(value);
      }
      if (finished || runner.busy || waiting.size > 0) return;
      if (upstreamDone) {
        finished = true;
        subscriber.complete();
      } else {
        valve.notify();
      }
    };
    const runner = new ItemRunner<T, R>(
      project,
      recovery,
      (value) => {
        emit(value);
        drain();
      },
      fail,
    );
    // Shut while an item is awaited or waiting, or while the stage we emit into has no room.
    const valve = new Valve(() => !runner.busy && waiting.size === 0, currentValve());

    const onItem = (item: T): void => {
      if (probe !== undefined) probe.itemsIn++;
      if (runner.busy || waiting.size > 0) {
        if (!waiting.offer(item)) fail(new BufferOverflowError(capacity));
        return;
      }
      const value = runner.run(item, index++);
      if (value === PENDING) return;
      emit(value);
      if (waiting.size > 0) drain(); // items that arrived while we emitted
    };

    subscribeThroughValve(valve, () =>
      new Observable<T>((inner) => {
        upstream = inner;
        return source.subscribe(inner);
      }).subscribe({
        next: (item) => outsideValve(onItem, item),
        error: fail,
        complete: () => {
          upstreamDone = true;
          if (finished || runner.busy || waiting.size > 0) return;
          finished = true;
          subscriber.complete();
        },
      }),
    );

    return () => {
      upstream?.unsubscribe();
      valve.clear();
      waiting.clear();
      probe?.close();
      if (!finished) runner.cancel();
    };
  });
}
