import { checkObject, checkOptionalString, show } from '../../errors/validate.js';
import type { Database } from './Database.js';
import { pgDatabase, type PgDatabaseOptions } from './pgDatabase.js';
import { pgliteDatabase } from './pgliteDatabase.js';

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** A `postgres://` or `postgresql://` connection string: use `pg`. Default: `DATABASE_URL`. */
  readonly url?: string;
  /**
   * Where PGlite keeps its data when there is no `url`: a directory (created when missing), or
   * `'memory://'` for a throw-away in-memory database. Default: `'memory://'`.
   */
  readonly dataDir?: string;
  /** Reconnect options of the `pg` LISTEN connection. Default: see {@link PgDatabaseOptions}. */
  readonly pg?: PgDatabaseOptions;
}

const URL_PATTERN = /^postgres(ql)?:\/\//;

/**
 * Opens a {@link Database}: a real PostgreSQL through `pg` when given a `postgres://` URL (or,
 * given nothing, when `DATABASE_URL` is set); otherwise embedded PGlite with the given data
 * directory (no server needed). PGlite is loaded only in that case. The returned Database owns
 * what it opened: `close()` closes it.
 *
 * @example
 * ```ts
 * const db = await connect(process.env.DATABASE_URL ?? './data/pg');
 * ```
 */
export async function connect(target?: string | ConnectOptions): Promise<Database> {
  if (target !== undefined && typeof target !== 'string') checkObject('target', target);
  const options: ConnectOptions =
    typeof target === 'string'
      ? URL_PATTERN.test(target)
        ? { url: target }
        : { dataDir: target }
      : (target ?? {});
  checkOptionalString('url', options.url);
  checkOptionalString('dataDir', options.dataDir);
  const url =
    options.url ?? (options.dataDir === undefined ? process.env['DATABASE_URL'] : undefined);
  if (url !== undefined && url !== '') {
    if (!URL_PATTERN.test(url)) {
      throw new RangeError(
        `Option 'url' must start with postgres:// or postgresql://, got ${show(url)}.`,
      );
    }
    return pgDatabase(url, options.pg);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create(options.dataDir ?? 'memory://');
  return pgliteDatabase(pglite, { closeOnClose: true });
}
