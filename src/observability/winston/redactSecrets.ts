/** Field names whose values {@link redactSecrets} masks (matched case-insensitively). */
const SECRET_KEY =
  /passw(?:or)?d|passphrase|^pass$|^pwd$|secret|token|authori[sz]ation|api[-_]?key|access[-_]?key|jwt|cookie|credential|private[-_]?key/i;

/** Names that may hold one of the secret words below; only those are split into words. */
const SECRET_WORDISH = /auth|session|sid/i;

/** A name's words, lower case: `userSessionId` → user, session, id; `AUTH_TOKEN` → auth, token. */
const words = (key: string): string[] =>
  key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);

/** The words after `session` that make it a session identifier (alone it is one too). */
const SESSION_SUFFIXES = new Set(['id', 'key', 'token', 'cookie']);

/**
 * Whether a field name is a secret: {@link SECRET_KEY}, or the word `auth` (`auth`, `authToken`,
 * `basicAuth`, not `author`), `sid`, or `session` last or before `id`/`key`/`token`/`cookie`
 * (`session`, `sessionId`, not `sessionCount`).
 */
function isSecret(key: string): boolean {
  if (SECRET_KEY.test(key)) return true;
  if (!SECRET_WORDISH.test(key)) return false;
  const list = words(key);
  for (let i = 0; i < list.length; i++) {
    const word = list[i]!;
    if (word === 'auth' || word === 'sid') return true;
    if (word === 'session' && (i === list.length - 1 || SESSION_SUFFIXES.has(list[i + 1]!))) {
      return true;
    }
  }
  return false;
}

/**
 * What a masked value is replaced with.
 *
 * @example
 * ```ts
 * redactSecrets({ user: 'ann', password: 'hunter2' }); // { user: 'ann', password: REDACTED }
 * ```
 */
export const REDACTED = '[REDACTED]';

/** Deeper objects are cut short, so a huge or deeply nested message cannot flood a log. */
const MAX_DEPTH = 6;

/**
 * The default redaction of logged payloads (`winstonLogging({ logPayloads: true })`): a copy of
 * the message in which the value of every field whose name looks like a secret is replaced by
 * `'[REDACTED]'` — names containing `password`/`passwd`/`passphrase`, `secret`, `token`,
 * `authorization`, `apiKey`/`api_key`, `accessKey`/`access_key`, `jwt`, `cookie`, `credential`,
 * `privateKey`; exactly `pass` or `pwd`; the word `auth` (`auth`, `authToken`, `basicAuth`, not
 * `author`) or `sid`; `session` as the last word or before `id`, `key`, `token` or `cookie`
 * (`session`, `sessionId`, `userSession`, not `sessionCount`) — at any depth. Arrays and objects
 * (class instances included, by their own enumerable fields) are copied. An object with a
 * `toJSON()` (an ORM model, a custom class) is replaced by what it returns, redacted in turn;
 * dates and buffers are kept as they are, and a `toJSON()` that throws gives
 * `'[toJSON failed]'`. Objects nested deeper than 6 levels become `'[Truncated]'`, cycles
 * `'[Circular]'`. The message itself is never modified.
 *
 * @param message - The message (or any value) to copy.
 * @example
 * ```ts
 * redactSecrets({ user: 'ann', password: 'hunter2', card: { token: 't' } });
 * // → { user: 'ann', password: '[REDACTED]', card: { token: '[REDACTED]' } }
 *
 * // Compose it with your own rules:
 * winstonLogging({ logPayloads: true, redact: (m, name) => (name === 'Login' ? undefined : redactSecrets(m)) });
 * ```
 */
export function redactSecrets(message: unknown): unknown {
  return copy(message, 0, new Set());
}

/** `toJSON` false: `value` is what a `toJSON()` returned, whose own `toJSON` JSON.stringify skips. */
function copy(value: unknown, depth: number, path: Set<object>, toJSON = true): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  if (path.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  path.add(value);
  let out: unknown;
  const method = toJSON ? (value as { toJSON?: unknown }).toJSON : undefined;
  if (typeof method === 'function') {
    // What JSON.stringify would write instead of the object: redact that (an object returning
    // itself is copied field by field below; one returning another that cycles back is cut).
    let json: unknown;
    try {
      json = (method as (key: string) => unknown).call(value, '');
    } catch {
      json = '[toJSON failed]';
    }
    if (json !== value) {
      out = copy(json, depth, path, false);
      path.delete(value);
      return out;
    }
  }
  if (Array.isArray(value)) {
    out = value.map((item) => copy(item, depth + 1, path));
  } else {
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      fields[key] = isSecret(key)
        ? REDACTED
        : copy((value as Record<string, unknown>)[key], depth + 1, path);
    }
    out = fields;
  }
  path.delete(value);
  return out;
}
