import { randomUUID } from 'node:crypto';
import type { Observable } from 'rxjs';
import type { BehaviorSet, RequestBehavior, StreamBehavior } from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import type { Mediator } from '../core/Mediator.js';
import { kindOf, messageNameOf } from '../core/MessageName.js';
import type { MessageClass, StreamSource } from '../core/types.js';
import { isAbortError } from '../errors/isAbortError.js';
import {
  checkFunction,
  checkInteger,
  checkObject,
  checkOptionalString,
  checkSignal,
  show,
} from '../errors/validate.js';
import type { TryMapFailure } from '../operators/tryMap.js';
import { DONE } from '../streaming/DONE.js';
import { attemptsOf } from './attempts.js';
import {
  checkQuery,
  type AppendResult,
  type DeadLetter,
  type DeadLetterError,
  type DeadLetterKind,
  type DeadLetterQuery,
  type DeadLetterStore,
} from './DeadLetter.js';
import { EventChannel } from './EventChannel.js';
import { MemoryDeadLetterStore } from './MemoryDeadLetterStore.js';
import { policyBehaviors } from './policyBehaviors.js';

/** Options of {@link deadLetters}. */
export interface DeadLetterOptions {
  /** Where letters go. Default: a new `MemoryDeadLetterStore()` (1000 letters). */
  readonly store?: DeadLetterStore;
  /**
   * What to record of a failed request or stream request. With the file store it must be
   * JSON-safe (see `FileDeadLetterStore` for what JSON does to other values). Default: a shallow
   * copy of the message's own enumerable fields, which `replay()` assigns back onto a new
   * instance of the message class.
   */
  readonly payload?: (message: object) => unknown;
  /**
   * Whether a final failure is worth a dead letter (e.g. not a validation error that no replay
   * will fix). Cancellations are never recorded, whatever this says. Default: every failure.
   */
  readonly shouldRecord?: (error: unknown) => boolean;
  /**
   * Most letters being written at once before item letters (from {@link DeadLetterPolicy.itemErrors},
   * which cannot wait) are dropped, counted and announced as `'dropped'` with reason `'backlog'`.
   * Request and stream letters are awaited by their call, so they never pile up. A whole number
   * ≥ 1, or Infinity. Default: 1000.
   */
  readonly maxPendingWrites?: number;
  /** Record only failures of these message classes (requests and stream requests). Default: all. */
  readonly for?: readonly MessageClass[];
  /** The policy's name in events and diagnostics. Default: `'deadLetters'`. */
  readonly name?: string;
}

/** Fields every dead-letter event has. */
interface DeadLetterEventBase {
  /** The policy's `name`. */
  readonly policy: string;
  /** The message the letter is about. */
  readonly messageName: string;
  /** The call behind the event, when there is one (not for item letters, evictions or replays). */
  readonly context?: HandlerContext;
}

/**
 * What a dead-letter policy announces (it never logs): a letter was recorded, a letter was
 * dropped (evicted by a full store, or an item letter over `maxPendingWrites`), a letter could
 * not be built or written, a letter was replayed.
 *
 * @example
 * ```ts
 * policy.events.subscribe((e) => {
 *   if (e.type === 'deadLetter') metrics.deadLetters.inc({ message: e.messageName, kind: e.letter.kind });
 *   if (e.type === 'storeError') log.error({ err: e.error }, 'dead letter lost');
 * });
 * ```
 */
export type DeadLetterEvent =
  | (DeadLetterEventBase & { readonly type: 'deadLetter'; readonly letter: DeadLetter })
  | (DeadLetterEventBase & {
      readonly type: 'dropped';
      readonly reason: 'evicted' | 'backlog';
      readonly letter: DeadLetter;
    })
  | (DeadLetterEventBase & {
      readonly type: 'storeError';
      /** The store's error, or the exception of `payload`, `shouldRecord` or JSON. */
      readonly error: unknown;
      /** The letter that was not written, when it could be built. */
      readonly letter?: DeadLetter;
    })
  | (DeadLetterEventBase & {
      readonly type: 'replayed';
      readonly letter: DeadLetter;
      /** `'succeeded'`: dispatched and removed; `'failed'`: kept; `'skipped'`: not dispatched, kept. */
      readonly outcome: 'succeeded' | 'failed' | 'skipped';
      /** Why it failed (outcome `'failed'`), or a store error on removal (outcome `'succeeded'`). */
      readonly error?: unknown;
      /** Why it was skipped. */
      readonly reason?: string;
    });

