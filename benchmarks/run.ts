/**
 * `npm run bench [-- [--quick] [--record | --no-record] [--processes N] [--rounds N]
 *   [--min-run-ms N] [--warmup-ms N] [--tsx] [filter …]]`
 *
 * The parent spawns one fresh process per (process index, case) — `node --expose-gc --import
 * ./benchmarks/loader.mjs benchmarks/run.ts --child <case>` — each running the interleaved
 * protocol of harness.ts, then
 * combines the per-process ratios (median across processes, min–max shown), prints a table and
 * writes benchmarks/results/latest.json. Goals are printed beside the ratios, informative only:
 * the exit code is 0 whatever the timings, non-zero only when a benchmark itself fails.
 *
 * The record (report/shouldRecord.ts): a full run of the whole suite with the default protocol
 * also writes benchmarks/RESULTS.md, results/record.json and results/chart.svg; a filtered run or
 * one with protocol flags does so only with `--record`; `--no-record` skips it; `--quick` never
 * records. `npx tsx benchmarks/report/compare.ts` then guards against regressions (latest vs
 * record) and `npx tsx benchmarks/report/renderChart.ts` redraws the chart from the record.
 *
 * `--quick` (CI: checks the suite still runs, timings not judged) uses the QUICK protocol, one
 * process, smaller stream sizes, and runs every comparison in one shared child process: loading
 * the TypeScript costs ~1.3 s per child, which dominated a quick run.
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
import os from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dispatchCases } from './cases/dispatch.js';
import { integrationCases } from './cases/integrations.js';
import { observabilityCases } from './cases/observability.js';
import { peerCases } from './cases/peers.js';
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
import { RESULTS_VERSION, type BenchResults, type CaseSummary } from './report/BenchResults.js';
import { fmtNs, fmtPer, fmtRate, fmtRatio } from './report/format.js';
import { shouldRecord } from './report/shouldRecord.js';
import { writeResults } from './report/writeResults.js';

/** Every case of the suite; later issues append their modules here. */
const SUITE: readonly SuiteCase[] = [
  ...dispatchCases,
  ...streamCases,
  ...resilienceCases,
  ...observabilityCases,
  ...peerCases,
  ...integrationCases,
];

const RESULT_MARK = '@@bench-result ';
const runFile = fileURLToPath(import.meta.url);
const loaderUrl = new URL('./loader.mjs', import.meta.url).href;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const benchmarksDir = fileURLToPath(new URL('.', import.meta.url));

interface Args {
  readonly quick: boolean;
  /** Load the children's TypeScript with tsx instead of loader.mjs. */
  readonly tsx: boolean;
  /** Case names a child runs, in order (several only in quick mode's shared child). */
  readonly child: readonly string[] | undefined;
  readonly processes: number;
  readonly protocol: ProtocolOptions;
  readonly filters: readonly string[];
  /** Flags to forward to children unchanged. */
  readonly forward: readonly string[];
  /** Flags that change the published protocol (a run with them is not recorded by default). */
  readonly overrides: readonly string[];
  /** `--record` / `--no-record`, or undefined for the default (see report/shouldRecord.ts). */
  readonly record: boolean | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let tsx = false;
  let child: string[] | undefined;
  let processes: number | undefined;
  let record: boolean | undefined;
  const changed: string[] = [];
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
        changed.push(arg);
        break;
      case '--record':
        record = true;
        break;
      case '--no-record':
        record = false;
        break;
      case '--child': {
        const names = argv[++i];
        if (names === undefined) throw new TypeError('--child needs a case name.');
        child = names.split(',');
        break;
      }
      case '--processes':
        processes = intArg(arg, argv[++i], 1);
        changed.push(`${arg} ${processes}`);
        break;
      case '--rounds':
        overrides.rounds = intArg(arg, argv[++i], 1);
        forward.push(arg, String(overrides.rounds));
        changed.push(`${arg} ${overrides.rounds}`);
        break;
      case '--min-run-ms':
        overrides.minRunMs = intArg(arg, argv[++i], 1);
        forward.push(arg, String(overrides.minRunMs));
        changed.push(`${arg} ${overrides.minRunMs}`);
        break;
      case '--warmup-ms':
        overrides.warmupMs = intArg(arg, argv[++i], 0);
        forward.push(arg, String(overrides.warmupMs));
        changed.push(`${arg} ${overrides.warmupMs}`);
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
    overrides: changed,
    record,
  };
}

async function runChild(args: Args, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const started = performance.now();
    const result = await runCase(args, name);
    const ms = performance.now() - started;
    process.stdout.write(`${RESULT_MARK}${JSON.stringify({ ms, result })}\n`);
  }
}

