import { openStream, type SourceOwner } from '../streaming/openStream.js';
import type { BridgeOptions } from '../streaming/toAsyncIterator.js';
import { syncTakerOf, TAKE_SYNC, type SyncTaker } from '../streaming/takeSync.js';
import { Context } from './HandlerContext.js';
import type { Invoke } from './pipeline.js';
import { DONE } from '../streaming/DONE.js';

/** @internal What one `createStream()` iteration needs. */
export interface StreamCall {
  readonly invoke: Invoke;
  readonly owner: SourceOwner;
  readonly bridge: BridgeOptions;
  readonly message: unknown;
  readonly signal: AbortSignal | undefined;
  readonly correlationId: string | undefined;
}

/**
 * The iterator behind `createStream()`. States: `new` → `open` → `done`, with `failed` holding
 * an error to report on the next `next()` (an abort, or a handler that threw on start).
 *
 * Starts the pipeline on the first `next()`. With no caller signal, `next()` hands out the
 * source's own promise untouched (the hot path). With one, a pending `next()` rejects with the
 * abort reason the moment the signal fires. `return()` (`break` in `for await`) aborts the
 * handler's signal and closes the source, awaiting its `finally`.
 * @internal
 */
export class StreamIterator<T> implements AsyncIterator<T>, SyncTaker<T> {
  readonly #call: StreamCall;
  readonly #controller = new AbortController();
  #state: 'new' | 'open' | 'failed' | 'done' = 'new';
  #source: AsyncIterator<T> | undefined;
  #failure: unknown;
  #linked: (() => void) | undefined;
  #pending: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined;

  constructor(call: StreamCall) {
    this.#call = call;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#linked === undefined && this.#source !== undefined) return this.#source.next();
    switch (this.#state) {
      case 'new':
        this.#open();
        return this.next();
      case 'failed': {
        const failure = this.#failure;
        this.#failure = undefined;
        this.#state = 'done';
        return Promise.reject(failure);
      }
      case 'done':
        return Promise.resolve(DONE);
      default:
        return this.#guardedNext();
    }
  }

  /** Lets a batching stage take what the source holds without a promise per item. */
  [TAKE_SYNC](into: T[], max: number): void {
    if (this.#state === 'new') this.#open();
    const source = this.#source;
    if (this.#state !== 'open' || source === undefined || this.#pending !== undefined) return;
    syncTakerOf(source)?.[TAKE_SYNC](into, max);
  }

  return(): Promise<IteratorResult<T>> {
    const source = this.#source;
    const pending = this.#pending;
    this.#pending = undefined;
    this.#finish('done');
    if (source === undefined) return Promise.resolve(DONE);
    this.#controller.abort();
    if (pending !== undefined) {
      // A read is in flight: a generator would queue return() behind it, and a handler that
      // ignores its signal could hold it forever. Settle the read, close in the background.
      pending.resolve(DONE);
      source.return?.()?.catch(() => undefined);
      return Promise.resolve(DONE);
    }
    const closing = source.return?.();
    return closing === undefined ? Promise.resolve(DONE) : closing.then(() => DONE);
  }

  #open(): void {
    const { invoke, owner, bridge, message, signal, correlationId } = this.#call;
    if (signal?.aborted) return this.#fail(signal.reason);
    this.#state = 'open';
    if (signal !== undefined) {
      const onAbort = (): void => this.#abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#linked = onAbort;
    }
    try {
      const context = new Context(
        owner.messageName,
        this.#controller.signal,
        correlationId,
        undefined,
        bridge,
      );
      this.#source = openStream<T>(invoke(message, context), owner, bridge);
    } catch (error) {
      this.#controller.abort();
      this.#fail(error);
    }
  }

  /** `next()` while the caller's signal is linked: settles early on abort, unlinks at the end. */
  #guardedNext(): Promise<IteratorResult<T>> {
    const source = this.#source!;
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      const pending = { resolve, reject };
      this.#pending = pending;
      source.next().then(
        (result) => {
          if (this.#pending !== pending) return; // aborted or returned meanwhile: already settled
          this.#pending = undefined;
          if (result.done) this.#finish('done');
          resolve(result);
        },
        (error: unknown) => {
          if (this.#pending !== pending) return;
          this.#pending = undefined;
          this.#finish('done');
          reject(error);
        },
      );
    });
  }

  /** The caller aborted: reject a pending read (or the next one), abort the handler, close the source. */
  #abort(reason: unknown): void {
    const pending = this.#pending;
    const source = this.#source;
    this.#pending = undefined;
    if (pending !== undefined) {
      this.#finish('done');
      pending.reject(reason);
    } else {
      this.#fail(reason);
    }
    this.#controller.abort(reason);
    source?.return?.()?.catch(() => undefined);
  }

  #fail(error: unknown): void {
    this.#finish('failed');
    this.#failure = error;
  }

  /** Unlinks the caller's signal and forgets the source. */
  #finish(state: 'failed' | 'done'): void {
    this.#state = state;
    this.#source = undefined;
    const onAbort = this.#linked;
    if (onAbort !== undefined) {
      this.#linked = undefined;
      this.#call.signal!.removeEventListener('abort', onAbort);
    }
  }
}
