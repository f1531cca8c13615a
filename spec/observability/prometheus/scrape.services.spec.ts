/**
 * A real Prometheus server scrapes serveMetrics() and answers PromQL about a stream (issue 6,
 * point 2). scripts/services.sh starts Prometheus (Debian's package) on loopback with a 1 s scrape
 * interval and one job, PROMETHEUS_JOB, whose only target is 127.0.0.1:METRICS_TARGET_PORT: this
 * spec serves the metrics there. Prometheus 2.42 asks for OpenMetrics first, so the scrape also
 * proves that format parses. Polling is bounded (30 s) and fails saying what it last saw.
 *
 * Run with `npm run test:services`.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createMediator, handler } from '../../../src/index.js';
import { instrument } from '../../../src/observability/instrument.js';
import { prometheusMetrics, serveMetrics } from '../../../src/observability/prometheus/index.js';
import { ExportOrders, order } from '../../helpers/orders.js';
import { pollUntil, queryPrometheus, serviceEnv, type PromSample } from '../../helpers/services.js';

const ITEMS = 12_345;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Polls `promql` until its only sample has `expected` as value. */
async function untilValue(prometheusUrl: string, promql: string, expected: number): Promise<void> {
  let last: PromSample[] | string = 'no answer yet';
  await pollUntil(
    async () => {
      try {
        last = await queryPrometheus(prometheusUrl, promql);
      } catch (error) {
        last = String(error);
        return false;
      }
      return last.length === 1 && last[0]!.value === expected;
    },
    () => `${promql} to be ${expected} at ${prometheusUrl}; last answer: ${JSON.stringify(last)}`,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

describe('serveMetrics() scraped by a real Prometheus', () => {
  it('answers PromQL for the stream-items counter with the items a stream delivered', async () => {
    const prometheusUrl = serviceEnv('PROMETHEUS_URL');
    const job = serviceEnv('PROMETHEUS_JOB');
    const port = Number(serviceEnv('METRICS_TARGET_PORT'));

    const telemetry = instrument({ progress: { everyItems: 1_000 } });
    const metrics = prometheusMetrics({ registry: new Registry(), instrumentation: telemetry });
    cleanups.push(() => metrics.close());
    const server = await serveMetrics({ registry: metrics.registry, port });
    cleanups.push(() => server.close());
    expect(server.url).toBe(`http://127.0.0.1:${port}/metrics`);

    const mediator = createMediator({
      handlers: [
        handler(ExportOrders, async function* () {
          for (let i = 0; i < ITEMS; i++) yield order(String(i));
        }),
      ],
      behaviors: [telemetry],
    });
    let delivered = 0;
    for await (const _ of mediator.createStream(new ExportOrders())) delivered++;
    expect(delivered).toBe(ITEMS);

    await untilValue(prometheusUrl, `up{job="${job}"}`, 1);
    await untilValue(prometheusUrl, 'sum(fs_mediator_stream_items_total)', ITEMS);
    await untilValue(
      prometheusUrl,
      'fs_mediator_streams_ended_total{message="ExportOrders",outcome="completed"}',
      1,
    );

    // The target's last scrape had no error (a parse error would show here).
    const targets = (await (await fetch(`${prometheusUrl}/api/v1/targets`)).json()) as {
      data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
    };
    const ours = targets.data.activeTargets.filter((t) => t.labels.job === job);
    expect(ours.map((t) => [t.health, t.lastError])).toEqual([['up', '']]);
  }, 60_000);
});
