import { describe, expect, it } from '@jest/globals';
import { map, Observable, range, Subject } from 'rxjs';
import {
  isBufferOverflowError,
  pullable,
  StreamMonitor,
  toAsyncIterable,
} from '../../src/index.js';
import { flushMicrotasks } from '../helpers/deferred.js';
import { collect } from '../helpers/collect.js';

describe('toAsyncIterable', () => {
  it('reads an Observable with for await, in order, to its end', async () => {
    await expect(collect(toAsyncIterable(range(1, 5)))).resolves.toEqual([1, 2, 3, 4, 5]);
  });

  it('fails with BufferOverflowError naming the capacity when a push source outruns the loop', async () => {
    const ticks = new Subject<number>();
    const iterator = toAsyncIterable(ticks, { bufferCapacity: 2 })[Symbol.asyncIterator]();
    const first = iterator.next();
    await flushMicrotasks();
    for (let i = 0; i < 4; i++) ticks.next(i);
    await expect(first).resolves.toEqual({ value: 0, done: false });
    await expect(iterator.next()).resolves.toEqual({ value: 1, done: false });
    await expect(iterator.next()).resolves.toEqual({ value: 2, done: false });
    const error = await iterator.next().catch((e: unknown) => e);
    expect(isBufferOverflowError(error)).toBe(true);
    expect((error as { capacity: number }).capacity).toBe(2);
    expect(ticks.observed).toBe(false); // unsubscribed on overflow
  });

  it('keeps only the newest items under a lossy strategy and says how many it dropped', async () => {
    const monitor = new StreamMonitor();
    const ticks = new Subject<number>();
    const iterator = toAsyncIterable(ticks, {
      bufferCapacity: 2,
      overflow: 'dropOldest',
      monitor,
      name: 'prices',
    })[Symbol.asyncIterator]();
    const first = iterator.next();
    await flushMicrotasks();
    for (let i = 0; i < 6; i++) ticks.next(i);
    ticks.complete();
    await first;
    await expect(iterator.next()).resolves.toEqual({ value: 4, done: false });
    await expect(iterator.next()).resolves.toEqual({ value: 5, done: false });
    await expect(iterator.next()).resolves.toEqual({ value: undefined, done: true });
    expect(monitor.dropTotals()).toEqual([
      { stream: 'prices', stage: 'bridge', strategy: 'dropOldest', dropped: 3 },
    ]);
  });

  it('reads a pullable source only as fast as the loop, also behind synchronous operators', async () => {
    let pulled = 0;
    function* naturals() {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    const iterator = toAsyncIterable(pullable(naturals()).pipe(map((n) => n * 2)))[
      Symbol.asyncIterator
    ]();
    await iterator.next();
    await iterator.next();
    await flushMicrotasks(50);
    expect(pulled).toBeLessThanOrEqual(3);
    await iterator.return!();
  });

  it('unsubscribes when the loop breaks', async () => {
    let tornDown = false;
    const source = new Observable<number>((s) => {
      s.next(1);
      return () => {
        tornDown = true;
      };
    });
    for await (const _ of toAsyncIterable(source)) break;
    expect(tornDown).toBe(true);
  });

  it('rejects bad options when called, naming them', () => {
    const source = range(1, 1);
    expect(() => toAsyncIterable(source, { bufferCapacity: 0 })).toThrow(
      new RangeError("Option 'bufferCapacity' must be a whole number ≥ 1, got 0."),
    );
    expect(() => toAsyncIterable(source, { overflow: 'block' as 'error' })).toThrow(TypeError);
    expect(() => toAsyncIterable(source, { overflow: 'sometimes' as 'error' })).toThrow(
      /Option 'overflow' must be one of/,
    );
    expect(() => toAsyncIterable(source, { monitor: {} as StreamMonitor })).toThrow(
      new TypeError("Option 'monitor' must be a StreamMonitor, got {}."),
    );
  });
});
