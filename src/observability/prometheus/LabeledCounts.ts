import type { SeriesLabels } from './CellHistogram.js';

/**
 * Counts per label set, for events that are rare (policy decisions): the key is the label values
 * joined, so an increment costs a string join and a `Map` lookup.
 * @internal
 */
export class LabeledCounts {
  readonly #series = new Map<string, { labels: SeriesLabels; value: number }>();

  constructor(readonly labelNames: readonly string[]) {}

  /** Adds `n` to the series with these label values (in `labelNames` order). */
  add(values: readonly string[], n = 1): void {
    const key = values.join('\u0000');
    const series = this.#series.get(key);
    if (series !== undefined) {
      series.value += n;
      return;
    }
    const labels: SeriesLabels = {};
    for (let i = 0; i < this.labelNames.length; i++) labels[this.labelNames[i]!] = values[i] ?? '';
    this.#series.set(key, { labels, value: n });
  }

  /** Every series, for a scrape. */
  forEach(emit: (labels: SeriesLabels, value: number) => void): void {
    for (const { labels, value } of this.#series.values()) emit(labels, value);
  }
}
