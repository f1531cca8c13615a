/**
 * Prometheus adapter (prom-client 15): `import { prometheusMetrics, serveMetrics } from
 * 'fs-mediator/prometheus'`. Publishes the mediator's telemetry as metrics and serves them.
 * @packageDocumentation
 */
export { prometheusMetrics } from './prometheusMetrics.js';
export type {
  MetricBuckets,
  PrometheusMetrics,
  PrometheusMetricsOptions,
} from './prometheusMetrics.js';
export type { MetricsPolicy, PolicyEventLike } from './policyMetrics.js';
export type { MetricsMonitor } from './monitorMetrics.js';
export type { ClientSnapshotLike, MetricsSink, SinkEventLike } from './sinkMetrics.js';
export type { HealthSource } from './HealthSource.js';
export { metricsHandler } from './metricsHandler.js';
export type { MetricsHandlerOptions } from './metricsHandler.js';
export { metricsResponse } from './metricsResponse.js';
export type { MetricsResponse } from './metricsResponse.js';
export { serveMetrics } from './serveMetrics.js';
export type { MetricsServer, ServeMetricsOptions } from './serveMetrics.js';
