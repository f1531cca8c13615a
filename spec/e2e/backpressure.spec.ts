/**
 * Consumer pull, end to end (issue 4, point 1): a slow consumer slows the source through batch and
 * parallel stages, on the `for await` path and on the Observable path read through the bounded
 * bridge. The documented bound on items pulled from the source and not yet consumed:
 *
 *   maxDegreeOfParallelism × batchSize  (tasks running or results not yet taken)
 *   + batchSize + 1                      (the batch being filled, and one read in flight)
 *
 * which is within `bufferCapacity + maxDegreeOfParallelism × batchSize` whatever the capacity.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  batch,
  createMediator,
  handler,
  parallel,
  StreamRequest,
  toAsyncIterable,
} from '../../src/index.js';

class Naturals extends StreamRequest<number> {}

/** An infinite source that counts its reads and whether it was closed. */
function meteredSource() {
  const meter = { pulled: 0, closed: false };
  async function* naturals(): AsyncGenerator<number> {
    try {
      for (let i = 0; ; i++) {
        meter.pulled++;
        yield i;
      }
    } finally {
      meter.closed = true;
    }
  }
  return { meter, mediator: createMediator({ handlers: [handler(Naturals, naturals)] }) };
}

/** A consumer that takes `batches` batches, working `turns` event-loop turns on each. */
async function consume(
  batches: AsyncIterable<number[]>,
  meter: { pulled: number },
  count: number,
  turns: number,
): Promise<{ maxAhead: number; items: number[] }> {
  let consumed = 0;
  let maxAhead = 0;
  const items: number[] = [];
  for await (const b of batches) {
    consumed += b.length;
    items.push(...b);
    maxAhead = Math.max(maxAhead, meter.pulled - consumed);
    for (let t = 0; t < turns; t++) await nextTurn();
    maxAhead = Math.max(maxAhead, meter.pulled - consumed);
    if (items.length >= count) break;
  }
  return { maxAhead, items };
}

const task = async (items: number[]): Promise<number[]> => {
  await nextTurn();
  return items;
};

const paths = {
  'for await': (mediator: ReturnType<typeof meteredSource>['mediator'], b: number, c: number) =>
    mediator.createStream(new Naturals()).pipe(batch(b), parallel(task, { concurrency: c })),
  'Observable, read through the bridge': (
    mediator: ReturnType<typeof meteredSource>['mediator'],
    b: number,
    c: number,
  ) =>
    toAsyncIterable(
      mediator.createStream$(new Naturals()).pipe(batch(b), parallel(task, { concurrency: c })),
    ),
};

describe('consumer pull through batch and parallel stages', () => {
  describe.each(Object.entries(paths))('on the %s path', (_name, build) => {
    it('never lets the source run more than the documented bound ahead of a slow consumer, and loses nothing', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 12 }),
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 0, max: 3 }),
          async (batchSize, concurrency, turns) => {
            const { meter, mediator } = meteredSource();
            const want = batchSize * 12;
            const { maxAhead, items } = await consume(
              build(mediator, batchSize, concurrency),
              meter,
              want,
              turns,
            );
            expect(items.slice(0, want)).toEqual(Array.from({ length: want }, (_, i) => i));
            expect(maxAhead).toBeLessThanOrEqual(concurrency * batchSize + batchSize + 1);
            await nextTurn();
            expect(meter.closed).toBe(true);
          },
        ),
        { numRuns: 25 },
      );
    });
  });
});

/** The heap after a full collection (jest gives no --expose-gc; V8 lets us turn it on). */
function collectedHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('memory under a slow consumer', () => {
  it('stays flat over 1,000,000 items: the heap does not grow with the length of the stream', async () => {
    const { meter, mediator } = meteredSource();
    const stream = mediator.createStream(new Naturals()).pipe(
      batch(100),
      parallel((items: number[]) => items.length, { concurrency: 4 }),
    );
    let consumed = 0;
    let maxAhead = 0;
    let heapAt100k = 0;
    for await (const length of stream) {
      consumed += length;
      maxAhead = Math.max(maxAhead, meter.pulled - consumed);
      if (consumed % 10_000 === 0) await nextTurn(); // the consumer yields to the event loop
      if (consumed === 100_000) heapAt100k = collectedHeap();
      if (consumed >= 1_000_000) break;
    }
    const growth = collectedHeap() - heapAt100k;
    expect(consumed).toBe(1_000_000);
    expect(maxAhead).toBeLessThanOrEqual(4 * 100 + 100 + 1);
    // Ten times the stream's length would have to fit in under 2 MB: nothing is kept per item.
    expect(growth).toBeLessThan(2 * 1024 * 1024);
  }, 60_000);
});
