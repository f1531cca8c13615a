/**
 * The `npm start` job (examples/orders-feed.ts) run for real on PGlite in a temp dir: orders
 * written to the database reach the export segments (each change exactly once, acknowledged only
 * once its segment is finished) and a live WebSocket client, /metrics shows the sinks, and a second
 * run goes on where the first stopped. Real timers and sockets; a run takes a few seconds.
 */
import { mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { compareChangePositions, connect, type Database } from 'fs-mediator/postgres';
import {
  parseOrdersFeedArgs,
  runOrdersFeed,
  UsageError,
  type EnrichedOrder,
} from '../../examples/orders-feed.js';

/** A fake stdout that records what was written and acts once on the line with the page URL. */
function fakeOutput(onUrl: (url: string) => void) {
  const writes: string[] = [];
  let seen = false;
  return {
    text: () => writes.join(''),
    write(text: string) {
      writes.push(text);
      const url = /live page\s+(http:\/\/\S+)/.exec(text)?.[1];
      if (url !== undefined && !seen) {
        seen = true;
        onUrl(url);
      }
      return true;
    },
  };
}

async function exportedRows(dir: string): Promise<EnrichedOrder[]> {
  const rows: EnrichedOrder[] = [];
  for (const name of (await readdir(dir)).sort()) {
    expect(name).toMatch(/^orders-\d{6}\.ndjson$/); // no partial or temp file left behind
    const text = await readFile(join(dir, name), 'utf8');
    for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line));
  }
  return rows;
}

describe('runOrdersFeed (npm start)', () => {
  const dirs: string[] = [];
  // One in-memory PGlite for the file (a fresh on-disk one takes 10 s or more to create); each
  // test starts from a dropped demo schema.
  let database: Database;
  beforeAll(async () => {
    database = await connect({ dataDir: 'memory://' });
  }, 60_000);
  afterAll(async () => {
    await database.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  const freshWorkDir = async () => {
    await database.query('DROP SCHEMA IF EXISTS fs_mediator_demo CASCADE');
    const dir = await mkdtemp(join(tmpdir(), 'fs-mediator-orders-feed-'));
    dirs.push(dir);
    return dir;
  };

  it('exports every change once, serves it live and as metrics, and the next run goes on from there', async () => {
    const workDir = await freshWorkDir();
    const frames: { seq: number; data: EnrichedOrder }[] = [];
    let scrape: Promise<string> | undefined;
    let client: WebSocket | undefined;
    const out = fakeOutput((url) => {
      client = new WebSocket(`${url.replace(/^http/, 'ws')}live`);
      client.on('open', () => client!.send(JSON.stringify({ subscribe: 'orders' })));
      client.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { seq?: number; data: EnrichedOrder };
        if (frame.seq !== undefined) {
          frames.push(frame as { seq: number; data: EnrichedOrder });
          // Scrape once items flow, while the job still runs.
          scrape ??= fetch(`${url}metrics`).then((r) => r.text());
        }
      });
    });

    const first = await runOrdersFeed({
      items: 2_000,
      rate: 2_000,
      port: 0,
      workDir,
      database,
      out,
      isTTY: false,
      progressEveryMs: 100,
    });
    client?.close();

    expect(first).toMatchObject({ stoppedBy: 'items', database: 'pglite', written: 2_000 });
    expect(first.exported).toBe(2_000);
    expect(first.segments.length).toBeGreaterThanOrEqual(1);
    const rows = await exportedRows(join(workDir, 'export'));
    expect(rows).toHaveLength(2_000);
    expect(new Set(rows.map((r) => r.orderId)).size).toBe(2_000);
    expect(rows.map((r) => r.orderId)).toEqual(rows.map((_, i) => i + 1)); // one writer: commit order
    const positions = rows.map((r) => r.position);
    expect([...positions].sort(compareChangePositions)).toEqual(positions);
    expect(rows[0]).toMatchObject({ op: 'insert', quantity: expect.any(Number) });
    expect(rows[0]!.total).toBeGreaterThan(0);

    // The live client saw a suffix of the same changes, in order, with no gap.
    expect(frames.length).toBeGreaterThan(0);
    const byPosition = new Map(rows.map((r) => [r.position, r]));
    for (const frame of frames) expect(byPosition.get(frame.data.position)).toEqual(frame.data);
    frames.forEach((frame, i) => i > 0 && expect(frame.seq).toBe(frames[i - 1]!.seq + 1));
    expect(first.wsSent).toBeGreaterThanOrEqual(frames.length);

    const metrics = await scrape!;
    expect(metrics).toMatch(/fs_mediator_sink_items_total\{[^}]*kind="websocket"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/fs_mediator_changefeed_rows_total\{consumer="orders-export"\} [1-9]/);
    expect(metrics).toContain('fs_mediator_request_duration_seconds');

    const text = out.text();
    expect(text).toMatch(/written [\d,]+ {2}exported [\d,]+/);
    expect(text).toContain('summary (all items exported)');

    // The cursor stands at the last exported change: nothing is read twice by the next run.
    const [cursor] = await database.query<{ position: string }>(
      `SELECT txid::text || '/' || id::text AS position FROM fs_mediator_demo.outbox_cursors WHERE consumer = 'orders-export'`,
    );
    expect(cursor?.position).toBe(positions[positions.length - 1]);

    const second = await runOrdersFeed({
      items: 500,
      rate: 2_000,
      port: 0,
      workDir,
      database,
      out: fakeOutput(() => undefined),
      isTTY: false,
    });
    expect(second).toMatchObject({ written: 500, exported: 500, resumedRows: 0 });
    const all = await exportedRows(join(workDir, 'export'));
    expect(all.map((r) => r.orderId)).toEqual(all.map((_, i) => i + 1));
  }, 60_000);

  it('stops on its signal with a finished segment and a summary', async () => {
    const workDir = await freshWorkDir();
    const stop = new AbortController();
    const out = fakeOutput(() => setTimeout(() => stop.abort(), 1_500));
    const summary = await runOrdersFeed({
      rate: 1_000,
      port: 0,
      workDir,
      database,
      out,
      isTTY: false,
      signal: stop.signal,
    });
    expect(summary.stoppedBy).toBe('signal');
    const rows = await exportedRows(join(workDir, 'export'));
    expect(rows).toHaveLength(summary.exported);
    expect(summary.written).toBeGreaterThanOrEqual(summary.exported);
    expect(out.text()).toContain('summary (interrupted)');
  }, 60_000);

  // The two states a kill -9 can leave that the cursor does not cover (a review found the first
  // version writing those rows twice): the next run must export every change exactly once.
  describe('after a crash', () => {
    const quiet = { write: () => true };
    const positionsOf = async (workDir: string) =>
      (await exportedRows(join(workDir, 'export'))).map((r) => r.position);

    it('between a segment rename and its ack, does not write that segment again', async () => {
      const workDir = await freshWorkDir();
      const common = { rate: 2_000, port: 0, workDir, database, out: quiet, isTTY: false };
      expect((await runOrdersFeed({ ...common, items: 300 })).segments).toHaveLength(1);
      // Killed right after rename(….partial → orders-000001.ndjson), before the cursor write.
      await database.query(`DELETE FROM fs_mediator_demo.outbox_cursors`);

      await runOrdersFeed({ ...common, items: 300 });
      const positions = await positionsOf(workDir);
      expect({ rows: positions.length, unique: new Set(positions).size }).toEqual({
        rows: 600,
        unique: 600,
      });
    }, 60_000);

    it.each([100, 1_000])(
      'mid-segment, resumes the partial segment; with items %d counted on new rows only',
      async (items) => {
        const workDir = await freshWorkDir();
        const common = { rate: 2_000, port: 0, workDir, database, out: quiet, isTTY: false };
        await runOrdersFeed({ ...common, items: 300 });
        // Killed before the segment was finished: it is still partial, the cursor never moved.
        const segment = join(workDir, 'export', 'orders-000001.ndjson');
        await rename(segment, `${segment}.partial`);
        await database.query(`DELETE FROM fs_mediator_demo.outbox_cursors`);

        const second = await runOrdersFeed({ ...common, items });
        const positions = await positionsOf(workDir);
        expect({
          rows: positions.length,
          unique: new Set(positions).size,
          exported: second.exported,
        }).toEqual({ rows: 300 + items, unique: 300 + items, exported: items });
      },
      60_000,
    );
  });
});

