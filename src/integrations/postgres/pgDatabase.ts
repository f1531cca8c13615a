import type pg from 'pg';
import { checkInteger, checkObject, show } from '../../errors/validate.js';
import { IDENTIFIER, type Database } from './Database.js';
import { isPgPool, loadPg } from './loadPg.js';

/** Options of {@link pgDatabase}. */
export interface PgDatabaseOptions {
  /** First delay before reconnecting the LISTEN connection after it broke, in ms. Default: 100. */
  readonly reconnectDelayMs?: number;
  /** Longest delay between reconnect attempts (the delay doubles up to it), in ms. Default: 5000. */
  readonly maxReconnectDelayMs?: number;
  /**
   * Called with each error of the LISTEN connection (it then reconnects by itself). Default: none;
   * the errors are swallowed, and the change feed's polling timer keeps it correct meanwhile.
   */
  readonly onListenError?: (error: unknown) => void;
}

type Listener = () => void;

/**
 * A {@link Database} on a PostgreSQL server through `pg`: a `Pool` for queries and one dedicated
 * `Client` for `LISTEN`, opened with the first `listen()` and closed when the last stops. When that
 * connection breaks it reconnects with exponential backoff, listens again, and then calls every
 * listener once (notifications sent while it was down are lost, so listeners re-read).
 *
 * Given a connection string or a `PoolConfig`, it owns the pool and `close()` ends it; given a
 * `Pool`, the pool stays the caller's (`close()` only closes the LISTEN connection).
 *
 * @example
 * ```ts
 * const db = pgDatabase(process.env.DATABASE_URL!);
 * const rows = await db.query<{ now: Date }>('SELECT now()');
 * await db.close();
 * ```
 */
export function pgDatabase(
  connection: string | pg.PoolConfig | pg.Pool,
  options: PgDatabaseOptions = {},
): Database {
  checkObject('options', options);
  const firstDelay = checkInteger('reconnectDelayMs', options.reconnectDelayMs ?? 100, 1);
  const maxDelay = checkInteger('maxReconnectDelayMs', options.maxReconnectDelayMs ?? 5000, 1);
  const onListenError = options.onListenError;
  if (typeof connection !== 'string') checkObject('connection', connection);
  const { Pool, Client } = loadPg();
  const ownsPool = !isPgPool(connection);
  const pool = isPgPool(connection)
    ? connection
    : new Pool(typeof connection === 'string' ? { connectionString: connection } : connection);
  if (ownsPool) pool.on('error', () => undefined); // an idle client's error: the next query reports

  const channels = new Map<string, Set<Listener>>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let delay = firstDelay;
  let closed = false;

  const onNotification = (message: pg.Notification): void => {
    const listeners = channels.get(message.channel);
    if (listeners) for (const listener of [...listeners]) listener();
  };

  const open = async (): Promise<pg.Client> => {
    const next = new Client(pool.options);
    next.on('notification', onNotification);
    next.on('error', (error) => broken(next, error));
    next.on('end', () => broken(next, undefined));
    await next.connect();
    for (const channel of channels.keys()) await next.query(`LISTEN ${channel}`);
    return next;
  };

  const connectOnce = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= open().then(
      (c) => {
        connecting = undefined;
        if (closed || channels.size === 0) {
          void c.end().catch(() => undefined);
          throw new Error('The database was closed while listening started.');
        }
        client = c;
        delay = firstDelay;
        return c;
      },
      (error: unknown) => {
        connecting = undefined;
        throw error;
      },
    );
    return connecting;
  };

  function broken(which: pg.Client, error: unknown): void {
    if (error !== undefined) onListenError?.(error);
    if (client !== which) return; // an old or half-open client
    client = undefined;
    void which.end().catch(() => undefined);
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || channels.size === 0 || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connectOnce().then(
        () => {
          for (const listeners of channels.values()) for (const l of [...listeners]) l();
        },
        (error: unknown) => {
          if (closed || channels.size === 0) return;
          onListenError?.(error);
          delay = Math.min(delay * 2, maxDelay);
          scheduleReconnect();
        },
      );
    }, delay);
  }

  const stopListening = async (): Promise<void> => {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    const c = client;
    client = undefined;
    if (c) await c.end().catch(() => undefined);
  };

  return {
    kind: 'pg',
    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      const result = await pool.query<R>(sql, params ? [...params] : undefined);
      return result.rows;
    },
    async listen(channel, onNotify) {
      if (!IDENTIFIER.test(channel)) {
        throw new RangeError(`Channel must be a lower-case identifier, got ${show(channel)}.`);
      }
      if (closed) throw new Error('The database is closed.');
      const listener: Listener = () => onNotify();
      let set = channels.get(channel);
      const first = !set;
      if (!set) channels.set(channel, (set = new Set()));
      set.add(listener);
      try {
        const c = await connectOnce();
        // A client opened before this channel was added has not listened to it yet.
        if (first) await c.query(`LISTEN ${channel}`);
      } catch (error) {
        set.delete(listener);
        if (set.size === 0) channels.delete(channel);
        if (channels.size === 0) await stopListening();
        throw error;
      }
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        set.delete(listener);
        if (set.size > 0) return;
        channels.delete(channel);
        if (channels.size === 0) return stopListening();
        await client?.query(`UNLISTEN ${channel}`).catch(() => undefined);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      channels.clear();
      await stopListening();
      if (ownsPool) await pool.end();
    },
  };
}
