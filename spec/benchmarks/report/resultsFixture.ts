import type { BenchResults, CaseSummary } from '../../../benchmarks/report/BenchResults.js';

/** A case summary with plausible defaults; `ratio` and `processSpread` drive most specs. */
export function caseSummary(overrides: Partial<CaseSummary> & { name: string }): CaseSummary {
  const ratio = overrides.ratio ?? 1.2;
  return {
    title: `${overrides.name} title`,
    baselineLabel: 'direct call',
    candidateLabel: 'mediator.send()',
    unit: 'op',
    baselineNs: 50,
    candidateNs: 50 * ratio,
    speedup: 1 / ratio,
    processSpread: { min: ratio * 0.95, max: ratio * 1.05 },
    roundSpread: { min: ratio * 0.9, max: ratio * 1.3 },
    goal: null,
    verdict: 'info',
    missNote: null,
    headline: false,
    gcBeforeRuns: true,
    wallMs: 1000,
    processes: [],
    ...overrides,
    ratio,
  };
}

/** Results of one run around `cases`. */
export function benchResults(
  cases: readonly CaseSummary[],
  overrides: Partial<BenchResults> = {},
): BenchResults {
  return {
    version: 1,
    date: '2026-11-25T15:10:17.823Z',
    command: 'npm run bench',
    machine: {
      node: 'v20.20.2',
      v8: '11.3.244.8-node.38',
      platform: 'linux/x64',
      cpu: 'AMD EPYC',
      cpus: 2,
      memoryBytes: 8 * 2 ** 30,
    },
    mode: 'full',
    filters: [],
    loader: 'benchmarks/loader.mjs',
    processes: 3,
    sharedProcess: false,
    protocol: { rounds: 10, minRunMs: 50, warmupMs: 400 },
    cases,
    reports: [],
    ...overrides,
  };
}