/** Counters of a {@link DeadLetterPolicy}, since it was created. */
export interface DeadLetterStats {
  /** Letters written to the store. */
  readonly recorded: number;
  /** Letters lost: evicted by the store, or item letters dropped over `maxPendingWrites`. */
  readonly dropped: number;
  /** Letters that could not be built or written, and removals after replay that failed. */
  readonly storeErrors: number;
  /** Letters being written now. */
  readonly pendingWrites: number;
  readonly replaySucceeded: number;
  readonly replayFailed: number;
  readonly replaySkipped: number;
}

/** Options of {@link DeadLetterPolicy.itemErrors}. */
export interface ItemErrorOptions {
  /** The stream call's correlation id, recorded on each item letter. Default: none. */
  readonly correlationId?: string;
  /** What to record of a failed item. Default: the item itself. */
  readonly payload?: (item: any, index: number) => unknown;
}

/** What {@link DeadLetterPolicy.replay} may re-dispatch through. */
export type ReplayTarget = Pick<Mediator, 'send' | 'createStream' | 'messageClass'>;

/** Options of {@link DeadLetterPolicy.replay}. */
export interface ReplayOptions extends DeadLetterQuery {
  /**
   * Stops the replay between letters and aborts the one in flight; `replay()` then rejects with
   * the signal's reason (letters already replayed are removed, and announced). Default: none.
   */
  readonly signal?: AbortSignal;
  /**
   * Rebuilds the message from a letter. Default: `Object.assign(Object.create(C.prototype),
   * letter.payload)` where `C = mediator.messageClass(letter.messageName)`; a letter whose
   * message name the mediator does not know is skipped. Item letters get no message by default.
   */
  readonly revive?: (letter: DeadLetter) => object;
  /**
   * Re-dispatches one letter; a rejection means it failed again. Required for item letters,
   * which are skipped without it. Default: `mediator.send(message)` for request letters; for
   * stream letters, `mediator.createStream(message)` drained (its items are discarded: pass a
   * `dispatch` to use them). Dispatch the `message` object you are given: that is how the policy
   * knows not to record a replay that fails again.
   */
  readonly dispatch?: (
    letter: DeadLetter,
    message: object | undefined,
    options: { readonly signal: AbortSignal | undefined },
  ) => unknown;
}

