import { Observable, type Subscription } from 'rxjs';
import { StreamTimeoutError, type StreamTimeoutKind } from '../errors/StreamTimeoutError.js';
import { checkObject, show } from '../errors/validate.js';
import { streamOperator, type StreamOperator } from '../streaming/StreamOperator.js';
import { currentValve, subscribeThroughValve } from '../streaming/Valve.js';
import { DONE } from '../streaming/DONE.js';

/** Options of {@link streamTimeout}. Give at least one; each is in milliseconds. */
export interface StreamTimeoutOptions {
  /** The first item must arrive within this long of the first read (or subscription). No default. */
  readonly firstMs?: number;
  /**
   * Each next item must arrive within this long, counting only the time the consumer spends
   * waiting for it. Also bounds the first item when `firstMs` is not given. No default.
   */
  readonly idleMs?: number;
  /** The whole stream must complete within this long of the first read (or subscription). No default. */
  readonly totalMs?: number;
}

/** The longest delay `setTimeout` honours; a longer one would fire at once. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Fails a stream that is too slow, with a {@link StreamTimeoutError} saying which limit fired
 * (`'first'`, `'idle'` or `'total'`) and what it was. The source is closed first — on the
 * `for await` path with `return()`, in the background even while its `next()` is pending; on the
 * Observable path by unsubscribing — so the handler's signal is aborted; then the consumer gets
 * the error once: a pending read rejects with it, or else the next read does. Every timer is
 * cleared on completion, error, `return()`/unsubscribe and abort.
 *
 * Idle time is time the consumer spends *waiting*, never time it spends working, so a slow
 * consumer over a pull source does not trip it:
 * - `for await`: a hand-written stage; idle time runs only while a read is pending on the source.
 * - Observable: also hand-written, because RxJS `timeout({ each })` counts the time between
 *   emissions whatever the demand. Idle time starts after each emission (once the subscriber's
 *   synchronous `next()` has returned) unless the nearest library stage downstream (a `parallel`,
 *   a `for await` bridge) has no room — its valve is closed, so a pull source upstream is paused
 *   on purpose — and then starts only when that stage makes room. Asynchronous operators between
 *   this stage and that one (`delay`, `observeOn`, a `mergeMap` of promises) hide demand: time an
 *   item spends in them counts as waiting. A plain subscriber shows no demand at all, so for it
 *   idle time is the time between emissions, as in RxJS.
 *
 * `firstMs` and `totalMs` count from the first read (`for await`) or the subscription.
 *
 * @param options - `firstMs`, `idleMs`, `totalMs`: at least one, each a finite number of
 *   milliseconds > 0 (and ≤ 2³¹−1, `setTimeout`'s limit).
 * @example
 * ```ts
 * const rows = mediator
 *   .createStream(new ExportOrders())
 *   .pipe(streamTimeout({ firstMs: 10_000, idleMs: 2_000, totalMs: 600_000 }));
 * try {
 *   for await (const row of rows) await write(row); // time spent in write() never counts
 * } catch (error) {
 *   if (isStreamTimeoutError(error)) log.warn(`export stalled: ${error.kind} > ${error.ms} ms`);
 * }
 * ```
 */
export function streamTimeout<T>(options: StreamTimeoutOptions): StreamOperator<T, T> {
  checkObject('options', options);
  const limits: Limits = {
    first: checkLimit('firstMs', options?.firstMs),
    idle: checkLimit('idleMs', options?.idleMs),
    total: checkLimit('totalMs', options?.totalMs),
  };
  if (limits.first === undefined && limits.idle === undefined && limits.total === undefined) {
    throw new TypeError(
      `streamTimeout() needs at least one of 'firstMs', 'idleMs' or 'totalMs', got ${show(options)}.`,
    );
  }
  return streamOperator<T, T>(
    (source) => timeoutObservable(source, limits),
    (source, context) => ({
      [Symbol.asyncIterator]: () =>
        new TimeoutIterator(source[Symbol.asyncIterator](), limits, context.signal),
    }),
  );
}

