import { describe, expect, it } from '@jest/globals';
import {
  checkTolerance,
  compareResults,
  DEFAULT_TOLERANCE,
  formatComparison,
} from '../../../benchmarks/report/compare.js';
import { parseResults } from '../../../benchmarks/report/readResults.js';
import { benchResults, caseSummary } from './resultsFixture.js';

/** The recorded run as JSON text, as compare.ts reads it from disk. */
const RECORD_JSON = JSON.stringify(
  benchResults([
    caseSummary({
      name: 'send-vs-direct',
      ratio: 1.4,
      processSpread: { min: 1.35, max: 1.5 },
      goal: { max: 1.5 },
    }),
    caseSummary({
      name: 'stream-batched-vs-per-item',
      ratio: 0.05, // a 20× speed-up
      processSpread: { min: 0.045, max: 0.055 },
      goal: { minSpeedup: 10 },
    }),
    caseSummary({ name: 'only-in-record', ratio: 2 }),
  ]),
);
const record = parseResults(RECORD_JSON, 'record.json');

const run = (send: number, batched: number) =>
  parseResults(
    JSON.stringify(
      benchResults([
        caseSummary({ name: 'send-vs-direct', ratio: send, goal: { max: 1.5 } }),
        caseSummary({
          name: 'stream-batched-vs-per-item',
          ratio: batched,
          goal: { minSpeedup: 10 },
        }),
        caseSummary({ name: 'brand-new', ratio: 9 }),
      ]),
    ),
    'latest.json',
  );

const statusOf = (comparison: ReturnType<typeof compareResults>, name: string) =>
  comparison.cases.find((c) => c.name === name)?.status;

describe('compareResults', () => {
  it('finds no regression when every ratio stays inside recorded max × (1 + tolerance)', () => {
    // 1.5 × 1.1 = 1.65 and 0.055 × 1.1 = 0.0605 are the limits.
    const comparison = compareResults(record, run(1.64, 0.06));
    expect(comparison.regressed).toBe(0);
    expect(statusOf(comparison, 'send-vs-direct')).toBe('within noise');
    expect(statusOf(comparison, 'stream-batched-vs-per-item')).toBe('within noise');
    expect(comparison.tolerance).toBe(DEFAULT_TOLERANCE);
  });

  it('flags a time ratio that got worse beyond the band', () => {
    const comparison = compareResults(record, run(1.66, 0.05));
    expect(comparison.regressed).toBe(1);
    expect(statusOf(comparison, 'send-vs-direct')).toBe('regressed');
    const row = comparison.cases.find((c) => c.name === 'send-vs-direct')!;
    expect(row.limit).toBeCloseTo(1.65, 10);
    expect(row.change).toBeCloseTo(1.66 / 1.4 - 1, 10);
  });

  it('flags a speed-up that fell beyond the band (its time ratio rose)', () => {
    // Speed-up 20× → 16.1×: below the recorded min speed-up 18.2× ÷ 1.1 = 16.5×.
    const comparison = compareResults(record, run(1.4, 0.062));
    expect(statusOf(comparison, 'stream-batched-vs-per-item')).toBe('regressed');
    expect(comparison.regressed).toBe(1);
  });

  it('reports a faster speed-up as improved, never as a regression', () => {
    // Speed-up 20× → 40×.
    const comparison = compareResults(record, run(1.4, 0.025));
    expect(statusOf(comparison, 'stream-batched-vs-per-item')).toBe('improved');
    expect(comparison.regressed).toBe(0);
  });

  it('reports cases missing on either side without failing', () => {
    const comparison = compareResults(record, run(1.4, 0.05));
    expect(statusOf(comparison, 'brand-new')).toBe('new');
    expect(statusOf(comparison, 'only-in-record')).toBe('not run');
    expect(comparison.regressed).toBe(0);
  });

  it('widens the band with the tolerance given', () => {
    expect(compareResults(record, run(1.7, 0.05), { tolerance: 0.2 }).regressed).toBe(0);
    expect(compareResults(record, run(1.51, 0.05), { tolerance: 0 }).regressed).toBe(1);
  });

  it('warns when the runs differ in mode or machine', () => {
    const quick = benchResults(run(1.4, 0.05).cases, {
      mode: 'quick',
      processes: 1,
      machine: { ...record.machine, cpu: 'Other CPU' },
    });
    const { warnings } = compareResults(record, quick);
    expect(warnings.join('\n')).toMatch(/full run, this one quick/);
    expect(warnings.join('\n')).toMatch(/Different machines/);
    expect(warnings.join('\n')).toMatch(/one process per case/);
    expect(compareResults(record, run(1.4, 0.05)).warnings).toEqual([]);
  });

  it.each([
    [-0.1, RangeError],
    [1.5, RangeError],
    [NaN, RangeError],
    [Infinity, RangeError],
    ['0.1', TypeError],
  ])('rejects tolerance %p with a %p naming the option', (tolerance, type) => {
    expect(() => compareResults(record, record, { tolerance: tolerance as number })).toThrow(type);
    expect(() => checkTolerance(tolerance)).toThrow(/Option 'tolerance'/);
  });
});

describe('formatComparison', () => {
  it('shows speed-up cases as speed-ups and ends with the verdict line', () => {
    const text = formatComparison(compareResults(record, run(1.66, 0.05)));
    const batched = text.split('\n').find((l) => l.startsWith('stream-batched-vs-per-item'))!;
    expect(batched).toMatch(/speed-up ↑/);
    expect(batched).toContain('20.00×'); // 1 ÷ 0.05
    expect(batched).toContain('≥ 16.53×'); // 1 ÷ (0.055 × 1.1)
    expect(text).toMatch(/send-vs-direct .*REGRESSED/);
    expect(text.trimEnd().split('\n').at(-1)).toBe('1 case(s) regressed beyond the noise band.');
  });

  it('says so when nothing regressed', () => {
    const text = formatComparison(compareResults(record, run(1.4, 0.05)));
    expect(text.trimEnd().split('\n').at(-1)).toBe('No regression beyond the noise band.');
  });
});

describe('parseResults', () => {
  it('names the source when the JSON is not benchmark results', () => {
    expect(() => parseResults('{"cases": [{"name": "x"}]}', 'bad.json')).toThrow(
      "bad.json is not benchmark results: case 'x' has no ratio.",
    );
    expect(() => parseResults('[1,', 'broken.json')).toThrow(/broken\.json is not JSON/);
    expect(() => parseResults('{}', 'empty.json')).toThrow(/no 'cases' array/);
  });
});
