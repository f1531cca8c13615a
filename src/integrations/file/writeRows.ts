import { Readable, type Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Pipes `source` through `serializer` into `target` with Node's `pipeline`, so the source is
 * pulled only as fast as the target takes the text: `Readable.from` holds at most
 * `highWaterMark` rows, the serializer at most `highWaterMark` rows and its byte buffer, the
 * target its byte buffer. Aborting `signal` or any failure destroys every stage and ends the
 * source's iterator (its `finally` runs).
 * @internal
 */
export async function writeRows(
  source: AsyncIterable<unknown>,
  serializer: Transform,
  target: Writable,
  highWaterMark: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const reader = Readable.from(source, { objectMode: true, highWaterMark });
  await pipeline(reader, serializer, target, signal === undefined ? {} : { signal });
}
