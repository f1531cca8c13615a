import { describe, expect, it } from '@jest/globals';
import {
  BufferOverflowError,
  DuplicateHandlerError,
  DuplicateMessageNameError,
  HandlerNotFoundError,
  InvalidHandlerResultError,
  isAbortError,
  isBufferOverflowError,
  isDuplicateHandlerError,
  isDuplicateMessageNameError,
  isHandlerNotFoundError,
  isInvalidHandlerResultError,
  isNotificationHandlersError,
  NotificationHandlersError,
} from '../../src/index.js';

/** Every error class with a sample instance and its guard. */
const errors = [
  {
    name: 'HandlerNotFoundError',
    guard: isHandlerNotFoundError,
    sample: () => new HandlerNotFoundError('orders.get', 'request'),
  },
  {
    name: 'DuplicateHandlerError',
    guard: isDuplicateHandlerError,
    sample: () => new DuplicateHandlerError('orders.get', 'A', 'B'),
  },
  {
    name: 'DuplicateMessageNameError',
    guard: isDuplicateMessageNameError,
    sample: () => new DuplicateMessageNameError('orders.get'),
  },
  {
    name: 'InvalidHandlerResultError',
    guard: isInvalidHandlerResultError,
    sample: () =>
      new InvalidHandlerResultError('ExportHandler', 'orders.export', 'returned undefined.'),
  },
  {
    name: 'NotificationHandlersError',
    guard: isNotificationHandlersError,
    sample: () =>
      new NotificationHandlersError(
        'orders.placed',
        [{ handlerName: 'Mail', error: new Error('smtp') }],
        2,
      ),
  },
  {
    name: 'BufferOverflowError',
    guard: isBufferOverflowError,
    sample: () => new BufferOverflowError(16),
  },
] as const;

describe('error classes', () => {
  it.each(errors.map((e) => [e.name, e] as const))(
    '%s is an Error with its own name, also in its stack',
    (name, { sample }) => {
      const error = sample();
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(error.stack?.startsWith(`${name}: ${error.message}`)).toBe(true);
      expect(String(error)).toBe(`${name}: ${error.message}`);
    },
  );

  it.each(errors.map((e) => [e.name, e] as const))(
    '%s is recognised by its own guard and by no other',
    (name, { sample }) => {
      const error = sample();
      for (const other of errors)
        expect([other.name, other.guard(error)]).toEqual([other.name, other.name === name]);
    },
  );

  it.each(errors.map((e) => [e.name, e] as const))(
    '%s guard accepts an error branded by another copy of the package',
    (name, { guard }) => {
      // What a second copy of fs-mediator in node_modules would construct: another class, same Symbol.for brand.
      class ForeignCopy extends Error {
        constructor() {
          super('from another copy');
          Object.defineProperty(this, Symbol.for(`fs-mediator.${name}`), { value: true });
        }
      }
      const plain = { [Symbol.for(`fs-mediator.${name}`)]: true };
      expect(guard(new ForeignCopy())).toBe(true);
      expect(guard(plain)).toBe(true);
    },
  );

  it.each(errors.map((e) => [e.name, e] as const))(
    '%s guard rejects unrelated values and look-alikes',
    (name, { guard }) => {
      const sameName = Object.assign(new Error('x'), { name });
      const wrongBrandValue = { [Symbol.for(`fs-mediator.${name}`)]: 'yes' };
      const stringKey = { [`fs-mediator.${name}`]: true };
      for (const value of [
        new Error(name),
        sameName,
        wrongBrandValue,
        stringKey,
        null,
        undefined,
        name,
        42,
      ]) {
        expect(guard(value)).toBe(false);
      }
    },
  );

  it.each(errors.map((e) => [e.name, e] as const))(
    '%s carries its brand as a non-enumerable property',
    (name, { sample }) => {
      const error = sample();
      const symbols = Object.getOwnPropertySymbols(error);
      expect(symbols).toContain(Symbol.for(`fs-mediator.${name}`));
      expect(symbols.filter((s) => Object.prototype.propertyIsEnumerable.call(error, s))).toEqual(
        [],
      );
    },
  );
});

