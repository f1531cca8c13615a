import type { HandlerContext } from '../core/HandlerContext.js';
import type { EventChannel } from '../behaviors/EventChannel.js';
import { isAbortError } from '../errors/isAbortError.js';
import { DONE } from '../streaming/DONE.js';
import { syncTakerOf, TAKE_SYNC, type SyncTaker } from '../streaming/takeSync.js';
import type { MediatorEvent, StreamOutcome } from './MediatorEvent.js';

/**
 * A live, read-only view of one stream that `instrument()` is watching: what a health check
 * samples on its own timer, so a stream that stopped producing shows even when no event comes.
 *
 * @example
 * ```ts
 * for (const s of telemetry.activeStreams()) {
 *   console.log(s.messageName, s.items, performance.now() - s.startedAt);
 * }
 * ```
 */
export interface ActiveStream {
  /** The message's stable name. */
  readonly messageName: string;
  /** The stream request itself (for logs, never for metric labels). */
  readonly message: unknown;
  /** The call's context; its correlation id is made on first read. */
  readonly context: HandlerContext;
  /** Items delivered to the consumer so far (read live). */
  readonly items: number;
  /** When the stream started (its first read), on the `performance.now()` clock, in ms. */
  readonly startedAt: number;
  /**
   * True while a read is pending: the consumer waits for the producer. False while the consumer
   * holds the last item and has not asked for the next one.
   */
  readonly awaitingItem: boolean;
}

/** What every stream of one `instrument()` shares. @internal */
export interface StreamProbe {
  readonly channel: EventChannel<MediatorEvent>;
  readonly everyItems: number;
  readonly everyMs: number;
  /** The streams between their first read and their end, while observed at their start. */
  readonly active: Set<InstrumentedStream<unknown>>;
}

type Next<T> = () => AsyncIterable<T>;

/**
 * The stream side of `instrument()`: a pull iterator over the inner pipeline that reports its
 * start, first item, progress and end. States: `new` (no read yet), `open`, `done`.
 *
 * Per item the hot path does one increment and one compare (`#items` against `#mark`, the count
 * at which something is due: the first item, then the next multiple of `everyItems`); the clock
 * is read at the start, at the first item, at progress reports and at the end. The time-based
 * progress report is one unref'd interval per stream, cleared when it ends however it ends.
 * @internal
 */
