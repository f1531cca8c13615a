import type { PGlite } from '@electric-sql/pglite';
import { show } from '../../errors/validate.js';
import { IDENTIFIER, type Database } from './Database.js';

/** Options of {@link pgliteDatabase}. */
export interface PgliteDatabaseOptions {
  /** Close the PGlite instance when the Database is closed. Default: false (the caller owns it). */
  readonly closeOnClose?: boolean;
}

/**
 * A {@link Database} over a PGlite instance (`@electric-sql/pglite`). Notifications come through
 * PGlite's own `listen()` (its node-postgres adapter only sees those sent by the same client).
 * PGlite is one connection: statements run one after another.
 *
 * @example
 * ```ts
 * import { PGlite } from '@electric-sql/pglite';
 * const pglite = await PGlite.create('./data/pg');
 * const db = pgliteDatabase(pglite);
 * ```
 */
export function pgliteDatabase(pglite: PGlite, options: PgliteDatabaseOptions = {}): Database {
  const closeOnClose = options.closeOnClose ?? false;
  return {
    kind: 'pglite',
    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      const result = await pglite.query<R>(sql, params ? [...params] : undefined);
      return result.rows;
    },
    async listen(channel, onNotify) {
      if (!IDENTIFIER.test(channel)) {
        throw new RangeError(`Channel must be a lower-case identifier, got ${show(channel)}.`);
      }
      const callback = (): void => onNotify();
      const unlisten = await pglite.listen(channel, callback);
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        if (!pglite.closed) await unlisten();
      };
    },
    async close() {
      if (closeOnClose && !pglite.closed) await pglite.close();
    },
  };
}
