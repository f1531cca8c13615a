import type { Database } from './Database.js';
import { outboxNames, type OutboxOptions } from './outboxNames.js';

/**
 * The statements {@link installOutbox} runs, in order, for those who prefer to put them in their
 * own migrations.
 *
 * @example
 * ```ts
 * await fs.writeFile('migrations/001_outbox.sql', outboxSql().join(';\n\n') + ';\n');
 * ```
 */
export function outboxSql(options: OutboxOptions = {}): string[] {
  const n = outboxNames(options);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${n.schema}`,
    `CREATE TABLE IF NOT EXISTS ${n.outbox} (
  id bigserial PRIMARY KEY,
  txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  topic text NOT NULL,
  op text NOT NULL DEFAULT 'insert',
  payload jsonb,
  old jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
)`,
    `CREATE INDEX IF NOT EXISTS ${n.table}_txid_id ON ${n.outbox} (txid, id)`,
    `CREATE TABLE IF NOT EXISTS ${n.cursors} (
  consumer text PRIMARY KEY,
  txid xid8 NOT NULL,
  id bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`,
    // The lease that keeps a consumer to one reader (added to older installs too).
    `ALTER TABLE ${n.cursors} ADD COLUMN IF NOT EXISTS owner text`,
    `ALTER TABLE ${n.cursors} ADD COLUMN IF NOT EXISTS lease_until timestamptz`,
    // One wake-up per statement that wrote to the outbox, whoever wrote (triggers or the app).
    // NOTIFY is delivered at commit, and identical ones in a transaction are merged.
    `CREATE OR REPLACE FUNCTION ${n.notify}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('${n.channel}', '');
  RETURN NULL;
END
$fn$`,
    `CREATE OR REPLACE TRIGGER ${n.table}_notify AFTER INSERT ON ${n.outbox}
  FOR EACH STATEMENT EXECUTE FUNCTION ${n.notify}()`,
    // Row triggers on watched tables: TG_ARGV[0] is the topic.
    `CREATE OR REPLACE FUNCTION ${n.capture}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO ${n.outbox} (topic, op, payload, old) VALUES (
    TG_ARGV[0],
    lower(TG_OP),
    CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END,
    CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END
  );
  RETURN NULL;
END
$fn$`,
  ];
}

/**
 * Creates the outbox table (`id bigserial`, `txid xid8 DEFAULT pg_current_xact_id()`, `topic`,
 * `op`, `payload jsonb`, `old jsonb`, `created_at`) with an index on `(txid, id)`, the cursor
 * table (`consumer`, `txid`, `id`, `updated_at`), a statement trigger that sends a NOTIFY
 * wake-up on every insert into the outbox, and the row-trigger function {@link watchTable}
 * attaches. Idempotent: running it again changes nothing (functions are replaced). Not safe to
 * run from two connections at the same moment (catalog races): install from one place, e.g. a
 * migration step.
 *
 * @example
 * ```ts
 * await installOutbox(db);
 * await watchTable(db, 'orders');
 * ```
 */
export async function installOutbox(db: Database, options: OutboxOptions = {}): Promise<void> {
  for (const statement of outboxSql(options)) await db.query(statement);
}

/**
 * Removes what {@link installOutbox} created — the outbox rows and every consumer's cursor too,
 * and the triggers {@link watchTable} attached (dropped with their function). Idempotent.
 *
 * @example
 * ```ts
 * await uninstallOutbox(db, { table: 'outbox' });
 * ```
 */
export async function uninstallOutbox(db: Database, options: OutboxOptions = {}): Promise<void> {
  const n = outboxNames(options);
  await db.query(`DROP FUNCTION IF EXISTS ${n.capture}() CASCADE`);
  await db.query(`DROP TABLE IF EXISTS ${n.cursors}`);
  await db.query(`DROP TABLE IF EXISTS ${n.outbox}`);
  await db.query(`DROP FUNCTION IF EXISTS ${n.notify}() CASCADE`);
}
