/** How a run was asked for, as far as recording goes. */
export interface RunShape {
  readonly quick: boolean;
  /** Case-name filters; empty for the whole suite. */
  readonly filters: readonly string[];
  /** Protocol or loader flags that differ from the defaults (`--processes`, `--rounds`, `--tsx` …). */
  readonly overrides: readonly string[];
  /** `--record` (true), `--no-record` (false), or neither (undefined). */
  readonly record: boolean | undefined;
}

/** Whether a run becomes the record, and why (printed at the end of the run). */
export interface RecordDecision {
  readonly record: boolean;
  readonly reason: string;
}

/**
 * Whether a run rewrites the record (benchmarks/RESULTS.md, results/record.json, results/chart.svg).
 * By default only a full run of the whole suite with the default protocol does, so a filtered or
 * shortened trial never clobbers it; `--record` forces it for a non-quick run, `--no-record`
 * prevents it. A quick run never records (its sizes and protocol are not the published ones).
 */
export function shouldRecord(run: RunShape): RecordDecision {
  if (run.quick) {
    if (run.record === true) {
      throw new TypeError('--record cannot be used with --quick: a quick run is never the record.');
    }
    return { record: false, reason: 'a quick run is never recorded' };
  }
  if (run.record === false) return { record: false, reason: '--no-record' };
  if (run.record === true) {
    const partial = [...run.filters.map((f) => `filter '${f}'`), ...run.overrides];
    return {
      record: true,
      reason:
        partial.length === 0 ? '--record' : `--record, although the run has ${partial.join(', ')}`,
    };
  }
  if (run.filters.length > 0) {
    return { record: false, reason: 'a filtered run is not recorded (add --record to force it)' };
  }
  if (run.overrides.length > 0) {
    return {
      record: false,
      reason: `${run.overrides.join(', ')} differ from the published protocol (add --record to force it)`,
    };
  }
  return { record: true, reason: 'a full run of the whole suite' };
}
