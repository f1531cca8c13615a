import { InvalidHandlerResultError } from '../errors/InvalidHandlerResultError.js';
import { isPromiseLike, toAsyncIterator, type BridgeOptions } from './toAsyncIterator.js';
import { syncTakerOf, TAKE_SYNC, type SyncTaker } from './takeSync.js';
import { DONE } from './DONE.js';

/** Who produced a stream source, for the error when it is unusable. @internal */
export interface SourceOwner {
  readonly handlerName: string;
  readonly messageName: string;
}

/**
 * Opens what a stream handler or behavior returned as an AsyncIterator, awaiting a promise of a
 * source first. Anything that is not a stream source fails with an
 * {@link InvalidHandlerResultError} naming its owner.
 * @internal
 */
export function openStream<T>(
  raw: unknown,
  owner: SourceOwner,
  bridge: BridgeOptions,
): AsyncIterator<T> {
  if (isPromiseLike(raw)) return new PendingSourceIterator<T>(raw, owner, bridge);
  const iterator = toAsyncIterator<T>(raw, bridge, owner.messageName);
  if (iterator === undefined) throw invalidSource(raw, owner);
  return iterator;
}

function invalidSource(raw: unknown, owner: SourceOwner): InvalidHandlerResultError {
  const type = typeof raw;
  const got =
    raw === null
      ? 'null'
      : raw === undefined
        ? 'undefined'
        : `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} that is not a stream source`;
  return new InvalidHandlerResultError(
    owner.handlerName,
    owner.messageName,
    `returned ${got}; a stream handler must return an Observable, an AsyncIterable, an Iterable or a promise of one.`,
  );
}

/** An iterator over a source that is still being produced by a promise. */
class PendingSourceIterator<T> implements AsyncIterator<T>, SyncTaker<T> {
  #iterator: AsyncIterator<T> | undefined;
  #ready: Promise<AsyncIterator<T>>;
  #closed = false;

  constructor(raw: PromiseLike<unknown>, owner: SourceOwner, bridge: BridgeOptions) {
    this.#ready = Promise.resolve(raw).then((source) => openStream<T>(source, owner, bridge));
    this.#ready.catch(() => undefined); // surfaced by next(); a closed iterator ignores it
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#iterator !== undefined) return this.#iterator.next();
    if (this.#closed) return Promise.resolve(DONE);
    return this.#ready.then(
      (iterator) => {
        if (this.#closed) return DONE;
        this.#iterator = iterator;
        return iterator.next();
      },
      (error: unknown) => {
        // Report a source that failed to open once, like any other source error; then done.
        if (this.#closed) return DONE;
        this.#closed = true;
        throw error;
      },
    );
  }

  [TAKE_SYNC](into: T[], max: number): void {
    const iterator = this.#iterator;
    if (iterator !== undefined) syncTakerOf(iterator)?.[TAKE_SYNC](into, max);
  }

  return(): Promise<IteratorResult<T>> {
    this.#closed = true;
    if (this.#iterator !== undefined) return this.#iterator.return?.() ?? Promise.resolve(DONE);
    // Not opened yet: close the source as soon as it exists, without waiting for it here.
    this.#ready.then((iterator) => iterator.return?.()).catch(() => undefined);
    return Promise.resolve(DONE);
  }
}
