import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { createMediator, handler, requestBehavior, tryMap } from '../../src/index.js';
import { recordAttempts } from '../../src/behaviors/attempts.js';
import type { DeadLetter, DeadLetterStore } from '../../src/behaviors/DeadLetter.js';
import { deadLetters, type DeadLetterEvent } from '../../src/behaviors/deadLetters.js';
import { MemoryDeadLetterStore } from '../../src/behaviors/MemoryDeadLetterStore.js';
import { retry } from '../../src/behaviors/retry.js';
import { deferred, flushMicrotasks } from '../helpers/deferred.js';
import { ExportOrders, GetOrder, order, PlaceOrder, UUID, type Order } from '../helpers/orders.js';
import { collect } from '../helpers/collect.js';

afterEach(() => {
  jest.useRealTimers();
});

class Boom extends Error {
  override readonly name = 'Boom';
  readonly code = 'E_BOOM';
}

/** Collects a policy's events. */
function eventsOf(policy: ReturnType<typeof deadLetters>): DeadLetterEvent[] {
  const events: DeadLetterEvent[] = [];
  policy.events.subscribe((event) => events.push(event));
  return events;
}

/** A store whose appends wait until released (or fail), to observe ordering. */
function gatedStore(): DeadLetterStore & { release(): void; fail(error: unknown): void } {
  const inner = new MemoryDeadLetterStore();
  const gates: ReturnType<typeof deferred<void>>[] = [];
  return {
    append: (letter: DeadLetter) => {
      const gate = deferred();
      gates.push(gate);
      return gate.promise.then(() => inner.append(letter));
    },
    read: (query) => inner.read(query),
    list: (query) => inner.list(query),
    remove: (ids) => inner.remove(ids),
    count: () => inner.count(),
    release: () => gates.shift()?.resolve(undefined),
    fail: (error) => gates.shift()?.reject(error),
  };
}

