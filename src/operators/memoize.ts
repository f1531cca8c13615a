import { streamBehavior, type BehaviorRegistration } from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import type { MessageClass, StreamMessage } from '../core/types.js';
import { checkFunction, checkInteger, checkObject, show } from '../errors/validate.js';
import { DONE } from '../streaming/DONE.js';

/** Options of {@link memoize}. */
export interface MemoizeOptions<M extends StreamMessage<any> = StreamMessage<any>> {
  /**
   * How long a completed run is replayed, in milliseconds from the moment it completed (a
   * monotonic clock, `performance.now()`). Expiry is checked on lookup; no timer is kept.
   * Default: Infinity (until evicted or cleared).
   */
  readonly ttlMs?: number;
  /**
   * Most entries (completed runs and runs in progress) kept; the least recently used is evicted
   * first. An evicted run in progress goes on for those sharing it, but is not cached. Default: 100.
   */
  readonly maxEntries?: number;
  /**
   * Most items one entry records. A run that yields more is not cached: it is removed from the
   * cache at once (new callers start their own run) and from then on keeps only the items its
   * slowest consumer has yet to read, so the fastest consumer waits once it is `maxItems` ahead
   * (`maxItems + 1` at the moment of overflow). Default: 10_000.
   */
  readonly maxItems?: number;
  /**
   * The cache key of a request; keys are scoped by message name. Default: a stable JSON of the
   * request's own enumerable fields (keys sorted; `undefined` fields left out; Dates through
   * `toJSON`). Pass `key` when a request has fields JSON cannot represent faithfully: functions,
   * symbols, bigints, Maps, Sets and circular references throw a `TypeError` when the request is
   * sent; other class instances are keyed by their own enumerable fields only.
   */
  readonly key?: (request: M) => string;
  /** Memoize only these stream request classes. Default: every stream request. */
  readonly for?: readonly MessageClass<M>[];
}

/**
 * What {@link memoize} returns: a stream behavior registration for `behaviors`, with access to
 * its cache.
 *
 * @example
 * ```ts
 * const products = memoize({ ttlMs: 60_000, for: [ListProducts] });
 * const mediator = createMediator({ handlers, behaviors: [products] });
 * catalog.on('changed', () => products.clear());
 * metrics.gauge('products_cache_entries', () => products.size);
 * ```
 */
export interface MemoizeRegistration extends BehaviorRegistration {
  /** Entries held now: runs in progress, and completed runs that have not expired. */
  readonly size: number;
  /** Forgets every entry. Runs in progress go on for their consumers but are not cached. */
  clear(): void;
}

/**
 * Caches the items of stream requests, keyed by the request (the seed's `Memoize()`), as a
 * stream pipeline behavior.
 *
 * - A completed run is replayed, items in order, to later equal requests without calling the
 *   handler, until `ttlMs` after it completed or until evicted (LRU, `maxEntries`).
 * - Equal requests made while a run is in progress share it: the handler runs once; a late
 *   caller replays what was recorded, then follows live. The handler is read only when some
 *   consumer needs an item not yet recorded (the fastest drives it, one read at a time), so
 *   consumer pull holds.
 * - A failed run is not cached: every consumer sharing it gets the recorded items, then the
 *   error; the next request runs the handler again.
 * - A consumer that breaks out, aborts or unsubscribes leaves without disturbing the others (a
 *   read it had pending rejects with its abort reason). When the last one leaves a run in
 *   progress, the handler's source is closed (its `finally` runs) and nothing is cached.
 * - The run executes in the pipeline (`next()`, with its signal and correlation id) of the caller
 *   that started it, because a behavior cannot run the rest of the pipeline under any other
 *   signal. If that caller leaves while others still share the run, its source is closed (its
 *   signal has aborted) and, when a remaining consumer next needs a new item, the run restarts
 *   in that consumer's pipeline, skipping the items already recorded. The handler thus
 *   re-produces that prefix: memoize assumes, as any cache does, that equal requests yield the
 *   same items. A restarted source that ends before the prefix ends the run there, uncached.
 * - Items are replayed by reference, not copied: treat them as immutable.
 * - Memory per entry is bounded by `maxItems` (see there).
 *
 * Behaviors registered before `memoize` run on every call, hits included; those after it (and
 * the handler) run only for the run that is recorded. One cache per `memoize()` call: do not
 * share a registration between mediators whose handlers differ.
 *
 * @example
 * ```ts
 * const mediator = createMediator({
 *   handlers,
 *   behaviors: [memoize({ ttlMs: 60_000, maxEntries: 100, for: [ListProducts] })],
 * });
 * for await (const product of mediator.createStream(new ListProducts('toys'))) show(product);
 * for await (const product of mediator.createStream(new ListProducts('toys'))) show(product); // replayed
 * ```
 */
