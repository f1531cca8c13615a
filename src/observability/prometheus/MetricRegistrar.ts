import { Counter, Gauge, type Registry } from 'prom-client';
import { CellHistogram, type ReadCells, type SeriesLabels } from './CellHistogram.js';

/** Hands every series and its value to `emit`, at scrape time. @internal */
export type ReadValues = (emit: (labels: SeriesLabels, value: number) => void) => void;

/**
 * Creates the adapter's metrics in one registry under one prefix, each reading the adapter's own
 * counts when scraped (`collect`), and removes exactly those metrics again.
 * @internal
 */
export class MetricRegistrar {
  readonly #metrics = new Map<string, object>();

  constructor(
    readonly registry: Registry,
    readonly prefix: string,
  ) {}

  /** The full names of the metrics created so far. */
  get names(): string[] {
    return [...this.#metrics.keys()];
  }

  counter(name: string, help: string, labelNames: readonly string[], read: ReadValues): void {
    const full = this.prefix + name;
    this.#metrics.set(
      full,
      new Counter({
        name: full,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          read((labels, value) => this.inc(labels, value));
        },
      }),
    );
  }

  gauge(name: string, help: string, labelNames: readonly string[], read: ReadValues): void {
    const full = this.prefix + name;
    this.#metrics.set(
      full,
      new Gauge({
        name: full,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          read((labels, value) => this.set(labels, value));
        },
      }),
    );
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
    read: ReadCells,
  ): void {
    const full = this.prefix + name;
    this.#metrics.set(
      full,
      new CellHistogram({ name: full, help, labelNames, buckets, registry: this.registry }, read),
    );
  }

  /** Unregisters every metric this registrar created (and only those). */
  removeAll(): void {
    for (const [name, metric] of this.#metrics) {
      if (this.registry.getSingleMetric(name) === metric) this.registry.removeSingleMetric(name);
    }
    this.#metrics.clear();
  }
}
