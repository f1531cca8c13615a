import { describe, expect, it, jest } from '@jest/globals';
import { Subject } from 'rxjs';
import winston from 'winston';
import TransportStream from 'winston-transport';
import type { Logger } from 'winston';
import { createMediator, handler, retry, type HandlerContext } from '../../../src/index.js';
import { instrument } from '../../../src/observability/instrument.js';
import type { MediatorEvent } from '../../../src/observability/MediatorEvent.js';
import {
  defaultLogger,
  REDACTED,
  winstonLogging,
  type PolicyEventLike,
  type WinstonLoggingOptions,
} from '../../../src/observability/winston/index.js';
import { ExportOrders, GetOrder, order, OrderPlaced, PlaceOrder } from '../../helpers/orders.js';

type LogRecord = Record<string, unknown>;

/** A winston transport that keeps every record it receives. */
class MemoryTransport extends TransportStream {
  readonly records: LogRecord[] = [];

  override log(info: LogRecord, callback: () => void): void {
    this.records.push(Object.fromEntries(Object.entries(info))); // string keys: no winston symbols
    callback();
  }
}

function memoryLogger(level = 'silly'): { logger: Logger; records: LogRecord[] } {
  const transport = new MemoryTransport();
  return {
    logger: winston.createLogger({ level, transports: [transport] }),
    records: transport.records,
  };
}

/** A context whose correlation id read is counted (a record that is built reads it). */
function context(messageName: string, correlationId = 'corr-1') {
  const reads = { correlationId: 0 };
  const ctx: HandlerContext = {
    signal: new AbortController().signal,
    messageName,
    get correlationId() {
      reads.correlationId++;
      return correlationId;
    },
  };
  return { ctx, reads };
}

/** Logging driven by a Subject of mediator events and one of policy events. */
function driven(options: Omit<WinstonLoggingOptions, 'instrumentation'> = {}, level = 'silly') {
  const { logger, records } = memoryLogger(level);
  const events = new Subject<MediatorEvent>();
  const policyEvents = new Subject<PolicyEventLike>();
  const logging = winstonLogging({
    logger,
    policies: [{ events: policyEvents }],
    ...options,
    instrumentation: { events },
  });
  return { logging, logger, records, events, policyEvents };
}

function requestEnd(
  outcome: 'success' | 'failure' | 'cancelled',
  extra: Partial<MediatorEvent> = {},
): MediatorEvent {
  return {
    type: 'requestEnd',
    messageName: 'GetOrder',
    message: new GetOrder('7'),
    context: context('GetOrder').ctx,
    outcome,
    durationMs: 12.3456789,
    ...extra,
  } as MediatorEvent;
}

class WithCode extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'WithCode';
  }
}

