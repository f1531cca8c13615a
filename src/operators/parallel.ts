import { defer, from, map, mergeMap, Observable, of, Subject, type Subscription } from 'rxjs';
import { BufferOverflowError } from '../errors/BufferOverflowError.js';
import { checkInteger, checkObject, show } from '../errors/validate.js';
import { OverflowBuffer } from '../streaming/OverflowBuffer.js';
import { checkStageBuffer } from '../streaming/checkStageBuffer.js';
import type { OverflowStrategy } from '../streaming/OverflowStrategy.js';
import { RingBuffer } from '../streaming/RingBuffer.js';
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

/** What each task of a {@link parallel} stage receives beside its item. */
export interface TaskContext {
  /** Aborted when the stream is cancelled or fails: pass it on to the task's I/O. */
  readonly signal: AbortSignal;
  /** The item's position in the input, from 0. */
  readonly index: number;
}

/** Options of {@link parallel}. */
export interface ParallelOptions {
  /** Tasks running at once. Default: the stream's `maxDegreeOfParallelism` (4). */
  readonly concurrency?: number;
  /**
   * Emit results in input order (a result waits for those before it; at most `concurrency`
   * results are held) or as they complete. Default: the stream's `ordered` (true).
   */
  readonly ordered?: boolean;
  /**
   * Observable path, push sources only: items that may wait for a free slot before `overflow`
   * applies. Pull sources are never read ahead of a free slot. Default: the stream's
   * `bufferCapacity` (1000).
   */
  readonly bufferCapacity?: number;
  /** What a full wait buffer does with a push source's next item. Default: the stream's `overflow` (`'error'`). */
  readonly overflow?: Exclude<OverflowStrategy, 'block'>;
  /** Records this stage's occupancy, in-flight tasks, drops and waits. Default: the stream's `monitor`, if any. */
  readonly monitor?: StreamMonitor;
  /** The stream's name in the monitor's stats, on the Observable path. Default: `'observable'`. */
  readonly name?: string;
}

/**
 * Runs `task` on up to `concurrency` items at once (the seed's `MaxDegreeOfParallelism` and
 * `ParallelForEachAsync`). Items are read from upstream only when a slot is free — a slot stays
 * taken until its result has been delivered downstream — so a slow consumer slows the source and
 * at most `concurrency` items are ever read ahead of it. Each task gets an `AbortSignal` that fires
 * when the stream is cancelled or fails; the first task error aborts the others and then reaches
 * the consumer, once.
 *
 * On the `for await` path this is a hand-written pull stage. On the Observable path it is RxJS
 * `mergeMap(…, concurrency)` fed through a valve: a pull source upstream (a generator handler,
 * `pullable(…)`) is read only when a slot is free, so mergeMap's own queue never grows; a push
 * source waits in a bounded buffer with an overflow strategy.
 *
 * @param task - Maps one item to its result (a value or a promise).
 * @example
 * ```ts
 * const enriched = mediator
 *   .createStream(new ExportOrders())
 *   .pipe(parallel((order, { signal }) => pricing.quote(order, { signal }), { concurrency: 4 }));
 * for await (const quote of enriched) write(quote);
 * ```
 */
