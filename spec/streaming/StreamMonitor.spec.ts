import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Subject } from 'rxjs';
import { createMediator, handler, StreamMonitor, StreamRequest } from '../../src/index.js';
import { parallel } from '../../src/operators/parallel.js';
import { deferred, flushMicrotasks, type Deferred } from '../helpers/deferred.js';

class Ticks extends StreamRequest<number> {
  static readonly messageName = 'ticks';
}

class Numbers extends StreamRequest<number> {
  static readonly messageName = 'numbers';
}

async function* naturals(): AsyncGenerator<number> {
  for (let i = 0; ; i++) yield i;
}

afterEach(() => {
  jest.useRealTimers();
});

describe('StreamMonitor', () => {
  it('shows a bridge buffer filling behind a busy consumer, and counts what a lossy strategy drops', async () => {
    const monitor = new StreamMonitor();
    const ticks = new Subject<number>();
    const mediator = createMediator({
      handlers: [handler(Ticks, () => ticks)],
      streams: { monitor, bufferCapacity: 3, overflow: 'dropOldest' },
    });
    const iterator = mediator.createStream(new Ticks())[Symbol.asyncIterator]();
    const first = iterator.next();
    await flushMicrotasks();
    for (let i = 0; i < 6; i++) ticks.next(i); // 0 goes to the waiting read, 1–5 into 3 slots

    await expect(first).resolves.toEqual({ value: 0, done: false });
    expect(monitor.snapshot()).toEqual([
      expect.objectContaining({
        stage: 'bridge',
        stream: 'ticks',
        capacity: 3,
        buffered: 3,
        utilisation: 1,
        overflow: 'dropOldest',
        dropped: 2,
        itemsIn: 6,
        itemsOut: 1,
      }),
    ]);
    expect(monitor.dropTotals()).toEqual([
      { stream: 'ticks', stage: 'bridge', strategy: 'dropOldest', dropped: 2 },
    ]);

    await iterator.return!();
    expect(monitor.snapshot()).toEqual([]); // a closed stage leaves the live set …
    expect(monitor.dropTotals()[0]!.dropped).toBe(2); // … its drops stay counted
  });

  it('adds up drops across runs of the same stream', async () => {
    const monitor = new StreamMonitor();
    const mediator = createMediator({
      handlers: [
        handler(Ticks, () => {
          const s = new Subject<number>();
          queueMicrotask(() => [1, 2, 3, 4].forEach((n) => s.next(n)));
          return s;
        }),
      ],
      streams: { monitor, bufferCapacity: 1, overflow: 'dropNewest' },
    });
    for (let run = 0; run < 2; run++) {
      const iterator = mediator.createStream(new Ticks())[Symbol.asyncIterator]();
      await iterator.next(); // 1 is taken, 2 buffered, 3 and 4 dropped
      await iterator.return!();
    }
    expect(monitor.dropTotals()).toEqual([
      { stream: 'ticks', stage: 'bridge', strategy: 'dropNewest', dropped: 4 },
    ]);
  });

  it('times how long the consumer waited for the producer and the producer for the consumer', async () => {
    jest.useFakeTimers();
    const monitor = new StreamMonitor();
    const ticks = new Subject<number>();
    const mediator = createMediator({
      handlers: [handler(Ticks, () => ticks)],
      streams: { monitor },
    });
    const iterator = mediator.createStream(new Ticks())[Symbol.asyncIterator]();
    const read = iterator.next();
    await flushMicrotasks();
    jest.advanceTimersByTime(40); // the consumer waits 40 ms for the first tick
    ticks.next(1);
    await read;
    ticks.next(2); // buffered: the producer is now ahead
    jest.advanceTimersByTime(25);
    const [stats] = monitor.snapshot();
    expect(stats!.consumerWaitMs).toBeCloseTo(40, 0);
    expect(stats!.producerWaitMs).toBeCloseTo(25, 0);
    await iterator.next(); // takes 2: the producer stops waiting
    jest.advanceTimersByTime(100);
    expect(monitor.snapshot()[0]!.producerWaitMs).toBeCloseTo(25, 0);
    await iterator.return!();
  });

  it('shows a parallel stage’s running tasks and undelivered results', async () => {
    const monitor = new StreamMonitor();
    const mediator = createMediator({
      handlers: [handler(Numbers, naturals)],
      streams: { monitor },
    });
    const gates: Deferred<void>[] = [];
    const stream = mediator.createStream(new Numbers()).pipe(
      parallel(
        async (n: number) => {
          const gate = deferred();
          gates[n] = gate;
          await gate.promise;
          return n;
        },
        { concurrency: 3 },
      ),
    );
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    await flushMicrotasks(30);
    expect(monitor.snapshot()).toEqual([
      expect.objectContaining({
        stage: 'parallel',
        stream: 'numbers',
        capacity: 3,
        buffered: 3,
        inFlight: 3,
        itemsIn: 3,
      }),
    ]);
    gates[1]!.resolve(); // done, but held for order behind 0
    await flushMicrotasks(30);
    expect(monitor.snapshot()[0]).toMatchObject({ buffered: 3, inFlight: 2 });
    gates[0]!.resolve();
    await first;
    await iterator.return!();
    expect(monitor.snapshot()).toEqual([]);
  });

  it('watches an Observable-path parallel stage given the monitor as an option', async () => {
    const monitor = new StreamMonitor();
    const source = new Subject<number>();
    const gate = deferred();
    const subscription = source
      .pipe(parallel(() => gate.promise, { concurrency: 1, monitor, name: 'jobs' }))
      .subscribe();
    source.next(1);
    source.next(2);
    expect(monitor.snapshot()).toEqual([
      expect.objectContaining({ stage: 'parallel', stream: 'jobs', buffered: 1, inFlight: 1 }),
    ]);
    subscription.unsubscribe();
    expect(monitor.snapshot()).toEqual([]);
  });

  it('records nothing for streams that were not given it', async () => {
    const monitor = new StreamMonitor();
    const ticks = new Subject<number>();
    const mediator = createMediator({ handlers: [handler(Ticks, () => ticks)] });
    const iterator = mediator.createStream(new Ticks())[Symbol.asyncIterator]();
    const read = iterator.next();
    await flushMicrotasks();
    ticks.next(1);
    await read;
    expect(monitor.snapshot()).toEqual([]);
    expect(monitor.dropTotals()).toEqual([]);
    await iterator.return!();
  });

  it('can be given to one createStream() call', async () => {
    const monitor = new StreamMonitor();
    const ticks = new Subject<number>();
    const mediator = createMediator({ handlers: [handler(Ticks, () => ticks)] });
    const iterator = mediator.createStream(new Ticks(), { monitor })[Symbol.asyncIterator]();
    const read = iterator.next();
    await flushMicrotasks();
    expect(monitor.snapshot()).toHaveLength(1);
    ticks.complete();
    await expect(read).resolves.toEqual({ value: undefined, done: true });
    expect(monitor.snapshot()).toEqual([]);
  });

  it('emits the live stages every period while watched, and stops its timer on unsubscribe', async () => {
    jest.useFakeTimers();
    const monitor = new StreamMonitor();
    const ticks = new Subject<number>();
    const mediator = createMediator({
      handlers: [handler(Ticks, () => ticks)],
      streams: { monitor },
    });
    const seen: number[] = [];
    const watching = monitor.watch(100).subscribe((stages) => seen.push(stages.length));
    jest.advanceTimersByTime(0); // the first snapshot comes at once (on the next timer turn)
    expect(seen).toEqual([0]);
    const iterator = mediator.createStream(new Ticks())[Symbol.asyncIterator]();
    void iterator.next();
    await flushMicrotasks();
    jest.advanceTimersByTime(100);
    expect(seen).toEqual([0, 1]);
    await iterator.return!();
    jest.advanceTimersByTime(100);
    expect(seen).toEqual([0, 1, 0]);
    watching.unsubscribe();
    expect(jest.getTimerCount()).toBe(0);
    expect(() => monitor.watch(0)).toThrow(
      new RangeError("Option 'periodMs' must be a whole number ≥ 1, got 0."),
    );
  });

  it('rejects a monitor option that is not a StreamMonitor, naming it', () => {
    expect(() => createMediator({ streams: { monitor: {} as StreamMonitor } })).toThrow(
      new TypeError("Option 'streams.monitor' must be a StreamMonitor, got {}."),
    );
    expect(() => parallel((n: number) => n, { monitor: 1 as unknown as StreamMonitor })).toThrow(
      new TypeError("Option 'monitor' must be a StreamMonitor, got 1."),
    );
  });
});
