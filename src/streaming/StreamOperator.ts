import type { Observable, OperatorFunction } from 'rxjs';
import type { ResolvedPipelineOptions } from './StreamPipelineOptions.js';

/** What a stage running on the `for await` path knows about its stream. */
export interface StageContext {
  /** The caller's signal, if any: stages abort their own work when it fires. */
  readonly signal: AbortSignal | undefined;
  /** The stream's pipeline settings: defaults for options a stage was not given. */
  readonly options: ResolvedPipelineOptions;
  /** The stream's message name, for the stage's stats. */
  readonly stream: string;
}

/**
 * An operator with one name and one meaning on both consumption paths: it is an RxJS
 * `OperatorFunction` (use it in `observable.pipe(…)`), and its `iterate` runs the same stage over
 * an AsyncIterable (what `mediator.createStream(…).pipe(…)` uses for `for await`).
 *
 * @example
 * ```ts
 * mediator.createStream$(new ExportOrders()).pipe(batch(100), parallel(save, { concurrency: 4 }));
 * for await (const saved of mediator.createStream(new ExportOrders()).pipe(batch(100), parallel(save))) {}
 * ```
 */
export interface StreamOperator<T, R> extends OperatorFunction<T, R> {
  /** The stage over an AsyncIterable: pulls from `source` only as fast as it is read. */
  readonly iterate: (source: AsyncIterable<T>, context: StageContext) => AsyncIterable<R>;
}

/** Pairs the Observable and AsyncIterable forms of one operator. @internal */
export function streamOperator<T, R>(
  onObservable: (source: Observable<T>) => Observable<R>,
  iterate: (source: AsyncIterable<T>, context: StageContext) => AsyncIterable<R>,
): StreamOperator<T, R> {
  const operator = (source: Observable<T>): Observable<R> => onObservable(source);
  return Object.assign(operator, { iterate });
}