describe('deadLetters', () => {
  describe('requests', () => {
    it('records a request that finally fails, with every field, and rethrows the original error', async () => {
      jest.useFakeTimers({ now: new Date('2030-01-02T03:04:05.678Z') });
      const error = new Boom('payment service down');
      const policy = deadLetters();
      const events = eventsOf(policy);
      const mediator = createMediator({
        handlers: [handler(PlaceOrder, () => Promise.reject(error))],
        behaviors: [
          policy,
          // stands in for retry: it records how many attempts the call made
          requestBehavior((_, next, context) =>
            next().catch((e: unknown) => {
              recordAttempts(context, e, 3);
              throw e;
            }),
          ),
        ],
      });

      await expect(
        mediator.send(new PlaceOrder('sku-1', 2), { correlationId: 'corr-1' }),
      ).rejects.toBe(error);

      const [letter] = await policy.store.list();
      expect(letter).toEqual({
        id: expect.stringMatching(UUID),
        kind: 'request',
        messageName: 'PlaceOrder',
        payload: { sku: 'sku-1', quantity: 2 },
        error: {
          name: 'Boom',
          message: 'payment service down',
          stack: error.stack,
          code: 'E_BOOM',
        },
        attempts: 3,
        correlationId: 'corr-1',
        time: '2030-01-02T03:04:05.678Z',
      });
      expect(events).toEqual([
        {
          type: 'deadLetter',
          policy: 'deadLetters',
          messageName: 'PlaceOrder',
          context: expect.objectContaining({ messageName: 'PlaceOrder', correlationId: 'corr-1' }),
          letter,
        },
      ]);
      expect(policy.stats()).toMatchObject({
        recorded: 1,
        dropped: 0,
        storeErrors: 0,
        pendingWrites: 0,
      });
    });

    it('counts one attempt without a retry and records the generated correlation id', async () => {
      const policy = deadLetters();
      let seen = '';
      const mediator = createMediator({
        handlers: [
          handler(GetOrder, (_, context) => {
            seen = context.correlationId;
            throw new Error('nope');
          }),
        ],
        behaviors: [policy],
      });
      await expect(mediator.send(new GetOrder('1'))).rejects.toThrow('nope');
      const [letter] = await policy.store.list();
      expect(letter).toMatchObject({ attempts: 1, correlationId: seen, payload: { id: '1' } });
    });

    it('records a thrown value that is not an Error', async () => {
      const policy = deadLetters();
      const mediator = createMediator({
        handlers: [handler(GetOrder, () => Promise.reject('just a string'))],
        behaviors: [policy],
      });
      await expect(mediator.send(new GetOrder('1'))).rejects.toBe('just a string');
      const [letter] = await policy.store.list();
      expect(letter!.error).toEqual({ name: 'NonError', message: 'just a string' });
    });

    it('passes answers through and records nothing when the call succeeds', async () => {
      const policy = deadLetters();
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => order(q.id))],
        behaviors: [policy],
      });
      await expect(mediator.send(new GetOrder('7'))).resolves.toEqual(order('7'));
      expect(await policy.store.count()).toBe(0);
    });

    it('writes the letter before the caller sees the error', async () => {
      const store = gatedStore();
      const policy = deadLetters({ store });
      const error = new Error('down');
      const mediator = createMediator({
        handlers: [handler(GetOrder, () => Promise.reject(error))],
        behaviors: [policy],
      });
      let settled = false;
      const call = mediator.send(new GetOrder('1')).catch((e: unknown) => {
        settled = true;
        return e;
      });
      await flushMicrotasks();
      expect(settled).toBe(false);
      expect(policy.stats().pendingWrites).toBe(1);
      store.release();
      expect(await call).toBe(error);
      expect(await store.count()).toBe(1);
    });

    it('never records a cancellation: an aborted call, or an abort error', async () => {
      const policy = deadLetters();
      const events = eventsOf(policy);
      const started = deferred();
      const mediator = createMediator({
        handlers: [
          handler(
            GetOrder,
            (_, { signal }) =>
              new Promise<Order>((_resolve, reject) => {
                started.resolve();
                signal.addEventListener('abort', () => reject(new Error('stopped')));
              }),
          ),
          handler(PlaceOrder, () => {
            throw new DOMException('The operation was aborted.', 'AbortError');
          }),
        ],
        behaviors: [policy],
      });
      const controller = new AbortController();
      const call = mediator.send(new GetOrder('1'), { signal: controller.signal });
      await started.promise;
      controller.abort();
      await expect(call).rejects.toMatchObject({ name: 'AbortError' });
      await expect(mediator.send(new PlaceOrder('a', 1))).rejects.toMatchObject({
        name: 'AbortError',
      });
      await flushMicrotasks();
      await policy.flush();
      expect(await policy.store.count()).toBe(0);
      expect(events).toEqual([]);
    });

    it('reports a failing store as a storeError event and still throws the original error', async () => {
      const store = gatedStore();
      const policy = deadLetters({ store, name: 'dlq' });
      const events = eventsOf(policy);
      const error = new Error('handler failed');
      const diskFull = new Error('ENOSPC');
      const mediator = createMediator({
        handlers: [handler(GetOrder, () => Promise.reject(error))],
        behaviors: [policy],
      });
      const call = mediator.send(new GetOrder('1'));
      await flushMicrotasks();
      store.fail(diskFull);
      await expect(call).rejects.toBe(error);
      expect(events).toEqual([
        {
          type: 'storeError',
          policy: 'dlq',
          messageName: 'GetOrder',
          context: expect.anything(),
          error: diskFull,
          letter: expect.objectContaining({ kind: 'request', messageName: 'GetOrder' }),
        },
      ]);
      expect(policy.stats()).toMatchObject({ recorded: 0, storeErrors: 1 });
    });

    it('reports a throwing payload function as a storeError and still throws the original error', async () => {
      const bad = new TypeError('cannot serialize');
      const policy = deadLetters({
        payload: () => {
          throw bad;
        },
      });
      const events = eventsOf(policy);
      const error = new Error('handler failed');
      const mediator = createMediator({
        handlers: [handler(GetOrder, () => Promise.reject(error))],
        behaviors: [policy],
      });
      await expect(mediator.send(new GetOrder('1'))).rejects.toBe(error);
      expect(events).toMatchObject([{ type: 'storeError', error: bad }]);
      expect(await policy.store.count()).toBe(0);
    });

    it('records what payload returns, and only what shouldRecord accepts', async () => {
      const policy = deadLetters({
        payload: (message) => ({ wrapped: message }),
        shouldRecord: (error) => !(error instanceof RangeError),
      });
      const mediator = createMediator({
        handlers: [
          handler(PlaceOrder, (c) => {
            throw c.quantity < 0 ? new RangeError('bad quantity') : new Error('down');
          }),
        ],
        behaviors: [policy],
      });
      await expect(mediator.send(new PlaceOrder('a', -1))).rejects.toThrow(RangeError);
      await expect(mediator.send(new PlaceOrder('a', 1))).rejects.toThrow('down');
      const letters = await policy.store.list();
      expect(letters).toHaveLength(1);
      expect(letters[0]!.payload).toEqual({ wrapped: { sku: 'a', quantity: 1 } });
    });

    it('wraps only the message classes named in for', async () => {
      const policy = deadLetters({ for: [PlaceOrder] });
      const mediator = createMediator({
        handlers: [
          handler(GetOrder, () => Promise.reject(new Error('get'))),
          handler(PlaceOrder, () => Promise.reject(new Error('place'))),
          handler(ExportOrders, () => {
            throw new Error('export');
          }),
        ],
        behaviors: [policy],
      });
      await expect(mediator.send(new GetOrder('1'))).rejects.toThrow('get');
      await expect(mediator.send(new PlaceOrder('a', 1))).rejects.toThrow('place');
      await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toThrow('export');
      expect((await policy.store.list()).map((l) => l.messageName)).toEqual(['PlaceOrder']);
    });
  });

  describe('streams', () => {
    it('records a failed stream with the number of items it delivered; the consumer gets the error', async () => {
      const error = new Error('cursor lost');
      const policy = deadLetters();
      const events = eventsOf(policy);
      const mediator = createMediator({
        handlers: [
          handler(ExportOrders, async function* () {
            yield order('1');
            yield order('2');
            throw error;
          }),
        ],
        behaviors: [policy],
      });
      const seen: Order[] = [];
      await expect(
        (async () => {
          for await (const item of mediator.createStream(new ExportOrders(), {
            correlationId: 'c-9',
          }))
            seen.push(item);
        })(),
      ).rejects.toBe(error);
      expect(seen).toEqual([order('1'), order('2')]);
      const [letter] = await policy.store.list();
      expect(letter).toMatchObject({
        kind: 'stream',
        messageName: 'ExportOrders',
        payload: {},
        delivered: 2,
        attempts: 1,
        correlationId: 'c-9',
        error: { name: 'Error', message: 'cursor lost' },
      });
      expect(events.map((e) => e.type)).toEqual(['deadLetter']);
    });

    it('records a stream whose handler fails before its first item', async () => {
      const policy = deadLetters();
      const mediator = createMediator({
        handlers: [
          handler(ExportOrders, () => {
            throw new Error('no connection');
          }),
        ],
        behaviors: [policy],
      });
      await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toThrow(
        'no connection',
      );
      expect(await policy.store.list()).toMatchObject([{ kind: 'stream', delivered: 0 }]);
    });

    it('records nothing when the stream completes or the consumer breaks out', async () => {
      const policy = deadLetters();
      let finallyRan = false;
      const mediator = createMediator({
        handlers: [
          handler(ExportOrders, async function* () {
            try {
              yield order('1');
              yield order('2');
              throw new Error('never reached by a consumer that breaks');
            } finally {
              finallyRan = true;
            }
          }),
        ],
        behaviors: [policy],
      });
      for await (const _ of mediator.createStream(new ExportOrders())) break;
      expect(finallyRan).toBe(true);
      await policy.flush();
      expect(await policy.store.count()).toBe(0);
    });

    it('does not record a stream aborted by its caller', async () => {
      const policy = deadLetters();
      const mediator = createMediator({
        handlers: [
          handler(ExportOrders, async function* (_, { signal }) {
            yield order('1');
            await new Promise((_resolve, reject) =>
              signal.addEventListener('abort', () => reject(new Error('aborted read'))),
            );
          }),
        ],
        behaviors: [policy],
      });
      const controller = new AbortController();
      const stream = mediator.createStream(new ExportOrders(), { signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const pending = iterator.next();
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      await flushMicrotasks();
      await policy.flush();
      expect(await policy.store.count()).toBe(0);
    });
  });

  describe('itemErrors', () => {
    it('records items tryMap gave up on, with the item, its index and its attempts', async () => {
      const policy = deadLetters();
      const events = eventsOf(policy);
      const mediator = createMediator({
        handlers: [handler(ExportOrders, () => [order('1'), order('2'), order('3')])],
        behaviors: [policy],
      });
      const request = new ExportOrders();
      const out = await collect(
        mediator.createStream(request).pipe(
          tryMap(
            (o: Order) => {
              if (o.id === '2') throw new Boom('price missing');
              return o.total;
            },
            {
              retry: { maxAttempts: 2 },
              fallback: () => -1,
              onError: policy.itemErrors(request, { correlationId: 'c-1' }),
            },
          ),
        ),
      );
      expect(out).toEqual([10, -1, 10]);
      await policy.flush(); // the write runs in the background: wait for it
      expect(await policy.store.list()).toEqual([
        {
          id: expect.stringMatching(UUID),
          kind: 'item',
          messageName: 'ExportOrders',
          payload: order('2'),
          index: 1,
          attempts: 2,
          correlationId: 'c-1',
          error: expect.objectContaining({
            name: 'Boom',
            message: 'price missing',
            code: 'E_BOOM',
          }),
          time: expect.any(String),
        },
      ]);
      expect(events.map((e) => e.type)).toEqual(['deadLetter']);
    });

    it('takes a message name and a payload function', async () => {
      const policy = deadLetters();
      const onError = policy.itemErrors('orders.export', {
        payload: (item: Order, i) => [item.id, i],
      });
      onError({ error: new Error('x'), item: order('5'), index: 4, attempts: 1, recovered: false });
      await policy.flush();
      expect(await policy.store.list()).toMatchObject([
        { kind: 'item', messageName: 'orders.export', payload: ['5', 4], index: 4 },
      ]);
      expect((await policy.store.list())[0]).not.toHaveProperty('correlationId');
    });

    it('ignores abort errors', async () => {
      const policy = deadLetters();
      policy.itemErrors('x')({
        error: new DOMException('aborted', 'AbortError'),
        item: 1,
        index: 0,
        attempts: 1,
        recovered: true,
      });
      await policy.flush();
      expect(await policy.store.count()).toBe(0);
    });

    it('drops item letters beyond maxPendingWrites, counted and announced', async () => {
      const store = gatedStore();
      const policy = deadLetters({ store, maxPendingWrites: 1 });
      const events = eventsOf(policy);
      const onError = policy.itemErrors('Items');
      onError({ error: new Error('a'), item: 'a', index: 0, attempts: 1, recovered: true });
      onError({ error: new Error('b'), item: 'b', index: 1, attempts: 1, recovered: true });
      expect(policy.stats()).toMatchObject({ pendingWrites: 1, dropped: 1 });
      expect(events).toMatchObject([
        { type: 'dropped', reason: 'backlog', messageName: 'Items', letter: { payload: 'b' } },
      ]);
      store.release();
      await policy.flush();
      expect((await store.list()).map((l) => l.payload)).toEqual(['a']);
    });

    it('reports store failures of item letters as storeError events', async () => {
      const store = gatedStore();
      const policy = deadLetters({ store });
      const events = eventsOf(policy);
      policy.itemErrors('Items')({
        error: new Error('a'),
        item: 1,
        index: 0,
        attempts: 1,
        recovered: false,
      });
      store.fail(new Error('disk'));
      await policy.flush();
      expect(events).toMatchObject([{ type: 'storeError', error: { message: 'disk' } }]);
      expect(policy.stats().storeErrors).toBe(1);
    });

    it('does not record the stream again when it fails with an item letter’s error', async () => {
      const policy = deadLetters();
      const mediator = createMediator({
        handlers: [
          handler(ExportOrders, (request) =>
            // a handler that maps its own rows with tryMap, without fallback
            createMediator({ handlers: [handler(ExportOrders, () => [order('1')])] })
              .createStream(new ExportOrders())
              .pipe(
                tryMap(
                  () => {
                    throw new Error('bad row');
                  },
                  { onError: policy.itemErrors(request) },
                ),
              ),
          ),
        ],
        behaviors: [policy],
      });
      await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toThrow('bad row');
      await policy.flush();
      expect((await policy.store.list()).map((l) => l.kind)).toEqual(['item']);
    });
  });

  describe('the memory store behind it', () => {
    it('announces letters the full store evicted as dropped, and counts them', async () => {
      const store = new MemoryDeadLetterStore({ capacity: 2 });
      const policy = deadLetters({ store });
      const events = eventsOf(policy);
      const mediator = createMediator({
        handlers: [handler(GetOrder, (q) => Promise.reject(new Error(q.id)))],
        behaviors: [policy],
      });
      for (const id of ['1', '2', '3']) {
        await expect(mediator.send(new GetOrder(id))).rejects.toThrow(id);
      }
      expect((await store.list()).map((l) => l.payload)).toEqual([{ id: '2' }, { id: '3' }]);
      expect(store.dropped).toBe(1);
      expect(policy.stats()).toMatchObject({ recorded: 3, dropped: 1 });
      const dropped = events.filter((e) => e.type === 'dropped');
      expect(dropped).toMatchObject([
        { reason: 'evicted', messageName: 'GetOrder', letter: { payload: { id: '1' } } },
      ]);
    });
  });

  describe('replay', () => {
    /** A mediator whose PlaceOrder handler fails until `healthy` is set, for some SKUs. */
    function flaky() {
      const state = { healthy: new Set<string>(), received: [] as PlaceOrder[] };
      const policy = deadLetters();
      const mediator = createMediator({
        handlers: [
          handler(PlaceOrder, (c) => {
            state.received.push(c);
            if (!state.healthy.has(c.sku)) throw new Error(`no stock for ${c.sku}`);
            return `order-${c.sku}`;
          }),
        ],
        behaviors: [policy],
      });
      return { state, policy, mediator };
    }

    it('re-dispatches letters, removes only those that succeed, and does not record a failure twice', async () => {
      const { state, policy, mediator } = flaky();
      const events = eventsOf(policy);
      await expect(
        mediator.send(new PlaceOrder('a', 1), { correlationId: 'ca' }),
      ).rejects.toThrow();
      await expect(mediator.send(new PlaceOrder('b', 2))).rejects.toThrow();
      const [first, second] = await policy.store.list();
      state.healthy.add('a');
      state.received.length = 0;
      events.length = 0;

      const result = await policy.replay(mediator);

      expect(result).toEqual({
        succeeded: [first!.id],
        failed: [{ id: second!.id, error: new Error('no stock for b') }],
        skipped: [],
      });
      expect(await policy.store.list()).toEqual([second]); // kept as it was, not recorded again
      expect(events).toEqual([
        {
          type: 'replayed',
          policy: 'deadLetters',
          messageName: 'PlaceOrder',
          letter: first,
          outcome: 'succeeded',
        },
        {
          type: 'replayed',
          policy: 'deadLetters',
          messageName: 'PlaceOrder',
          letter: second,
          outcome: 'failed',
          error: new Error('no stock for b'),
        },
      ]);
      expect(policy.stats()).toMatchObject({ recorded: 2, replaySucceeded: 1, replayFailed: 1 });

      // revived through mediator.messageClass: a real PlaceOrder with the recorded fields
      expect(state.received[0]).toBeInstanceOf(PlaceOrder);
      expect(state.received[0]).toEqual(new PlaceOrder('a', 1));
      expect(state.received[1]).toEqual(new PlaceOrder('b', 2));

      // after the replay, new failures are recorded again
      await expect(mediator.send(new PlaceOrder('b', 2))).rejects.toThrow();
      expect(await policy.store.count()).toBe(2);
    });

    it('passes the recorded correlation id and honours filter and limit', async () => {
      const { state, policy, mediator } = flaky();
      const ids: string[] = [];
      const spy = requestBehavior((_, next, context) => {
        ids.push(context.correlationId);
        return next();
      });
      const traced = createMediator({
        handlers: [handler(PlaceOrder, (c) => `order-${c.sku}`)],
        behaviors: [spy],
      });
      for (const sku of ['a', 'b', 'c']) {
        await expect(
          mediator.send(new PlaceOrder(sku, 1), { correlationId: `c-${sku}` }),
        ).rejects.toThrow();
      }
      state.healthy.add('b');
      const result = await policy.replay(traced, {
        filter: (letter) => (letter.payload as PlaceOrder).sku !== 'a',
        limit: 1,
      });
      expect(result.succeeded).toHaveLength(1);
      expect(ids).toEqual(['c-b']);
      expect((await policy.store.list()).map((l) => l.correlationId)).toEqual(['c-a', 'c-c']);
    });

    it('uses revive and dispatch when given, and needs dispatch for item letters', async () => {
      const policy = deadLetters();
      policy.itemErrors('ExportOrders')({
        error: new Error('x'),
        item: order('9'),
        index: 3,
        attempts: 1,
        recovered: true,
      });
      const mediator = createMediator({
        handlers: [handler(PlaceOrder, () => Promise.reject(new Error('down')))],
        behaviors: [policy],
      });
      await expect(mediator.send(new PlaceOrder('a', 1))).rejects.toThrow();
      await policy.flush();
      const [item, request] = await policy.store.list();

      const first = await policy.replay(mediator);
      expect(first.skipped).toEqual([
        { id: item!.id, reason: 'item letters are replayed only through a dispatch option' },
      ]);
      expect(first.failed).toMatchObject([{ id: request!.id }]);
      expect(policy.stats().replaySkipped).toBe(1);

      const dispatched: unknown[][] = [];
      const second = await policy.replay(mediator, {
        revive: (letter) => ({ revived: letter.payload }),
        dispatch: (letter, message) => {
          dispatched.push([letter.kind, message]);
        },
      });
      expect(dispatched).toEqual([
        ['item', { revived: order('9') }],
        ['request', { revived: { sku: 'a', quantity: 1 } }],
      ]);
      expect(second.succeeded).toEqual([item!.id, request!.id]);
      expect(await policy.store.count()).toBe(0);
    });

    it('skips letters whose message the mediator does not know', async () => {
      const policy = deadLetters();
      const failing = createMediator({
        handlers: [handler(GetOrder, () => Promise.reject(new Error('down')))],
        behaviors: [policy],
      });
      await expect(failing.send(new GetOrder('1'))).rejects.toThrow();
      const other = createMediator({ handlers: [handler(PlaceOrder, () => 'x')] });
      const result = await policy.replay(other);
      expect(result.skipped).toEqual([
        { id: expect.any(String), reason: "the mediator knows no message named 'GetOrder'" },
      ]);
      expect(await policy.store.count()).toBe(1);
    });

    it('drains stream letters through createStream, and a stream that fails again stays', async () => {
      let healthy = false;
      let drained = 0;
      const policy = deadLetters();
      const mediator = createMediator({
        handlers: [
          handler(ExportOrders, async function* () {
            yield order('1');
            drained++;
            if (!healthy) throw new Error('cursor lost');
          }),
        ],
        behaviors: [policy],
      });
      await expect(collect(mediator.createStream(new ExportOrders()))).rejects.toThrow();
      const again = await policy.replay(mediator);
      expect(again.failed).toHaveLength(1);
      expect(await policy.store.count()).toBe(1);
      healthy = true;
      const result = await policy.replay(mediator);
      expect(result.succeeded).toHaveLength(1);
      expect(drained).toBe(3);
      expect(await policy.store.count()).toBe(0);
    });

    it('stops when its signal aborts and rejects with the reason', async () => {
      const { policy, mediator } = flaky();
      for (const sku of ['a', 'b']) {
        await expect(mediator.send(new PlaceOrder(sku, 1))).rejects.toThrow();
      }
      const controller = new AbortController();
      const gate = deferred();
      const replay = policy.replay(mediator, {
        signal: controller.signal,
        dispatch: async (_letter, _message, { signal }) => {
          expect(signal).toBe(controller.signal);
          await gate.promise;
        },
      });
      await flushMicrotasks();
      controller.abort(new Error('shutting down'));
      gate.resolve();
      await expect(replay).rejects.toThrow('shutting down');
      expect(await policy.store.count()).toBe(1); // the first was done and removed; the second never ran
    });

    it('refuses a second replay while one runs', async () => {
      const policy = deadLetters();
      policy.itemErrors('x')({
        error: new Error('x'),
        item: 1,
        index: 0,
        attempts: 1,
        recovered: true,
      });
      await policy.flush();
      const gate = deferred();
      const mediator = createMediator({});
      const first = policy.replay(mediator, { dispatch: () => gate.promise });
      await expect(policy.replay(mediator)).rejects.toThrow('already running');
      gate.resolve();
      await expect(first).resolves.toMatchObject({ succeeded: [expect.any(String)] });
    });
  });

  describe('validation', () => {
    it('rejects bad options naming the option and the value', () => {
      expect(() => deadLetters({ maxPendingWrites: 0 })).toThrow(
        new RangeError("Option 'maxPendingWrites' must be a whole number ≥ 1 or Infinity, got 0."),
      );
      expect(() => deadLetters({ maxPendingWrites: '5' as never })).toThrow(TypeError);
      expect(() => deadLetters({ payload: 42 as never })).toThrow(
        new TypeError("Option 'payload' must be a function, got 42."),
      );
      expect(() => deadLetters({ shouldRecord: true as never })).toThrow(/'shouldRecord'/);
      expect(() => deadLetters({ name: 3 as never })).toThrow(/'name'/);
      expect(() => deadLetters({ store: {} as never })).toThrow(
        /Option 'store' must be a DeadLetterStore .*; it has no append\(\)/,
      );
      expect(() => deadLetters({ for: [] })).toThrow(/Option 'for' of deadLetters\(\)/);
      expect(() => deadLetters(null as never)).toThrow(TypeError);
    });

    it('rejects a bad itemErrors source and bad replay options', async () => {
      const policy = deadLetters();
      expect(() => policy.itemErrors('')).toThrow(TypeError);
      expect(() => policy.itemErrors({ id: 1 })).toThrow(/message name or a message/);
      expect(() => policy.itemErrors('x', { correlationId: 5 as never })).toThrow(
        /'correlationId'/,
      );
      const mediator = createMediator({});
      await expect(policy.replay({} as never)).rejects.toThrow(/needs a mediator/);
      await expect(policy.replay(mediator, { limit: 0 })).rejects.toThrow(
        new RangeError("Option 'limit' must be a whole number ≥ 1 or Infinity, got 0."),
      );
      await expect(policy.replay(mediator, { dispatch: 'x' as never })).rejects.toThrow(
        /'dispatch'/,
      );
      await expect(policy.replay(mediator, { signal: {} as never })).rejects.toThrow(/'signal'/);
    });
  });
});

