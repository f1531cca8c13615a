/**
 * The regression guard: `npx tsx benchmarks/report/compare.ts [--current FILE] [--record FILE]
 * [--tolerance FRACTION]` compares a run (default benchmarks/results/latest.json, which every
 * `npm run bench` writes) with the recorded one (default benchmarks/results/record.json), case by
 * case, prints a table and exits 1 when a ratio got worse than the noise band, 0 otherwise (2 on
 * bad options or unreadable files).
 *
 * The noise band comes from the record itself: its min–max across processes. A case regressed
 * when its new median time ratio (candidate ÷ baseline) exceeds the recorded maximum by more than
 * the tolerance, i.e. `new > recorded.max × (1 + tolerance)`. Speed-ups are 1 ÷ the time ratio,
 * so the same test covers them: a speed-up regressed when it fell below `recorded min speed-up ÷
 * (1 + tolerance)`. Improvements are shown the same way round and never fail.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { show } from '../../src/errors/validate.js';
import { isSpeedGoal } from '../harness.js';
import type { BenchResults, CaseSummary } from './BenchResults.js';
import { fmtRatio } from './format.js';
import { readResults } from './readResults.js';

/** Default tolerance beyond the recorded spread: 10 %. */
export const DEFAULT_TOLERANCE = 0.1;

/** Options of {@link compareResults}. */
export interface CompareOptions {
  /**
   * Fraction a ratio may exceed the recorded maximum before it counts as a regression (default
   * 0.1 = 10 %). Between 0 and 1.
   */
  readonly tolerance?: number;
}

export type ComparisonStatus = 'regressed' | 'improved' | 'within noise' | 'new' | 'not run';

/** One case of a comparison; all figures are time ratios (candidate ÷ baseline, lower is better). */
export interface CaseComparison {
  readonly name: string;
  readonly status: ComparisonStatus;
  /** Shown as a speed-up (1 ÷ ratio) because the case's goal is one. */
  readonly speedGoal: boolean;
  readonly recorded: { readonly ratio: number; readonly min: number; readonly max: number } | null;
  readonly current: { readonly ratio: number; readonly min: number; readonly max: number } | null;
  /** Highest ratio still within the band (recorded.max × (1 + tolerance)). */
  readonly limit: number | null;
  /** current ÷ recorded median − 1: +0.25 means 25 % more time per op. */
  readonly change: number | null;
}

/** The outcome of {@link compareResults}. */
export interface Comparison {
  readonly tolerance: number;
  readonly cases: readonly CaseComparison[];
  readonly regressed: number;
  /** Differences in how the two runs were made that make their ratios less comparable. */
  readonly warnings: readonly string[];
}

/** Validates the tolerance option: a number from 0 to 1. */
export function checkTolerance(value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`Option 'tolerance' must be a number, got ${show(value)}.`);
  }
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new RangeError(
      `Option 'tolerance' must be a fraction from 0 to 1 (0.1 = 10 %), got ${show(value)}.`,
    );
  }
  return value;
}

const band = (s: CaseSummary): { ratio: number; min: number; max: number } => ({
  ratio: s.ratio,
  min: s.processSpread.min,
  max: s.processSpread.max,
});

/**
 * Compares `current` with `recorded` case by case (keyed on the case name). Cases only in the
 * record are `not run` (a filtered run), cases only in the current run are `new`; neither fails.
 */
