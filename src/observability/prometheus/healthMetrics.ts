import type { HealthSource } from './HealthSource.js';
import type { MetricRegistrar } from './MetricRegistrar.js';

const STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;

/**
 * `stream_health_status`: 1 for the status the check reports when scraped, 0 for the others.
 * @internal
 */
export function healthMetrics(registrar: MetricRegistrar, health: HealthSource): void {
  registrar.gauge(
    'stream_health_status',
    'Stream health as checked when scraped: 1 for the current status (healthy, degraded, unhealthy), 0 for the others.',
    ['status'],
    (emit) => {
      const { status } = health.check();
      for (const s of STATUSES) emit({ status: s }, s === status ? 1 : 0);
    },
  );
}
