import type { FileHandle } from 'node:fs/promises';
import type { FileExportFormat } from './ExportToFileOptions.js';
import { parseCsvRecord } from './parseCsvRecord.js';

const CHUNK = 64 * 1024;
const NEWLINE = 10;
const QUOTE = 34;

/** @internal What a partial export holds, after its torn tail was cut off. */
export interface Checkpoint {
  /** The file's length once the torn tail is cut. */
  readonly size: number;
  /** The last complete row read back (NDJSON: parsed JSON; CSV: strings keyed by column). */
  readonly lastRow?: unknown;
  /** CSV: the columns of the header row, when the file has one. */
  readonly columns?: readonly string[];
}

/**
 * Reads a partial export: cuts a torn last line (bytes after the last complete record), reads
 * back the last complete row and, for CSV, the header. NDJSON reads only the tail; CSV scans the
 * whole file once, because a quoted field may hold newlines.
 * @internal
 */
export async function readCheckpoint(
  handle: FileHandle,
  format: FileExportFormat,
  header: boolean,
  columns: readonly string[] | undefined,
): Promise<Checkpoint> {
  const { size } = await handle.stat();
  const checkpoint =
    format === 'ndjson'
      ? await readNdjsonTail(handle, size)
      : await readCsv(handle, size, header, columns);
  if (checkpoint.size < size) await handle.truncate(checkpoint.size);
  return checkpoint;
}

async function readRange(handle: FileHandle, start: number, end: number): Promise<Buffer> {
  const buffer = Buffer.alloc(end - start);
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

async function readNdjsonTail(handle: FileHandle, size: number): Promise<Checkpoint> {
  // Read backwards until the tail holds two newlines (the end of the last complete line and the
  // end of the one before it) or the whole file.
  let start = size;
  let tail = Buffer.alloc(0);
  let newlines = 0;
  while (start > 0 && newlines < 2) {
    const from = Math.max(0, start - CHUNK);
    const chunk = await readRange(handle, from, start);
    for (const byte of chunk) if (byte === NEWLINE) newlines++;
    tail = Buffer.concat([chunk, tail]);
    start = from;
  }
  const lastNewline = tail.lastIndexOf(NEWLINE);
  if (lastNewline < 0) return { size: 0 };
  const lineStart = lastNewline === 0 ? 0 : tail.lastIndexOf(NEWLINE, lastNewline - 1) + 1;
  const line = tail.subarray(lineStart, lastNewline).toString('utf8');
  let lastRow: unknown;
  try {
    lastRow = JSON.parse(line);
  } catch (error) {
    throw new Error(`The last complete line of the partial export is not JSON: ${line}`, {
      cause: error,
    });
  }
  return { size: start + lastNewline + 1, lastRow };
}

async function readCsv(
  handle: FileHandle,
  size: number,
  header: boolean,
  columns: readonly string[] | undefined,
): Promise<Checkpoint> {
  let quoted = false;
  let recordStart = 0;
  let first: [number, number] | undefined;
  let last: [number, number] | undefined;
  for (let from = 0; from < size; from += CHUNK) {
    const chunk = await readRange(handle, from, Math.min(size, from + CHUNK));
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === QUOTE)
        quoted = !quoted; // a doubled quote toggles twice
      else if (byte === NEWLINE && !quoted) {
        last = [recordStart, from + i];
        first ??= last;
        recordStart = from + i + 1;
      }
    }
  }
  if (first === undefined || last === undefined) return { size: 0 };
  const fieldsAt = async ([start, end]: [number, number]) =>
    parseCsvRecord((await readRange(handle, start, end)).toString('utf8'));
  const cut = last[1] + 1;
  if (!header) return { size: cut, lastRow: rowOf(columns!, await fieldsAt(last)) };
  const fileColumns = await fieldsAt(first);
  if (columns !== undefined && columns.join('\u0000') !== fileColumns.join('\u0000')) {
    throw new Error(
      `The partial export's header (${fileColumns.join(',')}) differs from option 'columns' (${columns.join(',')}).`,
    );
  }
  if (last === first) return { size: cut, columns: fileColumns };
  return { size: cut, columns: fileColumns, lastRow: rowOf(fileColumns, await fieldsAt(last)) };
}

function rowOf(columns: readonly string[], fields: readonly string[]): Record<string, string> {
  const row: Record<string, string> = {};
  columns.forEach((column, i) => (row[column] = fields[i] ?? ''));
  return row;
}
