/** What a finished {@link exportToFile} run wrote. */
export interface FileExportResult {
  /** The final file. */
  readonly path: string;
  /** Rows this run wrote (rows kept from a resumed partial file are not counted). */
  readonly rows: number;
  /** Bytes this run wrote (header included; bytes kept from a resumed partial file are not). */
  readonly bytes: number;
  /** Milliseconds from the call to the rename of the finished file. */
  readonly durationMs: number;
  /** The id of the last row found in the resumed partial file, when the run resumed after one. */
  readonly resumedAfter?: string | number;
}

/**
 * What an export reports while it runs, a discriminated union on `type`:
 * - `'progress'` every `progressEvery` rows handed to the file (`bytes` = bytes the file took);
 * - `'finished'` once the file is renamed to its final name (and fsynced, unless `fsync: false`);
 * - `'failed'` when the source, the serializer or the disk failed;
 * - `'aborted'` when the `signal` aborted the export.
 *
 * After `'failed'` or `'aborted'` nothing exists under the final name that this run wrote; in
 * resume mode `partialPath` names the partial file kept for the next run.
 */
export type FileExportEvent =
  | {
      readonly type: 'progress';
      readonly path: string;
      readonly rows: number;
      readonly bytes: number;
    }
  | ({ readonly type: 'finished' } & FileExportResult)
  | {
      readonly type: 'failed';
      readonly path: string;
      readonly error: unknown;
      readonly rows: number;
      readonly bytes: number;
      readonly partialPath?: string;
    }
  | {
      readonly type: 'aborted';
      readonly path: string;
      readonly reason: unknown;
      readonly rows: number;
      readonly bytes: number;
      readonly partialPath?: string;
    };