export class InstrumentedStream<T> implements AsyncIterableIterator<T>, SyncTaker<T>, ActiveStream {
  readonly #probe: StreamProbe;
  readonly #next: Next<T>;
  readonly #message: unknown;
  readonly #context: HandlerContext;
  #state: 'new' | 'open' | 'done' = 'new';
  #inner: AsyncIterator<T> | undefined;
  #items = 0;
  /** The item count at which `#reached()` runs next. */
  #mark = 1;
  #firstItemSeen = false;
  /** `#items` at the last progress report. */
  #reported = 0;
  #startedAt = 0;
  #awaiting = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(probe: StreamProbe, message: unknown, next: Next<T>, context: HandlerContext) {
    this.#probe = probe;
    this.#message = message;
    this.#next = next;
    this.#context = context;
  }

  get messageName(): string {
    return this.#context.messageName;
  }

  get message(): unknown {
    return this.#message;
  }

  get context(): HandlerContext {
    return this.#context;
  }

  get items(): number {
    return this.#items;
  }

  get startedAt(): number {
    return this.#startedAt;
  }

  get awaitingItem(): boolean {
    return this.#awaiting;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    const inner = this.#inner;
    if (inner !== undefined) {
      this.#awaiting = true;
      let pending: Promise<IteratorResult<T>>;
      try {
        pending = inner.next();
      } catch (error) {
        return this.#fail(error); // a source whose next() throws synchronously
      }
      return pending.then(this.#onResult, this.#onError);
    }
    if (this.#state === 'done') return Promise.resolve(DONE);
    return this.#start();
  }

  /** Lets a batching stage take what the inner stream holds in one call; those items count too. */
  [TAKE_SYNC](into: T[], max: number): void {
    const inner = this.#inner;
    if (inner === undefined) return;
    const taker = syncTakerOf(inner);
    if (taker === undefined) return;
    const before = into.length;
    taker[TAKE_SYNC](into, max);
    const taken = into.length - before;
    if (taken > 0 && (this.#items += taken) >= this.#mark) this.#reached();
  }

  return(): Promise<IteratorResult<T>> {
    const inner = this.#inner;
    this.#inner = undefined;
    if (this.#state === 'open') this.#end('cancelled', undefined);
    this.#state = 'done';
    if (inner === undefined) return Promise.resolve(DONE);
    const closing = inner.return?.();
    return closing === undefined ? Promise.resolve(DONE) : closing.then(() => DONE);
  }

  #start(): Promise<IteratorResult<T>> {
    const probe = this.#probe;
    this.#state = 'open';
    this.#startedAt = performance.now();
    probe.active.add(this as InstrumentedStream<unknown>);
    if (probe.everyMs !== Infinity) {
      const timer = setInterval(this.#onTick, probe.everyMs);
      timer.unref?.();
      this.#timer = timer;
    }
    const channel = probe.channel;
    if (channel.observed) {
      channel.emit({
        type: 'streamStart',
        messageName: this.#context.messageName,
        message: this.#message,
        context: this.#context,
      });
    }
    try {
      this.#inner = this.#next()[Symbol.asyncIterator](); // runs the inner pipeline: may throw
    } catch (error) {
      return this.#fail(error);
    }
    return this.next();
  }

  // Bound once: the per-item path allocates no closure.
  readonly #onResult = (result: IteratorResult<T>): IteratorResult<T> => {
    this.#awaiting = false;
    if (result.done) {
      this.#inner = undefined;
      if (this.#state === 'open') this.#end('completed', undefined);
      this.#state = 'done';
    } else if (++this.#items >= this.#mark) {
      this.#reached();
    }
    return result;
  };

  readonly #onError = (error: unknown): never => {
    this.#settleFailure(error);
    throw error;
  };

  /** Ends the stream on a failure thrown synchronously; the read rejects with it. */
  #fail(error: unknown): Promise<never> {
    this.#settleFailure(error);
    return Promise.reject(error as Error);
  }

  #settleFailure(error: unknown): void {
    this.#awaiting = false;
    this.#inner = undefined;
    if (this.#state === 'open') {
      const cancelled = this.#context.signal.aborted || isAbortError(error);
      this.#end(cancelled ? 'cancelled' : 'failed', error);
    }
    this.#state = 'done';
  }

  /** The first item arrived, or the count crossed a multiple of `everyItems`. */
  #reached(): void {
    const items = this.#items;
    const every = this.#probe.everyItems;
    this.#mark = every === Infinity ? Infinity : (Math.floor(items / every) + 1) * every;
    const channel = this.#probe.channel;
    if (!this.#firstItemSeen) {
      this.#firstItemSeen = true;
      if (channel.observed) {
        channel.emit({
          type: 'streamFirstItem',
          messageName: this.#context.messageName,
          message: this.#message,
          context: this.#context,
          afterMs: performance.now() - this.#startedAt,
        });
      }
    }
    if (items >= every) this.#progress();
  }

  readonly #onTick = (): void => {
    if (this.#state === 'open') this.#progress();
  };

  #progress(): void {
    const items = this.#items;
    const channel = this.#probe.channel;
    if (channel.observed) {
      channel.emit({
        type: 'streamProgress',
        messageName: this.#context.messageName,
        message: this.#message,
        context: this.#context,
        items,
        itemsSinceLast: items - this.#reported,
        elapsedMs: performance.now() - this.#startedAt,
      });
    }
    this.#reported = items;
  }

  #end(outcome: StreamOutcome, error: unknown): void {
    this.#state = 'done';
    this.#mark = Infinity; // a read settling after return() counts without reporting
    clearInterval(this.#timer);
    this.#timer = undefined;
    const probe = this.#probe;
    probe.active.delete(this as InstrumentedStream<unknown>);
    const channel = probe.channel;
    if (!channel.observed) return;
    const items = this.#items;
    channel.emit({
      type: 'streamEnd',
      messageName: this.#context.messageName,
      message: this.#message,
      context: this.#context,
      startedAt: this.#startedAt,
      outcome,
      items,
      itemsSinceLast: items - this.#reported,
      durationMs: performance.now() - this.#startedAt,
      ...(error === undefined ? {} : { error }),
    });
  }
}
