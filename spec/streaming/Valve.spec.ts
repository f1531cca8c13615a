import { describe, expect, it } from '@jest/globals';
import { from, lastValueFrom, toArray } from 'rxjs';
import { parallel, pullable, tryMap } from '../../src/index.js';

/** Resolves with 'stalled' when `promise` has not settled after `ms`. */
function within<T>(promise: Promise<T>, ms = 500): Promise<T | 'stalled'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<'stalled'>((resolve) => {
      timer = setTimeout(() => resolve('stalled'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Regression: a stage's valve was visible to the per-item work it ran while its upstream emitted
// synchronously; a task opening a pull source then waited on its own stage's shut valve forever.
describe('Valve, as seen by per-item work of a stage', () => {
  it('is hidden from a tryMap projection, so one that reads a pullable() does not wait on itself', async () => {
    const result = await within(
      lastValueFrom(
        from([1, 2]).pipe(
          tryMap((x: number) => lastValueFrom(pullable([x, x + 10]).pipe(toArray()))),
          toArray(),
        ),
      ),
    );
    expect(result).toEqual([
      [1, 11],
      [2, 12],
    ]);
  });

  it('is hidden from a parallel task, so one that reads a pullable() does not wait on itself', async () => {
    const result = await within(
      lastValueFrom(
        from([1, 2]).pipe(
          parallel((x: number) => lastValueFrom(pullable([x, x + 10]).pipe(toArray())), {
            concurrency: 1,
          }),
          toArray(),
        ),
      ),
    );
    expect(result).toEqual([
      [1, 11],
      [2, 12],
    ]);
  });
});
