import {
  checkFunction,
  checkInteger,
  checkObject,
  checkOneOf,
  checkSignal,
  show,
} from '../../errors/validate.js';

/** The formats {@link exportToFile} writes. */
export type FileExportFormat = 'ndjson' | 'csv';

/** How {@link exportToFile} resumes an interrupted export. */
export interface FileExportResume<T> {
  /**
   * The stable id of a row. Called on source rows and on the last row read back from the partial
   * file (for CSV an object of strings keyed by column, so ids are compared as strings:
   * `String(a) === String(b)`). Required.
   */
  readonly idOf: (row: T) => string | number;
  /**
   * For a source that resumes on its own from a stored position (a change feed acknowledged up
   * to the rows the file took): orders ids (negative when `a` comes before `b`, as for
   * `Array.prototype.sort`, on the ids as strings) in the source's order. Rows up to and
   * including the last id in the file are then skipped, and the source may start after it.
   * Without it, the source must yield the last id again (it is replayed from the start), and
   * an export whose source never does fails with `ResumeIdNotFoundError`. Default: none.
   */
  readonly compareIds?: (a: string, b: string) => number;
}

/** Options of {@link exportToFile}. */
export interface ExportToFileOptions<T> {
  /** The final file. Its directory must exist; the temp file is created next to it. Required. */
  readonly path: string;
  /** `'ndjson'` (one `JSON.stringify` per line) or `'csv'` (csv-stringify). Required. */
  readonly format: FileExportFormat;
  /**
   * CSV only: the columns, in order (keys of each row object). Default: the keys of the first
   * row (csv-stringify's discovery); when resuming, the header of the partial file.
   */
  readonly columns?: readonly string[];
  /** CSV only: write a header row. Default: true. */
  readonly header?: boolean;
  /** Aborts the export: the temp file is removed (kept as the partial file in resume mode). */
  readonly signal?: AbortSignal;
  /**
   * fsync the file before the rename and the directory after it, so a finished export survives a
   * power loss. Default: true.
   */
  readonly fsync?: boolean;
  /**
   * Resume mode: write to `<path>.partial`, keep it on failure or abort, and on the next run
   * truncate its torn last line, skip the source up to and including the last row's id and
   * append after it. Default: off (a unique temp file, always removed on failure).
   */
  readonly resume?: FileExportResume<T>;
  /**
   * Rows buffered by each object stage (the source reader and the serializer's input). The
   * source is read at most about `2 × highWaterMark` rows plus 32 KiB of serialized text (the
   * serializer's and the file stream's 16 KiB byte buffers) plus a few rows in flight ahead of
   * what the disk has taken. Default: 16.
   */
  readonly highWaterMark?: number;
  /** A `'progress'` event every this many rows. Default: 1000. */
  readonly progressEvery?: number;
}

/** @internal Options after validation, with defaults applied. */
export interface CheckedExportOptions<T> {
  readonly path: string;
  readonly format: FileExportFormat;
  readonly columns: readonly string[] | undefined;
  readonly header: boolean;
  readonly signal: AbortSignal | undefined;
  readonly fsync: boolean;
  readonly idOf: ((row: T) => string | number) | undefined;
  readonly compareIds: ((a: string, b: string) => number) | undefined;
  readonly highWaterMark: number;
  readonly progressEvery: number;
}

/** @internal Throws a TypeError or RangeError naming the first bad option. */
export function checkExportOptions<T>(options: ExportToFileOptions<T>): CheckedExportOptions<T> {
  if (options === undefined) {
    throw new TypeError(`exportToFile needs options with a 'path' and a 'format', got undefined.`);
  }
  checkObject('options', options);
  const { path, columns, header = true, fsync = true, resume } = options;
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`Option 'path' must be a non-empty string, got ${show(path)}.`);
  }
  const format = checkOneOf('format', options.format, ['ndjson', 'csv'] as const);
  if (columns !== undefined) {
    if (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string')) {
      throw new TypeError(`Option 'columns' must be an array of strings, got ${show(columns)}.`);
    }
    if (columns.length === 0) throw new RangeError(`Option 'columns' must not be empty, got [].`);
  }
  if (format !== 'csv' && (columns !== undefined || options.header !== undefined)) {
    throw new TypeError(`Options 'columns' and 'header' apply to format 'csv' only.`);
  }
  if (typeof header !== 'boolean') {
    throw new TypeError(`Option 'header' must be a boolean, got ${show(header)}.`);
  }
  if (typeof fsync !== 'boolean') {
    throw new TypeError(`Option 'fsync' must be a boolean, got ${show(fsync)}.`);
  }
  checkObject('resume', resume);
  if (resume !== undefined) {
    if (resume.idOf === undefined) throw new TypeError(`Option 'resume.idOf' is required.`);
    checkFunction('resume.idOf', resume.idOf);
    checkFunction('resume.compareIds', resume.compareIds);
    if (format === 'csv' && !header && columns === undefined) {
      throw new TypeError(`Option 'resume' with 'header: false' needs 'columns'.`);
    }
  }
  return {
    path,
    format,
    columns,
    header,
    signal: checkSignal(options.signal),
    fsync,
    idOf: resume?.idOf,
    compareIds: resume?.compareIds,
    highWaterMark: checkInteger('highWaterMark', options.highWaterMark ?? 16, 1),
    progressEvery: checkInteger('progressEvery', options.progressEvery ?? 1000, 1, true),
  };
}
