import winston from 'winston';
import type { Logger } from 'winston';

/** The shared default, made on first use. */
let shared: Logger | undefined;

/**
 * The logger {@link winstonLogging} uses when none is given: one winston logger shared by every
 * caller, created on first use (so an application that injects its own logger never creates
 * it). It writes one JSON object per line to stdout (winston's Console transport) with an ISO
 * `timestamp`, at the level of the `LOG_LEVEL` environment variable when that names an npm level
 * (`error`, `warn`, `info`, `http`, `verbose`, `debug`, `silly`; any case), else `'info'`.
 *
 * @example
 * ```ts
 * const logging = winstonLogging({ policies: [breaker] }); // logs through defaultLogger()
 * defaultLogger().level = 'debug'; // logging follows a level change at run time
 * ```
 */
export function defaultLogger(): Logger {
  return (shared ??= createDefaultLogger());
}

/**
 * A new logger configured as {@link defaultLogger} describes, from `env` (default:
 * `process.env`). For tests and for applications that want the default setup without sharing it.
 *
 * @param env - Where `LOG_LEVEL` is read.
 * @example
 * ```ts
 * const logger = createDefaultLogger({ LOG_LEVEL: 'debug' });
 * ```
 */
export function createDefaultLogger(env: Record<string, string | undefined> = process.env): Logger {
  const wanted = env.LOG_LEVEL?.trim().toLowerCase();
  const level =
    wanted !== undefined && Object.hasOwn(winston.config.npm.levels, wanted) ? wanted : 'info';
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}
