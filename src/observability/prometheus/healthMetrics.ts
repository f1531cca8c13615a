import type { HealthSource } from './HealthSource.js';
import type { MetricRegistrar } from './MetricRegistrar.js';

const STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;

/**
 * `stream_health_status`: 1 for the status the check reports when scraped, 0 for the others. A
 * check that throws leaves the gauge without samples for that scrape (the rest of the scrape is
 * served): a health check must not take the metrics endpoint down with it.
 * @internal
 */
export function healthMetrics(registrar: MetricRegistrar, health: HealthSource): void {
  registrar.gauge(
    'stream_health_status',
    'Stream health as checked when scraped: 1 for the current status (healthy, degraded, unhealthy), 0 for the others; no sample when the check failed.',
    ['status'],
    (emit) => {
      let status: string;
      try {
        status = health.check().status;
      } catch {
        return;
      }
      for (const s of STATUSES) emit({ status: s }, s === status ? 1 : 0);
    },
  );
}
