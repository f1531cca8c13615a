/**
 * One histogram series' counts, kept by the adapter so that an observation costs a short scan and
 * three additions (a prom-client `observe()` hashes its labels on every call). Published at
 * scrape time by {@link CellHistogram}.
 * @internal
 */
export class HistogramCell {
  /** Observations per bucket, not cumulative; the last slot holds those above every bound. */
  readonly counts: Float64Array;
  count = 0;
  sum = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += value;
  }
}
