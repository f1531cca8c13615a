import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry, RegistryContentType } from 'prom-client';
import { checkFunction, checkInteger, checkObject, show } from '../../errors/validate.js';
import { checkRegistry } from './checkRegistry.js';
import type { HealthSource } from './HealthSource.js';
import { metricsHandler } from './metricsHandler.js';
import { report, sendText } from './sendText.js';

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** The registry to serve on `/metrics` (e.g. `prometheusMetrics(...).registry`). Required. */
  readonly registry: Registry<RegistryContentType>;
  /** Checked on each `/health` request (e.g. `streamHealth()`). Default: none (always healthy). */
  readonly health?: HealthSource;
  /** The address to listen on. Default: `'127.0.0.1'` (loopback only: say `'0.0.0.0'` to expose it). */
  readonly host?: string;
  /** The port, 0 to 65535; 0 picks a free one (read it from the result). Default: 9464. */
  readonly port?: number;
  /** Called with the error when collecting metrics or checking health fails. Default: none. */
  readonly onError?: (error: unknown) => void;
}

/**
 * What {@link serveMetrics} returns: where it listens, and how to stop it.
 *
 * @example
 * ```ts
 * const server: MetricsServer = await serveMetrics({ registry, port: 0 });
 * await fetch(server.url);
 * await server.close();
 * ```
 */
export interface MetricsServer {
  /** The metrics endpoint, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** The port it listens on (the one picked when `port` was 0). */
  readonly port: number;
  /** Stops accepting connections and closes open ones (keep-alive too); resolves once closed. Idempotent. */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/**
 * Serves a registry on `/metrics` and a health check on `/health`, in one call (issue 6, point
 * 2). `/metrics` is {@link metricsHandler} (content negotiation, 405, 500). `/health` answers
 * the check's report as JSON: 200 when healthy or degraded, 503 when unhealthy (or when the check
 * throws); with no `health`, 200 `{"status":"healthy"}`. Other paths get a 404. Binds to
 * 127.0.0.1 on port 9464 unless told otherwise; rejects if it cannot listen.
 *
 * @param options - See {@link ServeMetricsOptions}.
 * @example
 * ```ts
 * const metrics = prometheusMetrics({ instrumentation: telemetry, monitors: [monitor] });
 * const health = streamHealth({ instrumentation: telemetry });
 * const server = await serveMetrics({ registry: metrics.registry, health, port: 9464 });
 * console.log(`metrics at ${server.url}`);
 * process.once('SIGTERM', () => void server.close());
 * ```
 */
export async function serveMetrics(options: ServeMetricsOptions): Promise<MetricsServer> {
  checkObject('options', options);
  if (options === undefined) {
    throw new TypeError(`serveMetrics() needs options with 'registry', got undefined.`);
  }
  const registry = checkRegistry(options.registry);
  if (registry === undefined) {
    throw new TypeError(`Option 'registry' must be a prom-client Registry, got undefined.`);
  }
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') {
    throw new TypeError(`Option 'host' must be a non-empty string, got ${show(host)}.`);
  }
  const port = checkInteger('port', options.port ?? 9464, 0);
  if (port > 65_535) {
    throw new RangeError(`Option 'port' must be at most 65535, got ${show(port)}.`);
  }
  const { health, onError } = options;
  checkObject('health', health);
  if (health !== undefined && typeof health.check !== 'function') {
    throw new TypeError(`Option 'health' must have a 'check()' method, got ${show(health)}.`);
  }
  checkFunction('onError', onError);

  const metrics = metricsHandler(registry, onError === undefined ? {} : { onError });
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/metrics') metrics(req, res);
    else if (path === '/health') serveHealth(req, res, health, onError);
    else sendText(res, 404, TEXT_TYPE, 'Not Found\n', req.method === 'HEAD');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => report(onError, error));

  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${bound}/metrics`,
    port: bound,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function serveHealth(
  req: IncomingMessage,
  res: ServerResponse,
  health: HealthSource | undefined,
  onError: ((error: unknown) => void) | undefined,
): void {
  const headOnly = req.method === 'HEAD';
  if (req.method !== 'GET' && !headOnly) {
    sendText(res, 405, TEXT_TYPE, 'Method Not Allowed\n', false, { Allow: 'GET, HEAD' });
    return;
  }
  let status = 200;
  let body: string;
  try {
    const healthReport = health === undefined ? { status: 'healthy' as const } : health.check();
    if (healthReport.status === 'unhealthy') status = 503;
    body = JSON.stringify(healthReport);
  } catch (error) {
    report(onError, error);
    status = 503;
    body = JSON.stringify({ status: 'unhealthy', reasons: ['health check failed'] });
  }
  sendText(res, status, JSON_TYPE, body, headOnly);
}