export function parallel<T, R>(
  task: (item: T, context: TaskContext) => R | PromiseLike<R>,
  options: ParallelOptions = {},
): StreamOperator<T, R> {
  if (typeof task !== 'function')
    throw new TypeError(`parallel() needs a task function, got ${show(task)}.`);
  checkObject('options', options);
  const concurrency =
    options.concurrency === undefined
      ? undefined
      : checkInteger('concurrency', options.concurrency, 1);
  if (options.ordered !== undefined && typeof options.ordered !== 'boolean') {
    throw new TypeError(`Option 'ordered' must be a boolean, got ${show(options.ordered)}.`);
  }
  const { capacity, overflow } = checkStageBuffer(
    'parallel',
    options,
    'pull sources are never read ahead of a free slot anyway.',
  );
  const settings = (defaults: StageContext['options'], stream: string): ParallelSettings => ({
    monitor: options.monitor ?? defaults.monitor,
    stream,
    concurrency: concurrency ?? defaults.maxDegreeOfParallelism,
    ordered: options.ordered ?? defaults.ordered,
    capacity: capacity ?? defaults.bufferCapacity,
    overflow: (overflow ??
      (defaults.overflow === 'block' ? 'error' : defaults.overflow)) as Exclude<
      OverflowStrategy,
      'block'
    >,
  });
  return streamOperator<T, R>(
    (source) =>
      parallelObservable(source, task, settings(DEFAULT_PIPELINE, options.name ?? 'observable')),
    (source, context) => ({
      [Symbol.asyncIterator]: () =>
        new ParallelIterator(
          source[Symbol.asyncIterator](),
          task,
          settings(context.options, context.stream),
          context.signal,
        ),
    }),
  );
}

interface ParallelSettings {
  readonly monitor: StreamMonitor | undefined;
  readonly stream: string;
  readonly concurrency: number;
  readonly ordered: boolean;
  readonly capacity: number;
  readonly overflow: Exclude<OverflowStrategy, 'block'>;
}

type Task<T, R> = (item: T, context: TaskContext) => R | PromiseLike<R>;

/**
 * The `for await` stage. `inFlight` counts tasks started and not yet delivered: the source is
 * read (one `next()` at a time) only while it is below `concurrency`.
 */
class ParallelIterator<T, R> implements AsyncIterator<R> {
  readonly #source: AsyncIterator<T>;
  readonly #task: Task<T, R>;
  readonly #concurrency: number;
  readonly #controller = new AbortController();
  readonly #signal: AbortSignal | undefined;
  /** Unordered: results in completion order. */
  readonly #completed: RingBuffer<R> | undefined;
  /** Ordered: results by input position, `index % concurrency`; `#ready` marks settled slots. */
  readonly #slots: R[] | undefined;
  readonly #ready: boolean[] | undefined;
  #head = 0;
  #started = 0;
  #inFlight = 0;
  /** Tasks running (started, not settled). */
  #running = 0;
  #reading = false;
  #sourceDone = false;
  #state: 'open' | 'failed' | 'done' = 'open';
  #failure: unknown;
  #waiter: { resolve(result: IteratorResult<R>): void; reject(error: unknown): void } | undefined;
  readonly #onAbort: (() => void) | undefined;
  readonly #probe: StageProbe | undefined;

