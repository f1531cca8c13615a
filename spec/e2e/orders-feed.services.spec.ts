/**
 * `npm start` against a real PostgreSQL (`DATABASE_URL`, started by scripts/services.sh): the same
 * job, through `pg` instead of PGlite, exports every change once and the next run goes on.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Database } from 'fs-mediator/postgres';
import { runOrdersFeed, type EnrichedOrder } from '../../examples/orders-feed.js';
import { serviceEnv } from '../helpers/services.js';

const quiet = { write: () => true };

describe('runOrdersFeed on PostgreSQL (DATABASE_URL)', () => {
  let workDir: string;
  let db: Database;
  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'fs-mediator-orders-feed-pg-'));
    db = await connect(serviceEnv('DATABASE_URL'));
    await db.query('DROP SCHEMA IF EXISTS fs_mediator_demo CASCADE');
  });
  afterAll(async () => {
    await db.query('DROP SCHEMA IF EXISTS fs_mediator_demo CASCADE');
    await db.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('exports every change exactly once over two runs, through pg', async () => {
    const run = (items: number) =>
      runOrdersFeed({
        items,
        rate: 2_000,
        port: 0,
        workDir,
        databaseUrl: serviceEnv('DATABASE_URL'),
        out: quiet,
        isTTY: false,
      });
    const first = await run(1_500);
    expect(first).toMatchObject({ database: 'pg', written: 1_500, exported: 1_500 });
    const second = await run(500);
    expect(second).toMatchObject({ database: 'pg', written: 500, exported: 500 });

    const rows: EnrichedOrder[] = [];
    const dir = join(workDir, 'export');
    for (const name of (await readdir(dir)).sort()) {
      expect(name).toMatch(/^orders-\d{6}\.ndjson$/);
      for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
        if (line !== '') rows.push(JSON.parse(line) as EnrichedOrder);
      }
    }
    expect(rows.map((r) => r.orderId)).toEqual(rows.map((_, i) => i + 1));
    const [cursor] = await db.query<{ id: string }>(
      `SELECT id::text AS id FROM fs_mediator_demo.outbox_cursors WHERE consumer = 'orders-export'`,
    );
    expect(cursor?.id).toBe(rows[rows.length - 1]!.changeId);
  }, 60_000);
});
