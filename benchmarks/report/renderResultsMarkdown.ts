import { describeGoal, isSpeedGoal } from '../harness.js';
import type { BenchResults, CaseSummary, ReportSummary } from './BenchResults.js';
import { fmtGiB, fmtNs, fmtRate, fmtRatio } from './format.js';

/** A table cell: `|` would end the cell, line breaks the row. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** Code labels as code spans (they hold `*`, `_` and parentheses that Markdown would eat). */
const code = (text: string): string => (text.includes('`') ? cell(text) : `\`${cell(text)}\``);

/**
 * A GFM table, padded the way Prettier pads tables (so `prettier --check` passes on RESULTS.md);
 * `numeric` columns are right-aligned.
 */
function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: (column: number) => boolean,
): string[] {
  const width = (text: string): number => [...text].length;
  const widths = header.map((h, i) => Math.max(3, width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const pad = (text: string, i: number): string => {
    const fill = ' '.repeat(widths[i]! - width(text));
    return numeric(i) ? fill + text : text + fill;
  };
  const line = (cells: readonly string[]): string =>
    `| ${header.map((_, i) => pad(cells[i] ?? '', i)).join(' | ')} |`;
  return [
    line(header),
    `| ${widths.map((w, i) => (numeric(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`,
    ...rows.map(line),
  ];
}

const ns = (s: CaseSummary, value: number): string =>
  s.unit === 'item' ? `${fmtNs(value)}/item` : fmtNs(value);

function costTable(cases: readonly CaseSummary[]): string[] {
  return table(
    [
      'case',
      'compares (candidate vs baseline)',
      'baseline ns',
      'candidate ns',
      'ratio',
      'processes min–max',
      'rounds min–max',
      'goal',
      'verdict',
    ],
    cases.map((s) => [
      `\`${s.name}\``,
      `${code(s.candidateLabel)} vs ${code(s.baselineLabel)}`,
      ns(s, s.baselineNs),
      ns(s, s.candidateNs),
      `**${fmtRatio(s.ratio)}**`,
      `${fmtRatio(s.processSpread.min)}–${fmtRatio(s.processSpread.max)}`,
      `${fmtRatio(s.roundSpread.min)}–${fmtRatio(s.roundSpread.max)}`,
      cell(describeGoal(s.goal)),
      s.verdict,
    ]),
    (i) => i >= 2 && i <= 6,
  );
}

function speedTable(cases: readonly CaseSummary[]): string[] {
  const inverse = (spread: { min: number; max: number }): string =>
    `${fmtRatio(1 / spread.max)}–${fmtRatio(1 / spread.min)}`;
  return table(
    [
      'case',
      'compares (candidate vs baseline)',
      'baseline ns',
      'candidate ns',
      'speed-up',
      'processes min–max',
      'rounds min–max',
      'goal',
      'verdict',
    ],
    cases.map((s) => [
      `\`${s.name}\``,
      `${code(s.candidateLabel)} vs ${code(s.baselineLabel)}`,
      `${ns(s, s.baselineNs)} (${fmtRate(s.baselineNs, s.unit)})`,
      `${ns(s, s.candidateNs)} (${fmtRate(s.candidateNs, s.unit)})`,
      `**${fmtRatio(s.speedup)}**`,
      inverse(s.processSpread),
      inverse(s.roundSpread),
      cell(describeGoal(s.goal)),
      s.verdict,
    ]),
    (i) => i >= 2 && i <= 6,
  );
}

function reportSection(report: ReportSummary): string[] {
  return [
    `### \`${report.name}\``,
    '',
    cell(report.title),
    '',
    ...table(
      report.columns.map(cell),
      report.rows.map((r) => r.cells.map(cell)),
      (i) => i > 0,
    ),
    '',
    ...report.notes.map((n) => `- ${n}`),
    ...(report.notes.length > 0 ? [''] : []),
  ];
}

function missLine(s: CaseSummary): string {
  const value = isSpeedGoal(s.goal)
    ? `speed-up ${fmtRatio(s.speedup)}`
    : `ratio ${fmtRatio(s.ratio)}`;
  const reason =
    s.missNote ??
    `_No reason recorded yet: profile with \`node --cpu-prof --import ./benchmarks/loader.mjs benchmarks/run.ts --child ${s.name}\` and write it in the case's \`missNote\`._`;
  return `- **\`${s.name}\`** (${value}, goal ${describeGoal(s.goal)}): ${reason}`;
}

/** `2026-11-25T15:10:17.823Z` → `2026-11-25 15:10 UTC`. */
const fmtDate = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/**
 * benchmarks/RESULTS.md for one run: how and where it was measured, the comparison tables (cost
 * ratios and speed-ups, each in its goal's direction), the report tables, and every missed goal
 * with its reason. Pure: the same results give the same text.
 */
export function renderResultsMarkdown(
  results: BenchResults,
  options: { readonly chartPath?: string } = {},
): string {
  const { machine, protocol } = results;
  const cost = results.cases.filter((s) => !isSpeedGoal(s.goal));
  const speed = results.cases.filter((s) => isSpeedGoal(s.goal));
  const misses = results.cases.filter((s) => s.verdict === 'MISS');
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`${results.command}\` on ${fmtDate(results.date)}; regenerate rather than edit. ` +
      'Every ratio compares two sides measured in the same processes, so it carries over between ' +
      'machines better than the absolute ns figures.',
    '',
    ...(options.chartPath === undefined ? [] : [`![Headline ratios](${options.chartPath})`, '']),
    '## How it was measured',
    '',
    `- Command: \`${results.command}\`${results.filters.length > 0 ? ` (cases matching ${results.filters.map((f) => `\`${f}\``).join(', ')})` : ''}`,
    `- Machine: ${machine.cpu}, ${machine.cpus} logical cores, ${fmtGiB(machine.memoryBytes)} RAM, ${machine.platform}`,
    `- Runtime: Node ${machine.node} (V8 ${machine.v8}); children compiled by ${results.loader}`,
    `- Protocol: ${results.processes} fresh process(es) per case${results.sharedProcess ? ' (quick mode: all cases in one shared process)' : ''} × ${protocol.rounds} interleaved rounds ` +
      `(baseline and candidate alternate, the first side flips every round), each timed run ≥ ${protocol.minRunMs} ms, ` +
      `warm-up ${protocol.warmupMs} ms per side. A round's ratio is candidate ÷ baseline; each process ` +
      'reports the median of its rounds, and the table shows the median of the processes with their ' +
      'min–max (and the min–max of all rounds).',
    '- Reports (not ratios) run once, in a fresh process of their own.',
    '- Goals come from the issues; a miss is reported, never tuned away.',
    '',
  ];
  if (cost.length > 0) {
    lines.push(
      '## Cost ratios',
      '',
      'Candidate time ÷ baseline time (ns per op, or per item for streams); lower is better.',
      '',
      ...costTable(cost),
      '',
    );
  }
  if (speed.length > 0) {
    lines.push(
      '## Speed-ups',
      '',
      'Candidate throughput ÷ baseline throughput (baseline ns ÷ candidate ns); higher is better.',
      '',
      ...speedTable(speed),
      '',
    );
  }
  if (results.cases.length > 0) {
    lines.push(
      '### What each case measures',
      '',
      ...results.cases.map((s) => `- \`${s.name}\`: ${s.title}`),
      '',
    );
  }
  if (results.reports.length > 0) {
    lines.push('## Reports', '');
    for (const report of results.reports) lines.push(...reportSection(report));
  }
  lines.push('## Misses', '');
  if (misses.length === 0) lines.push('None: every goal measured in this run is met.');
  else lines.push(...misses.map(missLine));
  return `${lines.join('\n')}\n`;
}
