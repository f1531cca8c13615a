import type { Observable } from 'rxjs';
import type { HandlerContext } from '../../core/HandlerContext.js';
import { serializeError } from './serializeError.js';

/**
 * What {@link winstonLogging} needs of a resilience policy's event: every policy of
 * `src/behaviors` (retry, circuitBreaker, timeout, bulkhead, rateLimit, memoryGuard,
 * deadLetters) fits, and so does any source of events shaped like theirs.
 *
 * @example
 * ```ts
 * const custom: PolicyEventSource = { events: of({ type: 'reject', policy: 'quota', messageName: 'Export' }) };
 * ```
 */
export interface PolicyEventSource {
  readonly events: Observable<PolicyEventLike>;
}

/** The fields a policy event is read by; other scalar fields are copied into the record. */
export interface PolicyEventLike {
  readonly type: string;
  readonly policy: string;
  readonly messageName?: string | undefined;
  readonly context?: HandlerContext | undefined;
}

/** A level name of the logger, or `false` for "never log". */
export type LevelSetting = string | false;

/**
 * Default levels of policy events, by `type`; `'*'` is for types not listed.
 * @internal
 */
export const DEFAULT_POLICY_LEVELS: Readonly<Record<string, LevelSetting>> = {
  retry: 'warn',
  giveUp: 'error',
  break: 'warn',
  halfOpen: 'info',
  reset: 'info',
  stateChange: false,
  reject: 'warn',
  timeout: 'warn',
  queued: 'debug',
  admitted: 'debug',
  wait: 'debug',
  trip: 'warn',
  clear: 'info',
  pause: 'debug',
  resume: 'debug',
  deadLetter: 'error',
  dropped: 'warn',
  storeError: 'error',
  replayed: 'info',
  '*': 'info',
};

/** The record's `message` for each known type; unknown types use the type itself. */
const TEXT: Readonly<Record<string, string>> = {
  retry: 'retrying',
  giveUp: 'gave up retrying',
  break: 'circuit opened',
  halfOpen: 'circuit half-open',
  reset: 'circuit closed',
  stateChange: 'circuit state changed',
  reject: 'call rejected',
  timeout: 'call timed out',
  queued: 'call queued',
  admitted: 'call admitted',
  wait: 'waiting for rate limit',
  trip: 'memory guard tripped',
  clear: 'memory guard cleared',
  pause: 'stream paused for memory',
  resume: 'stream resumed',
  deadLetter: 'dead letter recorded',
  dropped: 'dead letter dropped',
  storeError: 'dead letter store error',
  replayed: 'dead letter replayed',
};

/** Fields read explicitly, or that would clash with winston's own (`level`, `message`). */
const SKIPPED = new Set([
  'type',
  'policy',
  'messageName',
  'context',
  'error',
  'letter',
  'level',
  'message',
]);

/**
 * The log record of a policy event: `message`, `event` (its type), `policy`, `messageName`,
 * `correlationId` (of the call behind it, or of the dead letter), the event's own scalar fields
 * (`attempt`, `delayMs`, `reason`, `key`, `retryAfterMs`, `heapUsedBytes`…), `error`, and for
 * dead-letter events `letterId`, `letterKind`, `attempts`.
 * @internal
 */
export function policyRecord(
  event: PolicyEventLike,
  level: string,
  withStack: boolean,
): Record<string, unknown> {
  const record: Record<string, unknown> = {
    level,
    message: TEXT[event.type] ?? event.type,
    event: event.type,
    policy: event.policy,
  };
  if (event.messageName !== undefined) record.messageName = event.messageName;
  if (event.context !== undefined) record.correlationId = event.context.correlationId;
  const fields = event as unknown as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (SKIPPED.has(key)) continue;
    const value = fields[key];
    const kind = typeof value;
    if (kind === 'string' || kind === 'number' || kind === 'boolean') record[key] = value;
  }
  const letter = fields.letter as Record<string, unknown> | undefined;
  if (typeof letter === 'object' && letter !== null) {
    record.letterId = letter.id;
    record.letterKind = letter.kind;
    record.attempts ??= letter.attempts;
    if (record.correlationId === undefined && letter.correlationId !== undefined) {
      record.correlationId = letter.correlationId;
    }
  }
  if (fields.error !== undefined) record.error = serializeError(fields.error, withStack);
  else if (typeof letter?.error === 'object' && letter.error !== null) {
    const { stack, ...rest } = letter.error as Record<string, unknown>;
    record.error = withStack && stack !== undefined ? { ...rest, stack } : rest;
  }
  return record;
}