describe('winstonLogging', () => {
  describe('call records', () => {
    it('logs a successful request at debug with its name, correlation id, outcome and duration', () => {
      const { records, events } = driven();
      events.next(requestEnd('success'));
      expect(records).toEqual([
        {
          level: 'debug',
          message: 'request succeeded',
          event: 'requestEnd',
          messageName: 'GetOrder',
          correlationId: 'corr-1',
          outcome: 'success',
          durationMs: 12.346,
        },
      ]);
    });

    it('logs a failed request at error with the error name, message, stack, code and cause', () => {
      const { records, events } = driven();
      const error = new WithCode('db down', 'ECONNREFUSED', { cause: new TypeError('socket') });
      events.next(requestEnd('failure', { error }));
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({
        level: 'error',
        message: 'request failed',
        outcome: 'failure',
        error: {
          name: 'WithCode',
          message: 'db down',
          code: 'ECONNREFUSED',
          stack: error.stack,
          cause: { name: 'TypeError', message: 'socket' },
        },
      });
      expect((records[0]!.error as { stack: string }).stack).toContain('db down');
    });

    it('describes a thrown non-Error as NonError, and leaves stacks out with errorStacks: false', () => {
      const { records, events } = driven({ errorStacks: false });
      events.next(requestEnd('failure', { error: 'plain string' }));
      events.next(requestEnd('failure', { error: new Error('x') }));
      expect(records[0]!.error).toEqual({ name: 'NonError', message: 'plain string' });
      expect(records[1]!.error).toEqual({ name: 'Error', message: 'x' });
      events.next(requestEnd('failure', { error: Object.create(null) })); // String() throws
      expect(records[2]!.error).toEqual({ name: 'NonError', message: '[object]' });
    });

    it('logs a cancellation at info, its abort error without a stack', () => {
      const { records, events } = driven();
      events.next(requestEnd('cancelled', { error: new DOMException('gone', 'AbortError') }));
      expect(records).toEqual([
        expect.objectContaining({
          level: 'info',
          message: 'request cancelled',
          outcome: 'cancelled',
          error: { name: 'AbortError', message: 'gone', code: 20 }, // DOMException's legacy code
        }),
      ]);
    });

    it('logs streams with their item count and rate, and progress reports at info', () => {
      const { records, events } = driven();
      const { ctx } = context('ExportOrders', 'corr-s');
      const base = { messageName: 'ExportOrders', message: new ExportOrders(), context: ctx };
      events.next({ ...base, type: 'streamStart' });
      events.next({ ...base, type: 'streamFirstItem', afterMs: 3 });
      events.next({
        ...base,
        type: 'streamProgress',
        items: 10_000,
        itemsSinceLast: 10_000,
        elapsedMs: 2_000,
      });
      events.next({
        ...base,
        type: 'streamEnd',
        startedAt: 0,
        outcome: 'completed',
        items: 12_000,
        itemsSinceLast: 2_000,
        durationMs: 3_000,
      });
      events.next({
        ...base,
        type: 'streamEnd',
        startedAt: 0,
        outcome: 'failed',
        items: 0,
        itemsSinceLast: 0,
        durationMs: 0,
        error: new Error('x'),
      });
      events.next({
        ...base,
        type: 'streamEnd',
        startedAt: 0,
        outcome: 'cancelled',
        items: 5,
        itemsSinceLast: 5,
        durationMs: 10,
      });
      expect(records.map((r) => [r.level, r.message])).toEqual([
        ['info', 'stream progress'],
        ['debug', 'stream completed'],
        ['error', 'stream failed'],
        ['info', 'stream cancelled'],
      ]);
      expect(records[0]).toEqual({
        level: 'info',
        message: 'stream progress',
        event: 'streamProgress',
        messageName: 'ExportOrders',
        correlationId: 'corr-s',
        items: 10_000,
        itemsSinceLast: 10_000,
        elapsedMs: 2_000,
        itemsPerSecond: 5_000,
      });
      expect(records[1]).toMatchObject({
        outcome: 'completed',
        items: 12_000,
        durationMs: 3_000,
        itemsPerSecond: 4_000,
      });
      expect(records[2]).not.toHaveProperty('itemsPerSecond'); // 0 ms: no rate rather than Infinity
    });

    it('logs notification handler runs with the handler name', () => {
      const { records, events } = driven();
      events.next({
        type: 'notificationEnd',
        messageName: 'OrderPlaced',
        message: new OrderPlaced('1'),
        context: context('OrderPlaced').ctx,
        handlerName: 'sendEmail',
        startedAt: 0,
        outcome: 'failure',
        durationMs: 1,
        error: new Error('smtp'),
      });
      expect(records[0]).toMatchObject({
        level: 'error',
        message: 'notification handler failed',
        handlerName: 'sendEmail',
        outcome: 'failure',
      });
    });

    it('logs starts and first items only when levels.start is set', () => {
      const quiet = driven();
      const { ctx } = context('ExportOrders');
      const start = {
        type: 'streamStart',
        messageName: 'ExportOrders',
        message: {},
        context: ctx,
      } as const;
      quiet.events.next(start);
      quiet.events.next({ ...start, type: 'requestStart' });
      expect(quiet.records).toEqual([]);

      const loud = driven({ levels: { start: 'verbose' } });
      loud.events.next(start);
      loud.events.next({ ...start, type: 'requestStart' });
      loud.events.next({ ...start, type: 'streamFirstItem', afterMs: 1.5 });
      expect(loud.records.map((r) => [r.level, r.message, r.afterMs])).toEqual([
        ['verbose', 'stream started', undefined],
        ['verbose', 'request started', undefined],
        ['verbose', 'stream first item', 1.5],
      ]);
    });

    it('uses the configured levels, and false turns a kind of record off', () => {
      const { records, events } = driven({
        levels: { success: 'info', failure: false, cancelled: 'warn' },
      });
      events.next(requestEnd('success'));
      events.next(requestEnd('failure', { error: new Error('x') }));
      events.next(requestEnd('cancelled'));
      expect(records.map((r) => [r.level, r.outcome])).toEqual([
        ['info', 'success'],
        ['warn', 'cancelled'],
      ]);
    });
  });

  describe('payloads', () => {
    it('are not logged by default, and redact is not called', () => {
      const redact = jest.fn((m: unknown) => m);
      const { records, events } = driven({ redact });
      events.next(requestEnd('success'));
      expect(records[0]).not.toHaveProperty('payload');
      expect(redact).not.toHaveBeenCalled();
    });

    it('with logPayloads, are logged with secret-looking fields masked at any depth', () => {
      const { records, events } = driven({ logPayloads: true });
      const message = {
        user: 'ann',
        password: 'hunter2',
        card: { number: '4111', cvcToken: 't', nested: [{ apiKey: 'k', ok: 1 }] },
        headers: { Authorization: 'Bearer x' },
      };
      events.next(requestEnd('success', { message }));
      expect(records[0]!.payload).toEqual({
        user: 'ann',
        password: REDACTED,
        card: { number: '4111', cvcToken: REDACTED, nested: [{ apiKey: REDACTED, ok: 1 }] },
        headers: { Authorization: REDACTED },
      });
      expect(message.password).toBe('hunter2'); // the message itself is untouched
    });

    it('with logPayloads, go through the given redact(message, messageName)', () => {
      const redact = jest.fn((m: unknown, name: string) =>
        name === 'GetOrder' ? { id: (m as GetOrder).id } : undefined,
      );
      const { records, events } = driven({ logPayloads: true, redact });
      events.next(requestEnd('success'));
      events.next(requestEnd('success', { messageName: 'Secret' }));
      expect(redact).toHaveBeenCalledWith(expect.any(GetOrder), 'GetOrder');
      expect(records[0]!.payload).toEqual({ id: '7' });
      expect(records[1]).not.toHaveProperty('payload'); // undefined leaves it out
    });

    it('a redact that throws costs the payload, not the record', () => {
      const { records, events } = driven({
        logPayloads: true,
        redact: () => {
          throw new Error('bad redactor');
        },
      });
      events.next(requestEnd('success'));
      expect(records[0]).toMatchObject({
        message: 'request succeeded',
        payload: '[redact failed]',
      });
    });
  });

  describe('policy events', () => {
    const { ctx } = context('GetOrder', 'corr-p');
    const cases: [PolicyEventLike & Record<string, unknown>, string, string, LogRecord][] = [
      [
        {
          type: 'retry',
          policy: 'retry',
          messageName: 'GetOrder',
          context: ctx,
          attempt: 2,
          delayMs: 100,
          error: new Error('flaky'),
        },
        'warn',
        'retrying',
        {
          attempt: 2,
          delayMs: 100,
          correlationId: 'corr-p',
          error: expect.objectContaining({ message: 'flaky' }),
        },
      ],
      [
        {
          type: 'giveUp',
          policy: 'retry',
          messageName: 'GetOrder',
          context: ctx,
          attempts: 3,
          reason: 'attempts',
          error: new Error('flaky'),
        },
        'error',
        'gave up retrying',
        { attempts: 3, reason: 'attempts' },
      ],
      [
        {
          type: 'break',
          policy: 'breaker',
          messageName: 'GetOrder',
          key: 'GetOrder',
          reason: 'failureRatio',
          failureRatio: 0.6,
        },
        'warn',
        'circuit opened',
        { key: 'GetOrder', failureRatio: 0.6 },
      ],
      [
        { type: 'halfOpen', policy: 'breaker', messageName: 'GetOrder', key: 'GetOrder' },
        'info',
        'circuit half-open',
        {},
      ],
      [
        { type: 'reset', policy: 'breaker', messageName: undefined, key: 'GetOrder' },
        'info',
        'circuit closed',
        {},
      ],
      [
        {
          type: 'reject',
          policy: 'bulkhead',
          messageName: 'GetOrder',
          context: ctx,
          key: 'GetOrder',
          reason: 'queueFull',
          running: 4,
          queued: 20,
        },
        'warn',
        'call rejected',
        { reason: 'queueFull', running: 4, queued: 20 },
      ],
      [
        {
          type: 'reject',
          policy: 'rateLimit',
          messageName: 'GetOrder',
          context: ctx,
          key: 'GetOrder',
          reason: 'maxWait',
          retryAfterMs: 250,
        },
        'warn',
        'call rejected',
        { retryAfterMs: 250 },
      ],
      [
        {
          type: 'trip',
          policy: 'memoryGuard',
          messageName: undefined,
          heapUsedBytes: 900,
          highWaterBytes: 800,
        },
        'warn',
        'memory guard tripped',
        { heapUsedBytes: 900, highWaterBytes: 800 },
      ],
      [
        {
          type: 'clear',
          policy: 'memoryGuard',
          messageName: undefined,
          heapUsedBytes: 500,
          lowWaterBytes: 600,
        },
        'info',
        'memory guard cleared',
        { lowWaterBytes: 600 },
      ],
      [
        {
          type: 'deadLetter',
          policy: 'deadLetters',
          messageName: 'GetOrder',
          letter: {
            id: 'L1',
            kind: 'request',
            messageName: 'GetOrder',
            payload: { secret: 1 },
            error: { name: 'Error', message: 'down', stack: 'Error: down' },
            attempts: 3,
            correlationId: 'corr-l',
            time: '2025-01-01T00:00:00.000Z',
          },
        },
        'error',
        'dead letter recorded',
        {
          letterId: 'L1',
          letterKind: 'request',
          attempts: 3,
          correlationId: 'corr-l',
          error: { name: 'Error', message: 'down', stack: 'Error: down' },
        },
      ],
      [
        { type: 'somethingNew', policy: 'custom', messageName: 'GetOrder' },
        'info',
        'somethingNew',
        {},
      ],
    ];

    it.each(cases)('logs %# (%p) at the documented level', (event, level, message, fields) => {
      const { records, policyEvents } = driven();
      policyEvents.next(event);
      expect(records).toEqual([
        expect.objectContaining({
          level,
          message,
          event: event.type,
          policy: event.policy,
          ...fields,
        }),
      ]);
      expect(records[0]).not.toHaveProperty('context');
      expect(records[0]).not.toHaveProperty('letter'); // nor the letter's payload
    });

    it("takes a dead letter's correlation id only when no call is behind the event, and drops its stack with errorStacks: false", () => {
      const { records, policyEvents } = driven({ errorStacks: false });
      const letter = {
        id: 'L2',
        kind: 'item',
        attempts: 1,
        error: { name: 'Error', message: 'bad item', stack: 'Error: bad item' },
      };
      policyEvents.next({
        type: 'deadLetter',
        policy: 'deadLetters',
        messageName: 'ExportOrders',
        context: ctx,
        letter: { ...letter, correlationId: 'corr-l' },
      } as PolicyEventLike);
      policyEvents.next({
        type: 'deadLetter',
        policy: 'deadLetters',
        messageName: 'ExportOrders',
        letter,
      } as PolicyEventLike);
      expect(records[0]).toMatchObject({
        correlationId: 'corr-p',
        letterKind: 'item',
        error: { name: 'Error', message: 'bad item' },
      });
      expect(records[0]!.error).not.toHaveProperty('stack');
      expect(records[1]).not.toHaveProperty('correlationId');
    });

    it('does not log stateChange (the break/halfOpen/reset before it says it), unless asked', () => {
      const event = {
        type: 'stateChange',
        policy: 'breaker',
        messageName: 'GetOrder',
        key: 'k',
        from: 'closed',
        to: 'open',
      };
      const quiet = driven();
      quiet.policyEvents.next(event);
      expect(quiet.records).toEqual([]);
      const loud = driven({ policyLevels: { stateChange: 'info', retry: false } });
      loud.policyEvents.next(event);
      loud.policyEvents.next({ type: 'retry', policy: 'retry', messageName: 'GetOrder' });
      expect(loud.records).toEqual([
        expect.objectContaining({ level: 'info', from: 'closed', to: 'open' }),
      ]);
    });

    it('logs the events of a real retry policy', async () => {
      const { logger, records } = memoryLogger('warn');
      const retries = retry({ maxAttempts: 2, delayMs: 0, jitter: false });
      const logging = winstonLogging({ logger, policies: [retries] });
      let calls = 0;
      const mediator = createMediator({
        handlers: [
          handler(GetOrder, () => {
            if (calls++ === 0) throw new Error('flaky');
            return order('1');
          }),
        ],
        behaviors: [logging, retries],
      });
      await mediator.send(new GetOrder('1'), { correlationId: 'corr-r' });
      expect(records).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: 'retrying',
          attempt: 2,
          correlationId: 'corr-r',
          messageName: 'GetOrder',
        }),
      ]);
      logging.close();
    });
  });

  describe('level gating', () => {
    it('builds nothing for a record the logger would drop: no redact, no correlation id read', () => {
      const redact = jest.fn((m: unknown) => m);
      const { records, events } = driven({ logPayloads: true, redact }, 'warn');
      const { ctx, reads } = context('GetOrder');
      for (let i = 0; i < 100; i++) events.next(requestEnd('success', { context: ctx }));
      events.next({
        type: 'streamProgress',
        messageName: 'X',
        message: {},
        context: ctx,
        items: 1,
        itemsSinceLast: 1,
        elapsedMs: 1,
      });
      expect(records).toEqual([]);
      expect(redact).not.toHaveBeenCalled();
      expect(reads.correlationId).toBe(0);
    });

    it('asks the logger once per level, and again when its level changes', () => {
      const { logger, records, events } = driven({}, 'warn');
      const isLevelEnabled = jest.spyOn(logger, 'isLevelEnabled');
      events.next(requestEnd('success'));
      const asked = isLevelEnabled.mock.calls.map(([level]) => level);
      expect(asked).toEqual(['debug', 'error', 'info']); // success, failure, cancelled/progress
      for (let i = 0; i < 10; i++) events.next(requestEnd('success'));
      expect(isLevelEnabled).toHaveBeenCalledTimes(asked.length);
      logger.level = 'debug';
      events.next(requestEnd('success'));
      expect(records).toHaveLength(1);
      logger.level = 'error';
      events.next(requestEnd('success'));
      expect(records).toHaveLength(1);
    });

    it('follows transports added later and a silent logger', () => {
      const logger = winston.createLogger({
        level: 'debug',
        transports: [new MemoryTransport({ level: 'warn' })],
      });
      const events = new Subject<MediatorEvent>();
      winstonLogging({ logger, instrumentation: { events } });
      events.next(requestEnd('success')); // the only transport takes warn and above
      const late = new MemoryTransport();
      logger.add(late);
      events.next(requestEnd('success'));
      expect(late.records).toHaveLength(1);
      logger.silent = true;
      events.next(requestEnd('failure', { error: new Error('x') }));
      expect(late.records).toHaveLength(1);
    });
  });

  describe('as a behavior set', () => {
    it('creates its own instrumentation when given none, so behaviors: [logging] logs calls', async () => {
      const { logger, records } = memoryLogger('debug');
      const logging = winstonLogging({ logger, progress: { everyItems: 100, everyMs: Infinity } });
      expect(logging.behaviors.length).toBeGreaterThan(0);
      const mediator = createMediator({
        handlers: [
          handler(GetOrder, (q: GetOrder) => {
            if (q.id === 'boom') throw new Error('boom');
            return order(q.id);
          }),
          handler(PlaceOrder, () => 'id'),
          handler(ExportOrders, () => Array.from({ length: 250 }, (_, i) => order(String(i)))),
          handler(OrderPlaced, function audit() {}),
        ],
        behaviors: [logging],
      });
      await mediator.send(new GetOrder('1'), { correlationId: 'corr-a' });
      await expect(mediator.send(new GetOrder('boom'))).rejects.toThrow('boom');
      let n = 0;
      for await (const _ of mediator.createStream(new ExportOrders())) n++;
      await mediator.publish(new OrderPlaced('1'));
      expect(n).toBe(250);
      const summary = records.map((r) => [r.level, r.message, r.messageName]);
      expect(summary).toEqual([
        ['debug', 'request succeeded', 'GetOrder'],
        ['error', 'request failed', 'GetOrder'],
        ['info', 'stream progress', 'ExportOrders'],
        ['info', 'stream progress', 'ExportOrders'],
        ['debug', 'stream completed', 'ExportOrders'],
        ['debug', 'notification handled', 'OrderPlaced'],
      ]);
      expect(records[0]).toMatchObject({ correlationId: 'corr-a', outcome: 'success' });
      expect(typeof records[0]!.durationMs).toBe('number');
      expect((records[1]!.error as { stack: string }).stack).toMatch(/^Error: boom\n/);
      expect(records.slice(2, 5).map((r) => r.items)).toEqual([100, 200, 250]);
      logging.close();
    });

    it('with a given instrumentation, carries no behaviors and logs that instrumentation', async () => {
      const { logger, records } = memoryLogger('debug');
      const telemetry = instrument();
      const logging = winstonLogging({ logger, instrumentation: telemetry });
      expect(logging.behaviors).toEqual([]);
      expect(logging.instrumentation).toBe(telemetry);
      const mediator = createMediator({
        handlers: [handler(GetOrder, () => order('1'))],
        behaviors: [telemetry, logging],
      });
      await mediator.send(new GetOrder('1'));
      expect(records).toEqual([expect.objectContaining({ message: 'request succeeded' })]);
    });
  });

  describe('close()', () => {
    it('unsubscribes from the instrumentation and every policy', () => {
      const { logging, records, events, policyEvents } = driven();
      logging.close();
      logging.close();
      expect(events.observed).toBe(false);
      expect(policyEvents.observed).toBe(false);
      events.next(requestEnd('failure', { error: new Error('x') }));
      expect(records).toEqual([]);
    });
  });

  describe('default logger', () => {
    it('is the shared defaultLogger(), used when no logger is given', () => {
      const events = new Subject<MediatorEvent>();
      const logging = winstonLogging({ instrumentation: { events } });
      expect(logging.logger).toBe(defaultLogger());
      const write = jest.spyOn(defaultLogger(), 'write').mockImplementation(() => true);
      try {
        events.next(requestEnd('failure', { error: new Error('x') }));
        expect(write).toHaveBeenCalledTimes(1);
        expect(write.mock.calls[0]?.[0]).toMatchObject({
          level: 'error',
          message: 'request failed',
        });
      } finally {
        write.mockRestore();
        logging.close();
      }
    });
  });

  describe('options', () => {
    const events = new Subject<MediatorEvent>();
    it.each<[string, WinstonLoggingOptions, ErrorConstructor, RegExp]>([
      [
        'progress with an instrumentation',
        { instrumentation: { events }, progress: { everyItems: 1 } },
        TypeError,
        /'progress'.*only to the instrumentation it creates/,
      ],
      [
        'an instrumentation without events',
        { instrumentation: {} as never },
        TypeError,
        /'instrumentation' must have an 'events' Observable/,
      ],
      [
        'policies not an array',
        { policies: {} as never },
        TypeError,
        /'policies' must be an array/,
      ],
      [
        'a policy without events',
        { policies: [{} as never] },
        TypeError,
        /'policies\[0\]' must have/,
      ],
      [
        'a logger that is not one',
        { logger: {} as never },
        TypeError,
        /'logger' must be a winston Logger/,
      ],
      [
        'an unknown level',
        { levels: { success: 'trace' } },
        RangeError,
        /'levels.success' must be one of the logger's levels .* got 'trace'/,
      ],
      [
        'a level of the wrong type',
        { levels: { success: 1 as never } },
        TypeError,
        /'levels.success' must be a level name or false, got 1/,
      ],
      [
        'a misspelt level field',
        { levels: { sucess: 'info' } as never },
        TypeError,
        /'levels' has no field 'sucess'/,
      ],
      [
        'an unknown policy level',
        { policyLevels: { retry: 'loud' } },
        RangeError,
        /'policyLevels.retry'/,
      ],
      [
        'logPayloads not a boolean',
        { logPayloads: 'yes' as never },
        TypeError,
        /'logPayloads' must be a boolean/,
      ],
      ['redact not a function', { redact: 1 as never }, TypeError, /'redact' must be a function/],
    ])('rejects %s', (_name, options, type, message) => {
      expect(() => winstonLogging(options)).toThrow(type);
      expect(() => winstonLogging(options)).toThrow(message);
    });

    it("checks levels against an injected logger's own levels, taking 'warning' for 'warn'", () => {
      const transport = new MemoryTransport();
      const logger = winston.createLogger({
        levels: winston.config.syslog.levels,
        level: 'debug',
        transports: [transport],
      });
      expect(() => winstonLogging({ logger, levels: { success: 'warn' } })).toThrow(
        /'levels.success'.*'warning'.*got 'warn'/,
      );
      const policyEvents = new Subject<PolicyEventLike>();
      winstonLogging({
        logger,
        policies: [{ events: policyEvents }],
        levels: { cancelled: 'notice' },
      });
      policyEvents.next({ type: 'retry', policy: 'retry', messageName: 'GetOrder' });
      expect(transport.records).toEqual([
        expect.objectContaining({ level: 'warning', message: 'retrying' }),
      ]);

      const sparse = winston.createLogger({
        levels: { fatal: 0, info: 1 },
        level: 'info',
        transports: [transport],
      });
      expect(() => winstonLogging({ logger: sparse })).toThrow(
        /The default level '(debug|error)' of option 'levels\.(success|failure)' is not one of the logger's levels \('fatal', 'info'\); set 'levels\.\2'\./,
      );
    });

    it("works with a logger's own levels once every missing default is set, policy ones through '*'", () => {
      const transport = new MemoryTransport();
      const logger = winston.createLogger({
        levels: { fatal: 0, info: 1 },
        level: 'info',
        transports: [transport],
      });
      const events = new Subject<MediatorEvent>();
      const policyEvents = new Subject<PolicyEventLike>();
      expect(() =>
        winstonLogging({
          logger,
          instrumentation: { events },
          levels: { success: false, failure: 'fatal' },
        }),
      ).toThrow(/'policyLevels\.retry'/);
      winstonLogging({
        logger,
        instrumentation: { events },
        policies: [{ events: policyEvents }],
        levels: { success: false, failure: 'fatal' },
        policyLevels: { '*': 'info', giveUp: 'fatal' },
      });
      events.next(requestEnd('failure', { error: new Error('x') }));
      policyEvents.next({ type: 'retry', policy: 'retry', messageName: 'GetOrder' });
      policyEvents.next({ type: 'giveUp', policy: 'retry', messageName: 'GetOrder' });
      policyEvents.next({ type: 'stateChange', policy: 'breaker', messageName: 'GetOrder' }); // its default is false
      expect(transport.records.map((r) => [r.level, r.message])).toEqual([
        ['fatal', 'request failed'],
        ['info', 'retrying'],
        ['fatal', 'gave up retrying'],
      ]);
    });
  });
});

