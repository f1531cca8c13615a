/**
 * The benchmark protocol (issues 3 and 8): a baseline and a candidate measured in the same
 * process, interleaved, over several timed rounds; the ratio candidate ÷ baseline is computed per
 * round, then summarised by its median and spread. Several fresh processes each repeat the whole
 * protocol (see run.ts), because a machine's noise is per process.
 *
 * A hand-written loop rather than tinybench: tinybench times one task at a time and per op,
 * whereas this protocol needs A/B interleaving inside a process and batches whose timer overhead
 * vanishes (one `performance.now()` pair around a whole batch of N awaited operations).
 */

/** One side of a comparison. */
export interface Side {
  /** What is measured, e.g. `mediator.send()`. */
  readonly label: string;
  /**
   * Performs the operation `iterations` times (the loop is written by the case, so each side's
   * loop gets its own JIT feedback) and returns a checksum of the results, so nothing can be
   * optimised away.
   */
  run(iterations: number): Promise<number>;
  /**
   * Items one iteration moves (a stream of N items: N). When given, this side is timed per item
   * (ns/item, items/s) rather than per iteration, so sides moving different amounts compare.
   */
  readonly itemsPerOp?: number;
  /** Overrides the case's `checksumPerOp` for this side (sides of different sizes). */
  readonly checksumPerOp?: number;
}

/** A goal on the time ratio candidate ÷ baseline (lower is better). */
export interface TimeGoal {
  /** The ratio must not exceed this. */
  readonly max: number;
  /** The aspiration, when the issue gives one. */
  readonly stretch?: number;
}

/**
 * A goal on throughput, in the issue's own direction: candidate items/s ÷ baseline items/s
 * (= baseline ns ÷ candidate ns; higher is better). `minSpeedup: 5` is the "≥ 5×".
 */
export interface SpeedGoal {
  /** The speed-up must reach this. */
  readonly minSpeedup: number;
  /** The aspiration, when the issue gives one. */
  readonly stretch?: number;
}

export type Goal = TimeGoal | SpeedGoal;

export function isSpeedGoal(goal: Goal | null | undefined): goal is SpeedGoal {
  return goal != null && 'minSpeedup' in goal;
}

/** What a case is told about the run. */
export interface SetupContext {
  /** `--quick`: cases that size their own work (stream lengths) use smaller sizes. */
  readonly quick: boolean;
}

/** One comparison of the suite. */
export interface BenchCase {
  readonly kind?: 'compare';
  /** Stable id: used by `--child`, filters and the JSON (the regression guard keys on it). */
  readonly name: string;
  /** One line saying what is compared. */
  readonly title: string;
  /** Goal from the issue; absent for informative comparisons. */
  readonly goal?: Goal;
  /**
   * Why the goal is missed, as found by profiling (`--cpu-prof`): printed under "Misses" in
   * RESULTS.md whenever this case misses its goal. Plain Markdown, one or two sentences.
   */
  readonly missNote?: string;
  /** Drawn in the headline chart (results/chart.svg) and meant for the README's table. */
  readonly headline?: boolean;
  /**
   * When given, every run of either side must return `iterations × checksumPerOp`: proves both
   * sides did the same work and that the work was not optimised away.
   */
  readonly checksumPerOp?: number;
  /**
   * Force a full GC before each timed run (default true): every run then starts from the same
   * heap and pays for its own garbage. Allocation-heavy stream runs set it false: after a forced
   * full GC V8 shrinks the young generation, and the next tens of ms run 1.5–4× slower than the
   * steady state (measured: RxJS from()+bufferCount+mergeMap 210 → 380–1000 ns/item), which
   * inflates the side that allocates more. Interleaving with alternating order keeps GC debt
   * carried from one side's run into the other's symmetric.
   */
  readonly gcBeforeRuns?: boolean;
  /** Builds the two sides (mediators, handlers …); runs once per process, outside timing. */
  setup(
    context: SetupContext,
  ): { baseline: Side; candidate: Side } | Promise<{ baseline: Side; candidate: Side }>;
}

