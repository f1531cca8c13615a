import type { Database } from './Database.js';
import { checkIdentifier, literal, outboxNames, type OutboxOptions } from './outboxNames.js';

/** Options of {@link watchTable}. */
export interface WatchTableOptions extends OutboxOptions {
  /** The topic of the outbox rows its changes write. Default: the table's name (without schema). */
  readonly topic?: string;
}

/**
 * Attaches an `AFTER INSERT OR UPDATE OR DELETE … FOR EACH ROW` trigger to `table` that writes
 * each change to the outbox, in the same transaction: `op` is `'insert'`, `'update'` or
 * `'delete'`, `payload` the row as JSON (after the change; the deleted row for a delete), `old`
 * the row before an update or delete (else null). The outbox's own trigger sends the NOTIFY
 * wake-up. Needs {@link installOutbox} first. Idempotent (`CREATE OR REPLACE TRIGGER`, so
 * PostgreSQL ≥ 14): calling it again with another topic replaces the topic.
 *
 * @example
 * ```ts
 * await watchTable(db, 'shop.orders', { topic: 'orders' });
 * ```
 */
export async function watchTable(
  db: Database,
  table: string,
  options: WatchTableOptions = {},
): Promise<void> {
  const n = outboxNames(options);
  checkIdentifier('table', table, true);
  const topic = options.topic ?? table.split('.').pop()!;
  if (typeof topic !== 'string' || topic === '') {
    throw new TypeError(`Option 'topic' must be a non-empty string, got ${String(topic)}.`);
  }
  await db.query(
    `CREATE OR REPLACE TRIGGER ${n.table}_capture
  AFTER INSERT OR UPDATE OR DELETE ON ${table}
  FOR EACH ROW EXECUTE FUNCTION ${n.capture}(${literal(topic)})`,
  );
}

/**
 * Removes the trigger {@link watchTable} attached to `table`. Idempotent.
 *
 * @example
 * ```ts
 * await unwatchTable(db, 'shop.orders');
 * ```
 */
export async function unwatchTable(
  db: Database,
  table: string,
  options: OutboxOptions = {},
): Promise<void> {
  const n = outboxNames(options);
  checkIdentifier('table', table, true);
  await db.query(`DROP TRIGGER IF EXISTS ${n.table}_capture ON ${table}`);
}
