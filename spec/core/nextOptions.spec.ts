import { describe, expect, it } from '@jest/globals';
import {
  createMediator,
  handler,
  requestBehavior,
  streamBehavior,
  type BehaviorSet,
  type HandlerContext,
} from '../../src/index.js';
import { ExportOrders, GetOrder, order, PlaceOrder } from '../helpers/orders.js';

describe('next(request, { signal })', () => {
  it('runs the rest of the pipeline under the given signal', async () => {
    const inner = new AbortController();
    let seen: AbortSignal | undefined;
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q, ctx) => ((seen = ctx.signal), order(q.id)))],
      behaviors: [requestBehavior((_q, next) => next(undefined, { signal: inner.signal }))],
    });
    await mediator.send(new GetOrder('1'));
    expect(seen).toBe(inner.signal);
  });

  it('keeps the correlation id, generated lazily, shared by both sides', async () => {
    const ids: string[] = [];
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q, ctx) => (ids.push(ctx.correlationId), order(q.id)))],
      behaviors: [
        requestBehavior(async (_q, next, ctx) => {
          const answer = await next(undefined, { signal: new AbortController().signal });
          ids.push(ctx.correlationId);
          return answer;
        }),
      ],
    });
    await mediator.send(new GetOrder('1'));
    expect(ids[0]).toBe(ids[1]);
    await mediator.send(new GetOrder('1'), { correlationId: 'c-1' });
    expect(ids.slice(2)).toEqual(['c-1', 'c-1']);
  });

  it('calls a signal factory only when someone reads context.signal, and once', async () => {
    let made = 0;
    const factory = (): AbortSignal => (made++, new AbortController().signal);
    let reads = 0;
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, (q, ctx) => {
          if (q.id === 'reads') {
            reads += ctx.signal === ctx.signal ? 1 : 0;
          }
          return order(q.id);
        }),
      ],
      behaviors: [requestBehavior((_q, next) => next(undefined, { signal: factory }))],
    });
    await mediator.send(new GetOrder('ignores'));
    expect(made).toBe(0);
    await mediator.send(new GetOrder('reads'));
    expect(made).toBe(1);
    expect(reads).toBe(1);
  });

  it('rejects a factory that returns something else, naming it', async () => {
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q, ctx) => (ctx.signal, order(q.id)))],
      behaviors: [requestBehavior((_q, next) => next(undefined, { signal: (() => 42) as never }))],
    });
    await expect(mediator.send(new GetOrder('1'))).rejects.toThrow(
      'The signal factory passed to next() must return an AbortSignal, got 42.',
    );
  });

  it('rejects a signal that is neither a signal nor a function', async () => {
    const mediator = createMediator({
      handlers: [handler(GetOrder, (q) => order(q.id))],
      behaviors: [requestBehavior((_q, next) => next(undefined, { signal: 'no' as never }))],
    });
    await expect(mediator.send(new GetOrder('1'))).rejects.toThrow(TypeError);
  });

  it('gives a stream handler the new signal', async () => {
    const inner = new AbortController();
    let seen: AbortSignal | undefined;
    const mediator = createMediator({
      handlers: [
        handler(ExportOrders, async function* (_r, ctx: HandlerContext) {
          seen = ctx.signal;
          yield order('1');
        }),
      ],
      behaviors: [streamBehavior((_r, next) => next(undefined, { signal: inner.signal }))],
    });
    const items = [];
    for await (const item of mediator.createStream(new ExportOrders())) items.push(item);
    expect(items).toEqual([order('1')]);
    expect(seen).toBe(inner.signal);
  });
});

describe('behavior sets', () => {
  it('flattens a set in place, keeping the order of the whole list', async () => {
    const log: string[] = [];
    const tag = (label: string) =>
      requestBehavior(async (_q, next) => {
        log.push(label);
        return next();
      });
    const set: BehaviorSet = { behaviors: [tag('b'), tag('c')] };
    const mediator = createMediator({
      handlers: [handler(PlaceOrder, () => 'id')],
      behaviors: [tag('a'), set, tag('d')],
    });
    await mediator.send(new PlaceOrder('sku', 1));
    expect(log).toEqual(['a', 'b', 'c', 'd']);
  });

  it('checks the members of a set like any other entry', () => {
    expect(() => createMediator({ behaviors: [{ behaviors: [42] } as never] })).toThrow(
      /^Each entry of 'behaviors' must come from .* got number 42\.$/,
    );
  });
});

describe('Mediator.messageClass', () => {
  it('finds the class registered under a message name', () => {
    const mediator = createMediator({ handlers: [handler(GetOrder, (q) => order(q.id))] });
    expect(mediator.messageClass('GetOrder')).toBe(GetOrder);
    expect(mediator.messageClass('Nope')).toBeUndefined();
  });
});
