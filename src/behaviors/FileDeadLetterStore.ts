import { randomUUID } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkObject, show } from '../errors/validate.js';
import {
  checkIds,
  checkQuery,
  type CheckedQuery,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetterStore,
} from './DeadLetter.js';

/** Options of {@link FileDeadLetterStore}. */
export interface FileDeadLetterStoreOptions {
  /** The NDJSON file. Created on the first append; its directory must exist. Required. */
  readonly path: string;
  /**
   * Flush every append, removal and compaction to disk (`fdatasync`) before it resolves, so a
   * letter the policy reported survives a power loss, not only a process crash. Default: false.
   */
  readonly fsync?: boolean;
}

/** What {@link FileDeadLetterStore.compact} did. */
export interface CompactResult {
  /** Letters kept. */
  readonly kept: number;
  /** Lines dropped: removed letters, tombstones and unreadable lines. */
  readonly discarded: number;
}

/**
 * An append-only NDJSON dead-letter store: one JSON letter per line, written in the order the
 * appends were called (one at a time), each line with a single `write` when the OS takes it
 * whole. Removing letters appends a tombstone line `{"removed":[ids]}`, which hides the letters
 * with those ids written before it (one appended again later is a new letter, as in
 * `MemoryDeadLetterStore`); {@link compact} rewrites the file without removed letters,
 * tombstones and unreadable lines (a temp file in the same directory, fsynced, then renamed over
 * the original, so a crash leaves the old file or the new one, never a mix).
 *
 * A crash in the middle of a write can leave at most a torn last line. Readers skip lines they
 * cannot parse and count them ({@link unreadableLines}); earlier lines are never touched, and the
 * first append after reopening the file starts on a fresh line.
 *
 * Nothing is kept in memory per letter: reads stream the file twice (tombstones first, then
 * letters), holding only the ids of removed letters (with where their tombstone stands), which
 * `compact()` clears. Letters go through `JSON.stringify`: a `Date` becomes its ISO string,
 * `undefined`, functions and symbols disappear (`null` in arrays), `NaN` and `Infinity` become
 * `null`, a `Map` or `Set` becomes `{}`; a `BigInt` or a circular reference cannot be written,
 * and the append rejects with JSON's `TypeError` (the policy reports it as a `'storeError'`
 * event).
 *
 * @example
 * ```ts
 * const store = new FileDeadLetterStore({ path: '/var/lib/orders/dead-letters.ndjson', fsync: true });
 * const policy = deadLetters({ store });
 * // on shutdown
 * await policy.flush();
 * await store.close();
 * ```
 */
export class FileDeadLetterStore implements DeadLetterStore {
  /** The file. */
  readonly path: string;
  readonly #fsync: boolean;
  /** Every file operation that writes or takes a snapshot runs after the previous one. */
  #queue: Promise<unknown> = Promise.resolve();
  #handle: FileHandle | undefined;
  /** Whether the file ends with a newline; known once `#handle` is open. */
  #freshLine = true;
  #unreadable = 0;

  constructor(options: FileDeadLetterStoreOptions) {
    if (options === undefined) {
      throw new TypeError(`FileDeadLetterStore needs options with a 'path', got undefined.`);
    }
    checkObject('options', options);
    if (typeof options.path !== 'string' || options.path === '') {
      throw new TypeError(`Option 'path' must be a non-empty string, got ${show(options.path)}.`);
    }
    if (options.fsync !== undefined && typeof options.fsync !== 'boolean') {
      throw new TypeError(`Option 'fsync' must be a boolean, got ${show(options.fsync)}.`);
    }
    this.path = options.path;
    this.#fsync = options.fsync ?? false;
  }

  /**
   * Lines the last read, count or compaction could not parse and skipped: a torn last line left
   * by a crash, or text that is not a letter or a tombstone.
   */
  get unreadableLines(): number {
    return this.#unreadable;
  }