export function memoize<M extends StreamMessage<any> = StreamMessage<any>>(
  options: MemoizeOptions<M> = {},
): MemoizeRegistration {
  checkObject('options', options);
  const ttlMs = options.ttlMs === undefined ? Infinity : checkTtl(options.ttlMs);
  const maxEntries =
    options.maxEntries === undefined ? 100 : checkInteger('maxEntries', options.maxEntries, 1);
  const maxItems =
    options.maxItems === undefined ? 10_000 : checkInteger('maxItems', options.maxItems, 1);
  checkFunction('key', options.key);
  const cache = new RunCache(ttlMs, maxEntries, maxItems);
  const keyOf = options.key as ((request: unknown) => unknown) | undefined;

  const registration = streamBehavior<M>(
    {
      handle(request, next, context) {
        // A listener on an aborted signal never fires: such a caller must not join a run.
        if (context.signal.aborted) throw context.signal.reason;
        const key = cacheKey(request, context, keyOf);
        return cache.open(key, next as Upstream, context.signal) as
          Iterable<never> | AsyncIterable<never>;
      },
    },
    { for: options.for, name: 'memoize' },
  );
  return {
    ...registration,
    get size() {
      return cache.size;
    },
    clear: () => cache.clear(),
  };
}

type Upstream = () => AsyncIterable<unknown>;

const now = (): number => performance.now();