/** What {@link DeadLetterPolicy.replay} did, letter by letter. */
export interface ReplayResult {
  /** Ids dispatched successfully and removed from the store. */
  readonly succeeded: readonly string[];
  /** Letters that failed again (or could not be revived); they stay in the store, unchanged. */
  readonly failed: readonly { readonly id: string; readonly error: unknown }[];
  /** Letters not dispatched (no message class, item letter without `dispatch`); they stay. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

/**
 * A dead-letter queue: a behavior set for the mediator's `behaviors`, plus its store, events,
 * counters, a hook for `tryMap`'s failed items, and replay.
 */
export interface DeadLetterPolicy extends BehaviorSet {
  /** The policy's name. */
  readonly name: string;
  /** Where its letters go. */
  readonly store: DeadLetterStore;
  /** Every decision, for metrics and logs. */
  readonly events: Observable<DeadLetterEvent>;
  /** Counters since creation (a snapshot). */
  stats(): DeadLetterStats;
  /**
   * An `onError` for `tryMap` that records each failed item as an `'item'` letter (the item as
   * payload, its index, its attempts). `source` is the stream's message name, or the stream
   * request itself (then a replay of it is recognized and not recorded again). The write starts
   * at once and is not awaited (tryMap's hook is synchronous): await {@link flush} to see it
   * done; failures surface as `'storeError'` events and in `stats()`.
   */
  itemErrors(
    source: string | object,
    options?: ItemErrorOptions,
  ): (failure: TryMapFailure<any>) => void;
  /** Resolves when every letter write started so far has settled. Never rejects. */
  flush(): Promise<void>;
  /**
   * Re-dispatches stored letters one at a time, oldest first, and removes each that then
   * succeeds. A letter that fails again stays as it was (it is not recorded a second time).
   * One replay at a time per policy.
   */
  replay(mediator: ReplayTarget, options?: ReplayOptions): Promise<ReplayResult>;
}

/**
 * A dead-letter queue for requests and streams that finally fail: put it outermost, before
 * `retry` (`deadLetters → retry → circuitBreaker → bulkhead → rateLimit → timeout → handler`),
 * so it sees what is left after retries. A failed call is recorded with its message name,
 * payload, error, attempts (from the retry behavior), correlation id and time; the record is
 * written before the caller sees the error, which is then rethrown unchanged. A store failure
 * never replaces that error: it is announced as a `'storeError'` event and counted.
 * Cancellations (the call's signal aborted, or an abort error) are never recorded.
 *
 * A failed stream is recorded as a `'stream'` letter with the number of items it delivered;
 * the consumer still gets the error. Items `tryMap` gives up on are recorded through
 * {@link DeadLetterPolicy.itemErrors}.
 *
 * @example
 * ```ts
 * const dlq = deadLetters({ store: new FileDeadLetterStore({ path: './dead-letters.ndjson' }) });
 * const mediator = createMediator({
 *   handlers,
 *   behaviors: [dlq, retry({ maxAttempts: 3 }), circuitBreaker(), timeout({ ms: 2_000 })],
 * });
 * dlq.events.subscribe((e) => e.type === 'deadLetter' && alert(e.messageName, e.letter.error.message));
 *
 * for await (const row of mediator.createStream(new ExportOrders()).pipe(
 *   tryMap(enrich, { retry: { maxAttempts: 3 }, fallback: () => null, onError: dlq.itemErrors('ExportOrders') }),
 * )) write(row);
 *
 * // later, when the dependency is back
 * const { succeeded, failed } = await dlq.replay(mediator);
 * ```
 */
export function deadLetters(options: DeadLetterOptions = {}): DeadLetterPolicy {
  checkObject('options', options);
  const name = checkOptionalString('name', options.name) ?? 'deadLetters';
  const store =
    options.store === undefined ? new MemoryDeadLetterStore() : checkStore(options.store);
  checkFunction('payload', options.payload);
  checkFunction('shouldRecord', options.shouldRecord);
  const maxPendingWrites =
    options.maxPendingWrites === undefined
      ? 1000
      : checkInteger('maxPendingWrites', options.maxPendingWrites, 1, true);
  const recorder = new Recorder(
    name,
    store,
    options.payload ?? ownFields,
    options.shouldRecord,
    maxPendingWrites,
  );

  const request: RequestBehavior = {
    handle: (message, next, context) =>
      next().then(undefined, (error: unknown) =>
        recorder.failed('request', message, context, error, undefined),
      ),
  };
  const stream: StreamBehavior = {
    handle: (message, next, context) =>
      new DeadLetterIterator(recorder, message, next(), context) as StreamSource<never>,
  };

  return {
    behaviors: policyBehaviors(name, options.for, { request, stream }),
    name,
    store,
    events: recorder.channel.events,
    stats: () => recorder.stats(),
    itemErrors: (source, itemOptions) => recorder.itemErrors(source, itemOptions),
    flush: () => recorder.flush(),
    replay: (mediator, replayOptions) => recorder.replay(mediator, replayOptions),
  };
}

/** The default payload: the message's own enumerable fields. */
function ownFields(message: object): unknown {
  return { ...message };
}

const STORE_METHODS = ['append', 'read', 'list', 'remove', 'count'] as const;

function checkStore(store: unknown): DeadLetterStore {
  const missing =
    typeof store !== 'object' || store === null
      ? undefined
      : STORE_METHODS.find((m) => typeof (store as Record<string, unknown>)[m] !== 'function');
  if (typeof store !== 'object' || store === null || missing !== undefined) {
    throw new TypeError(
      `Option 'store' must be a DeadLetterStore (with ${STORE_METHODS.join(', ')})${
        missing === undefined ? '' : `; it has no ${missing}()`
      }, got ${show(store)}.`,
    );
  }
  return store as DeadLetterStore;
}

/** The error as a letter records it: what survives JSON. */
function describeError(error: unknown): DeadLetterError {
  if (typeof error === 'object' && error !== null) {
    const { name, message, stack, code } = error as Record<string, unknown>;
    if (typeof message === 'string') {
      return {
        name: typeof name === 'string' ? name : 'Error',
        message,
        ...(typeof stack === 'string' ? { stack } : undefined),
        ...(typeof code === 'string' || typeof code === 'number' ? { code } : undefined),
      };
    }
  }
  let message: string;
  try {
    message = String(error);
  } catch {
    message = Object.prototype.toString.call(error);
  }
  return { name: 'NonError', message };
}

/** The policy's state and its slow paths: everything past a failure. */
class Recorder {
  readonly channel = new EventChannel<DeadLetterEvent>();
  /** Messages being replayed: their failures are not recorded again. */
  readonly #replaying = new WeakSet<object>();
  /** Errors already recorded as item letters: a stream failing with one is not recorded again. */
  readonly #itemErrors = new WeakSet<object>();
  readonly #pending = new Set<Promise<void>>();
  #replayRunning = false;
  #recorded = 0;
  #dropped = 0;
  #storeErrors = 0;
  #replaySucceeded = 0;
  #replayFailed = 0;
  #replaySkipped = 0;

