import { Histogram, type Registry } from 'prom-client';
import type { HistogramCell } from './HistogramCell.js';

/** Labels of one series. @internal */
export type SeriesLabels = Record<string, string>;

/** Hands every series to `emit`, at scrape time. @internal */
export type ReadCells = (emit: (labels: SeriesLabels, cell: HistogramCell) => void) => void;

/**
 * A prom-client `Histogram` whose series are read from {@link HistogramCell}s when scraped, so
 * the event path never calls prom-client. Its exposition is the one prom-client's own
 * histograms produce (`_bucket` with `le`, `_sum`, `_count`).
 * @internal
 */
export class CellHistogram extends Histogram<string> {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #read: ReadCells;

  constructor(
    config: {
      name: string;
      help: string;
      labelNames: readonly string[];
      buckets: readonly number[];
      registry: Registry;
    },
    read: ReadCells,
  ) {
    super({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      buckets: [...config.buckets],
      registers: [config.registry],
    });
    this.#name = config.name;
    this.#help = config.help;
    this.#bounds = config.buckets;
    this.#read = read;
  }

  override async get(): Promise<Awaited<ReturnType<Histogram<string>['get']>>> {
    return Promise.resolve(this.#export());
  }

  /** What the registry's text exposition reads (prom-client 15 asks for it when present). */
  async getForPromString(): Promise<Awaited<ReturnType<Histogram<string>['get']>>> {
    return Promise.resolve(this.#export());
  }

  #export(): Awaited<ReturnType<Histogram<string>['get']>> {
    const bucket = `${this.#name}_bucket`;
    const sum = `${this.#name}_sum`;
    const count = `${this.#name}_count`;
    const bounds = this.#bounds;
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] =
      [];
    this.#read((labels, cell) => {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += cell.counts[i]!;
        values.push({
          labels: { ...labels, le: bounds[i]! },
          value: cumulative,
          metricName: bucket,
        });
      }
      values.push(
        { labels: { ...labels, le: '+Inf' }, value: cell.count, metricName: bucket },
        { labels, value: cell.sum, metricName: sum },
        { labels, value: cell.count, metricName: count },
      );
    });
    return {
      name: this.#name,
      help: this.#help,
      type: 'histogram',
      values,
      aggregator: 'sum',
    } as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
  }
}
