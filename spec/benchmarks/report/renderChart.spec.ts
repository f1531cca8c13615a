import { describe, expect, it } from '@jest/globals';
import { renderChart } from '../../../benchmarks/report/renderChart.js';
import { benchResults, caseSummary } from './resultsFixture.js';

const results = benchResults([
  caseSummary({
    name: 'send-vs-direct',
    ratio: 1.25,
    processSpread: { min: 1.2, max: 1.3 },
    goal: { max: 1.5, stretch: 1.15 },
    verdict: 'PASS',
    headline: true,
  }),
  caseSummary({
    name: 'stream-batched-vs-per-item',
    ratio: 0.125, // 8× speed-up
    processSpread: { min: 0.1, max: 0.2 },
    goal: { minSpeedup: 10 },
    verdict: 'MISS',
    headline: true,
  }),
  caseSummary({ name: 'resilience-send-all', ratio: 20, goal: { max: 30 }, verdict: 'PASS' }),
  caseSummary({ name: 'publish-3-vs-direct', ratio: 1.7 }),
]);

/** Every tag opened is closed, in order (the SVG is well formed). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const [, close, name, selfClosing] of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
}

/** x of the first goal mark (the thick line) after a case's label. */
function goalX(svg: string, name: string): number {
  const after = svg.slice(svg.indexOf(`>${name}</text>`));
  return Number(/<line x1="([\d.]+)"[^>]*stroke-width="2.5"/.exec(after)![1]);
}

describe('renderChart', () => {
  it('writes the same bytes for the same results', () => {
    expect(renderChart(results)).toBe(renderChart(structuredClone(results)));
  });

  it('is a well-formed SVG on a white background', () => {
    const svg = renderChart(results);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('<rect width="100%" height="100%" fill="#ffffff"/>');
    expect(balanced(svg)).toBe(true);
  });

  it('draws the headline cases only, each with its value, goal and verdict', () => {
    const svg = renderChart(results);
    expect(svg).toContain('>send-vs-direct</text>');
    expect(svg).toContain('>stream-batched-vs-per-item</text>');
    expect(svg).not.toContain('resilience-send-all');
    expect(svg).toMatch(/1\.25×<\/tspan> · goal ≤ 1\.50×/);
    // The speed case is drawn as a speed-up, in the direction.
    expect(svg).toMatch(/8\.00×<\/tspan> · goal ≥ 10\.00×/);
    expect(svg).toMatch(/#cf222e">MISS</);
  });

  it('puts each goal mark at its value on the shared log scale', () => {
    const svg = renderChart(results);
    // Goals 1.5× and 10×: their x distance is the distance of log10(10 / 1.5) on the axis.
    const one = Number(/<line x1="([\d.]+)"[^>]*stroke="#8c959f"/.exec(svg)![1]); // the 1× line
    const a = goalX(svg, 'send-vs-direct');
    const b = goalX(svg, 'stream-batched-vs-per-item');
    expect((b - one) / (a - one)).toBeCloseTo(Math.log10(10) / Math.log10(1.5), 1);
  });

  it('falls back to every case with a goal when none is marked headline', () => {
    const plain = benchResults(results.cases.map((c) => ({ ...c, headline: false })));
    const svg = renderChart(plain);
    expect(svg).toContain('>resilience-send-all</text>');
    expect(svg).not.toContain('publish-3-vs-direct');
  });

  it('draws the cases asked for, in that order, and escapes text', () => {
    const odd = benchResults([
      ...results.cases,
      caseSummary({ name: 'a<b>&c', ratio: 3, goal: { max: 4 }, verdict: 'PASS' }),
    ]);
    const svg = renderChart(odd, { cases: ['a<b>&c', 'publish-3-vs-direct'] });
    expect(svg).toContain('>a&lt;b&gt;&amp;c</text>');
    expect(svg.indexOf('a&lt;b')).toBeLessThan(svg.indexOf('publish-3-vs-direct'));
    expect(svg).toContain('no goal');
    expect(balanced(svg)).toBe(true);
  });

  it('rejects a case name that is not in the results', () => {
    expect(() => renderChart(results, { cases: ['nope'] })).toThrow(RangeError);
    expect(() => renderChart(results, { cases: ['nope'] })).toThrow(/'nope'/);
  });

  it('marks a quick run as not a record', () => {
    expect(renderChart({ ...results, mode: 'quick' })).toContain('QUICK RUN, not a record');
  });
});
