/**
 * A health check as the Prometheus adapter and {@link serveMetrics} see it: `streamHealth()`'s
 * result, or anything whose `check()` returns a report with a `status`. The whole report is served
 * as JSON on `/health`.
 *
 * @example
 * ```ts
 * const health: HealthSource = { check: () => ({ status: 'healthy', streams: [], reasons: [] }) };
 * ```
 */
export interface HealthSource {
  check(): { readonly status: 'healthy' | 'degraded' | 'unhealthy' };
}
