import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Subject } from 'rxjs';
import type { ActiveStream } from '../../src/observability/InstrumentedStream.js';
import { createMediator, handler, StreamRequest, type HandlerContext } from '../../src/index.js';
import { HealthPresets } from '../../src/observability/HealthPresets.js';
import { instrument, type Instrumentation } from '../../src/observability/instrument.js';
import type { MediatorEvent } from '../../src/observability/MediatorEvent.js';
import {
  loggingHealthReporter,
  streamHealth,
  type HealthEvent,
  type StreamHealth,
  type StreamHealthOptions,
} from '../../src/observability/streamHealth.js';
import { sleep } from '../helpers/signals.js';

/** Items 0, 1, 2, …: item i comes `gaps[i]` ms after the handler is asked for it (Infinity: never). */
class Feed extends StreamRequest<number> {
  constructor(
    readonly gaps: readonly number[],
    readonly failAtEnd = false,
  ) {
    super();
  }
}

/** `n` gaps of `ms`. */
const every = (ms: number, n: number): number[] => Array.from({ length: n }, () => ms);

let health: StreamHealth | undefined;

/** A mediator with `instrument()` (no progress events of its own) and a health check on it. */
function setup(options: Omit<StreamHealthOptions, 'instrumentation'> = {}) {
  const telemetry: Instrumentation = instrument({
    progress: { everyItems: Infinity, everyMs: Infinity },
  });
  const mediator = createMediator({
    handlers: [
      handler(Feed, async function* (request: Feed, context: HandlerContext) {
        for (const gap of request.gaps) {
          await sleep(gap, context.signal);
          yield 0;
        }
        if (request.failAtEnd) throw new Error('feed failed');
      }),
    ],
    behaviors: [telemetry],
  });
  health = streamHealth({ instrumentation: telemetry, ...options });
  const events: HealthEvent[] = [];
  health.events.subscribe((e) => events.push(e));
  /** Reads the stream to its end in the background; resolves with its item count or error. */
  const run = (request: Feed, correlationId?: string): Promise<number | Error> => {
    const done = (async () => {
      let n = 0;
      for await (const _ of mediator.createStream(request, { correlationId })) n++;
      return n;
    })();
    return done.catch((error: Error) => error);
  };
  return { telemetry, mediator, health, events, run };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  health?.close();
  health = undefined;
  jest.useRealTimers();
});