  append(letter: DeadLetter): Promise<void> {
    let line: string;
    try {
      line = `${JSON.stringify(letter)}\n`;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue(() => this.#write(line));
  }

  read(query?: DeadLetterQuery): AsyncIterable<DeadLetter> {
    const checked = checkQuery(query);
    return this.#read(checked);
  }

  async list(query?: DeadLetterQuery): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for await (const letter of this.read(query)) out.push(letter);
    return out;
  }

  remove(ids: Iterable<string>): Promise<void> {
    let list: string[];
    try {
      list = checkIds(ids);
    } catch (error) {
      return Promise.reject(error);
    }
    if (list.length === 0) return Promise.resolve();
    const line = `${JSON.stringify({ removed: list })}\n`;
    return this.#enqueue(() => this.#write(line));
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const _ of this.read()) n++;
    return n;
  }

  /**
   * Rewrites the file with only the letters it still holds, atomically (temp file, fsync,
   * rename). Appends wait until it is done; reads already running go on over the old file.
   */
  compact(): Promise<CompactResult> {
    return this.#enqueue(() => this.#compact());
  }

  /** Closes the file after pending writes; a later append opens it again. */
  close(): Promise<void> {
    return this.#enqueue(async () => {
      const handle = this.#handle;
      this.#handle = undefined;
      await handle?.close();
    });
  }

  #enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation);
    this.#queue = run.then(ignore, ignore);
    return run;
  }

  async #write(line: string): Promise<void> {
    const handle = this.#handle ?? (await this.#openForAppend());
    const data = Buffer.from(this.#freshLine ? line : `\n${line}`);
    // Until the whole line is written, assume a partial one: the next line must start afresh.
    this.#freshLine = false;
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await handle.write(data, written, data.length - written);
      written += bytesWritten;
    }
    if (this.#fsync) await handle.datasync();
    this.#freshLine = true;
  }

  async #openForAppend(): Promise<FileHandle> {
    const handle = await open(this.path, 'a+');
    try {
      const { size } = await handle.stat();
      if (size === 0) {
        this.#freshLine = true;
        if (this.#fsync) await syncDirectory(this.path);
      } else {
        const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1);
        this.#freshLine = buffer[0] === NEWLINE;
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    return (this.#handle = handle);
  }

  /** The file as it is between two queued operations: an open handle and the size to read. */
  async #snapshot(): Promise<Snapshot | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return { handle, size: (await handle.stat()).size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async *#read({ filter, limit }: CheckedQuery): AsyncGenerator<DeadLetter, void, undefined> {
    const snapshot = await this.#enqueue(() => this.#snapshot());
    if (snapshot === undefined) return;
    try {
      const removed = await this.#removedIds(snapshot);
      let n = 0;
      let at = 0;
      for await (const text of linesOf(snapshot)) {
        const line = parseLine(text);
        if (!isLetter(line) || isRemoved(removed, line, at++)) continue;
        if (filter !== undefined && !filter(line)) continue;
        yield line;
        if (++n >= limit) return;
      }
    } finally {
      await snapshot.handle.close();
    }
  }

  /**
   * First pass: the ids of removed letters, each with the line number of the last tombstone
   * naming it (a tombstone hides only the lines before it); counts unreadable lines.
   */
  async #removedIds(snapshot: Snapshot): Promise<Map<string, number>> {
    const removed = new Map<string, number>();
    let unreadable = 0;
    let at = 0;
    for await (const text of linesOf(snapshot)) {
      const line = parseLine(text);
      if (line === UNREADABLE) unreadable++;
      else if (Array.isArray(line)) for (const id of line) removed.set(id, at);
      at++;
    }
    this.#unreadable = unreadable;
    return removed;
  }

  async #compact(): Promise<CompactResult> {
    const snapshot = await this.#snapshot();
    if (snapshot === undefined) return { kept: 0, discarded: 0 };
    const temp = join(dirname(this.path), `.${basename(this.path)}.${randomUUID()}.tmp`);
    let out: FileHandle | undefined;
    let kept = 0;
    let discarded = 0;
    try {
      const removed = await this.#removedIds(snapshot);
      out = await open(temp, 'wx');
      let chunk: string[] = [];
      let chunkLength = 0;
      let at = 0;
      for await (const text of linesOf(snapshot)) {
        const line = parseLine(text);
        if (line === BLANK) {
          at++;
          continue;
        }
        if (!isLetter(line) || isRemoved(removed, line, at++)) {
          discarded++;
          continue;
        }
        kept++;
        chunk.push(text, '\n');
        chunkLength += text.length + 1;
        if (chunkLength >= 64 * 1024) {
          await out.write(chunk.join(''));
          chunk = [];
          chunkLength = 0;
        }
      }
      if (chunk.length > 0) await out.write(chunk.join(''));
      await out.sync();
      await out.close();
      out = undefined;
      await rename(temp, this.path);
      await syncDirectory(this.path);
    } catch (error) {
      await out?.close().catch(ignore);
      await unlink(temp).catch(ignore);
      throw error;
    } finally {
      await snapshot.handle.close();
    }
    this.#unreadable = 0;
    // The append handle still points at the replaced file: reopen on the next append.
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
    return { kept, discarded };
  }
}

