/**
 * A run that resumes a partial segment of an earlier run (killed mid-segment) exports
 * every change exactly once and counts `--items` against new rows only.
 */
import { mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Database } from 'fs-mediator/postgres';
import { runOrdersFeed, type EnrichedOrder } from '../../examples/orders-feed.js';

const quiet = { write: () => true };

async function exportedRows(dir: string): Promise<EnrichedOrder[]> {
  const rows: EnrichedOrder[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const text = await readFile(join(dir, name), 'utf8');
    for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line));
  }
  return rows;
}

describe('orders feed resuming a partial segment', () => {
  let database: Database;
  let workDir: string;
  beforeAll(async () => {
    database = await connect({ dataDir: 'memory://' });
    workDir = await mkdtemp(join(tmpdir(), 'fs-mediator-orders-feed-partial-'));
  }, 60_000);
  afterAll(async () => {
    await database.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it.each([100, 1_000])(
    'items %d: every change once, items counted on new rows',
    async (items) => {
      await database.query('DROP SCHEMA IF EXISTS fs_mediator_demo CASCADE');
      await rm(join(workDir, 'export'), { recursive: true, force: true });
      const common = { rate: 2_000, port: 0, workDir, database, out: quiet, isTTY: false };
      await runOrdersFeed({ ...common, items: 300 });
      const seg = join(workDir, 'export', 'orders-000001.ndjson');
      await rename(seg, `${seg}.partial`);
      await database.query(`DELETE FROM fs_mediator_demo.outbox_cursors`);
      const second = await runOrdersFeed({ ...common, items });
      const rows = await exportedRows(join(workDir, 'export'));
      const positions = new Set(rows.map((r) => r.position));
      expect({ rows: rows.length, unique: positions.size, exported: second.exported }).toEqual({
        rows: 300 + items,
        unique: 300 + items,
        exported: items,
      });
    },
    60_000,
  );
});
