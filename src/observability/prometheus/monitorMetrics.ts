import type { DropTotal, StageStats } from '../../streaming/StreamMonitor.js';
import type { SeriesLabels } from './CellHistogram.js';
import type { MetricRegistrar } from './MetricRegistrar.js';

/**
 * What the adapter reads from a `StreamMonitor` at scrape time.
 *
 * @example
 * ```ts
 * const monitor: MetricsMonitor = new StreamMonitor();
 * ```
 */
export interface MetricsMonitor {
  snapshot(): readonly StageStats[];
  dropTotals(): readonly DropTotal[];
}

interface StageTotals {
  readonly labels: SeriesLabels;
  buffered: number;
  capacity: number;
  producerWaitMs: number;
  consumerWaitMs: number;
}

/**
 * The buffer metrics, read from stream monitors when scraped (nothing happens per item or per
 * event). Live stages of the same stream and stage (concurrent runs) are added up, and their
 * utilisation is their occupancy over their capacity.
 * @internal
 */
export function monitorMetrics(
  registrar: MetricRegistrar,
  monitors: readonly MetricsMonitor[],
): void {
  // One reading per scrape, shared by the five gauges so they agree with each other; forgotten
  // once the scrape's synchronous collection is over.
  let reading: Map<string, StageTotals> | undefined;
  const stages = (): Map<string, StageTotals> => {
    if (reading !== undefined) return reading;
    const totals = new Map<string, StageTotals>();
    for (const monitor of monitors) {
      for (const s of monitor.snapshot()) {
        const key = `${s.stream}\u0000${s.stage}`;
        let t = totals.get(key);
        if (t === undefined) {
          const labels = { stream: s.stream, stage: s.stage };
          t = { labels, buffered: 0, capacity: 0, producerWaitMs: 0, consumerWaitMs: 0 };
          totals.set(key, t);
        }
        t.buffered += s.buffered;
        t.capacity += s.capacity;
        t.producerWaitMs += s.producerWaitMs;
        t.consumerWaitMs += s.consumerWaitMs;
      }
    }
    reading = totals;
    queueMicrotask(() => (reading = undefined));
    return totals;
  };
  const gauge = (name: string, help: string, value: (t: StageTotals) => number): void =>
    registrar.gauge(name, help, ['stream', 'stage'], (emit) => {
      for (const t of stages().values()) emit(t.labels, value(t));
    });

  gauge(
    'stream_buffer_occupancy',
    'Items held now by the live stages of a stream (buffered, or started and not yet delivered).',
    (t) => t.buffered,
  );
  gauge(
    'stream_buffer_capacity',
    'Items the live stages of a stream may hold (buffer capacity, or parallel concurrency).',
    (t) => t.capacity,
  );
  gauge(
    'stream_buffer_utilisation_ratio',
    'Occupancy over capacity of the live stages of a stream, from 0 to 1.',
    (t) => (t.capacity > 0 ? t.buffered / t.capacity : 0),
  );
  gauge(
    'stream_producer_wait_seconds',
    'Time producers of the live stages have waited on their consumers, since each stage opened.',
    (t) => t.producerWaitMs / 1000,
  );
  gauge(
    'stream_consumer_wait_seconds',
    'Time consumers of the live stages have waited on their producers, since each stage opened.',
    (t) => t.consumerWaitMs / 1000,
  );
  registrar.counter(
    'stream_items_dropped_total',
    'Items a stage dropped under a lossy overflow strategy, by stream, stage and strategy.',
    ['stream', 'stage', 'strategy'],
    (emit) => {
      for (const monitor of monitors) {
        for (const d of monitor.dropTotals()) {
          emit({ stream: d.stream, stage: d.stage, strategy: d.strategy }, d.dropped);
        }
      }
    },
  );
}
