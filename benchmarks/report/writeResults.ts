import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResults } from './BenchResults.js';
import { renderChart } from './renderChart.js';
import { renderResultsMarkdown } from './renderResultsMarkdown.js';

/** Where {@link writeResults} writes, and whether the run is the record. */
export interface WriteResultsOptions {
  /** The benchmarks directory: RESULTS.md goes here, the JSON and SVG into its `results/`. */
  readonly dir: string;
  /** Also write RESULTS.md, results/record.json and results/chart.svg (see shouldRecord). */
  readonly record: boolean;
}

/**
 * Writes a run's results: always `results/latest.json` (what the regression guard compares by
 * default); for the record also `results/record.json`, `RESULTS.md` and `results/chart.svg`, all
 * made from the same results so they agree. Returns the paths written.
 */
export function writeResults(results: BenchResults, options: WriteResultsOptions): string[] {
  const resultsDir = join(options.dir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const files: [string, string][] = [[join(resultsDir, 'latest.json'), json]];
  if (options.record) {
    const hasChart = results.cases.some((c) => c.goal != null || c.headline);
    files.push([join(resultsDir, 'record.json'), json]);
    if (hasChart) files.push([join(resultsDir, 'chart.svg'), renderChart(results)]);
    files.push([
      join(options.dir, 'RESULTS.md'),
      renderResultsMarkdown(results, hasChart ? { chartPath: 'results/chart.svg' } : {}),
    ]);
  }
  for (const [path, text] of files) writeFileSync(path, text);
  return files.map(([path]) => path);
}