describe('HandlerNotFoundError', () => {
  it('names the message and the kind of handler looked for', () => {
    const error = new HandlerNotFoundError('orders.export', 'stream');
    expect(error).toMatchObject({ messageName: 'orders.export', kind: 'stream' });
    expect(error.message).toBe("No stream handler is registered for 'orders.export'.");
  });
});

describe('DuplicateHandlerError', () => {
  it('names the message and both handlers when they differ', () => {
    const error = new DuplicateHandlerError('orders.get', 'GetOrderHandler', 'LegacyGetOrder');
    expect(error).toMatchObject({
      messageName: 'orders.get',
      existingHandler: 'GetOrderHandler',
      duplicateHandler: 'LegacyGetOrder',
    });
    expect(error.message).toBe(
      "'orders.get' already has handler 'GetOrderHandler'; cannot also register 'LegacyGetOrder'.",
    );
  });

  it('says "registered twice" when the same handler comes again', () => {
    expect(new DuplicateHandlerError('orders.placed', 'Audit', 'Audit').message).toBe(
      "Handler 'Audit' is registered twice for 'orders.placed'.",
    );
  });
});

describe('DuplicateMessageNameError', () => {
  it('names the contested name and tells how to fix it', () => {
    const error = new DuplicateMessageNameError('orders.get');
    expect(error.messageName).toBe('orders.get');
    expect(error.message).toMatch(
      /^Two different message classes are named 'orders\.get'\..*@MessageName.*static 'messageName'/,
    );
  });
});

describe('InvalidHandlerResultError', () => {
  it('names the handler, the message and the problem', () => {
    const error = new InvalidHandlerResultError(
      'ExportHandler',
      'orders.export',
      'returned undefined; expected an AsyncIterable.',
    );
    expect(error).toMatchObject({
      handlerName: 'ExportHandler',
      messageName: 'orders.export',
      problem: 'returned undefined; expected an AsyncIterable.',
    });
    expect(error.message).toBe(
      "Handler 'ExportHandler' for 'orders.export' returned undefined; expected an AsyncIterable.",
    );
  });
});

describe('NotificationHandlersError', () => {
  it('is an AggregateError naming each failing handler with its error, in order', () => {
    const smtp = new TypeError('smtp down');
    const failures = [
      { handlerName: 'SendConfirmation', error: smtp },
      { handlerName: 'Audit', error: 'disk full' },
    ];
    const error = new NotificationHandlersError('orders.placed', failures, 3);
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.errors).toEqual([smtp, 'disk full']);
    expect(error.errors[0]).toBe(smtp);
    expect(error).toMatchObject({ messageName: 'orders.placed', handlerCount: 3, failures });
    expect(error.message).toBe(
      "2 of 3 handlers of 'orders.placed' failed: 'SendConfirmation' (TypeError: smtp down), 'Audit' (disk full).",
    );
  });
});

describe('BufferOverflowError', () => {
  it('names the capacity', () => {
    const error = new BufferOverflowError(16);
    expect(error.capacity).toBe(16);
    expect(error.message).toContain('capacity 16');
  });
});

describe('isAbortError', () => {
  it('is true for the reason of controller.abort() without a reason', () => {
    const controller = new AbortController();
    controller.abort();
    expect(controller.signal.reason).toBeInstanceOf(DOMException);
    expect(isAbortError(controller.signal.reason)).toBe(true);
    expect(isAbortError(AbortSignal.abort().reason)).toBe(true);
  });

  it('is true for a TimeoutError, as AbortSignal.timeout() gives', () => {
    const reason: unknown = AbortSignal.abort(new DOMException('x', 'TimeoutError')).reason;
    expect(isAbortError(reason)).toBe(true);
  });

  it('is true for a look-alike named AbortError (e.g. from another realm or library)', () => {
    expect(isAbortError(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a plain Error', new Error('AbortError')],
    ['a DOMException of another name', new DOMException('x', 'NetworkError')],
    ['a custom abort reason', new RangeError('caller gave up')],
    ['the string AbortError', 'AbortError'],
    ['null', null],
    ['undefined', undefined],
  ])('is false for %s', (_case, value) => {
    expect(isAbortError(value)).toBe(false);
  });
});