/**
 * A measurement that is not a ratio (pulled-ahead counts, heap growth): run once, in a fresh
 * process, printed as its own table and kept in the JSON as it is.
 */
export interface ReportCase {
  readonly kind: 'report';
  readonly name: string;
  readonly title: string;
  run(context: SetupContext): Promise<Report>;
}

/** The rows of a {@link ReportCase}. */
export interface Report {
  readonly columns: readonly string[];
  readonly rows: readonly ReportRow[];
  /** Lines printed under the table (what the columns mean, caps, bounds). */
  readonly notes: readonly string[];
}

export interface ReportRow {
  /** Formatted, one per column. */
  readonly cells: readonly string[];
  /** The raw values, for the JSON. */
  readonly data: Readonly<Record<string, number | string | boolean | null>>;
}

export type SuiteCase = BenchCase | ReportCase;

export function isReportCase(c: SuiteCase): c is ReportCase {
  return c.kind === 'report';
}

/** How long and how often to measure. */
export interface ProtocolOptions {
  /** Timed rounds per process; each round times the baseline once and the candidate once. */
  readonly rounds: number;
  /** Minimum duration of each timed run, in ms; the batch size grows until a run lasts this long. */
  readonly minRunMs: number;
  /** Warm-up time per side before timing starts, in ms (both sides alternate during it). */
  readonly warmupMs: number;
}

export const FULL: ProtocolOptions = { rounds: 10, minRunMs: 50, warmupMs: 400 };
/**
 * `--quick`: proves the suite still runs (CI), timings not judged. Two rounds still alternate which
 * side goes first; with ~55 cases in one shared child this keeps the whole run well under a minute.
 */
export const QUICK: ProtocolOptions = { rounds: 2, minRunMs: 10, warmupMs: 25 };

/**
 * One round: each side's ns per op (per item for sides with `itemsPerOp`) and the ratio
 * candidate ÷ baseline measured in that round.
 */
export interface Round {
  readonly baselineNs: number;
  readonly candidateNs: number;
  readonly ratio: number;
}

/** What one process measured for one case. */
export interface ProcessResult {
  readonly case: string;
  readonly baselineLabel: string;
  readonly candidateLabel: string;
  /** What the ns figures are per: `item` when the sides declare `itemsPerOp`. */
  readonly unit: 'op' | 'item';
  readonly rounds: readonly Round[];
  /** Batch sizes at the end (iterations per timed run). */
  readonly iterations: { readonly baseline: number; readonly candidate: number };
  readonly baselineNs: number;
  readonly candidateNs: number;
  readonly ratio: Spread;
  /** Sum of all checksums: printed so the work is observable. */
  readonly sink: number;
}

/** A median with its min–max. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

/** Measures one side with a batch size that adapts until a run lasts at least `minRunMs`. */
class Meter {
  iterations = 1;
  sink = 0;

  constructor(
    private readonly bench: BenchCase,
    private readonly side: Side,
    private readonly which: 'baseline' | 'candidate',
  ) {}

  /** One run of the current batch size; returns its duration in ms. */
  async runOnce(): Promise<number> {
    const n = this.iterations;
    const t0 = performance.now();
    const checksum = await this.side.run(n);
    const elapsed = performance.now() - t0;
    const expected = this.side.checksumPerOp ?? this.bench.checksumPerOp;
    if (expected !== undefined && checksum !== n * expected) {
      throw new Error(
        `${this.bench.name}: ${this.which} (${this.side.label}) returned checksum ${checksum} for ${n} iterations; expected ${n * expected}.`,
      );
    }
    this.sink += checksum;
    return elapsed;
  }

  /** Grows the batch towards `targetMs` from a run that took `elapsed` ms. */
  grow(elapsed: number, targetMs: number): void {
    const factor = elapsed <= 0.5 ? 10 : Math.min(10, (targetMs * 1.15) / elapsed);
    this.iterations = Math.max(this.iterations + 1, Math.ceil(this.iterations * factor));
  }

