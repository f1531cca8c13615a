import { checkInteger, checkObject, show } from '../errors/validate.js';
import { checkOverflow, type OverflowStrategy } from './OverflowStrategy.js';
import { StreamMonitor } from './StreamMonitor.js';

/**
 * The streaming pipeline's settings (the seed's `AddStreamingPipeline`): set on the mediator as
 * `streams: {…}`, overridable per `createStream()` call. They size the bridge for push sources and
 * are the defaults of `batch()` and `parallel()` stages piped onto the call's stream.
 *
 * @example
 * ```ts
 * const mediator = createMediator({ handlers, streams: { maxDegreeOfParallelism: 4, bufferCapacity: 1000 } });
 * mediator.createStream(new ExportOrders(), { batchSize: 100, ordered: false }).pipe(batch(), parallel(save));
 * ```
 */
export interface StreamPipelineOptions {
  /** Items a push source may get ahead of the consumer, per buffer. Default: 1000. */
  readonly bufferCapacity?: number;
  /** What a full buffer does with a push source's next item. Default: `'error'` (lossless or loud). */
  readonly overflow?: OverflowStrategy;
  /** Tasks a `parallel()` stage runs at once when it is not given `concurrency`. Default: 4. */
  readonly maxDegreeOfParallelism?: number;
  /** Items per batch of a `batch()` stage when it is not given a size. Default: 100. */
  readonly batchSize?: number;
  /** Whether a `parallel()` stage keeps input order when not told. Default: true. */
  readonly ordered?: boolean;
  /** Records the stream's buffering stages (occupancy, drops, waits). Default: none (no cost). */
  readonly monitor?: StreamMonitor;
}

/** Every pipeline setting, resolved. @internal */
export type ResolvedPipelineOptions = Required<Omit<StreamPipelineOptions, 'monitor'>> & {
  readonly monitor: StreamMonitor | undefined;
};

/** @internal */
export const DEFAULT_PIPELINE: ResolvedPipelineOptions = Object.freeze({
  bufferCapacity: 1000,
  overflow: 'error',
  maxDegreeOfParallelism: 4,
  batchSize: 100,
  ordered: true,
  monitor: undefined,
});

/**
 * Validates `overrides` (naming each bad option with `prefix`, e.g. `streams.batchSize`) and
 * merges them onto `base`. Returns `base` itself when nothing is overridden.
 * @internal
 */
export function resolvePipelineOptions(
  base: ResolvedPipelineOptions,
  overrides: StreamPipelineOptions | undefined,
  prefix = '',
): ResolvedPipelineOptions {
  if (overrides === undefined) return base;
  checkObject(prefix.replace(/\.$/, '') || 'options', overrides);
  const { bufferCapacity, overflow, maxDegreeOfParallelism, batchSize, ordered, monitor } =
    overrides;
  if (
    monitor === undefined &&
    bufferCapacity === undefined &&
    overflow === undefined &&
    maxDegreeOfParallelism === undefined &&
    batchSize === undefined &&
    ordered === undefined
  ) {
    return base;
  }
  if (ordered !== undefined && typeof ordered !== 'boolean') {
    throw new TypeError(`Option '${prefix}ordered' must be a boolean, got ${show(ordered)}.`);
  }
  if (monitor !== undefined && !(monitor instanceof StreamMonitor)) {
    throw new TypeError(`Option '${prefix}monitor' must be a StreamMonitor, got ${show(monitor)}.`);
  }
  return {
    bufferCapacity:
      bufferCapacity === undefined
        ? base.bufferCapacity
        : checkInteger(`${prefix}bufferCapacity`, bufferCapacity, 1),
    overflow: overflow === undefined ? base.overflow : checkOverflow(`${prefix}overflow`, overflow),
    maxDegreeOfParallelism:
      maxDegreeOfParallelism === undefined
        ? base.maxDegreeOfParallelism
        : checkInteger(`${prefix}maxDegreeOfParallelism`, maxDegreeOfParallelism, 1),
    batchSize:
      batchSize === undefined ? base.batchSize : checkInteger(`${prefix}batchSize`, batchSize, 1),
    ordered: ordered ?? base.ordered,
    monitor: monitor ?? base.monitor,
  };
}