describe('streamHealth()', () => {
  it('reports a stream that stopped producing as stalled, by its timer alone', async () => {
    const { health, events, run } = setup({ checkIntervalMs: 1_000, stallMs: 3_000 });
    void run(new Feed([10, 10, Infinity]), 'exp-1');
    await jest.advanceTimersByTimeAsync(3_999);
    expect(events).toEqual([]);
    expect(health.check().status).toBe('healthy');
    await jest.advanceTimersByTimeAsync(1); // t = 4000: unchanged since the sample at 1000
    expect(events).toEqual([
      {
        type: 'stall',
        stallMs: 3_000,
        stream: {
          messageName: 'Feed',
          correlationId: 'exp-1',
          status: 'stalled',
          items: 2,
          elapsedMs: 4_000,
          idleMs: 3_000,
          itemsPerSecond: 0,
          awaitingItem: true,
        },
      },
      {
        type: 'statusChange',
        from: 'healthy',
        to: 'unhealthy',
        reasons: ['Stream Feed (correlation id exp-1) stalled: no item for 3 s (2 so far).'],
      },
    ]);
    const report = health.check();
    expect(report.status).toBe('unhealthy');
    expect(report.reasons).toEqual([
      'Stream Feed (correlation id exp-1) stalled: no item for 3 s (2 so far).',
    ]);
    expect(report.streams).toEqual([expect.objectContaining({ status: 'stalled', items: 2 })]);
  });

  it('reports a stream that never delivered its first item as stalled', async () => {
    const { events, run } = setup({ checkIntervalMs: 1_000, stallMs: 2_000 });
    void run(new Feed([Infinity]));
    await jest.advanceTimersByTimeAsync(2_000);
    expect(events[0]).toMatchObject({ type: 'stall', stream: { items: 0, idleMs: 2_000 } });
  });

  it('reports recovery when a stalled stream delivers again, and forgets ended streams', async () => {
    const { health, events, run } = setup({ checkIntervalMs: 1_000, stallMs: 2_000 });
    const done = run(new Feed([10, 4_000, 2_000]));
    await jest.advanceTimersByTimeAsync(3_000);
    expect(events.map((e) => e.type)).toEqual(['stall', 'statusChange']);
    await jest.advanceTimersByTimeAsync(1_000); // item 2 at 4010, seen at 5000
    expect(events.map((e) => e.type)).toEqual(['stall', 'statusChange']);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(events.slice(2)).toEqual([
      {
        type: 'recovered',
        condition: 'stall',
        stream: expect.objectContaining({ status: 'ok', items: 2, idleMs: 0 }),
      },
      { type: 'statusChange', from: 'unhealthy', to: 'healthy', reasons: [] },
    ]);
    await jest.advanceTimersByTimeAsync(1_010); // item 3 and the end at 6010
    await expect(done).resolves.toBe(3);
    expect(health.check()).toMatchObject({ status: 'healthy', streams: [], reasons: [] });
  });

  it('reports a stream below minItemsPerSecond as slow (degraded) after a warm-up interval', async () => {
    const { health, events, run } = setup({
      checkIntervalMs: 1_000,
      stallMs: 10_000,
      minItemsPerSecond: 5,
    });
    void run(new Feed([100, ...every(250, 11), ...every(35, 40)]));
    await jest.advanceTimersByTimeAsync(1_000); // first sample: warm-up
    expect(events).toEqual([]);
    expect(health.check().streams[0]!.itemsPerSecond).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1_000); // 4 items in the last second
    expect(events).toEqual([
      {
        type: 'slow',
        minItemsPerSecond: 5,
        stream: expect.objectContaining({ status: 'slow', items: 8, itemsPerSecond: 4 }),
      },
      {
        type: 'statusChange',
        from: 'healthy',
        to: 'degraded',
        reasons: [
          expect.stringMatching(/^Stream Feed \(correlation id .+\) is slow: 4 items\/s < 5\.$/),
        ],
      },
    ]);
    expect(health.check().status).toBe('degraded');
    await jest.advanceTimersByTimeAsync(1_000); // 8 items/s now
    expect(events.slice(2)).toEqual([
      {
        type: 'recovered',
        condition: 'slow',
        stream: expect.objectContaining({ status: 'ok', itemsPerSecond: 8 }),
      },
      { type: 'statusChange', from: 'degraded', to: 'healthy', reasons: [] },
    ]);
  });

  it('reports an error rate above maxErrorRate over its window, then its recovery', async () => {
    const { health, events, run } = setup({
      checkIntervalMs: 1_000,
      maxErrorRate: 0.25,
      minStreamsForErrorRate: 4,
      errorRateWindowMs: 2_000,
    });
    await run(new Feed([0], true));
    await run(new Feed([0]));
    await run(new Feed([0], true));
    expect(health.check().errorRate).toEqual({
      rate: 2 / 3,
      failed: 2,
      ended: 3,
      windowMs: 2_000,
      judged: false, // too few streams to judge
    });
    expect(health.check().status).toBe('healthy');
    await run(new Feed([0]));
    const report = health.check();
    expect(report.status).toBe('unhealthy');
    expect(report.errorRate).toMatchObject({ rate: 0.5, failed: 2, ended: 4, judged: true });
    expect(report.reasons).toEqual(['Stream error rate 50% (2 of 4 in the last 2 s) > 25%.']);
    expect(events[0]).toEqual({
      type: 'errorRate',
      maxErrorRate: 0.25,
      errorRate: { rate: 0.5, failed: 2, ended: 4, windowMs: 2_000, judged: true },
    });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(health.check().status).toBe('unhealthy'); // still in the window
    await jest.advanceTimersByTimeAsync(1_000);
    // 2 s old: the window keeps them for at least errorRateWindowMs (the 2 completed intervals).
    expect(health.check().status).toBe('unhealthy');
    expect(events.map((e) => e.type)).toEqual(['errorRate', 'statusChange']);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(events.map((e) => e.type)).toEqual([
      'errorRate',
      'statusChange',
      'errorRateRecovered',
      'statusChange',
    ]);
    expect(health.check().status).toBe('healthy');
  });

  it('does not count cancelled streams (break, abort) in the error rate', async () => {
    const { health, run, mediator } = setup({ checkIntervalMs: 1_000, minStreamsForErrorRate: 1 });
    await run(new Feed([0]));
    for await (const _ of mediator.createStream(new Feed([0, 0]))) break;
    const controller = new AbortController();
    const aborted = mediator.createStream(new Feed([Infinity]), { signal: controller.signal });
    const reading = aborted[Symbol.asyncIterator]().next();
    await jest.advanceTimersByTimeAsync(10);
    controller.abort(new Error('stop'));
    await expect(reading).rejects.toThrow('stop');
    expect(health.check().errorRate).toMatchObject({ rate: 0, failed: 0, ended: 1 });
  });

  it('check() lists every active stream with its numbers', async () => {
    const { health, run } = setup({ checkIntervalMs: 1_000 });
    void run(new Feed(every(100, 100)), 'a');
    void run(new Feed([Infinity]), 'b');
    await jest.advanceTimersByTimeAsync(2_000);
    const report = health.check();
    expect(report).toEqual({
      status: 'healthy',
      checkedAt: Date.now(),
      reasons: [],
      errorRate: { rate: 0, failed: 0, ended: 0, windowMs: 60_000, judged: false },
      streams: [
        {
          messageName: 'Feed',
          correlationId: 'a',
          status: 'ok',
          items: 20,
          elapsedMs: 2_000,
          idleMs: 0,
          itemsPerSecond: 10,
          awaitingItem: true,
        },
        {
          messageName: 'Feed',
          correlationId: 'b',
          status: 'ok',
          items: 0,
          elapsedMs: 2_000,
          idleMs: 2_000,
          itemsPerSecond: 0,
          awaitingItem: true,
        },
      ],
    });
  });

  it('works from events alone when the source has no activeStreams() (progress must be frequent)', async () => {
    const source = new Subject<MediatorEvent>();
    health = streamHealth({
      instrumentation: { events: source },
      checkIntervalMs: 1_000,
      stallMs: 2_000,
    });
    const events: HealthEvent[] = [];
    health.events.subscribe((e) => events.push(e));
    const context = {
      messageName: 'Feed',
      correlationId: 'c',
      signal: new AbortController().signal,
    };
    const base = { messageName: 'Feed', message: {}, context };
    source.next({ type: 'streamStart', ...base });
    for (let t = 1; t <= 3; t++) {
      await jest.advanceTimersByTimeAsync(500);
      source.next({
        type: 'streamProgress',
        ...base,
        items: t * 10,
        itemsSinceLast: 10,
        elapsedMs: t * 500,
      });
      await jest.advanceTimersByTimeAsync(500);
    }
    expect(events).toEqual([]);
    expect(health.check().streams[0]).toMatchObject({ items: 30, itemsPerSecond: 10 });
    await jest.advanceTimersByTimeAsync(2_000); // no progress since 3000
    expect(events[0]).toMatchObject({ type: 'stall', stream: { items: 30, idleMs: 2_000 } });
    source.next({
      type: 'streamEnd',
      ...base,
      startedAt: 0,
      outcome: 'failed',
      items: 30,
      itemsSinceLast: 0,
      durationMs: 5_000,
      error: new Error('x'),
    });
    expect(health.check()).toMatchObject({ streams: [], errorRate: { failed: 1, ended: 1 } });
  });

  it("runs one unref'd timer until close(), which unsubscribes and completes its events", async () => {
    const source = new Subject<MediatorEvent>();
    const before = jest.getTimerCount();
    const h = streamHealth({ instrumentation: { events: source } });
    expect(jest.getTimerCount()).toBe(before + 1);
    expect(source.observed).toBe(true);
    let completed = false;
    h.events.subscribe({ complete: () => (completed = true) });
    h.close();
    h.close();
    expect(jest.getTimerCount()).toBe(before);
    expect(source.observed).toBe(false);
    expect(completed).toBe(true);
  });

  it('accepts every preset', () => {
    expect(HealthPresets).toEqual({
      HighPerformance: {
        checkIntervalMs: 5_000,
        stallMs: 10_000,
        minItemsPerSecond: 1_000,
        maxErrorRate: 0.01,
      },
      DataProcessing: {
        checkIntervalMs: 30_000,
        stallMs: 120_000,
        minItemsPerSecond: 50,
        maxErrorRate: 0.05,
      },
      LongRunning: {
        checkIntervalMs: 60_000,
        stallMs: 300_000,
        minItemsPerSecond: 10,
        maxErrorRate: 0.1,
      },
      RealTime: {
        checkIntervalMs: 2_000,
        stallMs: 5_000,
        minItemsPerSecond: 100,
        maxErrorRate: 0.001,
      },
      Development: {
        checkIntervalMs: 10_000,
        stallMs: 30_000,
        minItemsPerSecond: 1,
        maxErrorRate: 0.2,
      },
    });
    expect(Object.isFrozen(HealthPresets.RealTime)).toBe(true);
    for (const preset of Object.values(HealthPresets)) {
      const h = streamHealth({ instrumentation: instrument(), ...preset });
      expect(h.check().status).toBe('healthy');
      h.close();
    }
  });

  it('applies a preset: RealTime reports 0 items/s as slow, then a stall after 5 s', async () => {
    const { events, run } = setup(HealthPresets.RealTime);
    void run(new Feed([Infinity]));
    await jest.advanceTimersByTimeAsync(2_000);
    expect(events).toEqual([]); // warm-up
    await jest.advanceTimersByTimeAsync(2_000);
    expect(events[0]).toMatchObject({ type: 'slow', minItemsPerSecond: 100 }); // 0 items/s < 100
    await jest.advanceTimersByTimeAsync(2_000);
    expect(events.slice(2)).toMatchObject([
      { type: 'stall', stallMs: 5_000, stream: { idleMs: 6_000, status: 'stalled' } },
      { type: 'statusChange', from: 'degraded', to: 'unhealthy' },
    ]);
  });

  it('rejects bad options, naming option and value', () => {
    const instrumentation = instrument();
    const make = (options: object) => () =>
      streamHealth({ instrumentation, ...options } as StreamHealthOptions);
    expect(() => streamHealth(undefined as never)).toThrow(TypeError);
    expect(() => streamHealth({ instrumentation: {} as never })).toThrow(
      new TypeError(
        "Option 'instrumentation' must be an instrument() result (an object with 'events'), got {}.",
      ),
    );
    expect(make({ checkIntervalMs: 0 })).toThrow(
      new RangeError("Option 'checkIntervalMs' must be a whole number ≥ 1, got 0."),
    );
    expect(make({ checkIntervalMs: 2 ** 31 })).toThrow(RangeError);
    expect(make({ stallMs: -1 })).toThrow(
      new RangeError("Option 'stallMs' must be a whole number ≥ 1 or Infinity, got -1."),
    );
    expect(make({ minItemsPerSecond: -1 })).toThrow(
      new RangeError("Option 'minItemsPerSecond' must be a finite number ≥ 0, got -1."),
    );
    expect(make({ maxErrorRate: 1.5 })).toThrow(
      new RangeError("Option 'maxErrorRate' must be a finite number from 0 to 1, got 1.5."),
    );
    expect(make({ maxErrorRate: '0.1' })).toThrow(
      new TypeError("Option 'maxErrorRate' must be a number, got '0.1'."),
    );
    expect(make({ errorRateWindowMs: 0 })).toThrow(RangeError);
    expect(make({ minStreamsForErrorRate: 0 })).toThrow(RangeError);
    expect(make({ reporters: {} })).toThrow(TypeError);
    expect(make({ reporters: [{}] })).toThrow(
      new TypeError("Option 'reporters' lists {}, which has no report() method."),
    );
  });
});