  /** A timed run of at least `minRunMs`; runs that come out shorter are discarded and redone bigger. */
  async timed(minRunMs: number): Promise<number> {
    // Start each timed run from the same heap state; garbage made during the run is charged to it.
    if (this.bench.gcBeforeRuns !== false) gc?.();
    for (;;) {
      const elapsed = await this.runOnce();
      if (elapsed >= minRunMs) {
        return (elapsed * 1e6) / (this.iterations * (this.side.itemsPerOp ?? 1));
      }
      this.grow(elapsed, minRunMs);
    }
  }
}

/**
 * Runs the protocol for one case in this process: warm-up with both sides alternating (which
 * also calibrates the batch sizes), then `rounds` interleaved timed runs. The side that runs first
 * alternates from round to round, so a drift in machine speed does not favour either.
 */
export async function measure(
  bench: BenchCase,
  options: ProtocolOptions,
  context: SetupContext,
): Promise<ProcessResult> {
  const { baseline, candidate } = await bench.setup(context);
  if ((baseline.itemsPerOp === undefined) !== (candidate.itemsPerOp === undefined)) {
    throw new TypeError(`${bench.name}: both sides or neither must declare itemsPerOp.`);
  }
  const meters = {
    baseline: new Meter(bench, baseline, 'baseline'),
    candidate: new Meter(bench, candidate, 'candidate'),
  };

  const warmupEnd = performance.now() + 2 * options.warmupMs;
  do {
    for (const meter of [meters.baseline, meters.candidate]) {
      const elapsed = await meter.runOnce();
      if (elapsed < options.minRunMs) meter.grow(elapsed, options.minRunMs);
    }
  } while (performance.now() < warmupEnd);

  const rounds: Round[] = [];
  for (let r = 0; r < options.rounds; r++) {
    let baselineNs: number;
    let candidateNs: number;
    if (r % 2 === 0) {
      baselineNs = await meters.baseline.timed(options.minRunMs);
      candidateNs = await meters.candidate.timed(options.minRunMs);
    } else {
      candidateNs = await meters.candidate.timed(options.minRunMs);
      baselineNs = await meters.baseline.timed(options.minRunMs);
    }
    rounds.push({ baselineNs, candidateNs, ratio: candidateNs / baselineNs });
  }

  return {
    case: bench.name,
    baselineLabel: baseline.label,
    candidateLabel: candidate.label,
    unit: baseline.itemsPerOp === undefined ? 'op' : 'item',
    rounds,
    iterations: { baseline: meters.baseline.iterations, candidate: meters.candidate.iterations },
    baselineNs: median(rounds.map((r) => r.baselineNs)),
    candidateNs: median(rounds.map((r) => r.candidateNs)),
    ratio: spread(rounds.map((r) => r.ratio)),
    sink: meters.baseline.sink + meters.candidate.sink,
  };
}

/**
 * The verdict of a time ratio (candidate ÷ baseline) against its goal; a speed goal is judged on
 * the speed-up 1 ÷ ratio. Informative only, never an exit code.
 */
export function verdict(
  ratio: number,
  goal: Goal | null | undefined,
): 'PASS (stretch)' | 'PASS' | 'MISS' | 'info' {
  if (goal == null) return 'info';
  if (isSpeedGoal(goal)) {
    const speedup = 1 / ratio;
    if (goal.stretch !== undefined && speedup >= goal.stretch) return 'PASS (stretch)';
    return speedup >= goal.minSpeedup ? 'PASS' : 'MISS';
  }
  if (goal.stretch !== undefined && ratio <= goal.stretch) return 'PASS (stretch)';
  return ratio <= goal.max ? 'PASS' : 'MISS';
}

export function describeGoal(goal: Goal | null | undefined): string {
  if (goal == null) return '—';
  if (isSpeedGoal(goal)) {
    const main = `≥ ${goal.minSpeedup.toFixed(2)}×`;
    return goal.stretch === undefined ? main : `${main} (stretch ≥ ${goal.stretch.toFixed(2)}×)`;
  }
  const main = `≤ ${goal.max.toFixed(2)}×`;
  return goal.stretch === undefined ? main : `${main} (stretch ≤ ${goal.stretch.toFixed(2)}×)`;
}
