/**
 * `npm run bench [-- [--quick] [--processes N] [--rounds N] [--min-run-ms N] [filter …]]`
 *
 * The parent spawns one fresh process per (process index, case) — `node --expose-gc --import
 * ./benchmarks/loader.mjs benchmarks/run.ts --child <case>` — each running the interleaved
 * protocol of harness.ts, then
 * combines the per-process ratios (median across processes, min–max shown), prints a table and
 * writes benchmarks/results/latest.json. Goals are printed beside the ratios, informative only:
 * the exit code is 0 whatever the timings, non-zero only when a benchmark itself fails.
 *
 * Three kinds of output: time ratios (candidate ÷ baseline ns, lower is better; per item for
 * stream sides), throughput comparisons for cases whose goal is a speed-up (candidate items/s ÷
 * baseline items/s, in the issue's own "≥ X×" direction; same measurements, inverted), and
 * reports (not ratios: pulled-ahead counts and heap growth), which run once, in process 1 only.
 *
 * Children load TypeScript through loader.mjs, not tsx: tsx's `keepNames` adds a
 * `defineProperty` to every closure created, which inflates per-call costs (see loader.mjs).
 * `--tsx` runs them under tsx anyway, for comparison.
 *
 * The stream cases (issue 4): `npm run bench -- stream parallel-1ms linearity slow-consumer`
 * (filters match substrings of case names).
 *
 * The resilience cases (issue 5): `npm run bench -- resilience`.
 *
 * The observability cases (issue 6): `npm run bench -- observability`.
 *
 * Profile one case in-process:
 * `node --cpu-prof --import ./benchmarks/loader.mjs benchmarks/run.ts --child send-vs-direct`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { dispatchCases } from './cases/dispatch.js';
import { observabilityCases } from './cases/observability.js';
import { resilienceCases } from './cases/resilience.js';
import { streamCases } from './cases/streams.js';
import {
  describeGoal,
  FULL,
  isReportCase,
  isSpeedGoal,
  measure,
  median,
  QUICK,
  verdict,
  type BenchCase,
  type ProcessResult,
  type ProtocolOptions,
  type Report,
  type ReportCase,
  type SuiteCase,
} from './harness.js';

/** Every case of the suite; later issues append their modules here. */
const SUITE: readonly SuiteCase[] = [
  ...dispatchCases,
  ...streamCases,
  ...resilienceCases,
  ...observabilityCases,
];

const RESULT_MARK = '@@bench-result ';
const runFile = fileURLToPath(import.meta.url);
const loaderUrl = new URL('./loader.mjs', import.meta.url).href;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));

interface Args {
  readonly quick: boolean;
  /** Load the children's TypeScript with tsx instead of loader.mjs. */
  readonly tsx: boolean;
  readonly child: string | undefined;
  readonly processes: number;
  readonly protocol: ProtocolOptions;
  readonly filters: readonly string[];
  /** Flags to forward to children unchanged. */
  readonly forward: readonly string[];
}

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let tsx = false;
  let child: string | undefined;
  let processes: number | undefined;
  const overrides: { -readonly [K in keyof ProtocolOptions]?: number } = {};
  const filters: string[] = [];
  const forward: string[] = [];
  const intArg = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new RangeError(`${flag} needs an integer ≥ ${min}, got ${JSON.stringify(value)}.`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    switch (arg) {
      case '--quick':
        quick = true;
        forward.push(arg);
        break;
      case '--tsx':
        tsx = true;
        break;
      case '--child':
        child = argv[++i];
        if (child === undefined) throw new TypeError('--child needs a case name.');
        break;
      case '--processes':
        processes = intArg(arg, argv[++i], 1);
        break;
      case '--rounds':
        overrides.rounds = intArg(arg, argv[++i], 1);
        forward.push(arg, String(overrides.rounds));
        break;
      case '--min-run-ms':
        overrides.minRunMs = intArg(arg, argv[++i], 1);
        forward.push(arg, String(overrides.minRunMs));
        break;
      case '--warmup-ms':
        overrides.warmupMs = intArg(arg, argv[++i], 0);
        forward.push(arg, String(overrides.warmupMs));
        break;
      default:
        if (arg.startsWith('--')) throw new TypeError(`Unknown option ${arg}.`);
        filters.push(arg);
    }
  }
  return {
    quick,
    tsx,
    child,
    processes: processes ?? (quick ? 1 : 3),
    protocol: { ...(quick ? QUICK : FULL), ...overrides },
    filters,
    forward,
  };
}

