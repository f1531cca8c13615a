import { asyncScheduler, bufferCount, Observable, type Subscription } from 'rxjs';
import { checkInteger, show } from '../errors/validate.js';
import { streamOperator, type StreamOperator } from '../streaming/StreamOperator.js';
import { DEFAULT_PIPELINE } from '../streaming/StreamPipelineOptions.js';
import { syncTakerOf, TAKE_SYNC, type SyncTaker } from '../streaming/takeSync.js';
import { DONE } from '../streaming/DONE.js';

/** Options of {@link batch}. */
export interface BatchOptions {
  /** Items per batch. Default: the stream's `batchSize` (100). */
  readonly size?: number;
  /**
   * Longest time, in ms, a batch waits for more items after its **first** item arrived; then the
   * partial batch goes out. Default: none (batches are cut by count only). On the Observable path
   * the clock is RxJS's `asyncScheduler`, so `TestScheduler.run()` drives it in marble tests.
   */
  readonly maxWaitMs?: number;
}

/**
 * Groups items into arrays of `size` (the seed's `Buffer(100)`), or — with `maxWaitMs` — of up
 * to `size`, cut when a batch is full or `maxWaitMs` after its first item arrived, whichever
 * comes first. A batch is never empty; the last, partial batch is delivered when the source
 * completes. When the source fails, the partial batch is dropped (as RxJS `bufferCount` drops
 * it) and the error reaches the consumer, once.
 *
 * On the `for await` path this is a hand-written pull stage: a read of the stage reads the source
 * one item at a time until the batch is full, so at most one item (a read in flight when the
 * timer cut a batch) is ever read ahead of the consumer. A batch whose time is up while the
 * consumer is busy is delivered at the consumer's next read. On the Observable path it is RxJS
 * `bufferCount(size)` (or a small synchronous count-or-time operator): a pull source upstream
 * still reads only when the stage downstream (e.g. `parallel`) has room.
 *
 * @param sizeOrOptions - Items per batch, or {@link BatchOptions}. Default: the stream's
 * `batchSize` (on the Observable path, 100).
 * @example
 * ```ts
 * for await (const orders of mediator.createStream(new ExportOrders()).pipe(batch(100))) {
 *   await warehouse.insertMany(orders); // 100 orders a time, the last batch possibly fewer
 * }
 * // at least every 50 ms while items trickle in, at most 500 a time
 * mediator.createStream$(new PriceTicks()).pipe(batch({ size: 500, maxWaitMs: 50 })).subscribe(publish);
 * ```
 */
export function batch<T>(sizeOrOptions?: number | BatchOptions): StreamOperator<T, T[]> {
  const { size, maxWaitMs } = readOptions(sizeOrOptions);
  return streamOperator<T, T[]>(
    (source) => {
      const count = size ?? DEFAULT_PIPELINE.batchSize;
      return maxWaitMs === undefined
        ? source.pipe(bufferCount(count))
        : batchByCountOrTime(source, count, maxWaitMs);
    },
    (source, context) => ({
      [Symbol.asyncIterator]: () =>
        new BatchIterator(
          source[Symbol.asyncIterator](),
          size ?? context.options.batchSize,
          maxWaitMs,
          context.signal,
        ),
    }),
  );
}

function readOptions(sizeOrOptions: unknown): BatchOptions {
  if (sizeOrOptions === undefined) return {};
  if (typeof sizeOrOptions === 'number') return { size: checkInteger('size', sizeOrOptions, 1) };
  if (typeof sizeOrOptions !== 'object' || sizeOrOptions === null || Array.isArray(sizeOrOptions)) {
    throw new TypeError(
      `batch() takes a size or an options object { size, maxWaitMs }, got ${show(sizeOrOptions)}.`,
    );
  }
  const { size, maxWaitMs } = sizeOrOptions as Record<string, unknown>;
  if (maxWaitMs !== undefined) {
    if (typeof maxWaitMs !== 'number') {
      throw new TypeError(`Option 'maxWaitMs' must be a number, got ${show(maxWaitMs)}.`);
    }
    if (!Number.isFinite(maxWaitMs) || maxWaitMs <= 0) {
      throw new RangeError(
        `Option 'maxWaitMs' must be a finite number of ms > 0, got ${show(maxWaitMs)}.`,
      );
    }
  }
  return {
    size: size === undefined ? undefined : checkInteger('size', size, 1),
    maxWaitMs: maxWaitMs as number | undefined,
  };
}