  constructor(
    readonly name: string,
    readonly store: DeadLetterStore,
    readonly payload: (message: object) => unknown,
    readonly shouldRecord: ((error: unknown) => boolean) | undefined,
    readonly maxPendingWrites: number,
  ) {}

  stats(): DeadLetterStats {
    return {
      recorded: this.#recorded,
      dropped: this.#dropped,
      storeErrors: this.#storeErrors,
      pendingWrites: this.#pending.size,
      replaySucceeded: this.#replaySucceeded,
      replayFailed: this.#replayFailed,
      replaySkipped: this.#replaySkipped,
    };
  }

  /**
   * A request or stream finally failed with `error`: record it (unless it is a cancellation, a
   * replay, or not wanted), then reject with `error` unchanged.
   */
  failed(
    kind: 'request' | 'stream',
    message: object,
    context: HandlerContext,
    error: unknown,
    delivered: number | undefined,
  ): Promise<never> {
    if (
      context.signal.aborted ||
      isAbortError(error) ||
      this.#replaying.has(message) ||
      (kind === 'stream' &&
        typeof error === 'object' &&
        error !== null &&
        this.#itemErrors.has(error)) ||
      !this.#wants(error, context.messageName, context)
    ) {
      return Promise.reject(error);
    }
    let letter: DeadLetter;
    try {
      letter = makeLetter(
        kind,
        context.messageName,
        this.payload(message),
        error,
        attemptsOf(context, error),
        context.correlationId,
        kind === 'stream' ? { delivered } : undefined,
      );
    } catch (thrown) {
      this.#storeFailed(thrown, context.messageName, context, undefined);
      return Promise.reject(error);
    }
    return this.#write(letter, context).then(() => Promise.reject(error));
  }

  itemErrors(
    source: string | object,
    options: ItemErrorOptions = {},
  ): (failure: TryMapFailure<unknown>) => void {
    let messageName: string;
    let request: object | undefined;
    if (typeof source === 'string' && source !== '') {
      messageName = source;
    } else if (
      typeof source === 'object' &&
      source !== null &&
      kindOf((source as { constructor?: unknown }).constructor) !== undefined
    ) {
      request = source;
      messageName = messageNameOf((source as { constructor: MessageClass }).constructor);
    } else {
      throw new TypeError(`itemErrors() needs a message name or a message, got ${show(source)}.`);
    }
    checkObject('options', options);
    const correlationId = checkOptionalString('correlationId', options.correlationId);
    checkFunction('payload', options.payload);
    const payload = options.payload ?? ((item: unknown) => item);

    return ({ error, item, index, attempts }) => {
      if (isAbortError(error)) return;
      if (request !== undefined && this.#replaying.has(request)) return;
      if (!this.#wants(error, messageName, undefined)) return;
      if (typeof error === 'object' && error !== null) this.#itemErrors.add(error);
      let letter: DeadLetter;
      try {
        letter = makeLetter(
          'item',
          messageName,
          payload(item, index),
          error,
          attempts,
          correlationId,
          {
            index,
          },
        );
      } catch (thrown) {
        return this.#storeFailed(thrown, messageName, undefined, undefined);
      }
      if (this.#pending.size >= this.maxPendingWrites) {
        this.#dropped++;
        if (this.channel.observed) {
          this.channel.emit({
            type: 'dropped',
            policy: this.name,
            messageName,
            reason: 'backlog',
            letter,
          });
        }
        return;
      }
      void this.#write(letter, undefined);
    };
  }

  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async replay(mediator: ReplayTarget, options: ReplayOptions = {}): Promise<ReplayResult> {
    if (
      typeof mediator !== 'object' ||
      mediator === null ||
      typeof mediator.send !== 'function' ||
      typeof mediator.createStream !== 'function' ||
      typeof mediator.messageClass !== 'function'
    ) {
      throw new TypeError(`replay() needs a mediator, got ${show(mediator)}.`);
    }
    checkObject('options', options);
    const query = checkQuery({ filter: options.filter, limit: options.limit });
    const signal = checkSignal(options.signal);
    checkFunction('revive', options.revive);
    checkFunction('dispatch', options.dispatch);
    if (this.#replayRunning) {
      throw new Error(`A replay of ${this.name} is already running; wait for it to finish.`);
    }
    signal?.throwIfAborted();
    this.#replayRunning = true;
    const result = {
      succeeded: [] as string[],
      failed: [] as ReplayResult['failed'][number][],
      skipped: [] as ReplayResult['skipped'][number][],
    };
    try {
      for await (const letter of this.store.read(query)) {
        signal?.throwIfAborted();
        await this.#replayOne(letter, mediator, options, signal, result);
      }
    } finally {
      this.#replayRunning = false;
    }
    return result;
  }

  async #replayOne(
    letter: DeadLetter,
    mediator: ReplayTarget,
    { revive, dispatch }: ReplayOptions,
    signal: AbortSignal | undefined,
    result: {
      succeeded: string[];
      failed: ReplayResult['failed'][number][];
      skipped: ReplayResult['skipped'][number][];
    },
  ): Promise<void> {
    const skip = (reason: string): void => {
      this.#replaySkipped++;
      result.skipped.push({ id: letter.id, reason });
      this.#replayed(letter, 'skipped', undefined, reason);
    };
    const fail = (error: unknown): void => {
      this.#replayFailed++;
      result.failed.push({ id: letter.id, error });
      this.#replayed(letter, 'failed', error, undefined);
    };
    if (letter.kind === 'item' && dispatch === undefined) {
      return skip('item letters are replayed only through a dispatch option');
    }
    let message: object | undefined;
    try {
      if (revive !== undefined) {
        message = revive(letter);
      } else if (letter.kind !== 'item') {
        const messageClass = mediator.messageClass(letter.messageName);
        if (messageClass === undefined) {
          return skip(`the mediator knows no message named '${letter.messageName}'`);
        }
        message = Object.assign(
          Object.create(messageClass.prototype as object) as object,
          letter.payload,
        );
      }
    } catch (error) {
      return fail(error);
    }
    if (message !== undefined) this.#replaying.add(message);
    try {
      const call = { signal, correlationId: letter.correlationId };
      if (dispatch !== undefined) await dispatch(letter, message, { signal });
      else if (letter.kind === 'request') await mediator.send(message as never, call);
      else for await (const _ of mediator.createStream(message as never, call));
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return fail(error);
    } finally {
      if (message !== undefined) this.#replaying.delete(message);
    }
    result.succeeded.push(letter.id);
    this.#replaySucceeded++;
    let removalError: unknown;
    try {
      await this.store.remove([letter.id]);
    } catch (error) {
      removalError = error;
      this.#storeFailed(error, letter.messageName, undefined, letter);
    }
    this.#replayed(letter, 'succeeded', removalError, undefined);
  }

  #replayed(
    letter: DeadLetter,
    outcome: 'succeeded' | 'failed' | 'skipped',
    error: unknown,
    reason: string | undefined,
  ): void {
    if (!this.channel.observed) return;
    this.channel.emit({
      type: 'replayed',
      policy: this.name,
      messageName: letter.messageName,
      letter,
      outcome,
      ...(error === undefined ? undefined : { error }),
      ...(reason === undefined ? undefined : { reason }),
    });
  }

  /** `shouldRecord`, with its own failure reported rather than thrown. */
  #wants(error: unknown, messageName: string, context: HandlerContext | undefined): boolean {
    if (this.shouldRecord === undefined) return true;
    try {
      return this.shouldRecord(error);
    } catch (thrown) {
      this.#storeFailed(thrown, messageName, context, undefined);
      return false;
    }
  }