interface Snapshot {
  readonly handle: FileHandle;
  readonly size: number;
}

const NEWLINE = 0x0a;
const READ_CHUNK = 64 * 1024;
const BLANK: unique symbol = Symbol('blank');
const UNREADABLE: unique symbol = Symbol('unreadable');

const ignore = (): void => undefined;

/** A letter, the ids of a tombstone, a blank line, or a line that is neither. */
type Line = DeadLetter | readonly string[] | typeof BLANK | typeof UNREADABLE;

function isLetter(line: Line): line is DeadLetter {
  return typeof line === 'object' && !Array.isArray(line);
}

/** Whether a tombstone after line `at` removed `letter` (a letter appended again after it stays). */
function isRemoved(removed: ReadonlyMap<string, number>, letter: DeadLetter, at: number): boolean {
  const tombstone = removed.get(letter.id);
  return tombstone !== undefined && tombstone > at;
}

const KINDS = new Set(['request', 'stream', 'item']);

function parseLine(text: string): Line {
  if (text.trim() === '') return BLANK;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return UNREADABLE; // a torn line is a strict prefix of an object: never valid JSON
  }
  if (typeof value !== 'object' || value === null) return UNREADABLE;
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.removed)) {
    return record.removed.every((id) => typeof id === 'string')
      ? (record.removed as string[])
      : UNREADABLE;
  }
  if (
    typeof record.id === 'string' &&
    typeof record.messageName === 'string' &&
    KINDS.has(record.kind as string)
  ) {
    return record as unknown as DeadLetter;
  }
  return UNREADABLE;
}

/** The lines of the snapshot, decoded as UTF-8; the last one may lack its newline. */
async function* linesOf({ handle, size }: Snapshot): AsyncGenerator<string, void, undefined> {
  let rest: Buffer | undefined;
  let position = 0;
  while (position < size) {
    // A fresh buffer per read: `rest` may still point into the previous one.
    const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - position));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) break; // the file shrank (replaced files are read through the old handle)
    position += bytesRead;
    let start = 0;
    let newline = chunk.indexOf(NEWLINE);
    while (newline !== -1 && newline < bytesRead) {
      const piece = chunk.subarray(start, newline);
      yield (rest === undefined ? piece : Buffer.concat([rest, piece])).toString('utf8');
      rest = undefined;
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < bytesRead) {
      const tail = chunk.subarray(start, bytesRead);
      rest = rest === undefined ? tail : Buffer.concat([rest, tail]);
    }
  }
  if (rest !== undefined) yield rest.toString('utf8');
}

/** Makes a file's creation or rename durable; best effort (not every platform can). */
async function syncDirectory(path: string): Promise<void> {
  let directory: FileHandle | undefined;
  try {
    directory = await open(dirname(path), 'r');
    await directory.sync();
  } catch {
    // Windows cannot open a directory; the data itself was synced.
  } finally {
    await directory?.close().catch(ignore);
  }
}