interface Limits {
  readonly first: number | undefined;
  readonly idle: number | undefined;
  readonly total: number | undefined;
}

function checkLimit(option: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    throw new TypeError(`Option '${option}' must be a number of milliseconds, got ${show(value)}.`);
  }
  if (!(value > 0 && value <= MAX_DELAY)) {
    throw new RangeError(
      `Option '${option}' must be a finite number of milliseconds > 0 and ≤ ${MAX_DELAY}, got ${show(value)}.`,
    );
  }
  return value;
}

/**
 * Times waits against a limit with one lazily re-armed timer rather than a timer per item: a wait
 * that ends just clears `since`; when the timer fires it checks the wait in progress, if any, and
 * fires or re-arms for the time that wait has left.
 */
class WaitTimer {
  readonly #ms: number;
  readonly #onExpire: () => void;
  #since: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number, onExpire: () => void) {
    this.#ms = ms;
    this.#onExpire = onExpire;
  }

  /** A wait begins (a wait already in progress goes on). */
  start(): void {
    if (this.#since !== undefined) return;
    this.#since = performance.now();
    if (this.#timer === undefined) this.#timer = setTimeout(this.#check, this.#ms);
  }

  /** The wait is over. */
  stop(): void {
    this.#since = undefined;
  }

  clear(): void {
    this.#since = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    if (this.#since === undefined) return; // no wait now: the next start() arms a timer
    const left = this.#since + this.#ms - performance.now();
    if (left <= 0) this.#onExpire();
    else this.#timer = setTimeout(this.#check, left);
  };
}

/**
 * The `for await` stage. One source read at a time, started by the consumer's `next()`: idle
 * time runs only while that read is pending.
 */
class TimeoutIterator<T> implements AsyncIterator<T> {
  readonly #source: AsyncIterator<T>;
  readonly #limits: Limits;
  readonly #signal: AbortSignal | undefined;
  readonly #idle: WaitTimer | undefined;
  #firstTimer: ReturnType<typeof setTimeout> | undefined;
  #totalTimer: ReturnType<typeof setTimeout> | undefined;
  #state: 'new' | 'open' | 'failed' | 'done' = 'new';
  #failure: unknown;
  #received = false;
  #waiter: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined;
  #onAbort: (() => void) | undefined;

  constructor(source: AsyncIterator<T>, limits: Limits, signal: AbortSignal | undefined) {
    this.#source = source;
    this.#limits = limits;
    this.#signal = signal;
    const { idle } = limits;
    if (idle !== undefined) {
      this.#idle = new WaitTimer(idle, () => this.#fail(new StreamTimeoutError('idle', idle)));
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#state === 'new') this.#start();
    if (this.#state !== 'open') return this.#settled();
    if (this.#waiter !== undefined) {
      return Promise.reject(new Error('next() called again before the previous next() settled.'));
    }
    const read = new Promise<IteratorResult<T>>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    // Until the first item, firstMs (when given) is the only per-read limit.
    if (this.#received || this.#limits.first === undefined) this.#idle?.start();
    this.#source.next().then(this.#onResult, this.#onSourceError);
    return read;
  }

  return(): Promise<IteratorResult<T>> {
    if (this.#state === 'failed' || this.#state === 'done') {
      // A failure not yet reported (total fired while the consumer was busy) is dropped: the
      // consumer is leaving. The source was closed when it failed.
      this.#state = 'done';
      this.#failure = undefined;
      return Promise.resolve(DONE);
    }
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#finish();
    waiter?.resolve(DONE);
    const closing = this.#source.return?.();
    if (closing === undefined) return Promise.resolve(DONE);
    // With a read in flight the source may queue return() behind it: close in the background.
    if (waiter !== undefined) {
      closing.catch(() => undefined);
      return Promise.resolve(DONE);
    }
    return closing.then(() => DONE);
  }

  /** The first read: link the caller's signal and start the clocks that count from here. */
  #start(): void {
    this.#state = 'open';
    const signal = this.#signal;
    if (signal !== undefined) {
      if (signal.aborted) return this.#fail(signal.reason);
      this.#onAbort = () => this.#fail(signal.reason);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    const { first, total } = this.#limits;
    if (first !== undefined) {
      this.#firstTimer = setTimeout(
        () => this.#fail(new StreamTimeoutError('first', first)),
        first,
      );
    }
    if (total !== undefined) {
      this.#totalTimer = setTimeout(
        () => this.#fail(new StreamTimeoutError('total', total)),
        total,
      );
    }
  }

  readonly #onResult = (result: IteratorResult<T>): void => {
    if (this.#state !== 'open') return; // timed out, aborted or returned meanwhile
    this.#idle?.stop();
    const waiter = this.#waiter!;
    this.#waiter = undefined;
    if (result.done) {
      this.#finish();
    } else if (!this.#received) {
      this.#received = true;
      clearTimeout(this.#firstTimer);
      this.#firstTimer = undefined;
    }
    waiter.resolve(result);
  };

  readonly #onSourceError = (error: unknown): void => {
    if (this.#state === 'open') this.#fail(error, false);
  };

  /** The first failure: stop the clocks, close the source, then tell the consumer once. */
  #fail(error: unknown, closeSource = true): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#failure = error;
    this.#stop();
    if (closeSource) this.#source.return?.()?.catch(() => undefined);
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#state = 'done';
      this.#failure = undefined;
      waiter.reject(error);
    }
  }

  #settled(): Promise<IteratorResult<T>> {
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
    this.#stop();
  }

  #stop(): void {
    clearTimeout(this.#firstTimer);
    clearTimeout(this.#totalTimer);
    this.#firstTimer = undefined;
    this.#totalTimer = undefined;
    this.#idle?.clear();
    if (this.#onAbort !== undefined) {
      this.#signal!.removeEventListener('abort', this.#onAbort);
      this.#onAbort = undefined;
    }
  }
}

/**
 * The Observable stage. Idle time starts after each emission, or — when the stage downstream
 * has no room — once it makes room (its valve opens), and stops at the next emission.
 */
function timeoutObservable<T>(source: Observable<T>, limits: Limits): Observable<T> {
  return new Observable<T>((subscriber) => {
    // The valve of the nearest stage downstream: closed means it paused the pull on purpose.
    const valve = currentValve();
    let received = false;
    let awaitingRoom = false;
    const fire = (kind: StreamTimeoutKind, ms: number) => (): void => {
      upstream.unsubscribe(); // the source closes (the handler's signal aborts) first
      subscriber.error(new StreamTimeoutError(kind, ms));
    };
    const { first, idle: idleMs, total } = limits;
    const idle = idleMs === undefined ? undefined : new WaitTimer(idleMs, fire('idle', idleMs));
    let firstTimer = first === undefined ? undefined : setTimeout(fire('first', first), first);
    const totalTimer = total === undefined ? undefined : setTimeout(fire('total', total), total);

    const awaitNext = (): void => {
      if (subscriber.closed) return;
      if (valve !== undefined && !valve.open) {
        if (!awaitingRoom) {
          awaitingRoom = true;
          valve.whenOpen(onRoom);
        }
        return;
      }
      idle!.start();
    };
    const onRoom = (): void => {
      awaitingRoom = false;
      awaitNext();
    };
    if (idle !== undefined && first === undefined) awaitNext(); // idleMs bounds the first item

    const subscribe = (): Subscription =>
      source.subscribe({
        next: (value) => {
          if (!received) {
            received = true;
            clearTimeout(firstTimer);
            firstTimer = undefined;
          }
          idle?.stop();
          subscriber.next(value);
          if (idle !== undefined) awaitNext();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    // Re-expose the valve so a pull source upstream still sees the stage's room.
    // (Timers fire asynchronously, so `upstream` is always set by the time `fire` runs.)
    const upstream = valve === undefined ? subscribe() : subscribeThroughValve(valve, subscribe);

    return () => {
      clearTimeout(firstTimer);
      clearTimeout(totalTimer);
      idle?.clear();
      upstream.unsubscribe();
    };
  });
}