  /** Appends; resolves when it settled (never rejects: failures become events). */
  #write(letter: DeadLetter, context: HandlerContext | undefined): Promise<void> {
    let appended: Promise<AppendResult | void>;
    try {
      appended = Promise.resolve(this.store.append(letter));
    } catch (error) {
      appended = Promise.reject(error);
    }
    const written: Promise<void> = appended.then(
      (result) => {
        this.#pending.delete(written);
        this.#stored(letter, context, result);
      },
      (error: unknown) => {
        this.#pending.delete(written);
        this.#storeFailed(error, letter.messageName, context, letter);
      },
    );
    this.#pending.add(written);
    return written;
  }

  #stored(
    letter: DeadLetter,
    context: HandlerContext | undefined,
    result: AppendResult | void,
  ): void {
    this.#recorded++;
    if (this.channel.observed) {
      this.channel.emit({
        type: 'deadLetter',
        policy: this.name,
        messageName: letter.messageName,
        ...(context === undefined ? undefined : { context }),
        letter,
      });
    }
    const evicted = result?.evicted;
    if (!Array.isArray(evicted)) return;
    for (const old of evicted as readonly DeadLetter[]) {
      this.#dropped++;
      if (this.channel.observed) {
        this.channel.emit({
          type: 'dropped',
          policy: this.name,
          messageName: old.messageName,
          reason: 'evicted',
          letter: old,
        });
      }
    }
  }

  #storeFailed(
    error: unknown,
    messageName: string,
    context: HandlerContext | undefined,
    letter: DeadLetter | undefined,
  ): void {
    this.#storeErrors++;
    if (!this.channel.observed) return;
    this.channel.emit({
      type: 'storeError',
      policy: this.name,
      messageName,
      ...(context === undefined ? undefined : { context }),
      error,
      ...(letter === undefined ? undefined : { letter }),
    });
  }
}

