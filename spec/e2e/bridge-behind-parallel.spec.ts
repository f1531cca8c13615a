import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from '@jest/globals';
import { concatMap, from } from 'rxjs';
import { batch, parallel, pullable, toAsyncIterable } from '../../src/index.js';

/** An infinite pull source that counts its reads. */
function naturals(meter: { pulled: number; closed: boolean }) {
  return (async function* () {
    try {
      for (let i = 0; ; i++) {
        meter.pulled++;
        yield i;
      }
    } finally {
      meter.closed = true;
    }
  })();
}

const slowTask = async <T>(x: T): Promise<T> => {
  await nextTurn();
  return x;
};

async function readSlowly<T>(source: AsyncIterable<T>, count: number): Promise<T[]> {
  const got: T[] = [];
  for await (const x of source) {
    got.push(x);
    for (let i = 0; i < 5; i++) await nextTurn(); // a slow loop
    if (got.length >= count) break;
  }
  return got;
}

// Regression: parallel() on the Observable path stopped starting tasks when the for-await bridge
// was full, but still pushed finished results into it; a pull source then overflowed the bridge.
describe('a pull source behind parallel(), read with for await through the bridge', () => {
  it('never overflows the default capacity (1000) with batches of 500 flattened after parallel(…, 4)', async () => {
    const meter = { pulled: 0, closed: false };
    const items = toAsyncIterable(
      pullable(naturals(meter)).pipe(
        batch(500),
        parallel(slowTask, { concurrency: 4 }),
        concatMap((saved) => from(saved)), // back to items: a synchronous operator
      ),
    );
    const got = await readSlowly(items, 1200);
    expect(got).toEqual(Array.from({ length: 1200 }, (_, i) => i));
  });

  it('never overflows a bridge capacity below the concurrency: results wait in the stage', async () => {
    const meter = { pulled: 0, closed: false };
    const items = toAsyncIterable(
      pullable(naturals(meter)).pipe(parallel(slowTask, { concurrency: 4 })),
      {
        bufferCapacity: 2,
      },
    );
    const got = await readSlowly(items, 20);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