describe('winstonLogging(): regressions of the level gate', () => {
  it('writes debug records after a warn-level transport is replaced by a debug-level one', () => {
    const warnOnly = new MemoryTransport({ level: 'warn' });
    const logger = winston.createLogger({ level: 'debug', transports: [warnOnly] });
    const events = new Subject<MediatorEvent>();
    const logging = winstonLogging({ instrumentation: { events }, logger });
    events.next(requestEnd('success')); // success is 'debug': dropped by the only transport — right
    const verbose = new MemoryTransport({ level: 'debug' });
    logger.remove(warnOnly);
    logger.add(verbose); // same level, same silent flag, same transport count
    events.next(requestEnd('success'));
    expect(verbose.records).toHaveLength(1);
    logging.close();
  });

  it("follows a change of one transport's own level, with one or several transports", () => {
    for (const count of [1, 3]) {
      const transports = Array.from(
        { length: count },
        () => new MemoryTransport({ level: 'warn' }),
      );
      const logger = winston.createLogger({ level: 'debug', transports });
      const events = new Subject<MediatorEvent>();
      const logging = winstonLogging({ instrumentation: { events }, logger });
      events.next(requestEnd('success'));
      const last = transports[count - 1]!;
      expect(last.records).toHaveLength(0);
      last.level = 'debug';
      events.next(requestEnd('success'));
      expect(last.records).toHaveLength(1);
      last.level = 'warn';
      events.next(requestEnd('success'));
      expect(last.records).toHaveLength(1);
      logging.close();
    }
  });

  it('still asks winston once per level while nothing changes', () => {
    const logger = winston.createLogger({
      level: 'debug',
      transports: [new MemoryTransport({ level: 'warn' }), new MemoryTransport({ level: 'warn' })],
    });
    const isLevelEnabled = jest.spyOn(logger, 'isLevelEnabled');
    const events = new Subject<MediatorEvent>();
    const logging = winstonLogging({ instrumentation: { events }, logger });
    events.next(requestEnd('success'));
    const asked = isLevelEnabled.mock.calls.length;
    for (let i = 0; i < 10; i++) events.next(requestEnd('success'));
    expect(isLevelEnabled).toHaveBeenCalledTimes(asked);
    logging.close();
  });
});