function makeLetter(
  kind: DeadLetterKind,
  messageName: string,
  payload: unknown,
  error: unknown,
  attempts: number,
  correlationId: string | undefined,
  extra: { readonly delivered?: number; readonly index?: number } | undefined,
): DeadLetter {
  return Object.freeze({
    id: randomUUID(),
    kind,
    messageName,
    payload,
    error: describeError(error),
    attempts,
    ...(correlationId === undefined ? undefined : { correlationId }),
    time: new Date().toISOString(),
    ...extra,
  });
}

/**
 * The stream behavior's iterator: passes items through, counting them, and records a failure
 * before the consumer sees it. One `then` per item and no closure: the hot path of a stream.
 */
class DeadLetterIterator<T> implements AsyncIterableIterator<T> {
  readonly #recorder: Recorder;
  readonly #message: object;
  readonly #source: AsyncIterable<T>;
  readonly #context: HandlerContext;
  #inner: AsyncIterator<T> | undefined;
  #closed = false;
  #delivered = 0;

  constructor(
    recorder: Recorder,
    message: object,
    source: AsyncIterable<T>,
    context: HandlerContext,
  ) {
    this.#recorder = recorder;
    this.#message = message;
    this.#source = source;
    this.#context = context;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    let inner = this.#inner;
    if (inner === undefined) {
      if (this.#closed) return Promise.resolve(DONE);
      try {
        inner = this.#inner = this.#source[Symbol.asyncIterator]();
      } catch (error) {
        return this.#onError(error);
      }
    }
    let result: Promise<IteratorResult<T>>;
    try {
      result = inner.next();
    } catch (error) {
      return this.#onError(error);
    }
    return result.then(this.#onResult, this.#onError);
  }

  return(): Promise<IteratorResult<T>> {
    const inner = this.#inner;
    this.#inner = undefined;
    this.#closed = true;
    const closing = inner?.return?.();
    return closing === undefined ? Promise.resolve(DONE) : closing.then(() => DONE);
  }

  readonly #onResult = (result: IteratorResult<T>): IteratorResult<T> => {
    if (result.done !== true) this.#delivered++;
    return result;
  };

  readonly #onError = (error: unknown): Promise<never> => {
    this.#inner = undefined;
    this.#closed = true;
    return this.#recorder.failed('stream', this.#message, this.#context, error, this.#delivered);
  };
}
