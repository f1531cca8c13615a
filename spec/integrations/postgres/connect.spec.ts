import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeFeed, connect, installOutbox, pgDatabase, publish } from 'fs-mediator/postgres';
import { take } from './changeFeedBehaviors.js';

describe('connect', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('uses pg for a postgres:// URL, lazily (no connection before the first query)', async () => {
    const db = await connect('postgresql://nobody@127.0.0.1:1/none');
    expect(db.kind).toBe('pg');
    await db.close();
    await expect(connect({ url: 'mysql://x' })).rejects.toThrow(RangeError);
    await expect(connect(42 as never)).rejects.toThrow(TypeError);
  });

  it('pgDatabase uses a pool it is given (from any copy of pg) and leaves it open', async () => {
    const calls: string[] = [];
    const pool = {
      options: {},
      query: (sql: string) => (calls.push(sql), Promise.resolve({ rows: [{ one: 1 }] })),
      connect: () => Promise.reject(new Error('not used')),
      end: () => (calls.push('end'), Promise.resolve()),
      on: () => pool,
    };
    const db = pgDatabase(pool as never);
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await db.close();
    expect(calls).toEqual(['SELECT 1 AS one']); // not ended: the pool stays the caller's
    expect(() => pgDatabase(42 as never)).toThrow(TypeError);
  });

  it('uses DATABASE_URL when given nothing', async () => {
    const saved = process.env['DATABASE_URL'];
    process.env['DATABASE_URL'] = 'postgres://nobody@127.0.0.1:1/none';
    try {
      const db = await connect();
      expect(db.kind).toBe('pg');
      await db.close();
    } finally {
      if (saved === undefined) delete process.env['DATABASE_URL'];
      else process.env['DATABASE_URL'] = saved;
    }
  });

  it('keeps PGlite data on disk: a consumer killed with the process resumes after reopening', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fs-mediator-pglite-'));
    dirs.push(dir);
    const first = await connect(join(dir, 'data'));
    expect(first.kind).toBe('pglite');
    await installOutbox(first);
    for (let n = 1; n <= 4; n++) await publish(first, 'orders', { n }, { table: 'outbox' });
    const feed = changeFeed<{ n: number }>(first, { consumer: 'export', ackBatchSize: 1 });
    const items = await take(feed, 3);
    feed.ack(items[1]!); // 1 and 2 processed, 3 received only
    await feed.flush();
    await first.close(); // the "process" dies: the feed is never closed

    const second = await connect(join(dir, 'data'));
    // The dead reader's lease holds the consumer until it expires (leaseMs)…
    const early = changeFeed(second, { consumer: 'export' });
    await expect(early.next()).rejects.toMatchObject({ name: 'ConsumerBusyError', lost: false });
    // …which the spec makes happen now.
    await second.query(`UPDATE outbox_cursors SET lease_until = now() - interval '1 second'`);
    const resumed = changeFeed<{ n: number }>(second, { consumer: 'export' });
    expect((await take(resumed, 2)).map((i) => i.payload.n)).toEqual([3, 4]);
    await resumed.return();
    await second.close();
  }, 30_000);
});
