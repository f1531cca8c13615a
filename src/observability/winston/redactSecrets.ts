/** Field names whose values {@link redactSecrets} masks (matched case-insensitively). */
const SECRET_KEY =
  /passw(?:or)?d|passphrase|^pass$|^pwd$|secret|token|authori[sz]ation|api[-_]?key|cookie|credential|private[-_]?key/i;

/** What a masked value is replaced with. */
export const REDACTED = '[REDACTED]';

/** Deeper objects are cut short, so a huge or deeply nested message cannot flood a log. */
const MAX_DEPTH = 6;

/**
 * The default redaction of logged payloads (`winstonLogging({ logPayloads: true })`): a copy of
 * the message in which the value of every field whose name looks like a secret is replaced by
 * `'[REDACTED]'` — names containing `password`/`passwd`/`passphrase`, `secret`, `token`,
 * `authorization`, `apiKey`/`api_key`, `cookie`, `credential`, `privateKey`, or exactly `pass`
 * or `pwd` — at any depth. Arrays and objects (class instances included, by their own enumerable
 * fields) are copied; objects with a `toJSON` (dates, buffers) and other values are kept as they
 * are. Objects nested deeper than 6 levels become `'[Truncated]'`, cycles `'[Circular]'`. The
 * message itself is never modified.
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

function copy(value: unknown, depth: number, path: Set<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (path.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  path.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((item) => copy(item, depth + 1, path));
  } else {
    const fields: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      fields[key] = SECRET_KEY.test(key)
        ? REDACTED
        : copy((value as Record<string, unknown>)[key], depth + 1, path);
    }
    out = fields;
  }
  path.delete(value);
  return out;
}
