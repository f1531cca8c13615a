import { createRequire } from 'node:module';
import type pg from 'pg';

let loaded: typeof pg | undefined;

/**
 * The `pg` module, loaded on first use: `fs-mediator/postgres` on PGlite must not need `pg`
 * installed (it is an optional peer dependency). `pg` is CommonJS, so it is required
 * synchronously and {@link pgDatabase} stays synchronous.
 *
 * @example
 * ```ts
 * const { Pool } = loadPg();
 * ```
 */
export function loadPg(): typeof pg {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('pg') as typeof pg;
  } catch (error) {
    throw new Error(
      "A PostgreSQL server needs the optional peer dependency 'pg' (npm install pg); " +
        'without it use the embedded PGlite (connect() with a data directory).',
      { cause: error },
    );
  }
  return loaded;
}

/** True for a `pg.Pool` (or anything shaped like one), from whichever copy of `pg` made it. */
export function isPgPool(value: unknown): value is pg.Pool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as pg.Pool).query === 'function' &&
    typeof (value as pg.Pool).connect === 'function' &&
    typeof (value as pg.Pool).end === 'function'
  );
}
