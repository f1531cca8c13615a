import { describe, expect, it } from '@jest/globals';
import { format } from 'prettier';
import { renderResultsMarkdown } from '../../../benchmarks/report/renderResultsMarkdown.js';
import { benchResults, caseSummary } from './resultsFixture.js';

const send = caseSummary({
  name: 'send-vs-direct',
  baselineLabel: 'handler.handle(q)',
  candidateLabel: 'await mediator.send(q) | lastValueFrom',
  baselineNs: 50,
  ratio: 1.62,
  processSpread: { min: 1.55, max: 1.7 },
  roundSpread: { min: 1.4, max: 2.1 },
  goal: { max: 1.5, stretch: 1.15 },
  verdict: 'MISS',
  missNote: 'Two Promise resolutions per send(); profiled with --cpu-prof.',
});
const batched = caseSummary({
  name: 'stream-batched-vs-per-item',
  unit: 'item',
  baselineNs: 100,
  candidateNs: 5,
  ratio: 0.05,
  processSpread: { min: 0.04, max: 0.0625 },
  goal: { minSpeedup: 10 },
  verdict: 'PASS',
});
const parallel = caseSummary({
  name: 'stream-batch-parallel-vs-rxjs',
  ratio: 0.25,
  goal: { minSpeedup: 5 },
  verdict: 'MISS',
});

const results = benchResults([send, batched, parallel], {
  reports: [
    {
      name: 'slow-consumer-memory',
      title: 'slow consumer over an infinite source',
      columns: ['path', 'max ahead'],
      rows: [{ cells: ['createStream()', '401'], data: { maxAhead: 401 } }],
      notes: ['bound: 4 × batch + concurrency'],
    },
  ],
});

/** A table row's cells, trimmed (a `\\|` inside a cell does not split it). */
const cells = (row: string): string[] =>
  row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

const rowOf = (md: string, name: string): string[] =>
  cells(md.split('\n').find((l) => l.startsWith(`| \`${name}\``))!);

describe('renderResultsMarkdown', () => {
  const md = renderResultsMarkdown(results, { chartPath: 'results/chart.svg' });

  it('says how, where and with what command the run was made', () => {
    expect(md).toContain('- Command: `npm run bench`');
    expect(md).toContain('- Machine: AMD EPYC, 2 logical cores, 8.0 GiB RAM, linux/x64');
    expect(md).toContain('- Runtime: Node v20.20.2 (V8 11.3.244.8-node.38)');
    expect(md).toMatch(/3 fresh process\(es\) per case × 10 interleaved rounds .* ≥ 50 ms/);
    expect(md).toContain('2026-11-25 15:10 UTC');
    expect(md).toContain('![Headline ratios](results/chart.svg)');
  });

  it('lists a cost case with ns, ratio, both spreads, goal and verdict, escaping pipes', () => {
    expect(rowOf(md, 'send-vs-direct')).toEqual([
      '`send-vs-direct`',
      '`await mediator.send(q) \\| lastValueFrom` vs `handler.handle(q)`',
      '50.0',
      '81.0',
      '**1.62×**',
      '1.55×–1.70×',
      '1.40×–2.10×',
      '≤ 1.50× (stretch ≤ 1.15×)',
      'MISS',
    ]);
  });

  it('lists speed cases as speed-ups, their spreads inverted, in a table of their own', () => {
    const speed = md.slice(md.indexOf('## Speed-ups'), md.indexOf('### What each case'));
    const row = rowOf(speed, 'stream-batched-vs-per-item');
    expect(row.slice(2, 6)).toEqual([
      '100.0/item (10.00 M items/s)',
      '5.0/item (200.00 M items/s)',
      '**20.00×**',
      '16.00×–25.00×',
    ]);
    expect(md.slice(0, md.indexOf('## Speed-ups'))).not.toContain('stream-batched-vs-per-item`');
  });

  it('renders report tables with their notes', () => {
    expect(md).toContain('### `slow-consumer-memory`');
    expect(md).toContain(
      '| path           | max ahead |\n| -------------- | --------: |\n| createStream() |       401 |',
    );
    expect(md).toContain('- bound: 4 × batch + concurrency');
  });

  it('lists every missed goal under Misses, with its note or a request for one', () => {
    const misses = md.slice(md.indexOf('## Misses'));
    expect(misses).toContain(
      '- **`send-vs-direct`** (ratio 1.62×, goal ≤ 1.50× (stretch ≤ 1.15×)): Two Promise resolutions per send(); profiled with --cpu-prof.',
    );
    expect(misses).toMatch(
      /- \*\*`stream-batch-parallel-vs-rxjs`\*\* \(speed-up 4\.00×, goal ≥ 5\.00×\): _No reason recorded yet: .*--child stream-batch-parallel-vs-rxjs/,
    );
    expect(misses).not.toContain('stream-batched-vs-per-item');
  });

  it('says plainly when every goal is met, and leaves the chart out when there is none', () => {
    const clean = renderResultsMarkdown(benchResults([batched]));
    expect(clean).toContain('## Misses\n\nNone: every goal measured in this run is met.\n');
    expect(clean).not.toContain('![');
  });

  it('is already formatted as Prettier formats Markdown (npm run lint checks RESULTS.md)', async () => {
    const options = { parser: 'markdown', singleQuote: true, printWidth: 100 } as const;
    expect(await format(md, options)).toBe(md);
  });

  it('names the filters of a partial run', () => {
    const partial = renderResultsMarkdown(
      benchResults([send], { filters: ['send'], command: 'npm run bench -- send --record' }),
    );
    expect(partial).toContain(
      '- Command: `npm run bench -- send --record` (cases matching `send`)',
    );
  });
});
