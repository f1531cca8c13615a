/**
 * The seed page's four streaming samples, as examples/streaming-patterns.ts runs them: each
 * sample's outcome, its cancellation and its pull bound.
 */
import { describe, expect, it } from '@jest/globals';
import {
  batchesWithCancellation,
  parallelPipeline,
  perItemFallback,
  transformWithCancellation,
} from '../../examples/streaming-patterns.js';

describe('seed sample 1: a transforming handler with cooperative cancellation', () => {
  it('converts readings, stops at the abort and closes the feed', async () => {
    const { received, stoppedBy, pulled, sourceClosed } = await transformWithCancellation();
    expect(received.map((r) => r.celsius)).toEqual([0, 1, 1, 2, 2]); // 32°F, 33°F … in °C
    expect(stoppedBy).toBe('abort');
    expect(sourceClosed).toBe(true);
    expect(pulled).toBeLessThanOrEqual(7); // five good readings need at most six rows (+1 ahead)
  });
});

describe('seed sample 2: batches of 100 with cancellation', () => {
  it('hands out full batches, stops at the abort, and read only what the batches asked for', async () => {
    const { batchSizes, stoppedBy, pulled, sourceClosed } = await batchesWithCancellation();
    expect(batchSizes).toEqual([100, 100, 100]);
    expect(stoppedBy).toBe('abort');
    expect(sourceClosed).toBe(true);
    expect(pulled).toBeLessThanOrEqual(300 + 1);
  });
});

describe('seed sample 3: a parallel pipeline with degree 4 and buffer 1000', () => {
  it('runs four at a time, keeps order and never reads far ahead', async () => {
    const { consumed, maxRunning, maxAhead, inOrder } = await parallelPipeline(200);
    expect(consumed).toBe(200);
    expect(maxRunning).toBe(4);
    expect(inOrder).toBe(true);
    expect(maxAhead).toBeLessThanOrEqual(4 + 1);
  });
});

describe('seed sample 4: per-item error handling with fallback', () => {
  it('replaces each malformed reading with a fallback, reports it with its position, and goes on', async () => {
    const { readings, failures } = await perItemFallback(20);
    expect(readings).toHaveLength(20);
    expect(readings[6]).toEqual({ sensor: 's0', invalid: true });
    expect(readings[13]).toEqual({ sensor: 's1', invalid: true });
    expect(readings[7]).toEqual({ sensor: 's1', celsius: 4 });
    expect(failures).toEqual(["#6: unreadable value 'n/a'", "#13: unreadable value 'n/a'"]);
  });
});