async function runChild(args: Args, name: string): Promise<void> {
  const bench = SUITE.find((c) => c.name === name);
  if (bench === undefined)
    throw new TypeError(
      `No benchmark case named '${name}'. Cases: ${SUITE.map((c) => c.name).join(', ')}.`,
    );
  if (isReportCase(bench)) {
    const report = await bench.run({ quick: args.quick });
    process.stdout.write(`${RESULT_MARK}${JSON.stringify(report)}\n`);
    return;
  }
  const result = await measure(bench, args.protocol, { quick: args.quick });
  if (!Number.isFinite(result.sink) || result.sink <= 0)
    throw new Error(`${name}: sink is ${result.sink}; the sides did no work.`);
  process.stderr.write(
    `    ${name}: ratio ${fmtRatio(result.ratio.median)} (${fmtRatio(result.ratio.min)}–${fmtRatio(result.ratio.max)}), ` +
      `${fmtNs(result.baselineNs)} vs ${fmtNs(result.candidateNs)} ns/${result.unit}, sink ${result.sink}\n`,
  );
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
}

function spawnChild<R = ProcessResult>(args: Args, name: string): R {
  const child = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      args.tsx ? 'tsx' : loaderUrl,
      runFile,
      '--child',
      name,
      ...args.forward,
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (child.error) throw child.error;
  const line = child.stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (child.status !== 0 || line === undefined) {
    throw new Error(`Benchmark child '${name}' failed (exit ${child.status ?? child.signal}).`);
  }
  return JSON.parse(line.slice(RESULT_MARK.length)) as R;
}

interface CaseSummary {
  readonly name: string;
  readonly title: string;
  readonly baselineLabel: string;
  readonly candidateLabel: string;
  /** What the ns figures are per (`item` for stream sides). */
  readonly unit: 'op' | 'item';
  readonly baselineNs: number;
  readonly candidateNs: number;
  /** Median of the per-process median ratios (candidate ns ÷ baseline ns; lower is better). */
  readonly ratio: number;
  /** 1 ÷ ratio: candidate throughput ÷ baseline throughput (higher is better). */
  readonly speedup: number;
  /** Min–max of the per-process median ratios. */
  readonly processSpread: { readonly min: number; readonly max: number };
  /** Min–max of every round's ratio, all processes together. */
  readonly roundSpread: { readonly min: number; readonly max: number };
  readonly goal: BenchCase['goal'] | null;
  /** Whether a full GC was forced before each timed run (see BenchCase.gcBeforeRuns). */
  readonly gcBeforeRuns: boolean;
  readonly verdict: ReturnType<typeof verdict>;
  readonly processes: readonly ProcessResult[];
}

function summarise(bench: BenchCase, results: readonly ProcessResult[]): CaseSummary {
  const ratios = results.map((r) => r.ratio.median);
  const roundRatios = results.flatMap((r) => r.rounds.map((round) => round.ratio));
  const ratio = median(ratios);
  return {
    name: bench.name,
    title: bench.title,
    baselineLabel: results[0]!.baselineLabel,
    candidateLabel: results[0]!.candidateLabel,
    unit: results[0]!.unit,
    baselineNs: median(results.map((r) => r.baselineNs)),
    candidateNs: median(results.map((r) => r.candidateNs)),
    ratio,
    speedup: 1 / ratio,
    processSpread: { min: Math.min(...ratios), max: Math.max(...ratios) },
    roundSpread: { min: Math.min(...roundRatios), max: Math.max(...roundRatios) },
    goal: bench.goal ?? null,
    gcBeforeRuns: bench.gcBeforeRuns !== false,
    verdict: verdict(ratio, bench.goal),
    processes: results,
  };
}