/**
 * The `for await` stage. A read waits (as `#waiter`) while the source is read one `next()` at a
 * time into `#batch`; it is answered when the batch is full, its timer fires, or the source ends.
 * Nothing is read while no read waits, except the one `next()` in flight when the timer cut a
 * batch: its item starts the next batch.
 */
class BatchIterator<T> implements AsyncIterator<T[]> {
  readonly #source: AsyncIterator<T>;
  /** The source's fast path, when it is one of ours: items it holds, taken without a promise each. */
  readonly #taker: SyncTaker<T> | undefined;
  readonly #size: number;
  readonly #maxWaitMs: number | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  #batch: T[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The timer fired while no read was waiting: the batch goes out at the next read. */
  #due = false;
  #reading = false;
  #sourceDone = false;
  #state: 'open' | 'failed' | 'done' = 'open';
  #failure: unknown;
  #waiter: { resolve(result: IteratorResult<T[]>): void; reject(error: unknown): void } | undefined;

  constructor(
    source: AsyncIterator<T>,
    size: number,
    maxWaitMs: number | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.#source = source;
    this.#taker = syncTakerOf(source);
    this.#size = size;
    this.#maxWaitMs = maxWaitMs;
    this.#signal = signal;
    if (signal !== undefined) {
      this.#onAbort = () => this.#fail(signal.reason);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  next(): Promise<IteratorResult<T[]>> {
    if (this.#state !== 'open') return this.#settled();
    if (this.#signal?.aborted) {
      this.#fail(this.#signal.reason);
      return this.#settled();
    }
    if (this.#waiter !== undefined)
      return Promise.reject(new Error('next() called again before the previous next() settled.'));
    if (this.#batch.length > 0 && (this.#due || this.#sourceDone)) {
      return Promise.resolve({ value: this.#take(), done: false });
    }
    if (this.#sourceDone) {
      this.#finish();
      return Promise.resolve(DONE);
    }
    if (this.#taker !== undefined && !this.#reading) {
      const batch = this.#batch;
      const before = batch.length;
      this.#taker[TAKE_SYNC](batch, this.#size - before);
      if (batch.length >= this.#size) return Promise.resolve({ value: this.#take(), done: false });
      if (before === 0 && batch.length > 0) this.#startTimer();
    }
    const read = new Promise<IteratorResult<T[]>>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    if (!this.#reading) this.#read();
    return read;
  }

  return(): Promise<IteratorResult<T[]>> {
    if (this.#state === 'done') return Promise.resolve(DONE);
    const reading = this.#reading;
    this.#finish();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve(DONE);
    const closing = this.#source.return?.();
    if (closing === undefined) return Promise.resolve(DONE);
    // With a read in flight the source may queue return() behind it: close in the background.
    if (reading) {
      closing.catch(() => undefined);
      return Promise.resolve(DONE);
    }
    return closing.then(() => DONE);
  }

  #read(): void {
    this.#reading = true;
    let pending: Promise<IteratorResult<T>>;
    try {
      pending = this.#source.next();
    } catch (error) {
      return this.#onSourceError(error);
    }
    pending.then(this.#onItem, this.#onSourceError);
  }

  // Bound once: the per-item path allocates no closure.
  readonly #onItem = (result: IteratorResult<T>): void => {
    this.#reading = false;
    if (this.#state !== 'open') return;
    if (result.done) {
      this.#sourceDone = true;
      const waiter = this.#waiter;
      if (waiter === undefined) return;
      this.#waiter = undefined;
      if (this.#batch.length > 0) return waiter.resolve({ value: this.#take(), done: false });
      this.#finish();
      return waiter.resolve(DONE);
    }
    const batch = this.#batch;
    let length = batch.push(result.value);
    // More may be ready at once (buffered push items, a sync iterable): take them in one call.
    if (length < this.#size && this.#taker !== undefined && this.#waiter !== undefined) {
      this.#taker[TAKE_SYNC](batch, this.#size - length);
      length = batch.length;
    }
    if (length >= this.#size) {
      const waiter = this.#waiter;
      // Only a read in flight when the timer fired lands with no waiter, in a fresh batch, and
      // size 1 answers a read before any timer starts: a full batch always has its reader.
      this.#waiter = undefined;
      return waiter!.resolve({ value: this.#take(), done: false });
    }
    if (this.#timer === undefined) this.#startTimer();
    if (this.#waiter !== undefined) this.#read();
  };

  /** Starts the batch's clock (count-or-time only), at its first item. */
  #startTimer(): void {
    if (this.#maxWaitMs !== undefined && !this.#due) {
      this.#timer = setTimeout(this.#onTimer, this.#maxWaitMs);
    }
  }

  readonly #onSourceError = (error: unknown): void => {
    this.#reading = false;
    this.#fail(error);
  };

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    const waiter = this.#waiter;
    if (waiter === undefined) {
      this.#due = true;
      return;
    }
    // The read in flight stays in flight: its item starts the next batch.
    this.#waiter = undefined;
    waiter.resolve({ value: this.#take(), done: false });
  };

  /** Hands out the current batch and starts a fresh one. */
  #take(): T[] {
    const taken = this.#batch;
    this.#batch = [];
    this.#due = false;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    return taken;
  }

  /** The first failure (source error or caller abort): close the source, tell the consumer once. */
  #fail(error: unknown): void {
    if (this.#state !== 'open') return;
    this.#finish();
    this.#state = 'failed';
    this.#failure = error;
    this.#source.return?.()?.catch(() => undefined);
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#state = 'done';
      waiter.reject(error);
    }
  }

  #settled(): Promise<IteratorResult<T[]>> {
    if (this.#state === 'failed') {
      this.#state = 'done';
      const failure = this.#failure;
      this.#failure = undefined;
      return Promise.reject(failure);
    }
    return Promise.resolve(DONE);
  }

  /** Done: free the partial batch, stop the timer, unlink the caller's signal. */
  #finish(): void {
    this.#state = 'done';
    this.#take();
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener('abort', this.#onAbort);
  }
}

/**
 * The Observable count-or-time stage. It subscribes to `source` synchronously, so a pull source
 * upstream still sees the valve of the stage downstream. One timer per batch, started by its
 * first item.
 */
function batchByCountOrTime<T>(
  source: Observable<T>,
  size: number,
  maxWaitMs: number,
): Observable<T[]> {
  return new Observable<T[]>((subscriber) => {
    let current: T[] = [];
    let timer: Subscription | undefined;
    const take = (): T[] => {
      const taken = current;
      current = [];
      timer?.unsubscribe();
      timer = undefined;
      return taken;
    };
    // Subscribed as a child of `subscriber`, so a synchronous source stops in the middle of its
    // burst when the consumer unsubscribes (e.g. take(1) downstream).
    new Observable<T>((inner) => {
      subscriber.add(inner);
      return source.subscribe(inner);
    }).subscribe({
      next: (item) => {
        const length = current.push(item);
        if (length >= size) subscriber.next(take());
        else if (length === 1) {
          timer = asyncScheduler.schedule(() => {
            timer = undefined;
            subscriber.next(take());
          }, maxWaitMs);
        }
      },
      error: (error: unknown) => {
        take();
        subscriber.error(error);
      },
      complete: () => {
        if (current.length > 0) subscriber.next(take());
        subscriber.complete();
      },
    });
    return () => {
      take();
    };
  });
}
