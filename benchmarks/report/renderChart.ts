/**
 * The headline chart: `npx tsx benchmarks/report/renderChart.ts [--input FILE] [--output FILE]
 * [--cases a,b,…]` reads a results JSON (default benchmarks/results/record.json) and writes a
 * hand-written SVG (default benchmarks/results/chart.svg): one horizontal bar per headline case on
 * a log scale, in its goal's direction (cost ratios: lower is better; speed-ups: higher is
 * better), with the goal marked on every bar and the min–max across processes as a whisker.
 * The output depends on the JSON only, so the committed SVG diffs cleanly.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isSpeedGoal } from '../harness.js';
import type { BenchResults, CaseSummary } from './BenchResults.js';
import { fmtRatio } from './format.js';
import { readResults } from './readResults.js';

/** Options of {@link renderChart}. */
export interface ChartOptions {
  /**
   * Cases to draw, in this order. Default: the cases marked `headline`, or, when none is, every
   * case with a goal.
   */
  readonly cases?: readonly string[];
}

interface Bar {
  readonly name: string;
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly goal: number | undefined;
  readonly stretch: number | undefined;
  readonly goalText: string;
  readonly verdict: CaseSummary['verdict'];
}

/** A case in its goal's direction: speed-ups for speed goals, time ratios otherwise. */
function toBar(s: CaseSummary): Bar {
  if (isSpeedGoal(s.goal)) {
    return {
      name: s.name,
      value: s.speedup,
      min: 1 / s.processSpread.max,
      max: 1 / s.processSpread.min,
      goal: s.goal.minSpeedup,
      stretch: s.goal.stretch,
      goalText: `goal ≥ ${fmtRatio(s.goal.minSpeedup)}`,
      verdict: s.verdict,
    };
  }
  return {
    name: s.name,
    value: s.ratio,
    min: s.processSpread.min,
    max: s.processSpread.max,
    goal: s.goal?.max,
    stretch: s.goal?.stretch,
    goalText: s.goal == null ? 'no goal' : `goal ≤ ${fmtRatio(s.goal.max)}`,
    verdict: s.verdict,
  };
}

function selectCases(results: BenchResults, names: readonly string[] | undefined): CaseSummary[] {
  if (names !== undefined) {
    return names.map((name) => {
      const found = results.cases.find((c) => c.name === name);
      if (found === undefined) {
        throw new RangeError(
          `Option 'cases' names '${name}', which is not in the results. Cases: ${results.cases.map((c) => c.name).join(', ')}.`,
        );
      }
      return found;
    });
  }
  const headline = results.cases.filter((c) => c.headline === true);
  return headline.length > 0 ? headline : results.cases.filter((c) => c.goal != null);
}

/** Rounds away float noise so 10 ** -1 * 2 prints as 0.2. */
const clean = (v: number): number => Number(v.toPrecision(12));
const MANTISSAS = [1, 2, 5] as const;

function niceFloor(v: number): number {
  const k = Math.floor(Math.log10(v));
  for (const m of [5, 2, 1]) if (m * 10 ** k <= v) return clean(m * 10 ** k);
  return clean(10 ** k);
}

function niceCeil(v: number): number {
  const k = Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * 10 ** k >= v) return clean(m * 10 ** k);
  return clean(10 ** (k + 1));
}

/** 1-2-5 ticks inside [lo, hi]; decades only when that would be too many. */
function ticks(lo: number, hi: number): number[] {
  const all: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of MANTISSAS) {
      const v = clean(m * 10 ** k);
      if (v >= lo && v <= hi) all.push(v);
    }
  }
  return all.length <= 12 ? all : all.filter((v) => Number.isInteger(Math.log10(v)));
}

const xml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n = (v: number): string => clean(Math.round(v * 10) / 10).toString();
const tickLabel = (v: number): string => `${Number(v.toPrecision(3))}×`;

const COLORS: Record<CaseSummary['verdict'], { fill: string; text: string }> = {
  'PASS (stretch)': { fill: '#2da44e', text: '#116329' },
  PASS: { fill: '#6fdd8b', text: '#1a7f37' },
  MISS: { fill: '#ff8182', text: '#cf222e' },
  info: { fill: '#afb8c1', text: '#57606a' },
};
const INK = '#24292f';
const SANS = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif";
const MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

/**
 * The chart as SVG text. Deterministic: the same results (and options) give the same bytes.
 * Throws a RangeError when `cases` names a case the results do not have, or when there is nothing
 * to draw.
 */
