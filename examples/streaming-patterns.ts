/**
 * The four samples of the FS.Mediator "Advanced Streaming Patterns" page, in fs-mediator:
 *
 * 1. a transforming stream handler with cooperative cancellation;
 * 2. batches of 100, consumed with cancellation;
 * 3. a parallel pipeline, degree 4, buffer 1000 (the seed's `AddStreamingPipeline`);
 * 4. per-item error handling with a fallback value.
 *
 * Run with `npm run example:streaming` (also part of `npm start`). Each sample is a function that
 * returns what happened, so spec/e2e/streaming-patterns.spec.ts checks the same code.
 */
import { resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  batch,
  createMediator,
  handler,
  isAbortError,
  parallel,
  StreamRequest,
  tryMap,
} from 'fs-mediator';

/** A raw sensor reading, as a device reports it. */
export interface RawReading {
  readonly sensor: string;
  readonly fahrenheit: string; // devices send text; some send garbage
}

/** A reading the application works with. */
export interface Reading {
  readonly sensor: string;
  readonly celsius: number;
}

/** Streams every reading the feed has, forever unless `limit` is given. */
export class StreamReadings extends StreamRequest<RawReading> {
  static readonly messageName = 'readings.stream';
  constructor(readonly limit = Infinity) {
    super();
  }
}

/** Streams readings converted to Celsius. */
export class StreamCelsius extends StreamRequest<Reading> {
  static readonly messageName = 'readings.celsius';
}

/** A sensor feed: a pull source that counts what was read from it and whether it was closed. */
export class SensorFeed {
  pulled = 0;
  closed = false;
  /** Every 7th reading is malformed, as real devices sometimes send. */
  async *read(limit: number, signal: AbortSignal): AsyncGenerator<RawReading> {
    try {
      for (let i = 0; i < limit; i++) {
        signal.throwIfAborted();
        this.pulled++;
        yield { sensor: `s${i % 3}`, fahrenheit: i % 7 === 6 ? 'n/a' : String(32 + i) };
      }
    } finally {
      this.closed = true;
    }
  }
}

function toCelsius(raw: RawReading): Reading {
  const fahrenheit = Number(raw.fahrenheit);
  if (!Number.isFinite(fahrenheit)) throw new TypeError(`unreadable value '${raw.fahrenheit}'`);
  return { sensor: raw.sensor, celsius: Math.round(((fahrenheit - 32) * 5) / 9) };
}

function mediatorOver(feed: SensorFeed) {
  return createMediator({
    handlers: [
      handler(StreamReadings, (request, { signal }) => feed.read(request.limit, signal)),
      // Sample 1: a transforming handler with cooperative cancellation.
      handler(StreamCelsius, async function* (_request, { signal }) {
        for await (const raw of feed.read(Infinity, signal)) {
          if (raw.fahrenheit === 'n/a') continue;
          yield toCelsius(raw);
          signal.throwIfAborted(); // cooperative: stop as soon as the caller cancels
        }
      }),
    ],
    // Sample 3's settings, mediator-wide (each createStream() call may override them).
    streams: { maxDegreeOfParallelism: 4, bufferCapacity: 1000 },
  });
}

/** Sample 1: read converted readings until five have arrived, then cancel. */
export async function transformWithCancellation() {
  const feed = new SensorFeed();
  const mediator = mediatorOver(feed);
  const controller = new AbortController();
  const received: Reading[] = [];
  let stoppedBy = 'completion';
  try {
    for await (const reading of mediator.createStream(new StreamCelsius(), {
      signal: controller.signal,
    })) {
      received.push(reading);
      if (received.length === 5) controller.abort(); // e.g. the client went away
    }
  } catch (error) {
    if (!isAbortError(error)) throw error;
    stoppedBy = 'abort';
  }
  // The loop is rejected at once; the handler's generators close in the background, at once
  // but asynchronously (a generator's `finally` runs when its `return()` is processed).
  await nextTurn();
  return { received, stoppedBy, pulled: feed.pulled, sourceClosed: feed.closed };
}