const fmtNs = (ns: number): string => (ns >= 1000 ? ns.toFixed(0) : ns.toFixed(1));
const fmtRatio = (r: number): string => `${r.toFixed(2)}×`;
function fmtRate(ns: number, unit: 'op' | 'item' = 'op'): string {
  const perSecond = 1e9 / ns;
  const scaled =
    perSecond >= 1e6
      ? `${(perSecond / 1e6).toFixed(2)} M`
      : perSecond >= 1e4
        ? `${(perSecond / 1e3).toFixed(1)} k`
        : perSecond.toFixed(0);
  return `${scaled} ${unit}s/s`;
}
const fmtPer = (ns: number, unit: 'op' | 'item'): string =>
  unit === 'item' ? `${fmtNs(ns)}/item` : fmtNs(ns);

/** Left-aligned text columns, right-aligned `numeric` ones. */
function printRows(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: ReadonlySet<number>,
): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** Cases whose goal is a speed-up, shown as items/s and speed-up in the issue's direction. */
function printThroughputTable(summaries: readonly CaseSummary[], processes: number): void {
  const inverse = (r: number): string => fmtRatio(1 / r);
  const rows = summaries.map((s) => [
    s.name,
    fmtRate(s.baselineNs, s.unit),
    fmtRate(s.candidateNs, s.unit),
    fmtRatio(s.speedup),
    processes > 1 ? `${inverse(s.processSpread.max)}–${inverse(s.processSpread.min)}` : '—',
    `${inverse(s.roundSpread.max)}–${inverse(s.roundSpread.min)}`,
    describeGoal(s.goal),
    s.verdict,
  ]);
  printRows(
    [
      'case',
      'baseline',
      'candidate',
      'speed-up',
      'processes min–max',
      'rounds min–max',
      'goal',
      'verdict',
    ],
    rows,
    new Set([1, 2, 3, 4, 5]),
  );
  console.log('\nspeed-up = candidate throughput ÷ baseline throughput (higher is better):');
  for (const s of summaries) {
    console.log(`  ${s.name}: ${s.title}`);
    console.log(`      ${s.candidateLabel}  vs  ${s.baselineLabel}`);
  }
}

function printTable(summaries: readonly CaseSummary[], processes: number): void {
  const header = [
    'case',
    'baseline ns',
    'candidate ns',
    'ratio',
    'processes min–max',
    'rounds min–max',
    'goal',
    'verdict',
  ];
  const rows = summaries.map((s) => [
    s.name,
    fmtPer(s.baselineNs, s.unit),
    fmtPer(s.candidateNs, s.unit),
    fmtRatio(s.ratio),
    processes > 1 ? `${fmtRatio(s.processSpread.min)}–${fmtRatio(s.processSpread.max)}` : '—',
    `${fmtRatio(s.roundSpread.min)}–${fmtRatio(s.roundSpread.max)}`,
    describeGoal(s.goal),
    s.verdict,
  ]);
  printRows(header, rows, new Set([1, 2, 3, 4, 5]));
  console.log('\nWhat each case compares (ratio = candidate ÷ baseline, per round, median):');
  for (const s of summaries) {
    // Stream cases carry their sizes and settings in the title; dispatch titles add nothing.
    if (s.unit === 'item') console.log(`  ${s.name}: ${s.title}`);
    console.log(
      `  ${s.unit === 'item' ? '    ' : `${s.name}: `}${s.candidateLabel}  ÷  ${s.baselineLabel}`,
    );
  }
}

function printAbsolute(summaries: readonly CaseSummary[]): void {
  console.log('\nAbsolute (median across processes):');
  for (const s of summaries) {
    for (const [label, ns] of [
      [s.candidateLabel, s.candidateNs],
      [s.baselineLabel, s.baselineNs],
    ] as const) {
      console.log(
        `  ${label.padEnd(58)} ${fmtNs(ns).padStart(8)} ns/${s.unit.padEnd(4)}  ${fmtRate(ns, s.unit)}   [${s.name}]`,
      );
    }
  }
}

