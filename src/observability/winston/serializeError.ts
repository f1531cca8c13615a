/**
 * An error as a log record carries it: plain fields that survive JSON. A thrown value that is
 * not an `Error` gets `name` `'NonError'` and its `String()` as `message`.
 *
 * @example
 * ```ts
 * const logged: LoggedError = { name: 'TypeError', message: 'boom', stack: 'TypeError: boom\n    at …' };
 * ```
 */
export interface LoggedError {
  readonly name: string;
  readonly message: string;
  /** The stack, when the error had one and stacks are logged. */
  readonly stack?: string;
  /** The error's `code` (Node's `ENOENT`, a driver's SQLSTATE…), when it had a string or number one. */
  readonly code?: string | number;
  /** The error's `cause`, serialised the same way (three levels deep at most). */
  readonly cause?: LoggedError;
}

/** How deep a chain of causes is followed. */
const MAX_CAUSES = 3;

/**
 * Reduces a thrown value to a {@link LoggedError}. Never throws: a value whose `String()` throws
 * is described by its type.
 * @internal
 */
export function serializeError(error: unknown, withStack: boolean, depth = 0): LoggedError {
  if (!isErrorLike(error)) return { name: 'NonError', message: describe(error) };
  const out: { -readonly [K in keyof LoggedError]: LoggedError[K] } = {
    name: error.name,
    message: error.message,
  };
  if (withStack && typeof error.stack === 'string') out.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  if (error.cause !== undefined && depth < MAX_CAUSES) {
    out.cause = serializeError(error.cause, withStack, depth + 1);
  }
  return out;
}

/**
 * An `Error`, or anything with a string `name` and `message`: errors of another realm (a vm
 * context, a worker) and `DOMException`s, which need not pass `instanceof Error`.
 */
function isErrorLike(value: unknown): value is Error {
  if (value instanceof Error) return true;
  if (typeof value !== 'object' || value === null) return false;
  const { name, message } = value as { name?: unknown; message?: unknown };
  return typeof name === 'string' && typeof message === 'string';
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return `[${typeof value}]`;
  }
}
