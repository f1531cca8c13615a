import type { Database } from './Database.js';
import { outboxNames, type OutboxOptions } from './outboxNames.js';

/** Options of {@link publish}. */
export interface PublishOptions extends OutboxOptions {
  /** The row's `op`. Default: `'insert'`. */
  readonly op?: string;
}

/**
 * Writes one row to the outbox (its own statement, committed at once) and resolves its `id` and
 * `txid` (decimal strings). To write in the same transaction as your data, insert into the
 * outbox table yourself (`INSERT INTO outbox (topic, payload) VALUES (…)`): the txid and the
 * wake-up come by themselves.
 *
 * @example
 * ```ts
 * await publish(db, 'orders', { id: 42, status: 'paid' });
 * ```
 */
export async function publish(
  db: Database,
  topic: string,
  payload: unknown,
  options: PublishOptions = {},
): Promise<{ id: string; txid: string }> {
  const n = outboxNames(options);
  if (typeof topic !== 'string' || topic === '') {
    throw new TypeError(`Argument 'topic' must be a non-empty string, got ${String(topic)}.`);
  }
  const rows = await db.query<{ id: string; txid: string }>(
    `INSERT INTO ${n.outbox} (topic, op, payload) VALUES ($1, $2, $3::jsonb)
RETURNING id::text AS id, txid::text AS txid`,
    [topic, options.op ?? 'insert', JSON.stringify(payload ?? null)],
  );
  return rows[0]!;
}