async function runCase(args: Args, name: string): Promise<Report | ProcessResult> {
  const bench = SUITE.find((c) => c.name === name);
  if (bench === undefined)
    throw new TypeError(
      `No benchmark case named '${name}'. Cases: ${SUITE.map((c) => c.name).join(', ')}.`,
    );
  if (isReportCase(bench)) return bench.run({ quick: args.quick });
  const result = await measure(bench, args.protocol, { quick: args.quick });
  if (!Number.isFinite(result.sink) || result.sink <= 0)
    throw new Error(`${name}: sink is ${result.sink}; the sides did no work.`);
  process.stderr.write(
    `    ${name}: ratio ${fmtRatio(result.ratio.median)} (${fmtRatio(result.ratio.min)}–${fmtRatio(result.ratio.max)}), ` +
      `${fmtNs(result.baselineNs)} vs ${fmtNs(result.candidateNs)} ns/${result.unit}, sink ${result.sink}\n`,
  );
  return result;
}

/** What a child measured for one case, and how long that took. */
interface ChildResult<R> {
  readonly result: R;
  /** Wall time: of the whole child when it ran one case, of the case alone in a shared child. */
  readonly ms: number;
}

/** Runs `names` in one fresh child process; one result per name, in order. */
function spawnChild<R = ProcessResult>(args: Args, names: readonly string[]): ChildResult<R>[] {
  const started = performance.now();
  const child = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      args.tsx ? 'tsx' : loaderUrl,
      runFile,
      '--child',
      names.join(','),
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
  const lines = child.stdout.split('\n').filter((l) => l.startsWith(RESULT_MARK));
  if (child.status !== 0 || lines.length !== names.length) {
    throw new Error(
      `Benchmark child '${names.join(',')}' failed (exit ${child.status ?? child.signal}).`,
    );
  }
  const elapsed = performance.now() - started;
  return lines.map((line) => {
    const parsed = JSON.parse(line.slice(RESULT_MARK.length)) as ChildResult<R>;
    return names.length === 1 ? { result: parsed.result, ms: elapsed } : parsed;
  });
}

function summarise(bench: BenchCase, runs: readonly ChildResult<ProcessResult>[]): CaseSummary {
  const results = runs.map((r) => r.result);
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
    verdict: verdict(ratio, bench.goal),
    missNote: bench.missNote ?? null,
    headline: bench.headline === true,
    gcBeforeRuns: bench.gcBeforeRuns !== false,
    wallMs: runs.reduce((sum, r) => sum + r.ms, 0),
    processes: results,
  };
}

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
  // Decided first, so `--quick --record` fails before anything runs.
  const decision = shouldRecord({
    quick: args.quick,
    filters: args.filters,
    overrides: args.overrides,
    record: args.record,
  });
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
  const results = new Map<string, ChildResult<ProcessResult>[]>(cases.map((c) => [c.name, []]));
  // Process index outermost: a transient slowdown lands on different cases' runs, not on all of one case's.
  for (let p = 0; p < args.processes; p++) {
    process.stderr.write(`  process ${p + 1}/${args.processes}\n`);
    if (args.quick && cases.length > 0) {
      const runs = spawnChild(
        args,
        cases.map((c) => c.name),
      );
      runs.forEach((run, i) => results.get(cases[i]!.name)!.push(run));
    } else {
      for (const bench of cases) results.get(bench.name)!.push(...spawnChild(args, [bench.name]));
    }
  }
  const reports = reportCases.map((bench) => {
    process.stderr.write(`  report ${bench.name}\n`);
    const [run] = spawnChild<Report>(args, [bench.name]);
    return { bench, report: run!.result, ms: run!.ms };
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
  const slowest = [
    ...summaries.map((s) => [s.name, s.wallMs] as const),
    ...reports.map((r) => [r.bench.name, r.ms] as const),
  ]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  console.log(
    `Slowest${args.quick ? ' (in the shared child)' : ' (children, all processes)'}: ${slowest.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`).join(', ')}.`,
  );
  console.log('Goals are informative: a MISS does not fail the run.');

  const argv = process.argv.slice(2);
  const output: BenchResults = {
    version: RESULTS_VERSION,
    date: new Date().toISOString(),
    command: argv.length === 0 ? 'npm run bench' : `npm run bench -- ${argv.join(' ')}`,
    machine: {
      node: process.version,
      v8: process.versions.v8,
      platform: `${os.platform()}/${os.arch()}`,
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      cpus: os.cpus().length,
      memoryBytes: os.totalmem(),
    },
    mode: args.quick ? 'quick' : 'full',
    filters: args.filters,
    loader: args.tsx ? 'tsx' : 'benchmarks/loader.mjs',
    processes: args.processes,
    sharedProcess: args.quick,
    protocol: args.protocol,
    cases: summaries,
    reports: reports.map(({ bench, report }) => ({
      name: bench.name,
      title: bench.title,
      ...report,
    })),
  };
  const written = writeResults(output, { dir: benchmarksDir, record: decision.record });
  console.log(
    `Wrote ${written.map((f) => relative(repoRoot, f)).join(', ')} ` +
      `(${decision.record ? 'recorded' : 'not recorded'}: ${decision.reason}).`,
  );
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