function printReport(bench: ReportCase, report: Report): void {
  console.log(`\n${bench.name}: ${bench.title}`);
  printRows(
    report.columns,
    report.rows.map((r) => r.cells),
    new Set(report.columns.map((_, i) => i).filter((i) => i > 0)),
  );
  for (const note of report.notes) console.log(`  ${note}`);
}

async function runParent(args: Args): Promise<void> {
  const selected =
    args.filters.length === 0
      ? SUITE
      : SUITE.filter((c) => args.filters.some((f) => c.name.includes(f)));
  const cases = selected.filter((c): c is BenchCase => !isReportCase(c));
  const reportCases = selected.filter(isReportCase);
  if (selected.length === 0) {
    throw new TypeError(
      `No case matches ${args.filters.join(', ')}. Cases: ${SUITE.map((c) => c.name).join(', ')}.`,
    );
  }
  const { rounds, minRunMs, warmupMs } = args.protocol;
  console.log(
    `fs-mediator benchmarks${args.quick ? ' (quick)' : ''}: ${cases.length} case(s) × ${args.processes} process(es) ` +
      `and ${reportCases.length} report(s) × 1, ` +
      `${rounds} interleaved rounds each, timed runs ≥ ${minRunMs} ms, warm-up ${warmupMs} ms per side` +
      `${args.tsx ? ', children under tsx' : ''}.`,
  );
  console.log(
    `Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, ${os.platform()}/${os.arch()}\n`,
  );

  const started = Date.now();
  const results = new Map<string, ProcessResult[]>(cases.map((c) => [c.name, []]));
  // Process index outermost: a transient slowdown lands on different cases' runs, not on all of one case's.
  for (let p = 0; p < args.processes; p++) {
    process.stderr.write(`  process ${p + 1}/${args.processes}\n`);
    for (const bench of cases) results.get(bench.name)!.push(spawnChild(args, bench.name));
  }
  const reports = reportCases.map((bench) => {
    process.stderr.write(`  report ${bench.name}\n`);
    return { bench, report: spawnChild<Report>(args, bench.name) };
  });
  const summaries = cases.map((c) => summarise(c, results.get(c.name)!));
  const sink = summaries.reduce((s, c) => s + c.processes.reduce((t, p) => t + p.sink, 0), 0);
  const timed = summaries.filter((s) => !isSpeedGoal(s.goal));
  const throughput = summaries.filter((s) => isSpeedGoal(s.goal));

  if (timed.length > 0) {
    console.log('');
    printTable(timed, args.processes);
  }
  if (throughput.length > 0) {
    console.log('');
    printThroughputTable(throughput, args.processes);
  }
  if (summaries.length > 0) printAbsolute(summaries);
  for (const { bench, report } of reports) printReport(bench, report);
  const took = `Took ${((Date.now() - started) / 1000).toFixed(1)} s.`;
  console.log(
    summaries.length > 0 ? `\nChecksums verified on every run; sink ${sink}. ${took}` : `\n${took}`,
  );
  console.log('Goals are informative: a MISS does not fail the run.');

  mkdirSync(resultsDir, { recursive: true });
  const file = `${resultsDir}latest.json`;
  const report = {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trimEnd(),
    machine: {
      node: process.version,
      v8: process.versions.v8,
      platform: `${os.platform()}/${os.arch()}`,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
    },
    mode: args.quick ? 'quick' : 'full',
    loader: args.tsx ? 'tsx' : 'benchmarks/loader.mjs',
    processes: args.processes,
    protocol: args.protocol,
    cases: summaries,
    reports: reports.map(({ bench, report }) => ({
      name: bench.name,
      title: bench.title,
      ...report,
    })),
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`Wrote ${file}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child !== undefined) await runChild(args, args.child);
  else await runParent(args);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