describe('deadLetters regressions (review of issue 5)', () => {
  it('does not take one call’s attempt count for another call failing with the same error', async () => {
    // Attempts were recorded per error object: a module-level error carried them across calls.
    const shared = new Error('service unavailable');
    const store = new MemoryDeadLetterStore();
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, async () => {
          throw shared;
        }),
        handler(PlaceOrder, async () => {
          throw shared;
        }),
      ],
      behaviors: [deadLetters({ store }), retry({ maxAttempts: 3, delayMs: 0, for: [GetOrder] })],
    });
    await expect(mediator.send(new GetOrder('1'))).rejects.toBe(shared);
    await expect(mediator.send(new PlaceOrder('sku', 1))).rejects.toBe(shared);
    const letters = await store.list();
    expect(letters.map((l) => [l.messageName, l.attempts])).toEqual([
      ['GetOrder', 3],
      ['PlaceOrder', 1], // not retried; was 3
    ]);
  });

  it('records the attempts made when retry’s shouldRetry throws', async () => {
    const broken = new Error('shouldRetry bug');
    const store = new MemoryDeadLetterStore();
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, async () => {
          throw new Error('down');
        }),
      ],
      behaviors: [
        deadLetters({ store }),
        retry({
          maxAttempts: 5,
          delayMs: 0,
          shouldRetry: (_, { attempt }) => {
            if (attempt === 2) throw broken;
            return true;
          },
        }),
      ],
    });
    await expect(mediator.send(new GetOrder('1'))).rejects.toBe(broken);
    const [letter] = await store.list();
    expect(letter).toMatchObject({ error: { message: 'shouldRetry bug' }, attempts: 2 }); // was 1
  });

  it('exposes stats() as a method, like the other policies', () => {
    const policy = deadLetters();
    expect(typeof policy.stats).toBe('function');
    expect(policy.stats()).toMatchObject({ recorded: 0 });
  });
});
