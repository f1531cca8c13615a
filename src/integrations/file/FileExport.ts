import type { Observable } from 'rxjs';
import type { FileExportEvent, FileExportResult } from './FileExportEvent.js';

/**
 * A running export, as {@link exportToFile} returns it: await it (or its `done`) for the result,
 * subscribe to `events` for progress. Events start after the call returns, so a subscription
 * made right after the call sees them all.
 *
 * @example
 * ```ts
 * const run = exportToFile(mediator.createStream(new ExportOrders()), { path, format: 'ndjson' });
 * run.events.subscribe((e) => e.type === 'progress' && metrics.rows.set(e.rows));
 * const { rows, bytes } = await run;
 * ```
 */
export class FileExport implements PromiseLike<FileExportResult> {
  /** `'progress'`, then `'finished'`, `'failed'` or `'aborted'`. Never completes. */
  readonly events: Observable<FileExportEvent>;
  /** Resolves once the file is in place; rejects with the failure or the abort reason. */
  readonly done: Promise<FileExportResult>;

  /** @internal */
  constructor(events: Observable<FileExportEvent>, done: Promise<FileExportResult>) {
    this.events = events;
    this.done = done;
  }

  then<R1 = FileExportResult, R2 = never>(
    onFulfilled?: ((result: FileExportResult) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.done.then(onFulfilled, onRejected);
  }
}