export function compareResults(
  recorded: BenchResults,
  current: BenchResults,
  options: CompareOptions = {},
): Comparison {
  const tolerance = checkTolerance(options.tolerance ?? DEFAULT_TOLERANCE);
  const byName = new Map(recorded.cases.map((c) => [c.name, c]));
  const cases: CaseComparison[] = current.cases.map((now) => {
    const before = byName.get(now.name);
    const speedGoal = isSpeedGoal(now.goal);
    if (before === undefined) {
      return {
        name: now.name,
        status: 'new',
        speedGoal,
        recorded: null,
        current: band(now),
        limit: null,
        change: null,
      };
    }
    const limit = before.processSpread.max * (1 + tolerance);
    const floor = before.processSpread.min / (1 + tolerance);
    const status: ComparisonStatus =
      now.ratio > limit ? 'regressed' : now.ratio < floor ? 'improved' : 'within noise';
    return {
      name: now.name,
      status,
      speedGoal,
      recorded: band(before),
      current: band(now),
      limit,
      change: now.ratio / before.ratio - 1,
    };
  });
  const seen = new Set(current.cases.map((c) => c.name));
  for (const before of recorded.cases) {
    if (seen.has(before.name)) continue;
    cases.push({
      name: before.name,
      status: 'not run',
      speedGoal: isSpeedGoal(before.goal),
      recorded: band(before),
      current: null,
      limit: null,
      change: null,
    });
  }

  const warnings: string[] = [];
  if (recorded.mode !== current.mode) {
    warnings.push(
      `The record is a ${recorded.mode} run, this one ${current.mode}: cases that size their work by mode (streams, linearity) measured different sizes.`,
    );
  }
  if (
    recorded.machine?.cpu !== current.machine?.cpu ||
    recorded.machine?.cpus !== current.machine?.cpus
  ) {
    warnings.push(
      `Different machines (${recorded.machine?.cpu} × ${recorded.machine?.cpus} vs ${current.machine?.cpu} × ${current.machine?.cpus}): ratios carry over better than ns, but not exactly.`,
    );
  }
  if (recorded.machine?.node !== current.machine?.node) {
    warnings.push(
      `Different Node versions (${recorded.machine?.node} vs ${current.machine?.node}).`,
    );
  }
  if (current.processes === 1 && recorded.processes > 1) {
    warnings.push("This run has one process per case: its median carries that process's noise.");
  }
  return {
    tolerance,
    cases,
    regressed: cases.filter((c) => c.status === 'regressed').length,
    warnings,
  };
}

/** A ratio in the case's goal direction: speed-ups are 1 ÷ ratio, and their min–max swap. */
function shown(
  c: CaseComparison,
  band: { ratio: number; min: number; max: number } | null,
): string {
  if (band === null) return '—';
  return c.speedGoal
    ? `${fmtRatio(1 / band.ratio)} (${fmtRatio(1 / band.max)}–${fmtRatio(1 / band.min)})`
    : `${fmtRatio(band.ratio)} (${fmtRatio(band.min)}–${fmtRatio(band.max)})`;
}

/** The comparison as a plain-text table with a closing verdict line. */
export function formatComparison(comparison: Comparison): string {
  const rows = comparison.cases.map((c) => [
    c.name,
    c.speedGoal ? 'speed-up ↑' : 'ratio ↓',
    shown(c, c.recorded),
    shown(c, c.current),
    c.limit === null ? '—' : c.speedGoal ? `≥ ${fmtRatio(1 / c.limit)}` : `≤ ${fmtRatio(c.limit)}`,
    c.change === null ? '—' : `${c.change >= 0 ? '+' : ''}${(c.change * 100).toFixed(1)} % time`,
    c.status === 'regressed' ? 'REGRESSED' : c.status,
  ]);
  const header = [
    'case',
    'shown as',
    'recorded (min–max)',
    'now (min–max)',
    'limit',
    'change',
    'status',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  out.push(
    '',
    `Band: recorded min–max across processes, widened by the tolerance ${(comparison.tolerance * 100).toFixed(0)} %; "now" is this run's median (min–max).`,
  );
  for (const warning of comparison.warnings) out.push(`Note: ${warning}`);
  out.push(
    comparison.regressed === 0
      ? 'No regression beyond the noise band.'
      : `${comparison.regressed} case(s) regressed beyond the noise band.`,
  );
  return `${out.join('\n')}\n`;
}

function parseCli(argv: readonly string[]): { current: string; record: string; tolerance: number } {
  const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
  let current = `${resultsDir}latest.json`;
  let record = `${resultsDir}record.json`;
  let tolerance = DEFAULT_TOLERANCE;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (!['--current', '--record', '--tolerance'].includes(flag)) {
      throw new TypeError(
        `Unknown option ${flag}. Usage: compare.ts [--current FILE] [--record FILE] [--tolerance FRACTION]`,
      );
    }
    if (value === undefined) throw new TypeError(`${flag} needs a value.`);
    i++;
    if (flag === '--current') current = value;
    else if (flag === '--record') record = value;
    else tolerance = checkTolerance(value.trim() === '' ? NaN : Number(value));
  }
  return { current, record, tolerance };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { current, record, tolerance } = parseCli(process.argv.slice(2));
    const comparison = compareResults(readResults(record), readResults(current), { tolerance });
    console.log(`Comparing ${current}\n     with ${record}\n`);
    process.stdout.write(formatComparison(comparison));
    process.exitCode = comparison.regressed > 0 ? 1 : 0;
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
  }
}
