import { isBulkheadRejectedError } from '../errors/BulkheadRejectedError.js';
import { isMemoryPressureError } from '../errors/MemoryPressureError.js';
import { isRateLimitedError } from '../errors/RateLimitedError.js';
import { isRequestTimeoutError } from '../errors/RequestTimeoutError.js';
import { isStreamTimeoutError } from '../errors/StreamTimeoutError.js';

/** Socket-level failures worth another attempt (Node's `code`, or undici's on `cause`). */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** HTTP statuses that say "try again later", as opposed to "your request is wrong". */
const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * PostgreSQL SQLSTATEs (pg's `error.code`) of transient failures: serialization failure,
 * deadlock, lock not available, too many connections, shutdown / cannot connect now, and the
 * whole connection-exception class `08`.
 */
const TRANSIENT_SQLSTATES = new Set([
  '40001',
  '40P01',
  '55P03',
  '53300',
  '57P01',
  '57P02',
  '57P03',
]);

/** MySQL / MariaDB error codes (`error.code` of mysql2) of transient failures. */
const TRANSIENT_MYSQL = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_CON_COUNT_ERROR']);

type Loose = {
  readonly code?: unknown;
  readonly status?: unknown;
  readonly statusCode?: unknown;
  readonly response?: { readonly status?: unknown; readonly statusCode?: unknown };
  readonly cause?: unknown;
};

/**
 * The HTTP status an error carries, from the shapes common clients use: `status` (ky,
 * ofetch, our own errors), `statusCode` (got, undici), `response.status` (axios) or
 * `response.statusCode`. Undefined when it carries none.
 *
 * @example
 * ```ts
 * httpStatusOf({ response: { status: 503 } }); // 503
 * ```
 */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as Loose;
  const status = e.status ?? e.statusCode ?? e.response?.status ?? e.response?.statusCode;
  return typeof status === 'number' && Number.isInteger(status) ? status : undefined;
}

function codeOf(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, cause } = error as Loose;
  if (code !== undefined) return code;
  return typeof cause === 'object' && cause !== null ? (cause as Loose).code : undefined;
}

/** Our own transient failures: timeouts and admission rejections (overload, not a wrong request). */
function isOwnTransient(error: unknown): boolean {
  return (
    isRequestTimeoutError(error) ||
    isStreamTimeoutError(error) ||
    isBulkheadRejectedError(error) ||
    isRateLimitedError(error) ||
    isMemoryPressureError(error)
  );
}

/**
 * True for an HTTP call's failure that may succeed if tried again: a status of 408, 425, 429,
 * 500, 502, 503 or 504; no status and a network code (ECONNRESET, ETIMEDOUT, EAI_AGAIN, undici
 * socket and timeout codes…, on the error or its `cause`, as `fetch` reports them); or this
 * library's timeouts and admission rejections. Every other 4xx is the caller's mistake and is
 * false: retrying a 400, 401, 403, 404, 409 or 422 only repeats it. The `HttpApi` retry preset
 * uses it; it also suits `circuitBreaker({ isFailure })` for external APIs.
 *
 * @example
 * ```ts
 * retry({ maxAttempts: 4, shouldRetry: isTransientHttpError });
 * ```
 */
export function isTransientHttpError(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status !== undefined) return TRANSIENT_STATUSES.has(status);
  return NETWORK_CODES.has(codeOf(error) as string) || isOwnTransient(error);
}

/**
 * True for a database failure that may succeed if tried again: PostgreSQL serialization
 * failures (40001), deadlocks (40P01), lock timeouts (55P03), too many connections (53300),
 * shutdown or start-up (57P01–57P03) and connection exceptions (class 08); MySQL deadlocks and
 * lock-wait timeouts; socket errors; and this library's timeouts and admission rejections.
 * Constraint violations, syntax errors and bad data are false: they fail the same way again.
 * The `Database` retry preset uses it.
 *
 * @example
 * ```ts
 * retry({ maxAttempts: 4, delayMs: 1_000, shouldRetry: isTransientDatabaseError });
 * ```
 */
export function isTransientDatabaseError(error: unknown): boolean {
  const code = codeOf(error);
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_MYSQL.has(code) || NETWORK_CODES.has(code)) {
      return true;
    }
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  return isOwnTransient(error);
}

/**
 * True when an error says the database is unwell, as opposed to the caller's request being
 * wrong: false for PostgreSQL data exceptions (class 22), integrity constraint violations (23)
 * and syntax or access errors (42), true for everything else. The `Database` circuit-breaker
 * preset counts only these as failures, so a burst of duplicate-key errors cannot open it.
 *
 * @example
 * ```ts
 * circuitBreaker({ isFailure: isDatabaseFailure });
 * ```
 */
export function isDatabaseFailure(error: unknown): boolean {
  const code = codeOf(error);
  return !(typeof code === 'string' && /^(22|23|42)[0-9A-Z]{3}$/.test(code));
}

/**
 * True when an HTTP error says the remote side is unwell: no status (a network failure), a
 * 5xx, or 408 / 429. Other 4xx mean the dependency answered (the request was wrong), so the
 * `ExternalApi` circuit-breaker preset does not count them as failures.
 *
 * @example
 * ```ts
 * circuitBreaker({ isFailure: isHttpDependencyFailure });
 * ```
 */
export function isHttpDependencyFailure(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === undefined || status >= 500 || status === 408 || status === 429;
}
