/**
 * The JSON a benchmark run writes (benchmarks/results/latest.json, and record.json for a recorded
 * run): everything RESULTS.md, the chart and the regression guard are made from.
 */
import type { Goal, ProcessResult, ProtocolOptions, Report } from '../harness.js';

/** Version of this shape; bumped when a reader would misread an older file. */
export const RESULTS_VERSION = 1;

/** The machine and runtime a run measured on. */
export interface MachineInfo {
  readonly node: string;
  readonly v8: string;
  /** `platform/arch`, e.g. `linux/x64`. */
  readonly platform: string;
  /** CPU model as `os.cpus()` reports it. */
  readonly cpu: string;
  /** Logical cores. */
  readonly cpus: number;
  /** Total RAM in bytes (`os.totalmem()`). */
  readonly memoryBytes: number;
}

/** One comparison, summarised over its processes. */
export interface CaseSummary {
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
  /** Min–max of the per-process median ratios (the noise band the regression guard uses). */
  readonly processSpread: { readonly min: number; readonly max: number };
  /** Min–max of every round's ratio, all processes together. */
  readonly roundSpread: { readonly min: number; readonly max: number };
  readonly goal: Goal | null;
  readonly verdict: 'PASS (stretch)' | 'PASS' | 'MISS' | 'info';
  /** Why the goal is missed, found by profiling (BenchCase.missNote); null when none is written. */
  readonly missNote: string | null;
  /** Shown in the chart (BenchCase.headline). */
  readonly headline: boolean;
  /** Whether a full GC was forced before each timed run (see BenchCase.gcBeforeRuns). */
  readonly gcBeforeRuns: boolean;
  /** Wall time of this case's child processes together, in ms (spawn and load included). */
  readonly wallMs: number;
  readonly processes: readonly ProcessResult[];
}

/** A report case's table, kept as the case returned it. */
export interface ReportSummary extends Report {
  readonly name: string;
  readonly title: string;
}

/** One run of `npm run bench`. */
export interface BenchResults {
  readonly version: typeof RESULTS_VERSION;
  /** ISO date of the end of the run. */
  readonly date: string;
  /** The command as typed, e.g. `npm run bench -- --quick`. */
  readonly command: string;
  readonly machine: MachineInfo;
  readonly mode: 'full' | 'quick';
  /** Case-name filters of the run; empty for the whole suite. */
  readonly filters: readonly string[];
  /** Which loader compiled the children's TypeScript. */
  readonly loader: string;
  /** Fresh processes per case. */
  readonly processes: number;
  /** Quick mode runs every case in one shared child process (the timings are not judged). */
  readonly sharedProcess: boolean;
  readonly protocol: ProtocolOptions;
  readonly cases: readonly CaseSummary[];
  readonly reports: readonly ReportSummary[];
}
