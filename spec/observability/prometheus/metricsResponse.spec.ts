import { describe, expect, it, jest } from '@jest/globals';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  type OpenMetricsContentType,
  type RegistryContentType,
} from 'prom-client';
import { metricsResponse } from '../../../src/observability/prometheus/index.js';

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const OPEN_METRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

function registryWithMetrics(): Registry {
  const registry = new Registry();
  new Counter({
    name: 'app_items_total',
    help: 'Items.',
    labelNames: ['message'],
    registers: [registry],
  }).inc({ message: 'say "hi"\\\n' }, 3);
  new Gauge({ name: 'app_depth', help: 'Depth "now".\nSecond line.', registers: [registry] }).set(
    2,
  );
  new Histogram({
    name: 'app_seconds',
    help: 'Time.',
    buckets: [0.1, 1],
    registers: [registry],
  }).observe(0.5);
  return registry;
}

describe('metricsResponse', () => {
  it('answers the Prometheus text format 0.0.4 when there is no Accept header', async () => {
    const registry = registryWithMetrics();
    const response = await metricsResponse(registry);
    expect(response.contentType).toBe(TEXT);
    expect(response.body).toBe(await registry.metrics());
    expect(response.body).toContain('# TYPE app_items_total counter');
    expect(response.body).not.toContain('# EOF');
  });

  it.each([
    [
      'Prometheus 2.x',
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    ],
    [
      'Prometheus 3.x',
      'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
    ],
    ['a bare OpenMetrics type', 'application/openmetrics-text'],
    [
      'an array of header values',
      ['text/plain;q=0.1', 'application/openmetrics-text; version="1.0.0"'],
    ],
  ])('answers OpenMetrics 1.0.0 when the Accept header prefers it (%s)', async (_, accept) => {
    const response = await metricsResponse(registryWithMetrics(), accept);
    expect(response.contentType).toBe(OPEN_METRICS);
    const lines = response.body.split('\n');
    expect(lines).toContain('# TYPE app_items counter');
    expect(lines).toContain('app_items_total{message="say \\"hi\\"\\\\\\n"} 3');
    expect(lines).toContain('# HELP app_depth Depth \\"now\\".\\nSecond line.');
    expect(lines).toContain('app_seconds_bucket{le="0.1"} 0');
    expect(lines).toContain('app_seconds_bucket{le="+Inf"} 1');
    expect(lines).toContain('app_seconds_count 1');
    expect(response.body.endsWith('\n# EOF\n')).toBe(true);
    expect(lines.filter((l) => l === '')).toEqual(['']); // only the final newline
  });

  it.each([
    ['text/plain', 'text/plain;version=0.0.4'],
    ['weights favouring text', 'application/openmetrics-text;q=0.2,text/plain;q=0.9'],
    ['an OpenMetrics version it does not serve', 'application/openmetrics-text;version=0.0.1'],
    ['OpenMetrics refused', 'application/openmetrics-text;q=0,*/*'],
    ['anything', '*/*'],
  ])('answers the text format for %s', async (_, accept) => {
    const response = await metricsResponse(registryWithMetrics(), accept);
    expect(response.contentType).toBe(TEXT);
    expect(response.body).not.toContain('# EOF');
  });

  it('leaves the registry as it was: a text scrape after an OpenMetrics one still names counters _total', async () => {
    const registry = registryWithMetrics();
    await metricsResponse(registry, 'application/openmetrics-text');
    expect(registry.contentType).toBe(TEXT);
    const text = await metricsResponse(registry, 'text/plain');
    expect(text.body).toContain('# TYPE app_items_total counter');
    expect(text.body).toContain('app_items_total{message=');
  });

  it('serves an OpenMetrics registry in either format', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    new Counter({ name: 'om_jobs_total', help: 'Jobs.', registers: [registry] }).inc();
    const open = await metricsResponse(registry, 'application/openmetrics-text');
    expect(open.contentType).toBe(OPEN_METRICS);
    expect(open.body).toContain('om_jobs_total 1');
    const text = await metricsResponse(registry);
    expect(text.contentType).toBe(TEXT);
    expect(text.body).toMatch(/^# HELP om_jobs/);
    expect(text.body).not.toContain('# EOF');
  });

  it('writes NaN and infinities as the formats spell them', async () => {
    const registry = new Registry();
    const gauge = new Gauge({
      name: 'odd',
      help: 'Odd.',
      labelNames: ['v'],
      registers: [registry],
    });
    gauge.set({ v: 'nan' }, NaN);
    gauge.set({ v: 'inf' }, Infinity);
    gauge.set({ v: 'minf' }, -Infinity);
    const { body } = await metricsResponse(registry, 'application/openmetrics-text');
    expect(body).toContain('odd{v="nan"} NaN\nodd{v="inf"} +Inf\nodd{v="minf"} -Inf\n');
  });

  it('rejects when a metric fails to collect', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'broken',
      help: 'Broken.',
      registers: [registry],
      collect() {
        throw new Error('collect failed');
      },
    });
    await expect(metricsResponse(registry)).rejects.toThrow('collect failed');
    await expect(metricsResponse(registry, 'application/openmetrics-text')).rejects.toThrow(
      'collect failed',
    );
  });
});

describe('metricsResponse: regressions', () => {
  it('names a counter the same in text scrapes before and after an OpenMetrics scrape (OpenMetrics registry)', async () => {
    const registry = new Registry<RegistryContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    new Counter({ name: 'jobs_total', help: 'Jobs.', registers: [registry] }).inc();
    const before = await metricsResponse(registry, 'text/plain');
    const open = await metricsResponse(registry, 'application/openmetrics-text');
    const after = await metricsResponse(registry, 'text/plain');
    expect(before.body).toBe('# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 1\n');
    expect(after.body).toBe(before.body);
    expect(open.body).toBe('# HELP jobs Jobs.\n# TYPE jobs counter\njobs_total 1\n# EOF\n');
    expect(await metricsResponse(registry, 'application/openmetrics-text')).toEqual(open);
    expect((await registry.getMetricsAsJSON())[0]!.name).toBe('jobs_total'); // left as it was
  });

  it('never calls registry.metrics(), whatever the format and the registry type', async () => {
    for (const type of [Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE]) {
      const registry = registryWithMetrics() as Registry<RegistryContentType>;
      registry.setContentType(type);
      const metrics = jest.spyOn(registry, 'metrics');
      await metricsResponse(registry, 'text/plain');
      await metricsResponse(registry, 'application/openmetrics-text');
      expect(metrics).not.toHaveBeenCalled();
    }
  });

  it('separates families by a blank line in the text format only (as prom-client does)', async () => {
    const text = await metricsResponse(registryWithMetrics(), 'text/plain');
    expect(text.body).toContain(
      'app_items_total{message="say \\"hi\\"\\\\\\n"} 3\n\n# HELP app_depth',
    );
    const open = await metricsResponse(registryWithMetrics(), 'application/openmetrics-text');
    expect(open.body).not.toContain('\n\n');
  });
});
