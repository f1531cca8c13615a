import type { NextOptions } from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import { DONE } from '../streaming/DONE.js';
import { syncTakerOf, TAKE_SYNC, type SyncTaker } from '../streaming/takeSync.js';
import { onAbort } from './onAbort.js';
import type { RetryRules } from './retry.js';

type Next<T> = (request?: any, options?: NextOptions) => AsyncIterable<T>;

/**
 * The stream side of `retry()`: a pull iterator over the current run of the inner pipeline
 * (`next()` re-runs it). States: `open` (a run is read, or the first is yet to start), `waiting`
 * (between a failure and the next run), `done`.
 *
 * The happy path is `next()`: the inner read and one `then` whose callbacks are bound once per
 * stream, counting delivered items. A failed run is dropped (a failed iterator is finished), the
 * policy decides, and after the wait a new run starts: in restart mode its first `delivered`
 * items are read and dropped before anything reaches the consumer; in resume mode its request
 * comes from `resume()`. `return()` closes the current run and clears a wait at once.
 * @internal
 */
export class RetryStream<T> implements AsyncIterableIterator<T>, SyncTaker<T> {
  readonly #rules: RetryRules;
  readonly #request: unknown;
  readonly #next: Next<T>;
  readonly #context: HandlerContext;
  #state: 'open' | 'waiting' | 'done' = 'open';
  /** The current run; undefined before the first, between runs and when done. */
  #inner: AsyncIterator<T> | undefined;
  /** Items the consumer received, over every run. */
  #delivered = 0;
  #lastItem: T | undefined;
  /** Items of the current (restarted) run still to drop. */
  #skip = 0;
  /** `#delivered` at the last failure: more means progress, which resets `#attempt`. */
  #deliveredAtFailure = 0;
  /** The current run's number since the last progress, from 1. */
  #attempt = 1;
  /** The current run's number over the whole stream, from 1; 0 before the first. */
  #runs = 0;
  #startedAt = 0;
  /** The error that caused the current restart, for a re-run that ends too soon. */
  #cause: unknown;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Settles the pending wait. */
  #wake: (() => void) | undefined;

