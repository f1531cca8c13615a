import { Observable, type Subscription } from 'rxjs';
import { BufferOverflowError } from '../errors/BufferOverflowError.js';
import { OverflowBuffer } from './OverflowBuffer.js';
import type { OverflowStrategy } from './OverflowStrategy.js';
import type { StageProbe, StreamMonitor } from './StreamMonitor.js';
import { TAKE_SYNC, type SyncTaker } from './takeSync.js';
import { subscribeThroughValve, Valve } from './Valve.js';

/**
 * Reads an Observable with `for await`. An Observable cannot be paused, so items that arrive
 * while the consumer is busy wait in a bounded buffer. When it is full, the overflow strategy
 * decides: under `'error'` the stream fails with a {@link BufferOverflowError} after the buffered
 * items are delivered; the lossy strategies drop (and count) as they say. Never an unbounded
 * queue. Subscribes on the first `next()`; `return()` unsubscribes at once and frees the buffer,
 * even while a `next()` is pending.
 * @internal
 */
export class ObservableIterator<T> implements AsyncIterator<T>, SyncTaker<T> {
  readonly #source: Observable<T>;
  readonly #buffer: OverflowBuffer<T>;
  #subscription: Subscription | undefined;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #state: 'idle' | 'open' | 'completed' | 'failed' | 'closed' = 'idle';
  #error: unknown;
  /** Lets a pull source upstream read one item ahead of the consumer, no more. */
  readonly #valve = new Valve(() => this.#buffer.size === 0);
  #probe: StageProbe | undefined;
  /** Where to report, once subscribed (an iterator never read registers nothing). */
  readonly #monitor: { readonly monitor: StreamMonitor; readonly stream: string } | undefined;

  constructor(
    source: Observable<T>,
    capacity: number,
    overflow: Exclude<OverflowStrategy, 'block'> = 'error',
    monitor?: StreamMonitor,
    stream = 'stream',
  ) {
    this.#source = source;
    this.#buffer = new OverflowBuffer(capacity, overflow);
    if (monitor !== undefined) this.#monitor = { monitor, stream };
  }

  /** Items dropped so far by a lossy overflow strategy. */
  get dropped(): number {
    return this.#buffer.dropped;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#state === 'idle') this.#subscribe();
    if (this.#buffer.size > 0) {
      const value = this.#buffer.shift();
      const probe = this.#probe;
      if (probe !== undefined) {
        probe.itemsOut++;
        if (this.#buffer.size === 0) probe.producerWaiting(false);
      }
      this.#valve.notify();
      return Promise.resolve({ value, done: false });
    }
    if (this.#state === 'failed') {
      this.#state = 'closed';
      this.#probe?.close();
      return Promise.reject(this.#error);
    }
    if (this.#state !== 'open') {
      this.#probe?.close();
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.#waiter !== undefined) {
      return Promise.reject(new Error('next() called again before the previous next() settled.'));
    }
    this.#probe?.consumerWaiting(true);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Hands buffered items to a batching stage in one call. */
  [TAKE_SYNC](into: T[], max: number): void {
    if (this.#state === 'idle') this.#subscribe();
    const buffer = this.#buffer;
    const count = Math.min(max, buffer.size);
    if (count === 0) return;
    for (let i = 0; i < count; i++) into.push(buffer.shift());
    const probe = this.#probe;
    if (probe !== undefined) {
      probe.itemsOut += count;
      if (buffer.size === 0) probe.producerWaiting(false);
    }
    this.#valve.notify();
  }

  return(): Promise<IteratorResult<T>> {
    this.#close();
    return Promise.resolve({ value: undefined, done: true });
  }

  #subscribe(): void {
    this.#state = 'open';
    if (this.#monitor !== undefined) {
      const buffer = this.#buffer;
      this.#probe = buffer.probe = this.#monitor.monitor.open(
        'bridge',
        this.#monitor.stream,
        buffer.capacity,
        buffer.strategy,
        () => ({ buffered: buffer.size, inFlight: 0 }),
      );
    }
    // A synchronous source may emit, complete or fail inside subscribe(). The source is given a
    // subscriber held from the start, so an overflow during that first burst unsubscribes it at
    // once (a synchronous source stops when it sees `closed`) instead of letting it run on.
    new Observable<T>((subscriber) => {
      this.#subscription = subscriber;
      subscribeThroughValve(this.#valve, () => this.#source.subscribe(subscriber));
    }).subscribe({
      next: (value) => this.#push(value),
      error: (error: unknown) => this.#fail(error),
      complete: () => this.#complete(),
    });
  }

  #push(value: T): void {
    if (this.#state !== 'open') return;
    const waiter = this.#waiter;
    const probe = this.#probe;
    if (probe !== undefined) {
      probe.itemsIn++;
      if (waiter !== undefined) {
        probe.itemsOut++;
        probe.consumerWaiting(false);
      } else {
        probe.producerWaiting(true);
      }
    }
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ value, done: false });
    } else if (!this.#buffer.offer(value)) {
      this.#fail(new BufferOverflowError(this.#buffer.capacity));
      this.#unsubscribe();
    }
  }

  #fail(error: unknown): void {
    if (this.#state !== 'open') return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#state = 'closed';
      this.#probe?.close();
      waiter.reject(error);
    } else {
      this.#state = 'failed';
      this.#error = error;
    }
  }

  #complete(): void {
    if (this.#state !== 'open') return;
    this.#state = 'completed';
    this.#subscription = undefined;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter !== undefined) {
      this.#probe?.close();
      waiter.resolve({ value: undefined, done: true });
    }
  }

  #close(): void {
    this.#state = 'closed';
    this.#probe?.close();
    this.#valve.clear();
    this.#buffer.clear();
    this.#error = undefined;
    this.#unsubscribe();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ value: undefined, done: true });
  }

  #unsubscribe(): void {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    subscription?.unsubscribe();
  }
}