describe('parseOrdersFeedArgs', () => {
  it('reads options and their environment variables; the command line wins', () => {
    expect(parseOrdersFeedArgs(['--items', '5000', '--rate', '200'], { DEMO_ITEMS: '9' })).toEqual({
      help: false,
      items: 5000,
      rate: 200,
    });
    expect(
      parseOrdersFeedArgs([], {
        DEMO_DURATION: '2.5',
        PORT: '0',
        DEMO_WORK_DIR: '/tmp/x',
        DATABASE_URL: 'postgres://u@127.0.0.1:5/db',
      }),
    ).toEqual({
      help: false,
      durationMs: 2500,
      port: 0,
      workDir: '/tmp/x',
      databaseUrl: 'postgres://u@127.0.0.1:5/db',
    });
  });

  it.each([
    [['--items', '0'], /--items must be a whole number ≥ 1, got '0'/],
    [['--rate', 'fast'], /--rate must be a whole number/],
    [['--duration', '0'], /--duration must be a number of seconds > 0, got '0'/],
    [['--port', '70000'], /--port must be a port/],
    [['--bogus'], /bogus/],
  ])('rejects %j with a UsageError naming it', (argv, message) => {
    expect(() => parseOrdersFeedArgs(argv, {})).toThrow(UsageError);
    expect(() => parseOrdersFeedArgs(argv, {})).toThrow(message);
  });

  it('rejects a DATABASE_URL that is not a postgres URL', () => {
    expect(() => parseOrdersFeedArgs([], { DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });
});
