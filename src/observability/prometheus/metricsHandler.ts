import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry, RegistryContentType } from 'prom-client';
import { checkFunction, checkObject } from '../../errors/validate.js';
import { checkRegistry } from './checkRegistry.js';
import { metricsResponse } from './metricsResponse.js';
import { report, sendText } from './sendText.js';

/** Options of {@link metricsHandler}. */
export interface MetricsHandlerOptions {
  /** Called with the error when collecting the metrics fails (the scrape gets a 500). Default: none. */
  readonly onError?: (error: unknown) => void;
}

/**
 * A request handler serving a registry to Prometheus (issue 6, point 2), for node's `http` and
 * Express. GET and HEAD get the metrics, in OpenMetrics 1.0.0 when the `Accept` header prefers
 * it, else the Prometheus text format 0.0.4 (see {@link metricsResponse}); other methods get a
 * 405, and a failed collection a 500 with a short text (the error goes to `onError`).
 *
 * Fastify: use {@link metricsResponse}, or hand it the raw objects:
 * `fastify.get('/metrics', (request, reply) => { reply.hijack(); handler(request.raw, reply.raw); })`.
 *
 * @param registry - The registry to serve (e.g. `prometheusMetrics(...).registry`).
 * @example
 * ```ts
 * import http from 'node:http';
 * const handler = metricsHandler(metrics.registry);
 * http.createServer((req, res) => (req.url === '/metrics' ? handler(req, res) : res.writeHead(404).end())).listen(9464);
 * // Express
 * app.get('/metrics', metricsHandler(metrics.registry));
 * ```
 */
export function metricsHandler(
  registry: Registry<RegistryContentType>,
  options: MetricsHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  if (registry === undefined) {
    throw new TypeError(`metricsHandler() needs a prom-client Registry, got undefined.`);
  }
  checkRegistry(registry);
  checkObject('options', options);
  checkFunction('onError', options.onError);
  const { onError } = options;
  return (req, res) => {
    const headOnly = req.method === 'HEAD';
    if (req.method !== 'GET' && !headOnly) {
      sendText(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n', false, {
        Allow: 'GET, HEAD',
      });
      return;
    }
    metricsResponse(registry, req.headers.accept).then(
      ({ contentType, body }) => sendText(res, 200, contentType, body, headOnly),
      (error: unknown) => {
        report(onError, error);
        sendText(res, 500, 'text/plain; charset=utf-8', 'Metrics collection failed\n', headOnly);
      },
    );
  };
}