  constructor(rules: RetryRules, request: unknown, next: Next<T>, context: HandlerContext) {
    this.#rules = rules;
    this.#request = request;
    this.#next = next;
    this.#context = context;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    const inner = this.#inner;
    if (inner !== undefined) return inner.next().then(this.#onResult, this.#onError);
    if (this.#state === 'done') return Promise.resolve(DONE);
    if (this.#state === 'waiting') {
      return Promise.reject(
        new Error('next() called while a retry of the stream is pending; read one item at a time.'),
      );
    }
    if (this.#rules.timed) this.#startedAt = performance.now();
    return this.#run();
  }

  /** Lets a batching stage take what the current run holds, counting it as delivered. */
  [TAKE_SYNC](into: T[], max: number): void {
    const inner = this.#inner;
    if (inner === undefined || this.#skip > 0) return;
    const taker = syncTakerOf(inner);
    if (taker === undefined) return;
    const before = into.length;
    taker[TAKE_SYNC](into, max);
    if (into.length > before) {
      this.#delivered += into.length - before;
      this.#lastItem = into[into.length - 1];
    }
  }

  return(): Promise<IteratorResult<T>> {
    const inner = this.#inner;
    this.#inner = undefined;
    this.#state = 'done';
    this.#wake?.(); // a pending wait ends; its continuation sees 'done'
    if (inner === undefined) return Promise.resolve(DONE);
    const closing = inner.return?.();
    return closing === undefined ? Promise.resolve(DONE) : closing.then(() => DONE);
  }

  /** Starts a run and reads its first item. */
  #run(): Promise<IteratorResult<T>> {
    this.#runs++;
    let source: AsyncIterable<T>;
    if (this.#runs > 1 && !this.#rules.restart) {
      let request: unknown;
      try {
        request = this.#rules.resume!(this.#request, {
          delivered: this.#delivered,
          lastItem: this.#lastItem,
        });
      } catch (error) {
        this.#state = 'done';
        return Promise.reject(error); // a broken resume() fails the stream, loudly
      }
      source = this.#next(request);
    } else {
      source = this.#next();
    }
    let inner: AsyncIterator<T>;
    try {
      inner = source[Symbol.asyncIterator](); // runs the inner pipeline: the handler may throw
    } catch (error) {
      return this.#onError(error);
    }
    this.#inner = inner;
    return inner.next().then(this.#onResult, this.#onError);
  }

  readonly #onResult = (
    result: IteratorResult<T>,
  ): IteratorResult<T> | Promise<IteratorResult<T>> => {
    if (result.done) return this.#end(result);
    if (this.#skip === 0) {
      this.#delivered++;
      this.#lastItem = result.value;
      return result;
    }
    if (this.#state === 'done') return DONE;
    this.#skip--; // an item the consumer got from an earlier run
    return this.#inner!.next().then(this.#onResult, this.#onError);
  };

  #end(result: IteratorResult<T>): IteratorResult<T> | Promise<IteratorResult<T>> {
    if (this.#state === 'done') return DONE;
    this.#state = 'done';
    this.#inner = undefined;
    if (this.#skip === 0) return result;
    // The re-run disagrees with what was delivered: completing now would lose items silently.
    const error = this.#cause;
    this.#rules.giveUp(error, this.#runs, 'restartEndedEarly', this.#context);
    return Promise.reject(error);
  }

  readonly #onError = (error: unknown): Promise<IteratorResult<T>> => {
    if (this.#state === 'done') return Promise.resolve(DONE); // closed meanwhile: nobody's concern
    this.#inner = undefined;
    if (this.#delivered > this.#deliveredAtFailure) this.#attempt = 1; // progress: start afresh
    this.#deliveredAtFailure = this.#delivered;
    const rules = this.#rules;
    const context = this.#context;
    let wait: ReturnType<RetryRules['decide']>;
    try {
      wait = rules.decide(
        error,
        this.#attempt,
        this.#runs,
        this.#startedAt,
        this.#request,
        this.#delivered,
        context,
      );
    } catch (thrown) {
      this.#state = 'done';
      return Promise.reject(thrown);
    }
    if (typeof wait === 'string') {
      this.#state = 'done';
      rules.giveUp(error, this.#runs, wait, context);
      return Promise.reject(error);
    }
    if (wait < 0) {
      // CANCELLED: cancellation propagates unchanged
      this.#state = 'done';
      return Promise.reject(error);
    }
    this.#attempt++;
    this.#cause = error;
    this.#skip = rules.restart ? this.#delivered : 0;
    rules.retrying(this.#runs + 1, wait, error, context);
    this.#state = 'waiting';
    return this.#pause(wait).then(this.#resume);
  };

  readonly #resume = (): Promise<IteratorResult<T>> => {
    if (this.#state === 'done') return Promise.resolve(DONE);
    const signal = this.#context.signal;
    if (signal.aborted) {
      this.#state = 'done';
      return Promise.reject(signal.reason);
    }
    this.#state = 'open';
    return this.#run();
  };

  /** Waits `ms`; rejects with the signal's reason as soon as it aborts; `return()` ends it early. */
  #pause(ms: number): Promise<void> {
    const signal = this.#context.signal;
    if (signal.aborted) {
      this.#state = 'done';
      return Promise.reject(signal.reason);
    }
    if (ms === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#wake = undefined;
        stop();
      };
      this.#wake = () => {
        settle();
        resolve();
      };
      this.#timer = setTimeout(this.#wake, ms);
      const stop = onAbort(signal, () => {
        this.#state = 'done';
        settle();
        reject(signal.reason);
      });
    });
  }
}