describe('loggingHealthReporter()', () => {
  it('logs problems at warn and recoveries at info, with the data as meta', async () => {
    const logger = { warn: jest.fn(), info: jest.fn() };
    const { run } = setup({
      checkIntervalMs: 1_000,
      stallMs: 2_000,
      reporters: [loggingHealthReporter(logger)],
    });
    void run(new Feed([10, 3_500, Infinity]), 'exp-9');
    await jest.advanceTimersByTimeAsync(3_000);
    expect(logger.warn.mock.calls).toEqual([
      [
        'Stream Feed (correlation id exp-9) stalled: no item for 2 s (1 items so far).',
        expect.objectContaining({
          messageName: 'Feed',
          correlationId: 'exp-9',
          items: 1,
          stallMs: 2_000,
        }),
      ],
      [
        'Stream health: healthy → unhealthy.',
        {
          from: 'healthy',
          to: 'unhealthy',
          reasons: ['Stream Feed (correlation id exp-9) stalled: no item for 2 s (1 so far).'],
        },
      ],
    ]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(logger.info.mock.calls).toEqual([
      [
        'Stream Feed (correlation id exp-9) recovered from a stall.',
        expect.objectContaining({ items: 2, condition: 'stall' }),
      ],
      ['Stream health: unhealthy → healthy.', { from: 'unhealthy', to: 'healthy', reasons: [] }],
    ]);
  });

  it('logs a high error rate at warn', () => {
    const logger = { warn: jest.fn(), info: jest.fn() };
    loggingHealthReporter(logger).report({
      type: 'errorRate',
      maxErrorRate: 0.05,
      errorRate: { rate: 0.125, failed: 1, ended: 8, windowMs: 60_000, judged: true },
    });
    expect(logger.warn).toHaveBeenCalledWith(
      'Stream error rate 12.5% (1 of 8 streams failed), above 5%.',
      { rate: 0.125, failed: 1, ended: 8, windowMs: 60_000, judged: true, maxErrorRate: 0.05 },
    );
  });

  it('works with console', () => {
    expect(() => loggingHealthReporter(console)).not.toThrow();
    expect(() => loggingHealthReporter({ warn: () => undefined } as never)).toThrow(TypeError);
  });
});

describe('streamHealth(): regressions', () => {
  function streamEnd(outcome: 'completed' | 'failed' | 'cancelled'): MediatorEvent {
    const context: HandlerContext = {
      messageName: 'Feed',
      correlationId: 'c',
      signal: new AbortController().signal,
    };
    return {
      type: 'streamEnd',
      messageName: 'Feed',
      message: {},
      context,
      startedAt: 0,
      outcome,
      items: 0,
      itemsSinceLast: 0,
      durationMs: 1,
      ...(outcome === 'failed' ? { error: new Error('x') } : {}),
    };
  }

  it('judges the error rate on its timer with the LongRunning preset (window = one check interval)', async () => {
    const source = new Subject<MediatorEvent>();
    health = streamHealth({
      instrumentation: { events: source },
      ...HealthPresets.LongRunning, // checkIntervalMs 60 000; errorRateWindowMs defaults to 60 000
      minStreamsForErrorRate: 1,
    });
    const seen: HealthEvent[] = [];
    health.events.subscribe((e) => seen.push(e));
    await jest.advanceTimersByTimeAsync(1_000);
    for (let i = 0; i < 5; i++) source.next(streamEnd('failed'));
    await jest.advanceTimersByTimeAsync(59_000); // the first tick
    expect(seen.map((e) => e.type)).toContain('errorRate');
    expect(health.check().status).toBe('unhealthy');
  });

  it('keeps a failure for the whole errorRateWindowMs (not one check interval less)', async () => {
    const source = new Subject<MediatorEvent>();
    health = streamHealth({
      instrumentation: { events: source },
      checkIntervalMs: 1_000,
      errorRateWindowMs: 3_000,
      minStreamsForErrorRate: 1,
      maxErrorRate: 0.5,
    });
    await jest.advanceTimersByTimeAsync(100);
    source.next(streamEnd('failed'));
    await jest.advanceTimersByTimeAsync(2_900); // t = 3 000: the failure is 2.9 s old
    expect(health.check().errorRate).toMatchObject({ failed: 1, windowMs: 3_000 });
    await jest.advanceTimersByTimeAsync(1_000); // t = 4 000: 3.9 s old, out of the window
    expect(health.check().errorRate.failed).toBe(0);
  });

  it('agrees between check() and its timer: no recovery while the failure is in the window', async () => {
    const source = new Subject<MediatorEvent>();
    health = streamHealth({
      instrumentation: { events: source },
      checkIntervalMs: 1_000,
      errorRateWindowMs: 1_000,
      minStreamsForErrorRate: 1,
      maxErrorRate: 0.5,
    });
    const seen: string[] = [];
    health.events.subscribe((e) => seen.push(e.type));
    await jest.advanceTimersByTimeAsync(100);
    source.next(streamEnd('failed'));
    const verdicts: string[] = [];
    verdicts.push(health.check().status);
    for (let t = 200; t < 2_000; t += 100) {
      await jest.advanceTimersByTimeAsync(100); // the tick at 1 000 among them
      verdicts.push(health.check().status);
    }
    expect(verdicts.every((v) => v === 'unhealthy')).toBe(true); // 0.1–1.9 s old: in the window
    expect(seen).toEqual(['errorRate', 'statusChange']);
    await jest.advanceTimersByTimeAsync(100); // t = 2 000: the tick drops it
    expect(seen).toEqual(['errorRate', 'statusChange', 'errorRateRecovered', 'statusChange']);
  });

  it('does not call a stream stalled while its consumer holds the last item', async () => {
    class Fast extends StreamRequest<number> {}
    const telemetry = instrument({ progress: { everyMs: Infinity } });
    const mediator = createMediator({
      handlers: [handler(Fast, () => [1, 2, 3, 4, 5])], // the producer is always ready
      behaviors: [telemetry],
    });
    health = streamHealth({ instrumentation: telemetry, checkIntervalMs: 1_000, stallMs: 5_000 });
    const seen: HealthEvent[] = [];
    health.events.subscribe((e) => seen.push(e));
    const iterator = mediator.createStream(new Fast())[Symbol.asyncIterator]();
    await iterator.next(); // the consumer takes one item, then works on it for a minute
    await jest.advanceTimersByTimeAsync(60_000);
    const report = health.check();
    expect(report.streams[0]).toMatchObject({ awaitingItem: false, status: 'ok', idleMs: 0 });
    expect(report.status).toBe('healthy');
    expect(seen).toEqual([]);
    await iterator.return!();
  });

  /** One live stream whose counters the spec sets, with a counted correlation id read. */
  function liveStream() {
    const reads = { correlationId: 0 };
    const stream = {
      messageName: 'Feed',
      message: {},
      context: {
        messageName: 'Feed',
        signal: new AbortController().signal,
        get correlationId() {
          reads.correlationId++;
          return 'c1';
        },
      } satisfies HandlerContext,
      items: 0,
      startedAt: performance.now(),
      awaitingItem: true,
    };
    const instrumentation = {
      events: new Subject<MediatorEvent>(),
      activeStreams: (): readonly ActiveStream[] => [stream],
    };
    return { stream, reads, instrumentation };
  }

  it('judges a slow stream only while its consumer awaits an item', async () => {
    const { stream, instrumentation } = liveStream();
    health = streamHealth({ instrumentation, checkIntervalMs: 1_000, minItemsPerSecond: 5 });
    const seen: HealthEvent[] = [];
    health.events.subscribe((e) => seen.push(e));
    stream.awaitingItem = false; // 1 item/s, but the consumer is the slow side
    for (let i = 0; i < 5; i++) {
      stream.items++;
      await jest.advanceTimersByTimeAsync(1_000);
    }
    expect(seen).toEqual([]);
    expect(health.check().status).toBe('healthy');
    stream.awaitingItem = true; // 1 item/s while the consumer waits: the producer is slow
    stream.items++;
    await jest.advanceTimersByTimeAsync(1_000);
    expect(seen.map((e) => e.type)).toEqual(['slow', 'statusChange']);
    expect(health.check().status).toBe('degraded');
  });

  it('reads no correlation id on its timer unless a stream is reported', async () => {
    const { stream, reads, instrumentation } = liveStream();
    health = streamHealth({ instrumentation, checkIntervalMs: 1_000, stallMs: 10_000 });
    for (let i = 0; i < 5; i++) {
      stream.items++;
      await jest.advanceTimersByTimeAsync(1_000);
    }
    expect(reads.correlationId).toBe(0);
    const report = health.check();
    expect(reads.correlationId).toBe(0); // read when asked for
    expect(report.streams[0]!.correlationId).toBe('c1');
    expect(JSON.parse(JSON.stringify(report)).streams[0].correlationId).toBe('c1');
    const before = reads.correlationId;
    const seen: HealthEvent[] = [];
    health.events.subscribe((e) => seen.push(e));
    await jest.advanceTimersByTimeAsync(11_000); // no item: stalled, reported with its id
    expect(seen[0]).toMatchObject({ type: 'stall', stream: { correlationId: 'c1' } });
    expect(reads.correlationId).toBeGreaterThan(before);
  });
});
