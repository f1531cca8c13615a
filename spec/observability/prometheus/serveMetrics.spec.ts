import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { createServer, request, Agent, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import {
  metricsHandler,
  serveMetrics,
  type MetricsServer,
} from '../../../src/observability/prometheus/index.js';

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const OPEN_METRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function fetchRaw(
  url: string,
  options: { method?: string; accept?: string; agent?: Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.accept === undefined ? {} : { accept: options.accept },
        agent: options.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function registry(): Registry {
  const r = new Registry();
  new Counter({ name: 'demo_items_total', help: 'Items.', registers: [r] }).inc(5);
  return r;
}

let servers: MetricsServer[] = [];
async function serve(options: Parameters<typeof serveMetrics>[0]): Promise<MetricsServer> {
  const server = await serveMetrics(options);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('serveMetrics', () => {
  it('serves /metrics on 127.0.0.1 and a free port when given 0, in either format', async () => {
    const server = await serve({ registry: registry(), port: 0 });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);

    const text = await fetchRaw(server.url);
    expect(text.status).toBe(200);
    expect(text.headers['content-type']).toBe(TEXT);
    expect(text.body).toContain('demo_items_total 5');

    const open = await fetchRaw(server.url, {
      accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5',
    });
    expect(open.status).toBe(200);
    expect(open.headers['content-type']).toBe(OPEN_METRICS);
    expect(open.body).toContain('# TYPE demo_items counter\n');
    expect(open.body.endsWith('# EOF\n')).toBe(true);

    const head = await fetchRaw(`${server.url}?x=1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(text.body)));
    expect(head.body).toBe('');
  });

  it('answers 404 elsewhere and 405 for methods other than GET and HEAD', async () => {
    const server = await serve({ registry: registry(), port: 0 });
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetchRaw(`${base}/`)).status).toBe(404);
    expect((await fetchRaw(`${base}/metrics/x`)).status).toBe(404);
    const post = await fetchRaw(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await fetchRaw(`${base}/health`, { method: 'DELETE' })).status).toBe(405);
  });

  it('answers /health with the report: 200 healthy or degraded, 503 unhealthy', async () => {
    let report: { status: 'healthy' | 'degraded' | 'unhealthy'; reasons: string[] } = {
      status: 'healthy',
      reasons: [],
    };
    const server = await serve({ registry: registry(), port: 0, health: { check: () => report } });
    const health = `http://127.0.0.1:${server.port}/health`;
    let answer = await fetchRaw(health);
    expect([answer.status, answer.headers['content-type'], JSON.parse(answer.body)]).toEqual([
      200,
      'application/json; charset=utf-8',
      report,
    ]);
    report = { status: 'degraded', reasons: ['slow'] };
    answer = await fetchRaw(health);
    expect([answer.status, JSON.parse(answer.body)]).toEqual([200, report]);
    report = { status: 'unhealthy', reasons: ['stalled'] };
    answer = await fetchRaw(health);
    expect([answer.status, JSON.parse(answer.body)]).toEqual([503, report]);
  });

  it('answers /health 200 healthy when no check is given, and 503 when the check throws', async () => {
    const plain = await serve({ registry: registry(), port: 0 });
    const ok = await fetchRaw(`http://127.0.0.1:${plain.port}/health`);
    expect([ok.status, JSON.parse(ok.body)]).toEqual([200, { status: 'healthy' }]);

    const onError = jest.fn();
    const failing = await serve({
      registry: registry(),
      port: 0,
      onError,
      health: {
        check: () => {
          throw new Error('check broke');
        },
      },
    });
    const bad = await fetchRaw(`http://127.0.0.1:${failing.port}/health`);
    expect(bad.status).toBe(503);
    expect(JSON.parse(bad.body)).toEqual({ status: 'unhealthy', reasons: ['health check failed'] });
    expect(onError).toHaveBeenCalledWith(new Error('check broke'));
  });

  it('answers 500 with a short text when collection fails, and reports the error', async () => {
    const r = registry();
    new Gauge({
      name: 'broken',
      help: 'Broken.',
      registers: [r],
      collect() {
        throw new Error('collect failed');
      },
    });
    const onError = jest.fn();
    const server = await serve({ registry: r, port: 0, onError });
    const answer = await fetchRaw(server.url);
    expect([answer.status, answer.body]).toEqual([500, 'Metrics collection failed\n']);
    expect(onError).toHaveBeenCalledWith(new Error('collect failed'));
  });

  it('close() closes keep-alive connections at once and frees the port', async () => {
    const server = await serve({ registry: registry(), port: 0 });
    const agent = new Agent({ keepAlive: true });
    try {
      expect((await fetchRaw(server.url, { agent })).status).toBe(200);
      const started = performance.now();
      await server.close();
      await server.close(); // idempotent
      // Without closing the idle socket, server.close() would wait for the 5 s keep-alive timeout.
      expect(performance.now() - started).toBeLessThan(1_000);
      await expect(fetchRaw(server.url)).rejects.toThrow(/ECONNREFUSED/);
      const again = await serve({ registry: registry(), port: server.port });
      expect(again.port).toBe(server.port);
    } finally {
      agent.destroy();
    }
  });

  it('close() does not wait for a client that is still sending its request', async () => {
    const server = await serve({ registry: registry(), port: 0 });
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => {}); // the server resets it
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n'); // headers never finished
    await new Promise((resolve) => setImmediate(resolve));
    const started = performance.now();
    await server.close();
    await ended;
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('rejects when the port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as AddressInfo;
      await expect(serveMetrics({ registry: registry(), port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('rejects bad options, naming them', async () => {
    const r = registry();
    const bad = (options: unknown) => serveMetrics(options as Parameters<typeof serveMetrics>[0]);
    await expect(bad(undefined)).rejects.toThrow(TypeError);
    await expect(bad({})).rejects.toThrow(/'registry'/);
    await expect(bad({ registry: r, port: 65_536 })).rejects.toThrow(RangeError);
    await expect(bad({ registry: r, port: -1 })).rejects.toThrow(RangeError);
    await expect(bad({ registry: r, port: '80' })).rejects.toThrow(TypeError);
    await expect(bad({ registry: r, host: '' })).rejects.toThrow(/'host'/);
    await expect(bad({ registry: r, health: {} })).rejects.toThrow(/'health'/);
    await expect(bad({ registry: r, onError: 1 })).rejects.toThrow(/'onError'/);
  });
});

describe('metricsHandler', () => {
  it('works as a plain node:http handler (and so for Express)', async () => {
    const handler = metricsHandler(registry());
    const server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await fetchRaw(`http://127.0.0.1:${port}/anything`, {
        accept: 'application/openmetrics-text',
      });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe(OPEN_METRICS);
      expect(answer.body).toContain('demo_items_total 5');
      expect((await fetchRaw(`http://127.0.0.1:${port}/`, { method: 'PUT' })).status).toBe(405);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects a missing registry', () => {
    expect(() => metricsHandler(undefined as unknown as Registry)).toThrow(TypeError);
    expect(() => metricsHandler({} as Registry)).toThrow(/'registry'/);
  });
});
