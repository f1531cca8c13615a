import { afterEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import {
  createMediator,
  handler,
  Query,
  StreamRequest,
  streamBehavior,
  type BehaviorRegistration,
  type HandlerContext,
} from '../../src/index.js';
import { memoize, type MemoizeOptions } from '../../src/operators/memoize.js';
import { deferred, flushMicrotasks, type Deferred } from '../helpers/deferred.js';
import { collect } from '../helpers/collect.js';

class Numbers extends StreamRequest<number> {
  constructor(
    readonly count = 3,
    readonly tag: unknown = 'a',
  ) {
    super();
  }
}
/** Same fields as Numbers, another message: must never share its entries. */
class Evens extends StreamRequest<number> {
  constructor(
    readonly count = 3,
    readonly tag: unknown = 'a',
  ) {
    super();
  }
}
class Total extends Query<number> {}

const boom = new Error('source broke');

interface SourceOptions {
  /** The item number at which the handler throws instead of yielding. */
  readonly failAt?: number;
  /** Each item waits for `state.gates[n]` (rejected when the run's signal aborts). */
  readonly gated?: boolean;
}

/** A Numbers handler yielding 1..count, recording runs, items produced and teardown. */
function numbersSource(options: SourceOptions = {}) {
  const state = {
    runs: 0,
    produced: 0,
    finallyRan: 0,
    signals: [] as AbortSignal[],
    contexts: [] as HandlerContext[],
    gates: [] as Deferred<void>[],
  };
  const registration = handler(Numbers, async function* (request, context) {
    state.runs++;
    state.signals.push(context.signal);
    state.contexts.push(context);
    try {
      for (let i = 1; i <= request.count; i++) {
        if (options.gated === true) await gate(state.gates, context.signal);
        if (i === options.failAt) throw boom;
        state.produced++;
        yield i;
      }
    } finally {
      state.finallyRan++;
    }
  });
  return { state, registration };
}

async function gate(gates: Deferred<void>[], signal: AbortSignal): Promise<void> {
  const open = deferred();
  gates.push(open);
  const onAbort = (): void => open.reject(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await open.promise;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function setup(options: MemoizeOptions<Numbers> = {}, source: SourceOptions = {}) {
  const { state, registration } = numbersSource(source);
  const cache = memoize(options);
  const evens = handler(Evens, (request) =>
    Array.from({ length: request.count }, (_, i) => 2 * (i + 1)),
  );
  const mediator = createMediator({ handlers: [registration, evens], behaviors: [cache] });
  return { state, cache, mediator };
}

function open<T>(stream: AsyncIterable<T>): AsyncIterator<T> {
  return stream[Symbol.asyncIterator]();
}

async function take<T>(iterator: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const result = await iterator.next();
    if (result.done === true) break;
    out.push(result.value);
  }
  return out;
}

/** True when the promise has settled after a few microtask turns. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await flushMicrotasks(30);
  return done;
}

const item = (value: number) => ({ value, done: false });
const DONE = { value: undefined, done: true };

afterEach(() => {
  jest.useRealTimers();
});

describe('memoize', () => {
  describe('caching', () => {
    it('replays a completed run to an equal request without calling the handler', async () => {
      const { state, cache, mediator } = setup();
      await expect(collect(mediator.createStream(new Numbers(3)))).resolves.toEqual([1, 2, 3]);
      await expect(collect(mediator.createStream(new Numbers(3)))).resolves.toEqual([1, 2, 3]);
      await expect(collect(mediator.createStream(new Numbers(3)))).resolves.toEqual([1, 2, 3]);
      expect(state.runs).toBe(1);
      expect(state.finallyRan).toBe(1);
      expect(cache.size).toBe(1);
    });

    it('runs the handler again for requests that differ in a field or in message', async () => {
      const { state, cache, mediator } = setup();
      await expect(collect(mediator.createStream(new Numbers(3, 'a')))).resolves.toEqual([1, 2, 3]);
      await expect(collect(mediator.createStream(new Numbers(3, 'b')))).resolves.toEqual([1, 2, 3]);
      await expect(collect(mediator.createStream(new Numbers(2, 'a')))).resolves.toEqual([1, 2]);
      // Same fields, another message class: another entry.
      await expect(collect(mediator.createStream(new Evens(3, 'a')))).resolves.toEqual([2, 4, 6]);
      expect(state.runs).toBe(3);
      expect(cache.size).toBe(4);
    });

    it('keys nested fields by value, whatever the order of their keys', async () => {
      const { state, mediator } = setup();
      const tag = (value: unknown) => new Numbers(2, value);
      await collect(mediator.createStream(tag({ b: 1, a: [1, { y: 2, x: 1 }] })));
      await collect(mediator.createStream(tag({ a: [1, { x: 1, y: 2 }], b: 1 })));
      expect(state.runs).toBe(1);
      await collect(mediator.createStream(tag({ a: [1, { x: 1, y: 3 }], b: 1 })));
      expect(state.runs).toBe(2);
    });

    it('keys JSON-like values faithfully: NaN is not null, Dates by instant, undefined fields as absent', async () => {
      const { state, mediator } = setup();
      await collect(mediator.createStream(new Numbers(1, NaN)));
      await collect(mediator.createStream(new Numbers(1, null)));
      expect(state.runs).toBe(2);
      await collect(mediator.createStream(new Numbers(1, new Date(0))));
      await collect(mediator.createStream(new Numbers(1, new Date(0))));
      expect(state.runs).toBe(3);
      await collect(mediator.createStream(new Numbers(1, { a: 1, b: undefined })));
      await collect(mediator.createStream(new Numbers(1, { a: 1 })));
      expect(state.runs).toBe(4);
      await collect(mediator.createStream(new Numbers(1, [undefined])));
      await collect(mediator.createStream(new Numbers(1, [null])));
      expect(state.runs).toBe(5);
    });

    it('fails the call with a TypeError naming the field when the request has a field JSON cannot represent', async () => {
      const { state, mediator } = setup();
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const cases: [unknown, RegExp][] = [
        [() => 1, /field 'tag' is a function/],
        [Symbol('s'), /field 'tag' is a symbol/],
        [10n, /field 'tag' is a bigint/],
        [new Map([[1, 2]]), /field 'tag' is a Map/],
        [{ list: [1, new Set([1])] }, /field 'tag\.list\[1\]' is a Set/],
        [circular, /field 'tag\.self' is a circular reference/],
      ];
      for (const [tag, message] of cases) {
        const error = await collect(mediator.createStream(new Numbers(1, tag))).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TypeError);
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).toMatch(/Numbers.*Pass option 'key'/);
      }
      expect(state.runs).toBe(0);
    });

    it('names the request itself when its toJSON gives something JSON cannot represent', async () => {
      class Odd extends StreamRequest<number> {
        toJSON() {
          return () => 1;
        }
      }
      const mediator = createMediator({
        handlers: [handler(Odd, () => [1])],
        behaviors: [memoize()],
      });
      await expect(collect(mediator.createStream(new Odd()))).rejects.toThrow(
        /for Odd: the request is a function/,
      );
    });

    it('keys by the key option, scoped by message name', async () => {
      const { state, mediator } = setup({ key: (request) => String(request.tag) });
      await expect(collect(mediator.createStream(new Numbers(3, 'x')))).resolves.toEqual([1, 2, 3]);
      // Same key: the recorded items, whatever the other fields say.
      await expect(collect(mediator.createStream(new Numbers(5, 'x')))).resolves.toEqual([1, 2, 3]);
      expect(state.runs).toBe(1);
      await expect(collect(mediator.createStream(new Evens(1, 'x')))).resolves.toEqual([2]);
    });

    it('fails the call with a TypeError when the key option returns something other than a string', async () => {
      const { mediator } = setup({ key: () => 42 as unknown as string });
      await expect(collect(mediator.createStream(new Numbers()))).rejects.toThrow(
        /Option 'key' of memoize\(\) must return a string, got 42 for Numbers/,
      );
    });

    it('expires an entry ttlMs after its run completed, checking on lookup without keeping timers', async () => {
      jest.useFakeTimers();
      const { state, cache, mediator } = setup({ ttlMs: 1000 });
      const iterator = open(mediator.createStream(new Numbers(2)));
      await iterator.next();
      jest.advanceTimersByTime(5000); // a slow run: the TTL starts when it completes
      await take(iterator, 3);
      expect(jest.getTimerCount()).toBe(0);
      jest.advanceTimersByTime(999);
      await collect(mediator.createStream(new Numbers(2)));
      expect(state.runs).toBe(1);
      expect(cache.size).toBe(1);
      jest.advanceTimersByTime(1);
      expect(cache.size).toBe(0);
      await collect(mediator.createStream(new Numbers(2)));
      expect(state.runs).toBe(2);
      jest.advanceTimersByTime(1000);
      await collect(mediator.createStream(new Numbers(2)));
      expect(state.runs).toBe(3);
    });

    it('evicts the least recently used entry beyond maxEntries', async () => {
      const { state, cache, mediator } = setup({ maxEntries: 2 });
      const run = (tag: string) => collect(mediator.createStream(new Numbers(1, tag)));
      await run('a');
      await run('b');
      await run('a'); // hit: 'a' is now the most recently used
      expect(state.runs).toBe(2);
      await run('c'); // evicts 'b'
      expect(cache.size).toBe(2);
      await run('a');
      await run('c');
      expect(state.runs).toBe(3);
      await run('b');
      expect(state.runs).toBe(4);
    });

    it('does not cache a run evicted while in progress, yet delivers it whole', async () => {
      const { state, cache, mediator } = setup({ maxEntries: 1 });
      const a = open(mediator.createStream(new Numbers(3, 'a')));
      await expect(a.next()).resolves.toEqual(item(1));
      await collect(mediator.createStream(new Numbers(1, 'b'))); // evicts the running 'a'
      await expect(take(a, 5)).resolves.toEqual([2, 3]);
      expect(cache.size).toBe(1);
      await collect(mediator.createStream(new Numbers(3, 'a')));
      expect(state.runs).toBe(3);
    });

    it('forgets every entry on clear(); a run in progress is then delivered but not cached', async () => {
      const { state, cache, mediator } = setup();
      await collect(mediator.createStream(new Numbers(1, 'a')));
      const b = open(mediator.createStream(new Numbers(2, 'b')));
      await b.next();
      expect(cache.size).toBe(2);
      cache.clear();
      expect(cache.size).toBe(0);
      await expect(take(b, 5)).resolves.toEqual([2]);
      expect(cache.size).toBe(0);
      await collect(mediator.createStream(new Numbers(1, 'a')));
      await collect(mediator.createStream(new Numbers(2, 'b')));
      expect(state.runs).toBe(4);
    });

    it('applies only to the classes listed in for', async () => {
      const { state, registration } = numbersSource();
      let evensRuns = 0;
      const mediator = createMediator({
        handlers: [
          registration,
          handler(Evens, () => {
            evensRuns++;
            return [2];
          }),
        ],
        behaviors: [memoize({ for: [Evens] })],
      });
      await collect(mediator.createStream(new Numbers(1)));
      await collect(mediator.createStream(new Numbers(1)));
      await collect(mediator.createStream(new Evens(1)));
      await collect(mediator.createStream(new Evens(1)));
      expect(state.runs).toBe(2);
      expect(evensRuns).toBe(1);
    });

    it('runs behaviors registered before it on every call, those after it only for the recorded run', async () => {
      const { state, registration } = numbersSource();
      const seen: string[] = [];
      const tracing = (name: string) =>
        streamBehavior<Numbers>(async function* (_, next) {
          seen.push(name);
          yield* next();
        });
      const mediator = createMediator({
        handlers: [registration],
        behaviors: [tracing('outer'), memoize(), tracing('inner')],
      });
      await collect(mediator.createStream(new Numbers(2)));
      await collect(mediator.createStream(new Numbers(2)));
      expect(seen).toEqual(['outer', 'inner', 'outer']);
      expect(state.runs).toBe(1);
    });

    it('replays and shares for createStream$ subscribers too', async () => {
      const { state, mediator } = setup();
      const both = await Promise.all([
        lastValueFrom(mediator.createStream$(new Numbers(3)).pipe(toArray())),
        lastValueFrom(mediator.createStream$(new Numbers(3)).pipe(toArray())),
      ]);
      expect(both).toEqual([
        [1, 2, 3],
        [1, 2, 3],
      ]);
      await expect(
        lastValueFrom(mediator.createStream$(new Numbers(3)).pipe(toArray())),
      ).resolves.toEqual([1, 2, 3]);
      expect(state.runs).toBe(1);
    });
  });

  describe('sharing a run', () => {
    it('runs the handler once for concurrent equal requests, reading it only as fast as the fastest consumer', async () => {
      const { state, cache, mediator } = setup();
      const a = open(mediator.createStream(new Numbers(6)));
      const b = open(mediator.createStream(new Numbers(6)));
      await expect(take(a, 3)).resolves.toEqual([1, 2, 3]);
      expect(state.produced).toBe(3);
      await expect(take(b, 2)).resolves.toEqual([1, 2]);
      expect(state.produced).toBe(3);
      await expect(take(b, 2)).resolves.toEqual([3, 4]);
      expect(state.produced).toBe(4); // b is now the fastest and drives the handler
      await expect(a.next()).resolves.toEqual(item(4));
      expect(state.produced).toBe(4);
      await flushMicrotasks(30);
      expect(state.produced).toBe(4); // nobody asked for more: nothing is read ahead
      await expect(take(a, 10)).resolves.toEqual([5, 6]);
      await expect(take(b, 10)).resolves.toEqual([5, 6]);
      expect(state.runs).toBe(1);
      expect(state.finallyRan).toBe(1);
      expect(cache.size).toBe(1);
    });

    it('replays what was recorded to a late joiner, then lets it follow live', async () => {
      const { state, mediator } = setup();
      const a = open(mediator.createStream(new Numbers(5)));
      await take(a, 3);
      const b = open(mediator.createStream(new Numbers(5)));
      await expect(take(b, 3)).resolves.toEqual([1, 2, 3]);
      expect(state.produced).toBe(3);
      await expect(b.next()).resolves.toEqual(item(4));
      expect(state.produced).toBe(4);
      await expect(take(a, 10)).resolves.toEqual([4, 5]);
      await expect(take(b, 10)).resolves.toEqual([5]);
      expect(state.runs).toBe(1);
    });

    it('never has more than one read of the handler in flight; one item serves every waiting consumer', async () => {
      const { state, mediator } = setup({}, { gated: true });
      const a = open(mediator.createStream(new Numbers(2)));
      const b = open(mediator.createStream(new Numbers(2)));
      const first = [a.next(), b.next()];
      await flushMicrotasks(30);
      expect(state.gates).toHaveLength(1);
      state.gates[0]!.resolve();
      await expect(Promise.all(first)).resolves.toEqual([item(1), item(1)]);
      expect(state.gates).toHaveLength(1);
      const second = a.next();
      await flushMicrotasks(30);
      expect(state.gates).toHaveLength(2);
      state.gates[1]!.resolve();
      await expect(second).resolves.toEqual(item(2));
      await expect(b.next()).resolves.toEqual(item(2));
      const ends = [a.next(), b.next()];
      await flushMicrotasks(30);
      state.gates[2]?.resolve();
      await expect(Promise.all(ends)).resolves.toEqual([DONE, DONE]);
      expect(state.runs).toBe(1);
    });

    it('rejects a second next() on one consumer while its first is pending', async () => {
      const { mediator } = setup({}, { gated: true });
      const iterator = open(mediator.createStream(new Numbers(1)));
      const first = iterator.next();
      await expect(iterator.next()).rejects.toThrow(/before the previous next\(\) settled/);
      // return() aborts the call's signal: the pending read ends as an aborted handler's would.
      const aborted = expect(first).rejects.toMatchObject({ name: 'AbortError' });
      await iterator.return!();
      await aborted;
    });

    it('does not cache a failed run: every sharer gets its items, then the error; the next request runs again', async () => {
      const { state, cache, mediator } = setup({}, { failAt: 3 });
      const a = open(mediator.createStream(new Numbers(5)));
      const b = open(mediator.createStream(new Numbers(5)));
      await expect(b.next()).resolves.toEqual(item(1));
      await expect(take(a, 2)).resolves.toEqual([1, 2]);
      await expect(a.next()).rejects.toBe(boom);
      expect(cache.size).toBe(0);
      await expect(b.next()).resolves.toEqual(item(2));
      await expect(b.next()).rejects.toBe(boom);
      await expect(b.next()).resolves.toEqual(DONE);
      await expect(a.next()).resolves.toEqual(DONE);
      expect(state.runs).toBe(1);
      expect(state.finallyRan).toBe(1);
      await expect(collect(mediator.createStream(new Numbers(5)))).rejects.toBe(boom);
      expect(state.runs).toBe(2);
    });

    it('delivers the error to every consumer waiting when the run fails', async () => {
      const { state, mediator } = setup({}, { gated: true, failAt: 1 });
      const a = open(mediator.createStream(new Numbers(2)));
      const b = open(mediator.createStream(new Numbers(2)));
      const reads = [a.next(), b.next()];
      await flushMicrotasks(30);
      state.gates[0]!.resolve();
      await expect(reads[0]).rejects.toBe(boom);
      await expect(reads[1]).rejects.toBe(boom);
      expect(state.runs).toBe(1);
    });

    it('lets a consumer that breaks out leave without disturbing the others', async () => {
      const { state, cache, mediator } = setup();
      const a = open(mediator.createStream(new Numbers(4)));
      const b = open(mediator.createStream(new Numbers(4)));
      await take(a, 1);
      await take(b, 2);
      await b.return!();
      expect(state.signals[0]!.aborted).toBe(false);
      await expect(take(a, 10)).resolves.toEqual([2, 3, 4]);
      expect(state.runs).toBe(1);
      expect(cache.size).toBe(1);
    });

    it('closes the handler and caches nothing when the last consumer leaves a run in progress', async () => {
      const { state, cache, mediator } = setup();
      const a = open(mediator.createStream(new Numbers(5)));
      const b = open(mediator.createStream(new Numbers(5)));
      await take(a, 2);
      await take(b, 1);
      await b.return!();
      expect(state.finallyRan).toBe(0);
      await a.return!();
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(1);
      expect(cache.size).toBe(0);
      await expect(collect(mediator.createStream(new Numbers(5)))).resolves.toEqual([
        1, 2, 3, 4, 5,
      ]);
      expect(state.runs).toBe(2);
    });

    it("closes the handler at once when the last consumer's signal aborts during a pending read", async () => {
      const { state, cache, mediator } = setup({}, { gated: true });
      const controller = new AbortController();
      const a = open(mediator.createStream(new Numbers(5), { signal: controller.signal }));
      const read = a.next();
      await flushMicrotasks(30);
      controller.abort(new Error('stop'));
      await expect(read).rejects.toThrow('stop');
      await flushMicrotasks(30);
      expect(state.signals[0]!.aborted).toBe(true);
      expect(state.finallyRan).toBe(1);
      expect(cache.size).toBe(0);
    });

    it('restarts the run in a remaining consumer’s pipeline when the one that started it leaves, skipping recorded items', async () => {
      const { state, cache, mediator } = setup();
      const a = open(mediator.createStream(new Numbers(5), { correlationId: 'a' }));
      const b = open(mediator.createStream(new Numbers(5), { correlationId: 'b' }));
      await expect(take(a, 3)).resolves.toEqual([1, 2, 3]);
      await expect(b.next()).resolves.toEqual(item(1));
      await a.return!();
      await flushMicrotasks(30);
      // The first run belonged to a's call: its signal aborted and its source closed.
      expect(state.signals[0]!.aborted).toBe(true);
      expect(state.finallyRan).toBe(1);
      expect(state.runs).toBe(1); // restarted lazily, only when b needs a new item
      await expect(take(b, 2)).resolves.toEqual([2, 3]);
      expect(state.runs).toBe(1);
      await expect(b.next()).resolves.toEqual(item(4));
      expect(state.runs).toBe(2);
      expect(state.contexts[1]!.correlationId).toBe('b');
      await expect(take(b, 10)).resolves.toEqual([5]);
      // Completed across the restart: cached whole.
      expect(cache.size).toBe(1);
      await expect(collect(mediator.createStream(new Numbers(5)))).resolves.toEqual([
        1, 2, 3, 4, 5,
      ]);
      expect(state.runs).toBe(2);
    });

    it('restarts at once for waiting consumers when the one that started the run aborts during a read', async () => {
      const { state, mediator } = setup({}, { gated: true });
      const controller = new AbortController();
      const a = open(mediator.createStream(new Numbers(3), { signal: controller.signal }));
      const b = open(mediator.createStream(new Numbers(3)));
      const firstA = a.next();
      const firstB = b.next();
      await flushMicrotasks(30);
      state.gates[0]!.resolve();
      await expect(Promise.all([firstA, firstB])).resolves.toEqual([item(1), item(1)]);
      const readA = a.next();
      const readB = b.next();
      await flushMicrotasks(30);
      expect(state.gates).toHaveLength(2);
      controller.abort(new Error('a stops'));
      await expect(readA).rejects.toThrow('a stops');
      await flushMicrotasks(30);
      expect(state.finallyRan).toBe(1);
      expect(state.runs).toBe(2);
      // The new run re-produces item 1 (skipped), then item 2 for b.
      state.gates[2]!.resolve();
      await flushMicrotasks(30);
      state.gates[3]!.resolve();
      await expect(readB).resolves.toEqual(item(2));
      const last = b.next();
      await flushMicrotasks(30);
      state.gates[4]!.resolve();
      await expect(last).resolves.toEqual(item(3));
      const end = b.next();
      await flushMicrotasks(30);
      state.gates[5]?.resolve();
      await expect(end).resolves.toEqual(DONE);
    });

    it('ignores what a let-go source still delivers when its handler ignores the signal', async () => {
      const gates: Deferred<void>[] = [];
      let runs = 0;
      const mediator = createMediator({
        handlers: [
          handler(Numbers, async function* (request) {
            const run = ++runs;
            for (let i = 1; i <= request.count; i++) {
              const open = deferred();
              gates.push(open);
              await open.promise; // deaf to its signal
              yield run * 100 + i;
            }
          }),
        ],
        behaviors: [memoize()],
      });
      const controller = new AbortController();
      const a = open(mediator.createStream(new Numbers(2), { signal: controller.signal }));
      const b = open(mediator.createStream(new Numbers(2)));
      const readA = a.next();
      const readB = b.next();
      await flushMicrotasks(30);
      const abortedA = expect(readA).rejects.toThrow('a stops');
      controller.abort(new Error('a stops'));
      await abortedA;
      await flushMicrotasks(30);
      expect(runs).toBe(2);
      gates[0]!.resolve(); // the first run's item arrives late: not recorded, not delivered
      await flushMicrotasks(30);
      expect(await settled(readB)).toBe(false);
      gates[1]!.resolve();
      await expect(readB).resolves.toEqual(item(201));
      const last = b.next();
      await flushMicrotasks(30);
      gates[2]!.resolve();
      await expect(last).resolves.toEqual(item(202));
      await expect(b.next()).resolves.toEqual(DONE);
    });

    it('closes the source of a left run in the background, even when its finally throws', async () => {
      const closed = deferred();
      const mediator = createMediator({
        handlers: [
          handler(Numbers, async function* () {
            try {
              yield 1;
              yield 2;
            } finally {
              closed.resolve();
              // eslint-disable-next-line no-unsafe-finally
              throw new Error('cleanup failed');
            }
          }),
        ],
        behaviors: [memoize()],
      });
      const a = open(mediator.createStream(new Numbers()));
      await a.next();
      await expect(a.return!()).resolves.toEqual(DONE);
      await closed.promise;
      await flushMicrotasks(30);
      await expect(collect(mediator.createStream(new Numbers()))).rejects.toThrow('cleanup failed');
    });

    it('ends the run uncached where a restarted handler ends before the recorded items', async () => {
      let runs = 0;
      const mediator = createMediator({
        handlers: [
          handler(Numbers, async function* () {
            runs++;
            const count = runs === 1 ? 5 : 1; // the second run disagrees with the first
            for (let i = 1; i <= count; i++) yield i;
          }),
        ],
        behaviors: [memoize()],
      });
      const a = open(mediator.createStream(new Numbers()));
      const b = open(mediator.createStream(new Numbers()));
      await take(a, 3);
      await expect(b.next()).resolves.toEqual(item(1)); // b joins the run
      await a.return!();
      await expect(take(b, 10)).resolves.toEqual([2, 3]);
      expect(runs).toBe(2);
      await collect(mediator.createStream(new Numbers()));
      expect(runs).toBe(3);
    });

    it('fails the remaining consumers when the restarted pipeline throws', async () => {
      let runs = 0;
      const mediator = createMediator({
        handlers: [
          handler(Numbers, () => {
            if (++runs > 1) throw boom;
            return [1, 2, 3];
          }),
        ],
        behaviors: [memoize()],
      });
      const a = open(mediator.createStream(new Numbers()));
      const b = open(mediator.createStream(new Numbers()));
      await take(a, 2);
      await expect(b.next()).resolves.toEqual(item(1)); // b joins the run
      await a.return!();
      await expect(b.next()).resolves.toEqual(item(2));
      await expect(b.next()).rejects.toBe(boom);
      expect(runs).toBe(2);
    });

    it('fails the next read, once, of a consumer whose call aborted between reads, and lets the others go on', async () => {
      const { state, registration } = numbersSource();
      let inner: AsyncIterator<number> | undefined;
      // An outer behavior that reads memoize's stream itself: the spec drives it.
      const capture = streamBehavior<Numbers>(async function* (request, next) {
        if (request.tag !== 'captured') return yield* next();
        inner = next()[Symbol.asyncIterator]();
        yield 0;
        await new Promise(() => undefined);
      });
      const mediator = createMediator({
        handlers: [registration],
        behaviors: [capture, memoize<Numbers>({ key: (request) => String(request.count) })],
      });
      const outer = open(mediator.createStream(new Numbers(3, 'captured')));
      await outer.next();
      const other = open(mediator.createStream(new Numbers(3)));
      await expect(other.next()).resolves.toEqual(item(1)); // other drives the shared run
      await expect(inner!.next()).resolves.toEqual(item(1));
      await outer.return!(); // aborts the call's signal while inner has no read pending
      await expect(inner!.next()).rejects.toMatchObject({ name: 'AbortError' });
      await expect(inner!.next()).resolves.toEqual(DONE);
      await expect(take(other, 10)).resolves.toEqual([2, 3]);
      expect(state.runs).toBe(1);
    });

    it('does not join a run when its call was aborted before memoize opened', async () => {
      const { state, registration } = numbersSource();
      const gateOpen = deferred();
      const late = streamBehavior<Numbers>(async (_, next) => {
        await gateOpen.promise;
        return next();
      });
      const cache = memoize();
      const mediator = createMediator({ handlers: [registration], behaviors: [late, cache] });
      const iterator = open(mediator.createStream(new Numbers(3)));
      const read = iterator.next();
      await iterator.return!(); // aborts the call; its source opens later, already aborted
      gateOpen.resolve();
      await expect(read).resolves.toEqual(DONE);
      await flushMicrotasks(30);
      expect(state.runs).toBe(0);
      expect(cache.size).toBe(0);
    });

    it('removes its abort listener from every call’s signal when the call leaves', async () => {
      const listeners = { live: 0 };
      // Outermost: counts the 'abort' listeners added to the call's signal after it.
      const counting = streamBehavior<Numbers>((_, next, context) => {
        const signal = context.signal;
        const add = signal.addEventListener.bind(signal);
        const remove = signal.removeEventListener.bind(signal);
        signal.addEventListener = ((type: string, listener: never, options?: never) => {
          if (type === 'abort') listeners.live++;
          add(type, listener, options);
        }) as typeof signal.addEventListener;
        signal.removeEventListener = ((type: string, listener: never, options?: never) => {
          if (type === 'abort') listeners.live--;
          remove(type, listener, options);
        }) as typeof signal.removeEventListener;
        return next();
      });
      const failing = numbersSource({ failAt: 2 });
      const mediator = createMediator({
        handlers: [failing.registration],
        behaviors: [counting, memoize()],
      });
      const a = open(mediator.createStream(new Numbers(1)));
      await a.next();
      expect(listeners.live).toBe(1);
      await a.next(); // completes
      expect(listeners.live).toBe(0);
      await expect(collect(mediator.createStream(new Numbers(3)))).rejects.toBe(boom);
      expect(listeners.live).toBe(0);
      const b = open(mediator.createStream(new Numbers(1, 'b')));
      const c = open(mediator.createStream(new Numbers(1, 'b')));
      await b.next();
      await c.next();
      expect(listeners.live).toBe(2);
      await take(b, 1);
      await take(c, 1);
      expect(listeners.live).toBe(0);
    });
  });

  describe('maxItems', () => {
    it('caches a run of exactly maxItems items', async () => {
      const { state, cache, mediator } = setup({ maxItems: 3 });
      await collect(mediator.createStream(new Numbers(3)));
      await collect(mediator.createStream(new Numbers(3)));
      expect(state.runs).toBe(1);
      expect(cache.size).toBe(1);
    });

    it('does not cache a run of more than maxItems items, yet delivers every item', async () => {
      const { state, cache, mediator } = setup({ maxItems: 3 });
      const a = open(mediator.createStream(new Numbers(10)));
      await expect(take(a, 3)).resolves.toEqual([1, 2, 3]);
      expect(cache.size).toBe(1);
      await a.next();
      expect(cache.size).toBe(0); // removed as soon as it outgrew maxItems
      // A new caller does not join the oversized run: it starts its own.
      await expect(collect(mediator.createStream(new Numbers(10)))).resolves.toEqual(
        Array.from({ length: 10 }, (_, i) => i + 1),
      );
      expect(state.runs).toBe(2);
      await expect(take(a, 20)).resolves.toEqual([5, 6, 7, 8, 9, 10]);
      expect(cache.size).toBe(0);
    });

    it('keeps the fastest consumer at most maxItems ahead of the slowest once the run outgrew maxItems', async () => {
      const { state, mediator } = setup({ maxItems: 3 });
      const slow = open(mediator.createStream(new Numbers(20)));
      const fast = open(mediator.createStream(new Numbers(20)));
      await expect(slow.next()).resolves.toEqual(item(1));
      const got: number[] = [];
      let read = fast.next();
      while ((await settled(read)) && got.length < 50) {
        got.push(((await read) as IteratorResult<number>).value as number);
        read = fast.next();
      }
      // Overflowed at item 4 (3 ahead of the slow one, which read item 1): now it waits.
      expect(got).toEqual([1, 2, 3, 4]);
      expect(state.produced).toBe(4);
      await expect(slow.next()).resolves.toEqual(item(2));
      await expect(read).resolves.toEqual(item(5));
      expect(state.produced).toBe(5);
      read = fast.next();
      expect(await settled(read)).toBe(false); // 5 - 2 = 3: maxItems ahead, waits again
      await expect(slow.next()).resolves.toEqual(item(3));
      await expect(read).resolves.toEqual(item(6));
      const rest = await Promise.all([take(fast, 30), take(slow, 30)]);
      expect(rest[0]).toEqual(Array.from({ length: 14 }, (_, i) => i + 7));
      expect(rest[1]).toEqual(Array.from({ length: 17 }, (_, i) => i + 4));
      expect(state.runs).toBe(1);
    });

    it('lets the fastest go on when the slowest leaves', async () => {
      const { mediator } = setup({ maxItems: 2 });
      const slow = open(mediator.createStream(new Numbers(6)));
      const fast = open(mediator.createStream(new Numbers(6)));
      await take(slow, 1);
      await expect(take(fast, 3)).resolves.toEqual([1, 2, 3]);
      const read = fast.next();
      expect(await settled(read)).toBe(false);
      await slow.return!();
      await expect(read).resolves.toEqual(item(4));
      await expect(take(fast, 10)).resolves.toEqual([5, 6]);
    });

    it('stays exact over a long oversized run, dropping items once both consumers have read them', async () => {
      const { state, mediator } = setup({ maxItems: 8 });
      const count = 5000;
      const a = open(mediator.createStream(new Numbers(count)));
      const b = open(mediator.createStream(new Numbers(count)));
      const seenA: number[] = [];
      const seenB: number[] = [];
      let ahead = 0;
      for (;;) {
        const [ra, rb] = [await a.next(), await b.next()];
        if (ra.done === true || rb.done === true) break;
        seenA.push(ra.value);
        seenB.push(rb.value);
        ahead = Math.max(ahead, state.produced - seenB.length);
      }
      expect(seenA).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      expect(seenB).toEqual(seenA);
      expect(ahead).toBeLessThanOrEqual(1);
      expect(state.runs).toBe(1);
    });
  });

  describe('options', () => {
    it.each([
      ['ttlMs: 0', { ttlMs: 0 }, RangeError, /Option 'ttlMs' must be .* > 0, or Infinity, got 0/],
      ['ttlMs: -5', { ttlMs: -5 }, RangeError, /'ttlMs'.*got -5/],
      ['ttlMs: NaN', { ttlMs: NaN }, RangeError, /'ttlMs'.*got NaN/],
      ["ttlMs: '60'", { ttlMs: '60' }, TypeError, /Option 'ttlMs' must be a number, got '60'/],
      [
        'maxEntries: 0',
        { maxEntries: 0 },
        RangeError,
        /Option 'maxEntries' must be a whole number ≥ 1, got 0/,
      ],
      ['maxEntries: 1.5', { maxEntries: 1.5 }, RangeError, /'maxEntries'.*got 1\.5/],
      ['maxEntries: Infinity', { maxEntries: Infinity }, RangeError, /'maxEntries'.*got Infinity/],
      [
        'maxItems: 0',
        { maxItems: 0 },
        RangeError,
        /Option 'maxItems' must be a whole number ≥ 1, got 0/,
      ],
      [
        "maxItems: '10'",
        { maxItems: '10' },
        TypeError,
        /Option 'maxItems' must be a number, got '10'/,
      ],
      ["key: 'id'", { key: 'id' }, TypeError, /Option 'key' must be a function, got 'id'/],
      ['for: []', { for: [] }, TypeError, /Option 'for' must be a non-empty array/],
      ['for: [Total]', { for: [Total] }, TypeError, /lists Total, which is a request message/],
    ])('rejects %s at creation', (_label, options, type, message) => {
      const create = () => memoize(options as MemoizeOptions);
      expect(create).toThrow(type);
      expect(create).toThrow(message);
    });

    it('rejects options that are not an object', () => {
      expect(() => memoize(null as never)).toThrow(/Option 'options' must be an object, got null/);
    });

    it('accepts Infinity for ttlMs and returns a stream behavior registration', () => {
      const registration: BehaviorRegistration = memoize({ ttlMs: Infinity, maxEntries: 1 });
      expect(registration.kind).toBe('stream');
      expect(registration.name).toBe('memoize');
      expect(registration.shared).toBe(true);
    });
  });

  describe('property', () => {
    type Op =
      | { readonly op: 'open'; readonly key: number }
      | { readonly op: 'read'; readonly consumer: number; readonly n: number }
      | { readonly op: 'break'; readonly consumer: number };

    const ops: fc.Arbitrary<Op[]> = fc.array(
      fc.oneof(
        {
          arbitrary: fc.record({
            op: fc.constant('open' as const),
            key: fc.integer({ min: 0, max: 2 }),
          }),
          weight: 2,
        },
        {
          arbitrary: fc.record({
            op: fc.constant('read' as const),
            consumer: fc.nat(20),
            n: fc.integer({ min: 1, max: 4 }),
          }),
          weight: 5,
        },
        {
          arbitrary: fc.record({ op: fc.constant('break' as const), consumer: fc.nat(20) }),
          weight: 2,
        },
      ),
      { minLength: 10, maxLength: 50, size: 'max' },
    );

    /** Key k: 3k + 4 items; key 2 fails at its seventh. */
    const countOf = (key: number) => 3 * key + 4;
    const failAt = (key: number) => (key === 2 ? 7 : undefined);
    const reference = (key: number): string[] => {
      const items = Array.from({ length: countOf(key) }, (_, i) => String(i + 1));
      const fail = failAt(key);
      return fail === undefined ? [...items, 'done'] : [...items.slice(0, fail - 1), 'error'];
    };

    interface Consumer {
      readonly key: number;
      readonly iterator: AsyncIterator<number>;
      readonly log: string[];
      /** A read that has not settled (e.g. held back behind a slower sharer). */
      pending: boolean;
      broken: boolean;
      ended: boolean;
    }

    /** Issues one read; it is logged whenever it settles. */
    function read(c: Consumer): void {
      if (c.ended || c.pending) return;
      c.pending = true;
      c.iterator.next().then(
        (result) => {
          c.pending = false;
          if (c.broken) return;
          if (result.done === true) {
            c.log.push('done');
            c.ended = true;
          } else {
            c.log.push(String(result.value));
          }
        },
        (error: unknown) => {
          c.pending = false;
          if (c.broken) return;
          expect(error).toBe(boom);
          c.log.push('error');
          c.ended = true;
        },
      );
    }

    it('gives every consumer exactly the items (and end or error) it would get without memoize', async () => {
      await fc.assert(
        fc.asyncProperty(
          ops,
          fc.integer({ min: 1, max: 6 }),
          fc.integer({ min: 1, max: 3 }),
          async (script, maxItems, maxEntries) => {
            const state = { runs: 0, finallyRan: 0 };
            const mediator = createMediator({
              handlers: [
                handler(Numbers, async function* (request) {
                  state.runs++;
                  try {
                    for (let i = 1; i <= request.count; i++) {
                      if (i === failAt(request.tag as number)) throw boom;
                      yield i;
                    }
                  } finally {
                    state.finallyRan++;
                  }
                }),
              ],
              behaviors: [memoize({ maxItems, maxEntries })],
            });
            const consumers: Consumer[] = [];
            // One step at a time: each op runs, then everything it unblocked settles.
            for (const step of script) {
              if (step.op === 'open') {
                consumers.push({
                  key: step.key,
                  iterator: open(mediator.createStream(new Numbers(countOf(step.key), step.key))),
                  log: [],
                  pending: false,
                  broken: false,
                  ended: false,
                });
              } else if (consumers.length > 0) {
                const c = consumers[step.consumer % consumers.length]!;
                if (step.op === 'read') {
                  for (let i = 0; i < step.n; i++) {
                    read(c);
                    await flushMicrotasks(20);
                  }
                } else if (!c.ended) {
                  c.broken = true;
                  c.ended = true;
                  await c.iterator.return!();
                }
              }
              await flushMicrotasks(20);
            }
            // Drain every consumer still reading, all at once.
            for (let turn = 0; consumers.some((c) => !c.ended); turn++) {
              expect(turn).toBeLessThan(1000);
              for (const c of consumers) read(c);
              await flushMicrotasks(20);
            }
            await flushMicrotasks(20);
            for (const c of consumers) {
              const expected = reference(c.key);
              if (c.broken) expect(expected.slice(0, c.log.length)).toEqual(c.log);
              else expect(c.log).toEqual(expected);
            }
            expect(state.finallyRan).toBe(state.runs); // every run was closed
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
