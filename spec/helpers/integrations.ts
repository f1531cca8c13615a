/**
 * Fixtures for the end-to-end integration specs: a fresh schema per test holding an `orders`
 * table watched into its own outbox, on a Database the spec file shares (PGlite costs seconds to
 * start), plus bounded waits for conditions that need I/O to check.
 */
import { stat } from 'node:fs/promises';
import { installOutbox, watchTable, type Database } from 'fs-mediator/postgres';

/** A row of the sample `orders` table, as the capture trigger writes it to the outbox. */
export interface OrderRow {
  readonly id: number;
  readonly customer: string;
  readonly total: number;
}

/** One test's schema: `orders` watched into the outbox `outbox` names. */
export interface Shop {
  readonly schema: string;
  /** The qualified `orders` table. */
  readonly orders: string;
  /** Options that point outbox functions (changeFeed, publish) at this test's outbox. */
  readonly outbox: { readonly schema: string; readonly table: string };
  /** Inserts `count` orders in one transaction (one NOTIFY wake-up). */
  insertOrders(count: number, customer?: string): Promise<void>;
  /** The outbox's ids in delivery order (`txid`, `id`). */
  outboxIds(): Promise<string[]>;
  /**
   * The id stored in `consumer`'s cursor, or undefined before its first write (a reader's lease
   * creates the row at position 0).
   */
  storedCursor(consumer: string): Promise<string | undefined>;
  /** Ages every lease of this outbox's consumers, as if their readers had died long ago. */
  expireLeases(): Promise<void>;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

let shops = 0;

/**
 * Creates schema `e2e_<pid>_<n>` with an `orders` table and an outbox `outbox_<n>` (unique, so
 * its NOTIFY channel is too) whose trigger captures every change of `orders` under topic 'orders'.
 */
export async function freshShop(db: Database): Promise<Shop> {
  const n = ++shops;
  const schema = `e2e_${process.pid}_${n}`;
  const outbox = { schema, table: `outbox_${n}` };
  const orders = `${schema}.orders`;
  await db.query(`CREATE SCHEMA ${schema}`);
  await db.query(
    `CREATE TABLE ${orders} (id serial PRIMARY KEY, customer text NOT NULL, total int NOT NULL)`,
  );
  await installOutbox(db, outbox);
  await watchTable(db, orders, { ...outbox, topic: 'orders' });
  return {
    schema,
    orders,
    outbox,
    async insertOrders(count, customer = 'c') {
      await db.query(
        `INSERT INTO ${orders} (customer, total) SELECT $1 || g, g FROM generate_series(1, $2::int) g`,
        [customer, count],
      );
    },
    async outboxIds() {
      const rows = await db.query<{ id: string }>(
        `SELECT o.id::text AS id FROM ${schema}.${outbox.table} AS o ORDER BY o.txid, o.id`,
      );
      return rows.map((row) => row.id);
    },
    async storedCursor(consumer) {
      const rows = await db.query<{ id: string }>(
        `SELECT id::text AS id FROM ${schema}.${outbox.table}_cursors WHERE consumer = $1`,
        [consumer],
      );
      const id = rows[0]?.id;
      return id === '0' ? undefined : id;
    },
    async expireLeases() {
      await db.query(
        `UPDATE ${schema}.${outbox.table}_cursors SET lease_until = now() - interval '1 second' WHERE owner IS NOT NULL`,
      );
    },
    async drop() {
      await db.query(`DROP SCHEMA ${schema} CASCADE`);
    },
  };
}

/** Polls an async `condition` every 5 ms; rejects after `timeoutMs` so a broken spec fails, not hangs. */
export async function untilAsync(
  condition: () => Promise<boolean>,
  timeoutMs = 4000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Condition not met within ${timeoutMs} ms: ${String(condition)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The size of the file at `path`, 0 when it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return 0;
    throw error;
  }
}

/** Ids that occur more than once in `ids`, each listed once, in first-seen order. */
export function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const id of ids) (seen.has(id) ? twice : seen).add(id);
  return [...twice];
}
