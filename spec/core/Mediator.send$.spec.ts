import { describe, expect, it, jest } from '@jest/globals';
import { Observable, of, type ObservableNotification } from 'rxjs';
import {
  createMediator,
  handler,
  HandlerNotFoundError,
  isAbortError,
  type HandlerContext,
} from '../../src/index.js';
import { deferred, flushMicrotasks } from '../helpers/deferred.js';
import { GetOrder, order, OrderPlaced, type Order } from '../helpers/orders.js';
import { trackedController } from '../helpers/signals.js';

function answering(answer: (query: GetOrder, context: HandlerContext) => unknown) {
  return createMediator({ handlers: [handler(GetOrder, answer as (q: GetOrder) => Order)] });
}

/** Subscribes and records every notification, in order. */
function record<T>(source: Observable<T>) {
  const seen: ObservableNotification<T>[] = [];
  const subscription = source.subscribe({
    next: (value) => seen.push({ kind: 'N', value }),
    error: (error: unknown) => seen.push({ kind: 'E', error }),
    complete: () => seen.push({ kind: 'C' }),
  });
  return { seen, subscription };
}

describe('Mediator.send$', () => {
  it('is lazy: the handler does not run until subscription', () => {
    const handle = jest.fn(() => order('1'));
    const order$ = answering(handle).send$(new GetOrder('1'));
    expect(handle).not.toHaveBeenCalled();
    order$.subscribe();
    expect(handle).toHaveBeenCalledTimes(1);
  });

  it('is cold: each subscription runs the handler again', async () => {
    let calls = 0;
    const order$ = answering((q) => order(`${q.id}-${++calls}`)).send$(new GetOrder('a'));
    const first = record(order$);
    const second = record(order$);
    await flushMicrotasks();
    expect(first.seen).toEqual([{ kind: 'N', value: order('a-1') }, { kind: 'C' }]);
    expect(second.seen).toEqual([{ kind: 'N', value: order('a-2') }, { kind: 'C' }]);
  });

  it("emits an Observable handler's last value once, then completes", async () => {
    const { seen } = record(answering(() => of(order('1'), order('2'))).send$(new GetOrder('1')));
    await flushMicrotasks();
    expect(seen).toEqual([{ kind: 'N', value: order('2') }, { kind: 'C' }]);
  });

  it("passes the caller's correlation id to the handler", async () => {
    const { seen } = record(
      answering((_q, ctx) => order(ctx.correlationId)).send$(new GetOrder('1'), {
        correlationId: 'c-9',
      }),
    );
    await flushMicrotasks();
    expect(seen[0]).toEqual({ kind: 'N', value: order('c-9') });
  });

  it("aborts the handler's signal on unsubscribe, and emits nothing afterwards", async () => {
    const answer = deferred<Order>();
    let signal: AbortSignal | undefined;
    const { seen, subscription } = record(
      answering((_q, ctx) => ((signal = ctx.signal), answer.promise)).send$(new GetOrder('1')),
    );
    expect(signal?.aborted).toBe(false);
    subscription.unsubscribe();
    expect(signal?.aborted).toBe(true);
    expect(isAbortError(signal?.reason)).toBe(true);
    answer.resolve(order('late'));
    await flushMicrotasks();
    expect(seen).toEqual([]);
  });

  it("tears down an Observable handler's answer on unsubscribe", () => {
    let tornDown = 0;
    const { subscription } = record(
      answering(() => new Observable<Order>(() => () => void tornDown++)).send$(new GetOrder('1')),
    );
    expect(tornDown).toBe(0);
    subscription.unsubscribe();
    expect(tornDown).toBe(1);
  });

  it("does not abort the handler's signal once the handler has answered", async () => {
    let signal: AbortSignal | undefined;
    const { seen } = record(
      answering((q, ctx) => ((signal = ctx.signal), Promise.resolve(order(q.id)))).send$(
        new GetOrder('1'),
      ),
    );
    await flushMicrotasks();
    expect(seen).toEqual([{ kind: 'N', value: order('1') }, { kind: 'C' }]);
    expect(signal?.aborted).toBe(false);
  });

  it("errors with the reason when the caller's signal aborts", async () => {
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const { seen } = record(
      answering((_q, ctx) => ((signal = ctx.signal), deferred<Order>().promise)).send$(
        new GetOrder('1'),
        { signal: controller.signal },
      ),
    );
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await flushMicrotasks();
    expect(seen).toEqual([{ kind: 'E', error: reason }]);
    expect(signal?.reason).toBe(reason);
  });

  it('errors with the reason of an already aborted signal without running the handler', async () => {
    const handle = jest.fn(() => order('1'));
    const reason = new Error('already');
    const { seen } = record(
      answering(handle).send$(new GetOrder('1'), { signal: AbortSignal.abort(reason) }),
    );
    await flushMicrotasks();
    expect(seen).toEqual([{ kind: 'E', error: reason }]);
    expect(handle).not.toHaveBeenCalled();
  });

  it.each([
    ['completion', (answer: ReturnType<typeof deferred<Order>>) => answer.resolve(order('1'))],
    ['an error', (answer: ReturnType<typeof deferred<Order>>) => answer.reject(new Error('x'))],
  ])("removes its listener from the caller's signal after %s", async (_case, settle) => {
    const { signal, listeners } = trackedController();
    const answer = deferred<Order>();
    const { seen } = record(answering(() => answer.promise).send$(new GetOrder('1'), { signal }));
    expect(listeners()).toBeGreaterThan(0);
    settle(answer);
    await flushMicrotasks();
    expect(seen.at(-1)?.kind).toMatch(/C|E/);
    expect(listeners()).toBe(0);
  });

  it("removes its listener from the caller's signal on unsubscribe", () => {
    const { signal, listeners } = trackedController();
    const { subscription } = record(
      answering(() => deferred<Order>().promise).send$(new GetOrder('1'), { signal }),
    );
    expect(listeners()).toBeGreaterThan(0);
    subscription.unsubscribe();
    expect(listeners()).toBe(0);
  });

  it("errors with the handler's own error, unchanged", async () => {
    const boom = new Error('boom');
    const { seen } = record(
      answering(() => {
        throw boom;
      }).send$(new GetOrder('1')),
    );
    await flushMicrotasks();
    expect(seen).toEqual([{ kind: 'E', error: boom }]);
  });

  it('errors with HandlerNotFoundError, and with a TypeError for a non-request, on subscription', async () => {
    const mediator = createMediator();
    const missing = record(mediator.send$(new GetOrder('1')));
    const wrong = record(mediator.send$(new OrderPlaced('1') as never));
    await flushMicrotasks();
    expect(missing.seen[0]).toEqual({ kind: 'E', error: expect.any(HandlerNotFoundError) });
    expect(wrong.seen[0]).toEqual({ kind: 'E', error: expect.any(TypeError) });
  });
});
