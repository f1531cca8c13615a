import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isObservable, type Observable } from 'rxjs';
import { EventChannel } from '../../behaviors/EventChannel.js';
import { show } from '../../errors/validate.js';
import { toAsyncIterable } from '../../streaming/toAsyncIterable.js';
import { partialPathFor, removeQuietly, syncDirectory, tempPathFor } from './atomicFile.js';
import { csvSerializer } from './csvSerializer.js';
import {
  checkExportOptions,
  type CheckedExportOptions,
  type ExportToFileOptions,
} from './ExportToFileOptions.js';
import { endOnSourceError } from './endOnSourceError.js';
import { FileExport } from './FileExport.js';
import type { FileExportEvent, FileExportResult } from './FileExportEvent.js';
import { ndjsonSerializer } from './ndjsonSerializer.js';
import { readCheckpoint, type Checkpoint } from './readCheckpoint.js';
import { skipThrough } from './skipThrough.js';
import { writeRows } from './writeRows.js';

/**
 * Writes a stream of rows to a file as NDJSON or CSV, reading the source only as fast as the
 * disk takes the text (Node `pipeline`; at most `2 × highWaterMark` rows plus 32 KiB of text
 * ahead), and finishing atomically: the rows go to a temp file in the same directory, which is
 * fsynced, renamed over `path`, and the directory fsynced. An aborted or failed export removes
 * its temp file and leaves `path` as it was (an older file there survives).
 *
 * With `resume`, the rows go to `<path>.partial`, which a failure or abort keeps. The next run
 * cuts its torn last line, reads the last complete row's id, skips the source through that id
 * (it fails with a {@link ResumeIdNotFoundError} if the source never yields it) and appends
 * the rest, then finishes atomically. Rows are written once if the source replays the same rows
 * in the same order.
 *
 * An Observable source goes through {@link toAsyncIterable} (a `pullable()` one is pulled; a push
 * one is buffered up to 1000 rows and fails with `BufferOverflowError` beyond).
 *
 * @example
 * ```ts
 * const { rows, bytes } = await exportToFile(mediator.createStream(new ExportOrders()), {
 *   path: '/var/exports/orders.csv',
 *   format: 'csv',
 *   columns: ['id', 'customer', 'total'],
 *   resume: { idOf: (order) => order.id },
 *   signal: AbortSignal.timeout(60_000),
 * });
 * ```
 */
export function exportToFile<T>(
  source: AsyncIterable<T> | Observable<T>,
  options: ExportToFileOptions<T>,
): FileExport {
  const checked = checkExportOptions(options);
  const isIterable =
    typeof source === 'object' &&
    source !== null &&
    typeof (source as Partial<AsyncIterable<T>>)[Symbol.asyncIterator] === 'function';
  if (!isIterable && !isObservable(source)) {
    throw new TypeError(
      `exportToFile's source must be an AsyncIterable or an Observable, got ${show(source)}.`,
    );
  }
  const channel = new EventChannel<FileExportEvent>();
  const rows = isObservable(source) ? toAsyncIterable(source) : source;
  return new FileExport(channel.events, run(rows, checked, channel));
}

async function run<T>(
  source: AsyncIterable<T>,
  options: CheckedExportOptions<T>,
  channel: EventChannel<FileExportEvent>,
): Promise<FileExportResult> {
  const started = performance.now();
  const { path, format, signal, idOf, compareIds, highWaterMark, progressEvery } = options;
  const workPath = idOf === undefined ? tempPathFor(path) : partialPathFor(path);
  let file: WriteStream | undefined;
  let rows = 0;
  try {
    await Promise.resolve(); // events start after the caller could subscribe
    signal?.throwIfAborted();
    const checkpoint = idOf === undefined ? { size: 0 } : await openCheckpoint(workPath, options);
    signal?.throwIfAborted();
    const resumedAfter =
      checkpoint.lastRow === undefined ? undefined : idOf!(checkpoint.lastRow as T);
    // Resume mode writes every row a failing source yielded, so the next run redoes less.
    const held =
      idOf === undefined
        ? undefined
        : endOnSourceError(
            resumedAfter === undefined
              ? source
              : skipThrough(source, idOf, resumedAfter, compareIds),
          );
    const input = held?.rows ?? source;
    const onRow = () => {
      rows++;
      if (rows % progressEvery === 0 && channel.observed) {
        channel.emit({ type: 'progress', path, rows, bytes: file?.bytesWritten ?? 0 });
      }
    };
    const serializer =
      format === 'ndjson'
        ? ndjsonSerializer(highWaterMark, onRow)
        : csvSerializer(
            checkpoint.columns ?? options.columns,
            options.header && checkpoint.size === 0,
            highWaterMark,
            onRow,
          );
    // `flush` fsyncs the file before the stream closes; the pipeline resolves after the close.
    file = createWriteStream(workPath, {
      flags: idOf === undefined ? 'wx' : 'a',
      flush: options.fsync,
    });
    await writeRows(input, serializer, file, highWaterMark, signal);
    held?.rethrow();
    await rename(workPath, path);
    if (options.fsync) await syncDirectory(dirname(path));
    const result: FileExportResult = {
      path,
      rows,
      bytes: file.bytesWritten,
      durationMs: performance.now() - started,
      ...(resumedAfter === undefined ? {} : { resumedAfter }),
    };
    if (channel.observed) channel.emit({ type: 'finished', ...result });
    return result;
  } catch (error) {
    // The pipeline rejects as soon as a stage fails; the file stream closes after that.
    if (file !== undefined && !file.closed)
      await new Promise<void>((resolve) => file!.once('close', () => resolve()));
    if (idOf === undefined) await removeQuietly(workPath).catch(() => undefined);
    const bytes = file?.bytesWritten ?? 0;
    const kept = idOf === undefined ? {} : { partialPath: workPath };
    if (signal?.aborted) {
      if (channel.observed) {
        channel.emit({ type: 'aborted', path, reason: signal.reason, rows, bytes, ...kept });
      }
      throw signal.reason;
    }
    if (channel.observed) channel.emit({ type: 'failed', path, error, rows, bytes, ...kept });
    throw error;
  }
}

/** Reads (and trims) the partial file of a resumable export, creating it when missing. */
async function openCheckpoint<T>(
  partialPath: string,
  options: CheckedExportOptions<T>,
): Promise<Checkpoint> {
  const handle = await open(partialPath, 'a+');
  try {
    return await readCheckpoint(handle, options.format, options.header, options.columns);
  } finally {
    await handle.close();
  }
}
