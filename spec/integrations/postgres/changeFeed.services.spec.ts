import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { changeFeed, connect, pgDatabase, publish, type Database } from 'fs-mediator/postgres';
import { serviceEnv } from '../../helpers/services.js';
import { changeFeedBehaviors, freshOutbox, take } from './changeFeedBehaviors.js';

let db: Database;
beforeAll(async () => {
  db = await connect(serviceEnv('DATABASE_URL'));
});
afterAll(() => db.close());

describe('changeFeed (PostgreSQL through pg)', () => {
  changeFeedBehaviors(() => db);

  it('connect() picks pg for a postgres:// URL', () => {
    expect(db.kind).toBe('pg');
  });

  it('never skips a row whose transaction commits after a later row (the gap)', async () => {
    const table = await freshOutbox(db);
    const t1 = new pg.Client(serviceEnv('DATABASE_URL'));
    const t2 = new pg.Client(serviceEnv('DATABASE_URL'));
    await t1.connect();
    await t2.connect();
    const feed = changeFeed(db, { consumer: 'gap', table, pollIntervalMs: 20 });
    try {
      await t1.query('BEGIN');
      await t1.query(`INSERT INTO ${table} (topic, payload) VALUES ('t', '"T1"')`); // lower id
      await t2.query('BEGIN');
      await t2.query(`INSERT INTO ${table} (topic, payload) VALUES ('t', '"T2"')`); // higher id
      await t2.query('COMMIT'); // T2 commits first

      // An `id > cursor` reader sees T2 alone now, moves its cursor to T2's id, and would never
      // see T1's lower id when T1 commits.
      const naive = await db.query<{ id: string; payload: string }>(
        `SELECT id::text AS id, payload FROM ${table} WHERE id > 0 ORDER BY id`,
      );
      expect(naive.map((r) => r.payload)).toEqual(['T2']);

      // The feed reads (several polls) but holds T2 back while T1 is open.
      const first = feed.next();
      let settled = false;
      void first.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 100));
      expect(settled).toBe(false);

      await t1.query('COMMIT');
      const second = feed.next();
      expect([(await first).value?.payload, (await second).value?.payload]).toEqual(['T1', 'T2']);
      const naiveAfter = await db.query(
        `SELECT payload FROM ${table} WHERE id > $1::bigint ORDER BY id`,
        [naive[0]!.id],
      );
      expect(naiveAfter).toEqual([]); // the naive reader lost T1 for good
    } finally {
      await feed.return();
      await t1.end();
      await t2.end();
    }
  });

  it('the feed also delivers rows committed while it reads pages of others', async () => {
    // Many writers commit in any order while the feed reads: every row arrives exactly once.
    const table = await freshOutbox(db);
    const feed = changeFeed(db, { consumer: 'many', table, pageSize: 7, pollIntervalMs: 20 });
    const writers = Array.from({ length: 5 }, () => new pg.Client(serviceEnv('DATABASE_URL')));
    await Promise.all(writers.map((w) => w.connect()));
    try {
      const writing = Promise.all(
        writers.map(async (w, k) => {
          for (let i = 0; i < 20; i++) {
            await w.query('BEGIN');
            await w.query(`INSERT INTO ${table} (topic, payload) VALUES ('t', $1::jsonb)`, [
              JSON.stringify(k * 100 + i),
            ]);
            await new Promise((r) => setTimeout(r, Math.random() * 3));
            await w.query('COMMIT');
          }
        }),
      );
      const items = await take(feed, 100);
      await writing;
      const values = items.map((i) => i.payload as number).sort((a, b) => a - b);
      expect(values).toEqual(
        Array.from({ length: 5 }, (_, k) =>
          Array.from({ length: 20 }, (_, i) => k * 100 + i),
        ).flat(),
      );
    } finally {
      await feed.return();
      await Promise.all(writers.map((w) => w.end()));
    }
  });

  it('re-reads after the LISTEN connection is killed and reconnects', async () => {
    const table = await freshOutbox(db);
    const own = pgDatabase(serviceEnv('DATABASE_URL'), { reconnectDelayMs: 10 });
    const feed = changeFeed(own, { consumer: 'c', table, pollIntervalMs: 60_000 });
    try {
      const first = feed.next();
      await publish(db, 't', 1, { table });
      expect((await first).value?.payload).toBe(1);

      const pending = feed.next();
      await new Promise((r) => setTimeout(r, 30));
      const killed = await db.query<{ ok: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query = $1`,
        [`LISTEN ${table}`],
      );
      expect(killed).toEqual([{ ok: true }]);
      // Written while nobody listens: only the re-read after reconnect can find it in time.
      await publish(db, 't', 2, { table });
      const started = performance.now();
      expect((await pending).value?.payload).toBe(2);
      expect(performance.now() - started).toBeLessThan(5000);

      // And NOTIFY works again on the new connection.
      const third = feed.next();
      await new Promise((r) => setTimeout(r, 30));
      await publish(db, 't', 3, { table });
      expect((await third).value?.payload).toBe(3);
    } finally {
      await feed.return();
      await own.close();
    }
  });
});
