/**
 * Regression specs for fixes made after review of the first suites. Each names the defect it pins.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { lastValueFrom } from 'rxjs';
import {
  createMediator,
  DuplicateHandlerError,
  Handles,
  handler,
  interceptRequest,
  type BehaviorRegistration,
  type HandlerContext,
  type NotificationHandler,
} from '../../src/index.js';
import { deferred, flushMicrotasks } from '../helpers/deferred.js';
import { trackedController } from '../helpers/signals.js';
import { ExportOrders, GetOrder, OrderPlaced, PlaceOrder } from '../helpers/orders.js';

describe('publish$', () => {
  // Defect: its finalization always aborted the controller, so handlers' abort listeners fired
  // after they had already finished.
  it('does not abort the handlers signal after they have finished', async () => {
    let signal: AbortSignal | undefined;
    const mediator = createMediator({
      handlers: [handler(OrderPlaced, (_e, ctx) => void (signal = ctx.signal))],
    });
    await lastValueFrom(mediator.publish$(new OrderPlaced('1')), { defaultValue: undefined });
    expect(signal?.aborted).toBe(false);
  });
});

describe('correlationId on every verb', () => {
  // Defect: only send() validated it; createStream and publish passed a non-string through.
  it('is refused when not a string by createStream, createStream$ and publish', async () => {
    const mediator = createMediator({
      handlers: [handler(ExportOrders, () => []), handler(OrderPlaced, () => undefined)],
    });
    const bad = { correlationId: 42 as unknown as string };
    expect(() => mediator.createStream(new ExportOrders(), bad)).toThrow(
      new TypeError("Option 'correlationId' must be a string, got 42."),
    );
    expect(() => mediator.createStream$(new ExportOrders(), bad)).toThrow(TypeError);
    await expect(mediator.publish(new OrderPlaced('1'), bad)).rejects.toThrow(/'correlationId'/);
  });

  it('reaches every level of a stream pipeline unchanged', async () => {
    const seen: string[] = [];
    const mediator = createMediator({
      handlers: [handler(ExportOrders, (_r, ctx) => (seen.push(ctx.correlationId), []))],
    });
    for await (const _ of mediator.createStream(new ExportOrders(), { correlationId: 'abc' }));
    await lastValueFrom(mediator.createStream$(new ExportOrders(), { correlationId: 'def' }), {
      defaultValue: 0,
    });
    expect(seen).toEqual(['abc', 'def']);
  });
});

describe('interceptRequest', () => {
  // Defect: named after message.name (minifiers rename classes) instead of the stable name.
  it('is named after the stable message name', () => {
    class Renamed extends GetOrder {
      static readonly messageName = 'orders.renamed';
    }
    expect(interceptRequest(Renamed, {}).name).toBe('orders.renamed interceptor');
  });

  it('refuses a value that is not a request class', () => {
    expect(() => interceptRequest(ExportOrders as never, {})).toThrow(/stream message/);
  });
});

describe('createMediator options', () => {
  // Defect: only the sub-fields were checked, so `publish: 'x'` was accepted silently.
  it.each([
    ['publish', 'parallel'],
    ['streams', 5],
    ['publish', null],
    ['streams', []],
  ])('refuses %s that is not an object (%p)', (option, value) => {
    expect(() => createMediator({ [option]: value } as never)).toThrow(
      new RegExp(`Option '${option}' must be an object`),
    );
  });
});

describe('handler identity', () => {
  // Issue 3: "a class registered twice is an error". Identity is the class, not the instance.
  @Handles(OrderPlaced)
  class Audit implements NotificationHandler<OrderPlaced> {
    handle(): void {}
  }

  it('refuses two instances of one @Handles class for a notification', () => {
    expect(() => createMediator({ handlers: [new Audit(), new Audit()] })).toThrow(
      DuplicateHandlerError,
    );
  });

  it('refuses two instances of one class given to handler()', () => {
    expect(() =>
      createMediator({
        handlers: [handler(OrderPlaced, new Audit()), handler(OrderPlaced, new Audit())],
      }),
    ).toThrow(DuplicateHandlerError);
  });

  it('accepts two different plain objects and two different functions', () => {
    expect(() =>
      createMediator({
        handlers: [
          handler(OrderPlaced, { handle() {} }),
          handler(OrderPlaced, { handle() {} }),
          handler(OrderPlaced, () => undefined),
          handler(OrderPlaced, () => undefined),
        ],
      }),
    ).not.toThrow();
  });
});

describe('hand-built behavior registrations', () => {
  // Defect: their `for` list was not checked against their kind.
  it('have their scope checked like the built ones', () => {
    const registration: BehaviorRegistration = {
      kind: 'request',
      for: [ExportOrders],
      name: 'x',
      resolve: () => ({ handle: (_r: unknown, next: () => Promise<unknown>) => next() }),
      shared: true,
    };
    expect(() => createMediator({ behaviors: [registration] })).toThrow(
      /ExportOrders, which is a stream message/,
    );
  });
});

describe('createStream return() with a read in flight', () => {
  // Defect: with a caller signal, return() awaited the generator, which queues return() behind
  // a pending next(); a handler that ignores its signal held the consumer forever.
  it('settles at once even when the handler ignores its signal', async () => {
    const never = deferred<number>();
    const finallyRan = jest.fn();
    const mediator = createMediator({
      handlers: [
        handler(ExportOrders, async function* () {
          try {
            yield { id: 'x', total: await never.promise };
          } finally {
            finallyRan();
          }
        }),
      ],
    });
    const { signal, listeners } = trackedController();
    const iterator = mediator.createStream(new ExportOrders(), { signal })[Symbol.asyncIterator]();
    const read = iterator.next();
    await flushMicrotasks();
    await expect(iterator.return!()).resolves.toEqual({ value: undefined, done: true });
    await expect(read).resolves.toEqual({ value: undefined, done: true });
    expect(listeners()).toBe(0);
    never.resolve(1); // the generator finally gets to its yield; return() then closes it
    await flushMicrotasks();
    expect(finallyRan).toHaveBeenCalledTimes(1);
  });
});

describe('publish with fireAndForget', () => {
  // Defect: the caller aborting its own background publish was reported as a handler failure.
  it('does not report the caller’s own abort to onError, but does report real failures', async () => {
    const onError = jest.fn();
    const gate = deferred();
    const mediator = createMediator({
      onError,
      handlers: [
        handler(OrderPlaced, async function first(_e, ctx: HandlerContext) {
          await gate.promise;
          ctx.signal.throwIfAborted();
        }),
        handler(OrderPlaced, async function second() {}),
      ],
    });
    const controller = new AbortController();
    await mediator.publish(new OrderPlaced('1'), {
      fireAndForget: true,
      signal: controller.signal,
    });
    controller.abort();
    gate.resolve();
    await flushMicrotasks(20);
    expect(onError).not.toHaveBeenCalled();

    const failing = createMediator({
      onError,
      handlers: [handler(OrderPlaced, () => Promise.reject(new Error('smtp down')))],
    });
    await failing.publish(new OrderPlaced('2'), {
      fireAndForget: true,
      signal: new AbortController().signal,
    });
    await flushMicrotasks(20);
    expect(onError).toHaveBeenCalledWith(
      new Error('smtp down'),
      expect.objectContaining({ reason: 'fireAndForget' }),
    );
  });
});

describe('send with a request-level behavior returning an empty Observable', () => {
  it('names the behavior in the InvalidHandlerResultError', async () => {
    const { EMPTY } = await import('rxjs');
    const { requestBehavior } = await import('../../src/index.js');
    const mediator = createMediator({
      handlers: [handler(PlaceOrder, () => 'id')],
      behaviors: [
        requestBehavior(function emptying() {
          return EMPTY as never;
        }),
      ],
    });
    await expect(mediator.send(new PlaceOrder('a', 1))).rejects.toThrow(
      /'emptying' for 'PlaceOrder'/,
    );
  });
});

describe('publish correlation ids', () => {
  // Defect: forHandler() read the id eagerly, generating a UUID on every publish; the fix must
  // still give every handler of one publish the same generated id.
  it('gives every handler of one publish the same generated id, and a new one per publish', async () => {
    const ids: string[] = [];
    const mediator = createMediator({
      handlers: [
        handler(OrderPlaced, function a(_e, ctx) {
          ids.push(ctx.correlationId);
        }),
        handler(OrderPlaced, function b(_e, ctx) {
          ids.push(ctx.correlationId);
        }),
      ],
    });
    await mediator.publish(new OrderPlaced('1'), { strategy: 'parallel' });
    await mediator.publish(new OrderPlaced('2'));
    expect(ids).toHaveLength(4);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(ids[0]).not.toBe(ids[2]);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
  });
});
