/**
 * The little the change feed needs from a PostgreSQL connection, so the same code runs on PGlite
 * (embedded, WASM) and on a server through `pg`. Implementations: {@link pgliteDatabase},
 * {@link pgDatabase}; {@link connect} picks one.
 *
 * Values arrive as each driver parses them (int8 is a number in PGlite and a string in `pg`): the
 * library's own SQL casts every int8/xid8 it reads to `text`, so callers of the change feed always
 * see strings.
 *
 * @example
 * ```ts
 * const db = await connect(process.env.DATABASE_URL ?? './data/pg');
 * const rows = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM orders');
 * const stop = await db.listen('outbox', () => console.log('something committed'));
 * await stop();
 * await db.close();
 * ```
 */
export interface Database {
  /** Which driver is behind it: `'pglite'` or `'pg'`. */
  readonly kind: 'pglite' | 'pg';
  /** Runs one statement with `$1…` parameters and resolves its rows. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<R[]>;
  /**
   * Calls `onNotify` for every NOTIFY on `channel` (the payload is ignored: a notification is a
   * wake-up). `pg` also calls it after each reconnect of its listening connection, since
   * notifications sent meanwhile are lost. Resolves, once listening, a function that stops it.
   * `channel` must be a plain lower-case identifier.
   */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /** Closes what this object opened (a connection handed in by the caller stays open). */
  close(): Promise<void>;
}

/** @internal A plain lower-case SQL identifier: needs no quoting, cannot inject. */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
