/**
 * `npm run bench:notes`: re-renders benchmarks/RESULTS.md and results/chart.svg from the recorded
 * results/record.json after a case's explanatory text changed (`title`, `missNote`, `headline`).
 * Measurements are never touched: only those three fields are taken from the current cases, and
 * only for cases present in the record.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dispatchCases } from '../cases/dispatch.js';
import { integrationCases } from '../cases/integrations.js';
import { observabilityCases } from '../cases/observability.js';
import { peerCases } from '../cases/peers.js';
import { resilienceCases } from '../cases/resilience.js';
import { streamCases } from '../cases/streams.js';
import type { BenchResults } from './BenchResults.js';
import { writeResults } from './writeResults.js';

const dir = fileURLToPath(new URL('..', import.meta.url));
const recordPath = fileURLToPath(new URL('../results/record.json', import.meta.url));
const record = JSON.parse(readFileSync(recordPath, 'utf8')) as BenchResults;
const byName = new Map(
  [
    ...dispatchCases,
    ...streamCases,
    ...resilienceCases,
    ...observabilityCases,
    ...peerCases,
    ...integrationCases,
  ].map((c) => [c.name, c]),
);
const cases = record.cases.map((summary) => {
  const current = byName.get(summary.name);
  if (current === undefined || current.kind === 'report') return summary;
  return {
    ...summary,
    title: current.title,
    missNote: current.missNote ?? null,
    headline: current.headline ?? false,
  };
});
for (const path of writeResults({ ...record, cases }, { dir, record: true })) {
  process.stdout.write(`wrote ${path}\n`);
}
