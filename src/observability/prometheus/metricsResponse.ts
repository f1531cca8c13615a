import { Registry, type RegistryContentType } from 'prom-client';
import { prefersOpenMetrics } from './prefersOpenMetrics.js';
import { renderExposition, type MetricFamilyJson } from './renderExposition.js';

/**
 * A scrape's answer: the exposition and the `Content-Type` to send it with.
 *
 * @example
 * ```ts
 * const { contentType, body }: MetricsResponse = await metricsResponse(registry, 'text/plain');
 * ```
 */
export interface MetricsResponse {
  /** `text/plain; version=0.0.4; charset=utf-8` or `application/openmetrics-text; version=1.0.0; charset=utf-8`. */
  readonly contentType: string;
  readonly body: string;
}

/**
 * Renders a registry for one scrape, in the format its `Accept` header asks for: OpenMetrics
 * 1.0.0 when it prefers `application/openmetrics-text`, else the Prometheus text format 0.0.4
 * (also when there is no header), whatever the registry's own content type. Works with any
 * framework; {@link metricsHandler} wraps it for node's `http` and Express. Renders from
 * `registry.getMetricsAsJSON()` and never calls `registry.metrics()`, which on an OpenMetrics
 * registry renames its counters in place: the registry is left as it was. Exemplars are not
 * rendered. Rejects when a metric's collection fails.
 *
 * @param registry - The registry to render (e.g. `prometheusMetrics(...).registry`).
 * @param accept - The request's `Accept` header.
 * @example
 * ```ts
 * // Fastify
 * fastify.get('/metrics', async (request, reply) => {
 *   const { contentType, body } = await metricsResponse(registry, request.headers.accept);
 *   return reply.type(contentType).send(body);
 * });
 * ```
 */
export async function metricsResponse(
  registry: Registry<RegistryContentType>,
  accept?: string | readonly string[],
): Promise<MetricsResponse> {
  const openMetrics = prefersOpenMetrics(accept);
  // Never registry.metrics(): on an OpenMetrics registry it strips `_total` from the counters'
  // names in place, for every later scrape and getMetricsAsJSON() reader.
  const families = (await registry.getMetricsAsJSON()) as unknown as MetricFamilyJson[];
  return openMetrics
    ? {
        contentType: Registry.OPENMETRICS_CONTENT_TYPE,
        body: renderExposition(families, 'openmetrics'),
      }
    : {
        contentType: Registry.PROMETHEUS_CONTENT_TYPE,
        body: renderExposition(families, 'prometheus'),
      };
}
