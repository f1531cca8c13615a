import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readResults } from '../../../benchmarks/report/readResults.js';
import { writeResults } from '../../../benchmarks/report/writeResults.js';
import { benchResults, caseSummary } from './resultsFixture.js';

const results = benchResults([
  caseSummary({ name: 'send-vs-direct', ratio: 1.2, goal: { max: 1.5 }, verdict: 'PASS' }),
]);

describe('writeResults', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-mediator-results-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes only results/latest.json when the run is not the record', async () => {
    const written = writeResults(results, { dir, record: false });
    expect(written).toEqual([join(dir, 'results', 'latest.json')]);
    expect(await readdir(dir)).toEqual(['results']);
    expect(readResults(written[0]!)).toEqual(results);
  });

  it('writes the record, RESULTS.md and the chart from the same results', async () => {
    writeResults(results, { dir, record: true });
    expect((await readdir(join(dir, 'results'))).sort()).toEqual([
      'chart.svg',
      'latest.json',
      'record.json',
    ]);
    expect(readResults(join(dir, 'results', 'record.json'))).toEqual(results);
    const md = await readFile(join(dir, 'RESULTS.md'), 'utf8');
    expect(md).toContain('![Headline ratios](results/chart.svg)');
    expect(md).toContain('`send-vs-direct`');
    expect(await readFile(join(dir, 'results', 'chart.svg'), 'utf8')).toContain('send-vs-direct');
  });
});
