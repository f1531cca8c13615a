/**
 * The `npm start` demo (examples/live-demo.ts), run for real with small numbers: the summary, the
 * progress output, the metrics server while it runs and after, stopping early, and the command
 * line. Real timers: a run takes well under a second.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { parseDemoArgs, runDemo, UsageError } from '../../examples/live-demo.js';

/** A fake stdout that records what was written, and can act on the line with the metrics URL. */
function fakeOutput(onUrl?: (url: string) => void) {
  const writes: string[] = [];
  let seen = false;
  return {
    writes,
    text: () => writes.join(''),
    write(text: string) {
      writes.push(text);
      const url = /metrics: (http:\/\/\S+)/.exec(text)?.[1];
      if (url !== undefined && !seen) {
        seen = true;
        onUrl?.(url);
      }
      return true;
    },
  };
}

/** The progress lines among the output (plain mode). */
const progressLines = (text: string) =>
  text.split('\n').filter((line) => /^\s*\d+\.\ds\s+[\d,]+ orders\s+[\d,]+\/s/.test(line));

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url);
    return false;
  } catch {
    return true;
  }
}

describe('runDemo', () => {
  it('writes every requested order, prints plain progress lines and serves /metrics while running', async () => {
    let scraped: Promise<{ metrics: string; health: { status: string; streams: unknown[] } }> =
      Promise.reject(new Error('no metrics URL was printed'));
    scraped.catch(() => undefined);
    const out = fakeOutput((url) => {
      // Scrape once while the job runs (the URL is printed just before the streams start).
      scraped = (async () => {
        const metrics = await fetch(url);
        expect(metrics.status).toBe(200);
        const health = await fetch(url.replace(/\/metrics$/, '/health'));
        return {
          metrics: await metrics.text(),
          health: (await health.json()) as { status: string; streams: unknown[] },
        };
      })();
    });

    const summary = await runDemo({
      items: 20_000,
      port: 0,
      out,
      isTTY: false,
      sinkDelayMs: 20, // 40 batches of 500: about a second
      progressEveryMs: 100,
    });

    expect(summary).toMatchObject({ stoppedBy: 'items', items: 20_000, batches: 40 });
    expect(summary.itemsPerSecond).toBeCloseTo((20_000 * 1000) / summary.durationMs, 6);
    // The sink is the bottleneck: the parallel stage fills up and waits for it.
    expect(summary.peakUtilisation).toBeGreaterThanOrEqual(0.75);
    expect(summary.producerWaitMs).toBeGreaterThan(0);
    expect(summary.retries).toBeGreaterThanOrEqual(1); // every 25th pricing call fails once
    expect(summary.health).toBe('healthy');
    expect(summary.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const text = out.text();
    expect(text).not.toContain('\r');
    expect(progressLines(text).length).toBeGreaterThanOrEqual(3);
    expect(text).toContain('summary (all orders written)');
    expect(text).toContain('orders written     20,000 in 40 batches');

    const { metrics, health } = await scraped;
    expect(metrics).toContain('fs_mediator_streams_started_total{message="orders.export"} 1');
    expect(metrics).toContain('fs_mediator_stream_buffer_utilisation_ratio');
    expect(health.status).toBe('healthy');
    expect(health.streams.length).toBeGreaterThanOrEqual(1);

    expect(await refused(summary.url)).toBe(true); // the server is closed
  });

  it('stops early when its signal aborts, and still returns and prints the summary', async () => {
    const out = fakeOutput();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    const summary = await runDemo({
      port: 0,
      out,
      isTTY: false,
      signal: controller.signal,
      progressEveryMs: 100,
    });
    clearTimeout(timer);

    expect(performance.now() - started).toBeLessThan(2_000);
    expect(summary.stoppedBy).toBe('signal');
    expect(summary.items).toBeGreaterThan(0);
    expect(summary.items % 500).toBe(0); // whole batches only: nothing half-written
    expect(out.text()).toContain('summary (interrupted)');
    expect(await refused(summary.url)).toBe(true);
  });

  it('stops by itself after durationMs, and the lossy tick buffer counts its drops', async () => {
    const summary = await runDemo({ durationMs: 400, port: 0, out: fakeOutput(), isTTY: false });
    expect(summary.stoppedBy).toBe('duration');
    expect(summary.durationMs).toBeGreaterThanOrEqual(390);
    expect(summary.durationMs).toBeLessThan(1_500);
    expect(summary.ticks).toBeGreaterThan(0);
    expect(summary.drops).toBeGreaterThan(0); // ~10,000 ticks/s pushed, ~1,000/s read
  });

  it('redraws one line in place on a terminal, cut to its width', async () => {
    const out = fakeOutput();
    await runDemo({
      durationMs: 250,
      port: 0,
      out,
      isTTY: true,
      columns: 60,
      progressEveryMs: 50,
    });
    const redraws = out.writes.filter((w) => w.startsWith('\r\x1b[2K'));
    expect(redraws.length).toBeGreaterThanOrEqual(3);
    for (const w of redraws) expect(w.length - '\r\x1b[2K'.length).toBeLessThanOrEqual(59);
    expect(redraws.every((w) => !w.includes('\n'))).toBe(true);
    // The last progress line stays on screen: a line break before the summary.
    expect(out.text()).toMatch(/\n\nsummary|[^\n]\nsummary/);
  });

  it('rejects when its port is taken, leaving nothing running', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      await expect(runDemo({ port, out: fakeOutput(), isTTY: false })).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('parseDemoArgs', () => {
  it('reads --items, --duration and --port, with the environment as fallback', () => {
    expect(parseDemoArgs([], {})).toEqual({ help: false });
    expect(parseDemoArgs(['--items', '200000', '--duration', '1.5', '--port', '0'], {})).toEqual({
      help: false,
      items: 200_000,
      durationMs: 1_500,
      port: 0,
    });
    const env = { DEMO_ITEMS: '5', DEMO_DURATION: '3', METRICS_PORT: '9999' };
    expect(parseDemoArgs([], env)).toEqual({
      help: false,
      items: 5,
      durationMs: 3_000,
      port: 9999,
    });
    expect(parseDemoArgs(['--items=7'], env)).toMatchObject({ items: 7, durationMs: 3_000 });
    expect(parseDemoArgs([], { DEMO_ITEMS: '' })).toEqual({ help: false });
    expect(parseDemoArgs(['--help'], {})).toEqual({ help: true });
  });

  it.each([
    [['--items', 'abc'], {}, "--items must be a whole number ≥ 1, got 'abc'."],
    [['--items', '0'], {}, "--items must be a whole number ≥ 1, got '0'."],
    [['--items', '1.5'], {}, "--items must be a whole number ≥ 1, got '1.5'."],
    [['--duration=-1'], {}, "--duration must be a number of seconds > 0, got '-1'."],
    [['--duration', '0'], {}, "--duration must be a number of seconds > 0, got '0'."],
    [['--port', '70000'], {}, "--port must be a port from 0 to 65535, got '70000'."],
    [[], { DEMO_ITEMS: 'lots' }, "DEMO_ITEMS must be a whole number ≥ 1, got 'lots'."],
    [[], { METRICS_PORT: '-1' }, "METRICS_PORT must be a port from 0 to 65535, got '-1'."],
  ])('refuses %j %j with a clear message', (argv, env, message) => {
    expect(() => parseDemoArgs(argv, env)).toThrow(new UsageError(message));
  });

  it('refuses unknown options and stray arguments', () => {
    expect(() => parseDemoArgs(['--fast'], {})).toThrow(UsageError);
    expect(() => parseDemoArgs(['200000'], {})).toThrow(UsageError);
    expect(() => parseDemoArgs(['--items'], {})).toThrow(UsageError);
  });
});
