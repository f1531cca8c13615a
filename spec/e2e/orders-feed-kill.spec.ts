/**
 * examples/orders-feed.ts promises "Kill the job (even `kill -9`) and start it again: … no
 * row is lost, none is written twice". Between `exportToFile` renaming a segment to its final
 * name and `feed.flush()` writing the cursor, a kill leaves a finished segment whose rows the
 * cursor does not cover. The next run must not write the redelivered rows again: it takes the
 * last finished segment's last position as a floor (a review found the first version writing
 * them twice).
 *
 * The spec reproduces that state exactly: a first run finishes (and acks) its one segment, then
 * the cursor row is removed, which is what the database holds when the process died after the
 * rename but before the first ack was committed.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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

describe('orders feed killed between a segment rename and its ack', () => {
  let database: Database;
  let workDir: string;
  beforeAll(async () => {
    database = await connect({ dataDir: 'memory://' });
    workDir = await mkdtemp(join(tmpdir(), 'fs-mediator-orders-feed-kill-'));
  }, 60_000);
  afterAll(async () => {
    await database.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('does not write the rows of the finished-but-unacked segment a second time', async () => {
    const common = { rate: 2_000, port: 0, workDir, database, out: quiet, isTTY: false };
    const first = await runOrdersFeed({ ...common, items: 300 });
    expect(first.segments).toHaveLength(1);

    // The state a kill -9 leaves right after rename(orders-000001.ndjson.partial → .ndjson) and
    // before feed.flush() committed: the segment is final, the cursor has not moved.
    await database.query(
      `DELETE FROM fs_mediator_demo.outbox_cursors WHERE consumer = 'orders-export'`,
    );

    await runOrdersFeed({ ...common, items: 300 });
    const rows = await exportedRows(join(workDir, 'export'));
    const positions = rows.map((r) => r.position);
    const duplicated = positions.filter((p, i) => positions.indexOf(p) !== i);
    expect({ rows: rows.length, duplicated: duplicated.length }).toEqual({
      rows: new Set(positions).size,
      duplicated: 0,
    });
  }, 60_000);
});
