/** One metric family as `registry.getMetricsAsJSON()` gives it. @internal */
export interface MetricFamilyJson {
  readonly name: string;
  readonly help: string;
  readonly type: unknown;
  readonly values: readonly {
    readonly labels: Readonly<Record<string, string | number | undefined>>;
    readonly value: number;
    readonly metricName?: string;
  }[];
}

/** The two text expositions Prometheus scrapes. @internal */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/**
 * Renders metric families in the Prometheus text format 0.0.4 or in OpenMetrics 1.0.0, whatever
 * the registry's own content type: switching a prom-client registry to OpenMetrics for one scrape
 * would rename its counters for every later scrape (prom-client strips `_total` from their
 * names in place). Exemplars are not rendered.
 * @internal
 */
export function renderExposition(
  families: readonly MetricFamilyJson[],
  format: ExpositionFormat,
): string {
  const openMetrics = format === 'openmetrics';
  const lines: string[] = [];
  for (const family of families) {
    // The text format separates families with a blank line, as prom-client does; OpenMetrics
    // allows no blank line.
    if (!openMetrics && lines.length > 0) lines.push('');
    const type = String(family.type);
    const counter = type === 'counter';
    const name = openMetrics && counter ? family.name.replace(/_total$/, '') : family.name;
    const help = openMetrics ? escapeLabelValue(family.help) : escapeHelp(family.help);
    lines.push(`# HELP ${name} ${help}`);
    lines.push(`# TYPE ${name} ${openMetrics && type === 'untyped' ? 'unknown' : type}`);
    for (const sample of family.values) {
      let sampleName = sample.metricName ?? name;
      if (openMetrics && counter && sample.metricName === undefined) sampleName = `${name}_total`;
      const labels: string[] = [];
      for (const [label, value] of Object.entries(sample.labels)) {
        if (value !== undefined) labels.push(`${label}="${escapeLabelValue(String(value))}"`);
      }
      const labelText = labels.length > 0 ? `{${labels.join(',')}}` : '';
      lines.push(`${sampleName}${labelText} ${formatValue(sample.value)}`);
    }
  }
  if (openMetrics) lines.push('# EOF');
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(text: string): string {
  return escapeHelp(text).replace(/"/g, '\\"');
}