export function renderChart(results: BenchResults, options: ChartOptions = {}): string {
  const selected = selectCases(results, options.cases);
  if (selected.length === 0) throw new RangeError('No case to chart: none has a goal.');
  const sections = [
    {
      title: 'Cost: candidate time ÷ baseline time (shorter is better)',
      bars: selected.filter((s) => !isSpeedGoal(s.goal)).map(toBar),
    },
    {
      title: 'Speed-up: candidate throughput ÷ baseline throughput (longer is better)',
      bars: selected.filter((s) => isSpeedGoal(s.goal)).map(toBar),
    },
  ].filter((s) => s.bars.length > 0);

  const values = sections.flatMap((s) =>
    s.bars.flatMap((b) => [b.value, b.min, b.max, b.goal ?? 1, b.stretch ?? 1]),
  );
  const lo = niceFloor(Math.min(1, ...values) / 1.2);
  const hi = niceCeil(Math.max(1, ...values) * 1.2);

  const labelWidth = Math.max(...selected.map((s) => s.name.length)) * 7.3 + 24;
  const x0 = labelWidth;
  const x1 = x0 + 440;
  // Room for the longest "1.23× · goal ≤ 1.50× · PASS (stretch)" at ~7.2 px a character (bold parts included).
  const valueText = (b: Bar): string => `${fmtRatio(b.value)} · ${b.goalText} · ${b.verdict}`;
  const longest = Math.max(...sections.flatMap((s) => s.bars.map((b) => valueText(b).length)));
  const width = Math.max(x1 + 36 + longest * 7.2, 720);
  const x = (v: number): number =>
    x0 + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (x1 - x0);
  const rowHeight = 26;
  const barHeight = 14;

  const body: string[] = [];
  let y = 64;
  for (const section of sections) {
    body.push(
      `<text x="12" y="${n(y + 16)}" font-family="${SANS}" font-size="13" font-weight="600" fill="${INK}">${xml(section.title)}</text>`,
    );
    y += 26;
    const top = y;
    const bottom = y + section.bars.length * rowHeight;
    for (const t of ticks(lo, hi)) {
      const stroke = t === 1 ? '#8c959f' : '#d0d7de';
      body.push(
        `<line x1="${n(x(t))}" y1="${n(top)}" x2="${n(x(t))}" y2="${n(bottom)}" stroke="${stroke}" stroke-width="1"/>`,
      );
    }
    for (const bar of section.bars) {
      const mid = y + rowHeight / 2;
      const color = COLORS[bar.verdict];
      body.push(
        `<g><title>${xml(`${bar.name}: ${fmtRatio(bar.value)} (${fmtRatio(bar.min)}–${fmtRatio(bar.max)}), ${bar.goalText}, ${bar.verdict}`)}</title>`,
        `<text x="${n(x0 - 10)}" y="${n(mid + 4)}" text-anchor="end" font-family="${MONO}" font-size="12" fill="${INK}">${xml(bar.name)}</text>`,
        `<rect x="${n(x0)}" y="${n(mid - barHeight / 2)}" width="${n(Math.max(1, x(bar.value) - x0))}" height="${barHeight}" fill="${color.fill}"/>`,
        `<line x1="${n(x(bar.min))}" y1="${n(mid)}" x2="${n(x(bar.max))}" y2="${n(mid)}" stroke="${INK}" stroke-width="1"/>`,
        `<line x1="${n(x(bar.min))}" y1="${n(mid - 3)}" x2="${n(x(bar.min))}" y2="${n(mid + 3)}" stroke="${INK}" stroke-width="1"/>`,
        `<line x1="${n(x(bar.max))}" y1="${n(mid - 3)}" x2="${n(x(bar.max))}" y2="${n(mid + 3)}" stroke="${INK}" stroke-width="1"/>`,
      );
      if (bar.stretch !== undefined) {
        body.push(
          `<line x1="${n(x(bar.stretch))}" y1="${n(mid - 11)}" x2="${n(x(bar.stretch))}" y2="${n(mid + 11)}" stroke="${INK}" stroke-width="1.5" stroke-dasharray="3 2"/>`,
        );
      }
      if (bar.goal !== undefined) {
        body.push(
          `<line x1="${n(x(bar.goal))}" y1="${n(mid - 11)}" x2="${n(x(bar.goal))}" y2="${n(mid + 11)}" stroke="${INK}" stroke-width="2.5"/>`,
        );
      }
      body.push(
        `<text x="${n(x1 + 12)}" y="${n(mid + 4)}" font-family="${SANS}" font-size="12" fill="${INK}"><tspan font-weight="600">${xml(fmtRatio(bar.value))}</tspan> · ${xml(bar.goalText)} · <tspan font-weight="600" fill="${color.text}">${xml(bar.verdict)}</tspan></text></g>`,
      );
      y += rowHeight;
    }
    for (const t of ticks(lo, hi)) {
      body.push(
        `<text x="${n(x(t))}" y="${n(y + 14)}" text-anchor="middle" font-family="${SANS}" font-size="11" fill="#57606a">${xml(tickLabel(t))}</text>`,
      );
    }
    y += 30;
  }

  // Legend.
  const legendY = y + 4;
  const legend: [string, string][] = [
    [COLORS['PASS (stretch)'].fill, 'stretch goal met'],
    [COLORS.PASS.fill, 'goal met'],
    [COLORS.MISS.fill, 'goal missed'],
    [COLORS.info.fill, 'no goal'],
  ];
  let lx = 12;
  for (const [fill, label] of legend) {
    body.push(
      `<rect x="${n(lx)}" y="${n(legendY - 9)}" width="12" height="10" fill="${fill}"/>`,
      `<text x="${n(lx + 17)}" y="${n(legendY)}" font-family="${SANS}" font-size="11" fill="${INK}">${xml(label)}</text>`,
    );
    lx += 24 + label.length * 6.2;
  }
  body.push(
    `<line x1="${n(lx)}" y1="${n(legendY - 11)}" x2="${n(lx)}" y2="${n(legendY + 2)}" stroke="${INK}" stroke-width="2.5"/>`,
    `<text x="${n(lx + 7)}" y="${n(legendY)}" font-family="${SANS}" font-size="11" fill="${INK}">goal</text>`,
    `<line x1="${n(lx + 45)}" y1="${n(legendY - 11)}" x2="${n(lx + 45)}" y2="${n(legendY + 2)}" stroke="${INK}" stroke-width="1.5" stroke-dasharray="3 2"/>`,
    `<text x="${n(lx + 52)}" y="${n(legendY)}" font-family="${SANS}" font-size="11" fill="${INK}">stretch</text>`,
    `<line x1="${n(lx + 105)}" y1="${n(legendY - 4)}" x2="${n(lx + 135)}" y2="${n(legendY - 4)}" stroke="${INK}" stroke-width="1"/>`,
    `<text x="${n(lx + 141)}" y="${n(legendY)}" font-family="${SANS}" font-size="11" fill="${INK}">min–max across processes (log scale)</text>`,
  );
  const height = legendY + 16;

  const { machine, protocol } = results;
  const subtitle =
    `${results.date.slice(0, 10)} · Node ${machine.node} · ${machine.cpu} × ${machine.cpus} · ` +
    `${results.processes} process(es) × ${protocol.rounds} rounds, timed runs ≥ ${protocol.minRunMs} ms` +
    (results.mode === 'quick' ? ' · QUICK RUN, not a record' : '');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" role="img" aria-label="fs-mediator benchmark ratios">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-family="${SANS}" font-size="16" font-weight="600" fill="${INK}">fs-mediator benchmarks: ratios measured side by side in the same processes</text>`,
    `<text x="12" y="44" font-family="${SANS}" font-size="11" fill="#57606a">${xml(subtitle)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function parseCli(argv: readonly string[]): { input: string; output: string; cases?: string[] } {
  const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
  let input = `${resultsDir}record.json`;
  let output = `${resultsDir}chart.svg`;
  let cases: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (!['--input', '--output', '--cases'].includes(flag)) {
      throw new TypeError(
        `Unknown option ${flag}. Usage: renderChart.ts [--input FILE] [--output FILE] [--cases a,b]`,
      );
    }
    if (value === undefined || value.startsWith('--'))
      throw new TypeError(`${flag} needs a value.`);
    i++;
    if (flag === '--input') input = value;
    else if (flag === '--output') output = value;
    else cases = value.split(',').filter((c) => c !== '');
  }
  return cases === undefined ? { input, output } : { input, output, cases };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { input, output, cases } = parseCli(process.argv.slice(2));
    const svg = renderChart(readResults(input), cases === undefined ? {} : { cases });
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, svg);
    console.log(`Wrote ${output}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
  }
}