/** Sample 2: batches of 100, processed one batch at a time; cancelled after three batches. */
export async function batchesWithCancellation() {
  const feed = new SensorFeed();
  const mediator = mediatorOver(feed);
  const controller = new AbortController();
  const batchSizes: number[] = [];
  let stoppedBy = 'completion';
  try {
    const batches = mediator
      .createStream(new StreamReadings(), { signal: controller.signal })
      .pipe(batch(100));
    for await (const readings of batches) {
      await nextTurn(); // "ProcessBatch": e.g. one INSERT of 100 rows
      batchSizes.push(readings.length);
      if (batchSizes.length === 3) controller.abort();
    }
  } catch (error) {
    if (!isAbortError(error)) throw error;
    stoppedBy = 'abort';
  }
  return { batchSizes, stoppedBy, pulled: feed.pulled, sourceClosed: feed.closed };
}

/** Sample 3: enrich readings four at a time, in order, with the source read only as needed. */
export async function parallelPipeline(count = 200) {
  const feed = new SensorFeed();
  const mediator = mediatorOver(feed);
  let running = 0;
  let maxRunning = 0;
  let maxAhead = 0;
  let consumed = 0;
  const enrich = async (raw: RawReading, { index }: { index: number }) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await nextTurn(); // e.g. a lookup per reading
      return { ...raw, index };
    } finally {
      running--;
    }
  };
  const indexes: number[] = [];
  // parallel() takes its degree (4) and order (kept) from the mediator's streams settings.
  for await (const enriched of mediator
    .createStream(new StreamReadings(count))
    .pipe(parallel(enrich))) {
    consumed++;
    maxAhead = Math.max(maxAhead, feed.pulled - consumed);
    indexes.push(enriched.index);
  }
  return { consumed, maxRunning, maxAhead, inOrder: indexes.every((n, i) => n === i) };
}

/** Sample 4: a malformed reading becomes a fallback value; the stream goes on. */
export async function perItemFallback(count = 20) {
  const feed = new SensorFeed();
  const mediator = mediatorOver(feed);
  const failures: string[] = [];
  const readings: (Reading | { sensor: string; invalid: true })[] = [];
  const converted = mediator.createStream(new StreamReadings(count)).pipe(
    tryMap(toCelsius, {
      fallback: (_error, raw) => ({ sensor: raw.sensor, invalid: true as const }),
      onError: ({ error, index }) => failures.push(`#${index}: ${(error as Error).message}`),
    }),
  );
  for await (const reading of converted) readings.push(reading);
  return { readings, failures };
}

async function main(): Promise<void> {
  const one = await transformWithCancellation();
  console.log('1. transform with cooperative cancellation');
  console.log(`  received ${one.received.map((r) => `${r.celsius}°C`).join(', ')}`);
  console.log(
    `  stopped by ${one.stoppedBy}; feed read ${one.pulled} rows; feed closed: ${one.sourceClosed}`,
  );

  const two = await batchesWithCancellation();
  console.log('2. batches of 100 with cancellation');
  console.log(`  batches ${two.batchSizes.join(', ')}; stopped by ${two.stoppedBy}`);
  console.log(
    `  feed read ${two.pulled} rows (not more than the batches asked for); closed: ${two.sourceClosed}`,
  );

  const three = await parallelPipeline();
  console.log('3. parallel pipeline, degree 4, buffer 1000');
  console.log(
    `  ${three.consumed} readings; at most ${three.maxRunning} at once; in order: ${three.inOrder}`,
  );
  console.log(`  the feed was never more than ${three.maxAhead} readings ahead of the consumer`);

  const four = await perItemFallback();
  console.log('4. per-item error handling with fallback');
  console.log(
    `  ${four.readings.length} readings, ${four.failures.length} replaced by a fallback:`,
  );
  for (const failure of four.failures) console.log(`    ${failure}`);
  console.log('done.');
}

// Run when executed, not when imported (the e2e spec imports the samples).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await main();
}