/** The entries: a Map in least-recently-used-first order. */
class RunCache {
  readonly #runs = new Map<string, Run>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
    readonly maxItems: number,
  ) {}

  get size(): number {
    const t = now();
    for (const [key, run] of this.#runs) if (this.#expired(run, t)) this.#runs.delete(key);
    return this.#runs.size;
  }

  clear(): void {
    this.#runs.clear();
  }

  /**
   * The items of a completed run (to replay), or a place in the run in progress (a new one if
   * none). Called from `handle()`, which the pipeline calls only when it opens the result.
   */
  open(key: string, upstream: Upstream, signal: AbortSignal): readonly unknown[] | Sharer {
    let run = this.#runs.get(key);
    if (run !== undefined && this.#expired(run, now())) {
      this.#runs.delete(key);
      run = undefined;
    }
    if (run === undefined) {
      run = new Run(key, this);
      this.#runs.set(key, run);
      if (this.#runs.size > this.maxEntries) this.#runs.delete(this.#runs.keys().next().value!);
    } else {
      this.#touch(run);
      if (run.state === 'completed') return run.items;
    }
    return new Sharer(run, upstream, signal);
  }

  /** A run completed: keep it (as most recently used) if it is still the entry for its key. */
  store(run: Run): void {
    if (this.#runs.get(run.key) === run) this.#touch(run);
  }

  /** A run failed, was abandoned or grew too large: new callers must not find it. */
  forget(run: Run): void {
    if (this.#runs.get(run.key) === run) this.#runs.delete(run.key);
  }

  #touch(run: Run): void {
    this.#runs.delete(run.key);
    this.#runs.set(run.key, run);
  }

  #expired(run: Run, t: number): boolean {
    return run.state === 'completed' && t - run.completedAt >= this.ttlMs;
  }
}

/**
 * One upstream run and its recording. Positions are absolute (0 = the run's first item); the
 * item at position `base` is `items[head]`. While cacheable, the recording is the whole run;
 * once too large, items every sharer has read are dropped (head-indexed, compacted in bulk).
 */
class Run {
  state: 'running' | 'completed' | 'failed' | 'abandoned' = 'running';
  failure: unknown;
  completedAt = 0;
  items: unknown[] = [];
  cacheable = true;
  readonly sharers = new Set<Sharer>();
  /** Sharers with a pending `next()`: all at position `total`. */
  readonly waiting = new Set<Sharer>();
  #head = 0;
  #base = 0;
  #upstream: AsyncIterator<unknown> | undefined;
  /** The sharer in whose pipeline the upstream runs. */
  #driver: Sharer | undefined;
  /** Bumped when an upstream is let go, so its late results are ignored. */
  #generation = 0;
  #reading = false;
  /** Items a restarted upstream must skip: those already recorded. */
  #skip = 0;

  constructor(
    readonly key: string,
    readonly cache: RunCache,
  ) {}

  get total(): number {
    return this.#base + this.items.length - this.#head;
  }

  itemAt(position: number): unknown {
    return this.items[this.#head + position - this.#base];
  }

  /** Reads the upstream once, if a live sharer waits for a new item and no read is in flight. */
  pump(): void {
    if (this.#reading || this.state !== 'running') return;
    // Sharers leave when their signal aborts, so every waiting one is live.
    const requester = this.waiting.values().next().value;
    if (requester === undefined) return;
    // Too large to cache: the fastest waits until the slowest is less than maxItems behind.
    if (!this.cacheable && this.total - this.#base >= this.cache.maxItems) return;
    let upstream = this.#upstream;
    if (upstream === undefined) {
      try {
        upstream = requester.upstream()[Symbol.asyncIterator]();
      } catch (error) {
        return this.#fail(error);
      }
      this.#upstream = upstream;
      this.#driver = requester;
      this.#skip = this.total;
    }
    this.#reading = true;
    const generation = this.#generation;
    upstream.next().then(
      (result) => this.#onResult(generation, result),
      (error: unknown) => {
        if (generation === this.#generation) this.#fail(error);
      },
    );
  }

  /** A sharer left (done, broke out, aborted). */
  leave(sharer: Sharer): void {
    this.sharers.delete(sharer);
    this.waiting.delete(sharer);
    if (this.state === 'running') {
      if (this.sharers.size === 0) return this.#abandon();
      if (sharer === this.#driver) {
        this.#letGo();
        this.pump(); // restart in a remaining sharer's pipeline, if one is waiting
      }
    }
    if (!this.cacheable) this.release();
  }

  /** Drops items every sharer has read, then lets a waiting sharer pull if it no longer has to wait. */
  release(): void {
    let slowest = this.total;
    for (const sharer of this.sharers) slowest = Math.min(slowest, sharer.position);
    if (slowest === this.#base) return;
    const end = this.#head + slowest - this.#base;
    this.items.fill(undefined, this.#head, end);
    this.#head = end;
    this.#base = slowest;
    if (this.#head > 1024 && this.#head * 2 > this.items.length) {
      this.items = this.items.slice(this.#head);
      this.#head = 0;
    }
    this.pump();
  }

  /** The sharer at the slowest position may hold back the others: was it at the base? */
  isBase(position: number): boolean {
    return position === this.#base;
  }

  #onResult(generation: number, result: IteratorResult<unknown>): void {
    if (generation !== this.#generation) return;
    this.#reading = false;
    if (result.done) return this.#complete();
    if (this.#skip > 0) {
      this.#skip--;
      return this.pump();
    }
    this.items.push(result.value);
    if (this.cacheable && this.total > this.cache.maxItems) {
      this.cacheable = false;
      this.cache.forget(this);
    }
    for (const sharer of this.waiting) sharer.deliver(result.value); // settles; leaves the set alone
    this.waiting.clear();
    if (!this.cacheable) this.release();
  }

  #complete(): void {
    this.state = 'completed';
    this.completedAt = now();
    this.#upstream = undefined;
    this.#driver = undefined;
    // A restarted upstream that ended before the recorded prefix disagrees with it: don't cache.
    if (this.#skip > 0) this.cacheable = false;
    if (this.cacheable) this.cache.store(this);
    else this.cache.forget(this);
    const waiting = [...this.waiting];
    for (const sharer of waiting) sharer.end();
  }

  #fail(error: unknown): void {
    this.state = 'failed';
    this.failure = error;
    this.#upstream = undefined;
    this.#driver = undefined;
    this.cache.forget(this);
    const waiting = [...this.waiting];
    for (const sharer of waiting) sharer.fail(error);
  }

  /** The last sharer left a run in progress: close the upstream, cache nothing. */
  #abandon(): void {
    this.state = 'abandoned';
    this.#letGo();
    this.items = [];
    this.cache.forget(this);
  }

  /** Closes the upstream and ignores whatever it still delivers. */
  #letGo(): void {
    const upstream = this.#upstream;
    this.#upstream = undefined;
    this.#driver = undefined;
    this.#reading = false;
    this.#generation++;
    // With a read in flight a generator queues return() behind it: close in the background.
    upstream?.return?.()?.catch(() => undefined);
  }
}

/** One consumer's place in a run. */
class Sharer implements AsyncIterableIterator<unknown> {
  position = 0;
  #state: 'open' | 'failed' | 'done' = 'open';
  #failure: unknown;
  #pending:
    { resolve(result: IteratorResult<unknown>): void; reject(error: unknown): void } | undefined;
  readonly #onAbort = (): void => {
    const pending = this.#pending;
    this.#leave();
    if (pending !== undefined) return pending.reject(this.signal.reason);
    this.#state = 'failed';
    this.#failure = this.signal.reason;
  };

  constructor(
    readonly run: Run,
    /** This caller's `next()`: the rest of its pipeline. */
    readonly upstream: Upstream,
    /** This caller's signal: aborting it makes the sharer leave. */
    readonly signal: AbortSignal,
  ) {
    run.sharers.add(this);
    signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.#state === 'failed') {
      this.#state = 'done';
      return Promise.reject(this.#failure);
    }
    if (this.#state === 'done') return Promise.resolve(DONE);
    const run = this.run;
    if (this.position < run.total) {
      const value = run.itemAt(this.position);
      this.position++;
      if (!run.cacheable && run.isBase(this.position - 1)) run.release();
      return Promise.resolve({ value, done: false });
    }
    if (run.state === 'completed') {
      this.#leave();
      return Promise.resolve(DONE);
    }
    if (run.state === 'failed') {
      this.#leave();
      return Promise.reject(run.failure);
    }
    if (this.#pending !== undefined) {
      return Promise.reject(new Error('next() called again before the previous next() settled.'));
    }
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      run.waiting.add(this);
      run.pump();
    });
  }

  return(): Promise<IteratorResult<unknown>> {
    const pending = this.#pending;
    this.#leave();
    this.#state = 'done';
    pending?.resolve(DONE);
    return Promise.resolve(DONE);
  }

  /** The item this sharer waits for. */
  deliver(value: unknown): void {
    const pending = this.#pending!;
    this.#pending = undefined;
    this.position++;
    pending.resolve({ value, done: false });
  }

  /** The run completed while this sharer waited. */
  end(): void {
    const pending = this.#pending!;
    this.#leave();
    pending.resolve(DONE);
  }

  /** The run failed while this sharer waited. */
  fail(error: unknown): void {
    const pending = this.#pending!;
    this.#leave();
    pending.reject(error);
  }

  #leave(): void {
    if (this.#state !== 'open') return;
    this.#state = 'done';
    this.#pending = undefined;
    this.signal.removeEventListener('abort', this.#onAbort);
    this.run.leave(this);
  }
}

function checkTtl(value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`Option 'ttlMs' must be a number, got ${show(value)}.`);
  }
  if (!(value > 0)) {
    throw new RangeError(
      `Option 'ttlMs' must be a number of milliseconds > 0, or Infinity, got ${show(value)}.`,
    );
  }
  return value;
}

/** The entry key: the message name (quoted), then the user's key or the request's stable JSON. */
function cacheKey(
  request: unknown,
  context: HandlerContext,
  keyOf: ((request: unknown) => unknown) | undefined,
): string {
  const scope = JSON.stringify(context.messageName);
  if (keyOf === undefined) {
    return scope + stableJson(request, '', new Set(), context.messageName);
  }
  const key = keyOf(request);
  if (typeof key !== 'string') {
    throw new TypeError(
      `Option 'key' of memoize() must return a string, got ${show(key)} for ${context.messageName}.`,
    );
  }
  return `${scope}:${key}`;
}

/** JSON with sorted keys; throws where JSON would silently lose information. */
function stableJson(
  value: unknown,
  path: string,
  ancestors: Set<object>,
  messageName: string,
): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
    case 'boolean':
      return String(value); // NaN and Infinity stay distinct from null
    case 'undefined':
      return undefined;
    case 'object': {
      if (value === null) return 'null';
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        return stableJson((value as { toJSON(): unknown }).toJSON(), path, ancestors, messageName);
      }
      if (
        value instanceof Map ||
        value instanceof Set ||
        value instanceof WeakMap ||
        value instanceof WeakSet
      ) {
        throw unkeyable(messageName, path, `a ${value.constructor.name}`);
      }
      if (ancestors.has(value)) throw unkeyable(messageName, path, 'a circular reference');
      ancestors.add(value);
      let json: string;
      if (Array.isArray(value)) {
        json = `[${value
          .map((item, i) => stableJson(item, `${path}[${i}]`, ancestors, messageName) ?? 'null')
          .join(',')}]`;
      } else {
        const fields: string[] = [];
        for (const name of Object.keys(value).sort()) {
          const field = stableJson(
            (value as Record<string, unknown>)[name],
            path === '' ? name : `${path}.${name}`,
            ancestors,
            messageName,
          );
          if (field !== undefined) fields.push(`${JSON.stringify(name)}:${field}`);
        }
        json = `{${fields.join(',')}}`;
      }
      ancestors.delete(value);
      return json;
    }
    default:
      throw unkeyable(messageName, path, `a ${typeof value}`);
  }
}

function unkeyable(messageName: string, path: string, what: string): TypeError {
  return new TypeError(
    `memoize() cannot derive a cache key for ${messageName}: ${path === '' ? 'the request' : `field '${path}'`} is ${what}, which JSON cannot represent. Pass option 'key'.`,
  );
}