  constructor(
    source: AsyncIterator<T>,
    task: Task<T, R>,
    settings: ParallelSettings,
    signal: AbortSignal | undefined,
  ) {
    this.#source = source;
    this.#task = task;
    this.#concurrency = settings.concurrency;
    if (settings.ordered) {
      this.#slots = new Array<R>(settings.concurrency);
      this.#ready = new Array<boolean>(settings.concurrency).fill(false);
    } else {
      this.#completed = new RingBuffer<R>(settings.concurrency);
    }
    this.#signal = signal;
    if (signal !== undefined) {
      this.#onAbort = () => this.#fail(signal.reason);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    this.#probe = settings.monitor?.open(
      'parallel',
      settings.stream,
      settings.concurrency,
      settings.overflow,
      () => ({ buffered: this.#inFlight, inFlight: this.#running }),
    );
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#state !== 'open') return this.#settled();
    if (this.#signal?.aborted) {
      this.#fail(this.#signal.reason);
      return this.#settled();
    }
    const ready = this.#take();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#sourceDone && this.#inFlight === 0) {
      this.#finish();
      return Promise.resolve(DONE);
    }
    if (this.#waiter !== undefined)
      return Promise.reject(new Error('next() called again before the previous next() settled.'));
    const read = new Promise<IteratorResult<R>>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    this.#probe?.consumerWaiting(true);
    this.#pump();
    return read;
  }

  return(): Promise<IteratorResult<R>> {
    if (this.#state === 'done') return Promise.resolve(DONE);
    const reading = this.#reading;
    this.#finish();
    this.#controller.abort();
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

  /** The next deliverable result, freeing its slot; undefined when none is ready. */
  #take(): IteratorResult<R> | undefined {
    let value: R;
    if (this.#completed !== undefined) {
      if (this.#completed.size === 0) return undefined;
      value = this.#completed.shift();
    } else {
      const position = this.#head % this.#concurrency;
      if (!this.#ready![position]) return undefined;
      value = this.#slots![position]!;
      this.#slots![position] = undefined as R;
      this.#ready![position] = false;
      this.#head++;
    }
    this.#inFlight--;
    const probe = this.#probe;
    if (probe !== undefined) {
      probe.itemsOut++;
      probe.consumerWaiting(false);
      if (!this.#hasReady()) probe.producerWaiting(false);
    }
    this.#pump();
    return { value, done: false };
  }

  /** Reads the next item when a slot is free and no read is in flight. */
  #pump(): void {
    if (
      this.#reading ||
      this.#sourceDone ||
      this.#state !== 'open' ||
      this.#inFlight >= this.#concurrency
    )
      return;
    this.#reading = true;
    this.#source.next().then(this.#onItem, this.#onSourceError);
  }

  readonly #onItem = (result: IteratorResult<T>): void => {
    this.#reading = false;
    if (this.#state !== 'open') return;
    if (result.done) {
      this.#sourceDone = true;
      this.#deliver();
      return;
    }
    const index = this.#started++;
    this.#inFlight++;
    this.#running++;
    if (this.#probe !== undefined) this.#probe.itemsIn++;
    let output: R | PromiseLike<R>;
    try {
      output = this.#task(result.value, { signal: this.#controller.signal, index });
    } catch (error) {
      return this.#fail(error);
    }
    if (isPromiseLike(output)) {
      output.then(
        (value) => this.#complete(index, value),
        (error: unknown) => this.#fail(error),
      );
    } else {
      this.#complete(index, output);
    }
    this.#pump();
  };

  readonly #onSourceError = (error: unknown): void => {
    this.#reading = false;
    this.#fail(error);
  };

  #complete(index: number, value: R): void {
    if (this.#state !== 'open') return;
    this.#running--;
    if (this.#waiter === undefined) this.#probe?.producerWaiting(true);
    if (this.#completed !== undefined) {
      this.#completed.push(value);
    } else {
      const position = index % this.#concurrency;
      this.#slots![position] = value;
      this.#ready![position] = true;
    }
    this.#deliver();
  }

  #hasReady(): boolean {
    return this.#completed !== undefined
      ? this.#completed.size > 0
      : this.#ready![this.#head % this.#concurrency]!;
  }

  /** Hands a ready result (or the end) to a waiting read. */
  #deliver(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    const ready = this.#take();
    if (ready !== undefined) {
      this.#waiter = undefined;
      waiter.resolve(ready);
    } else if (this.#sourceDone && this.#inFlight === 0) {
      this.#waiter = undefined;
      this.#finish();
      waiter.resolve(DONE);
    }
  }

  /** The first failure: abort the tasks, close the source, then tell the consumer once. */
  #fail(error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#failure = error;
    this.#unlink();
    this.#probe?.close();
    this.#controller.abort(error);
    this.#source.return?.()?.catch(() => undefined);
    this.#clear();
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#state = 'done';
      waiter.reject(error);
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
    this.#clear();
    this.#probe?.close();
  }

  #clear(): void {
    this.#completed?.clear();
    this.#slots?.fill(undefined as R);
    this.#ready?.fill(false);
  }

  #unlink(): void {
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener('abort', this.#onAbort);
  }
}

/** The Observable stage: RxJS mergeMap, fed only when a slot is free. */
function parallelObservable<T, R>(
  source: Observable<T>,
  task: Task<T, R>,
  settings: ParallelSettings,
): Observable<R> {
  const { concurrency, ordered, capacity, overflow, monitor, stream } = settings;
  return new Observable<R>((subscriber) => {
    const controller = new AbortController();
    const probe: StageProbe | undefined = monitor?.open(
      'parallel',
      stream,
      capacity,
      overflow,
      (): { buffered: number; inFlight: number } => ({ buffered: waiting.size, inFlight: active }),
    );
    const waiting: OverflowBuffer<T> = new OverflowBuffer<T>(capacity, overflow, probe);
    const feed = new Subject<{ readonly item: T; readonly index: number }>();
    const held = ordered ? new Map<number, R>() : undefined;
    // Results due out while the stage downstream has no room: at most `concurrency`, since a
    // slot stays taken until its result is emitted.
    const ready = new RingBuffer<R>(concurrency);
    const downstream = currentValve();
    let upstream: Subscription | undefined;
    let started = 0;
    let queued = 0; // results moved to `ready`, in input order when ordered
    let active = 0; // started and not yet emitted
    let upstreamDone = false;
    let finished = false;
    let parked = false; // waiting for the stage downstream to make room
    // Shut while every slot is taken, or while the stage we emit into has no room.
    const valve = new Valve(() => active < concurrency && waiting.size === 0, downstream);

    const fail = (error: unknown): void => {
      finished = true;
      upstream?.unsubscribe(); // stops even a synchronous source in the middle of its burst
      controller.abort(error); // in-flight work is aborted before the consumer hears of it
      subscriber.error(error);
    };
    const onItem = (item: T): void => {
      if (probe !== undefined) probe.itemsIn++;
      if (active < concurrency && waiting.size === 0) start(item);
      else if (!waiting.offer(item)) fail(new BufferOverflowError(capacity));
    };
    const start = (item: T): void => {
      active++;
      feed.next({ item, index: started++ });
    };
    const emit = (value: R): void => {
      active--;
      if (probe !== undefined) probe.itemsOut++;
      subscriber.next(value);
      if (waiting.size > 0) start(waiting.shift());
      if (upstreamDone && waiting.size === 0 && active === 0) feed.complete();
      valve.notify();
    };
    /** Emits ready results while the stage downstream has room; parks until it has. */
    const flush = (): void => {
      while (ready.size > 0 && !subscriber.closed) {
        if (downstream !== undefined && !downstream.open) {
          if (!parked) {
            parked = true;
            downstream.whenOpen(resume);
          }
          return;
        }
        emit(ready.shift());
      }
    };
    const resume = (): void => {
      parked = false;
      flush();
    };

    const results = feed
      .pipe(
        mergeMap(
          ({ item, index }) =>
            defer(() => {
              const output = task(item, { signal: controller.signal, index });
              return isPromiseLike(output) ? from(output) : of(output);
            }).pipe(map((value) => ({ value, index }))),
          concurrency,
        ),
      )
      .subscribe({
        next: ({ value, index }) => {
          if (held === undefined) {
            ready.push(value);
          } else {
            held.set(index, value);
            while (held.has(queued)) {
              ready.push(held.get(queued) as R);
              held.delete(queued++);
            }
          }
          flush();
        },
        error: fail,
        complete: () => {
          finished = true;
          subscriber.complete();
        },
      });

    subscribeThroughValve(valve, () =>
      new Observable<T>((inner) => {
        upstream = inner;
        return source.subscribe(inner);
      }).subscribe({
        next: (item) => outsideValve(onItem, item),
        error: fail,
        complete: () => {
          upstreamDone = true;
          if (waiting.size === 0 && active === 0) feed.complete();
        },
      }),
    );

    return () => {
      upstream?.unsubscribe();
      results.unsubscribe();
      valve.clear();
      waiting.clear();
      held?.clear();
      ready.clear();
      probe?.close();
      if (!finished) controller.abort();
    };
  });
}
