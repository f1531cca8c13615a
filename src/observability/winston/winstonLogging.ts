import type { Observable, Subscription } from 'rxjs';
import type { BehaviorRegistration, BehaviorSet } from '../../core/Behavior.js';
import type { MessageClass } from '../../core/types.js';
import { checkFunction, checkObject, show } from '../../errors/validate.js';
import { instrument } from '../instrument.js';
import type { MediatorEvent } from '../MediatorEvent.js';
import winston from 'winston';
import type { Logger } from 'winston';
import { defaultLogger } from './defaultLogger.js';
import { LevelGate } from './LevelGate.js';
import {
  DEFAULT_POLICY_LEVELS,
  policyRecord,
  type LevelSetting,
  type PolicyEventLike,
  type PolicyEventSource,
} from './policyRecord.js';
import { redactSecrets } from './redactSecrets.js';
import { serializeError } from './serializeError.js';

/**
 * The level of each kind of call record (a logger level name, or `false` to never log it).
 *
 * @example
 * ```ts
 * const levels: WinstonLogLevels = { success: 'info', cancelled: 'debug', start: 'debug' };
 * ```
 */
export interface WinstonLogLevels {
  /** A request or notification handler succeeded; a stream completed. Default: `'debug'`. */
  readonly success?: LevelSetting;
  /** A request, stream or notification handler failed. Default: `'error'`. */
  readonly failure?: LevelSetting;
  /** A call was cancelled (its caller aborted; a stream's consumer left early). Default: `'info'`. */
  readonly cancelled?: LevelSetting;
  /** A long stream's periodic progress report. Default: `'info'`. */
  readonly progress?: LevelSetting;
  /** A request or stream started; a stream's first item arrived. Default: `false` (not logged). */
  readonly start?: LevelSetting;
}

/**
 * Options of {@link winstonLogging}.
 *
 * @example
 * ```ts
 * const options: WinstonLoggingOptions = { logger, policies: [breaker], levels: { success: 'info' } };
 * ```
 */
export interface WinstonLoggingOptions {
  /**
   * The instrumentation whose events are logged: anything with `events:
   * Observable<MediatorEvent>`, typically the `instrument()` layer the metrics adapter also
   * reads. Register that one in the mediator's `behaviors` yourself; the logging's own
   * `behaviors` are then empty. Default: a new `instrument({ progress, for, name })`, whose
   * behaviors the logging carries, so `behaviors: [logging]` is all it takes.
   */
  readonly instrumentation?: { readonly events: Observable<MediatorEvent> };
  /**
   * When to report a long stream's progress (only for the instrumentation it creates; a given
   * one reports as configured). Default: `instrument()`'s default.
   */
  readonly progress?: { readonly everyItems?: number; readonly everyMs?: number };
  /** Instrument only these message classes (only for the instrumentation it creates). Default: all. */
  readonly for?: readonly MessageClass[];
  /** The name of the instrumentation it creates. Default: `instrument()`'s default. */
  readonly name?: string;
  /**
   * Resilience policies whose events are logged too (retry, circuitBreaker, timeout, bulkhead,
   * rateLimit, memoryGuard, deadLetters, or anything with events of that shape). Default: none.
   */
  readonly policies?: readonly PolicyEventSource[];
  /**
   * Where records go: any winston `Logger` (a child logger too). Default: {@link defaultLogger},
   * a shared JSON-to-stdout logger at `LOG_LEVEL` or `'info'`, created on first use.
   */
  readonly logger?: Logger;
  /** Levels of call records; see {@link WinstonLogLevels} for each default. */
  readonly levels?: WinstonLogLevels;
  /**
   * Levels of policy events by event `type`, merged over the defaults: `retry` warn, `giveUp`
   * error, `break` warn, `halfOpen` info, `reset` info, `stateChange` false, `reject` warn,
   * `timeout` warn, `queued`/`admitted`/`wait`/`pause`/`resume` debug, `trip` warn, `clear` info,
   * `deadLetter` error, `dropped` warn, `storeError` error, `replayed` info; `'*'` (any other
   * type) info.
   */
  readonly policyLevels?: Readonly<Record<string, LevelSetting>>;
  /**
   * Log each call's message (request, stream request, notification) as `payload`, passed
   * through `redact` first. Default: false — payloads often hold personal data or secrets.
   */
  readonly logPayloads?: boolean;
  /**
   * What of a message to log when `logPayloads` is on; its result is the record's `payload`
   * (return `undefined` to leave it out). Called only for records that are written. If it
   * throws, the record gets `payload: '[redact failed]'`. Default: {@link redactSecrets}, which
   * masks fields named like secrets (password, token, authorization, apiKey, cookie…).
   */
  readonly redact?: (message: unknown, messageName: string) => unknown;
  /** Include stacks in logged errors (never for cancellations). Default: true. */
  readonly errorStacks?: boolean;
}

/**
 * What {@link winstonLogging} returns: a behavior set (the instrumentation it created, or none)
 * for the mediator's `behaviors`, and a way to stop logging.
 *
 * @example
 * ```ts
 * const logging = winstonLogging({ logger });
 * const mediator = createMediator({ handlers, behaviors: [logging] });
 * process.on('SIGTERM', () => logging.close());
 * ```
 */
export interface WinstonLogging extends BehaviorSet {
  /** The instrumentation whose events are logged: the one given, or the one created. */
  readonly instrumentation: { readonly events: Observable<MediatorEvent> };
  /** The logger records go to (reading it creates the default logger if none was given). */
  readonly logger: Logger;
  /** Stops logging: unsubscribes from the instrumentation and every policy. Idempotent. */
  close(): void;
}

const LEVEL_KEYS = ['success', 'failure', 'cancelled', 'progress', 'start'] as const;
const DEFAULT_LEVELS: Required<WinstonLogLevels> = {
  success: 'debug',
  failure: 'error',
  cancelled: 'info',
  progress: 'info',
  start: false,
};

const REQUEST_TEXT = {
  success: 'request succeeded',
  failure: 'request failed',
  cancelled: 'request cancelled',
};
const STREAM_TEXT = {
  completed: 'stream completed',
  failed: 'stream failed',
  cancelled: 'stream cancelled',
};
const NOTIFICATION_TEXT = {
  success: 'notification handled',
  failure: 'notification handler failed',
  cancelled: 'notification handler cancelled',
};

/**
 * Structured winston logs of what the mediator does (issue 6, point 3): one JSON record per
 * request, stream and notification handler run that ends, per progress report of a long stream,
 * and per resilience-policy event — never one per stream item.
 *
 * Every call record has `message` (a short text such as `'request failed'`), `event` (the
 * instrumentation event's type), `messageName`, `correlationId`, `outcome`, `durationMs`
 * (milliseconds, to the microsecond), and on failures `error` (`name`, `message`, `stack`,
 * `code`, `cause`; cancellations carry no stack). Streams add `items` and `itemsPerSecond`;
 * progress records `items`, `itemsSinceLast`, `elapsedMs`, `itemsPerSecond`; notification
 * records `handlerName`. Payloads are logged only with `logPayloads`, through `redact`.
 *
 * Levels: successes at `debug`, failures at `error`, cancellations and progress at `info`,
 * starts not at all (see {@link WinstonLogLevels}); policy events per `policyLevels`. A record
 * whose level the logger would drop is never built: the level is checked first, with the
 * logger's answer cached until its `level`, `silent` or transports change, so at level `warn` a
 * successful call costs a few property reads and a switch (about 20 ns over a subscriber that
 * does nothing, measured here).
 *
 * Two ways to use it: pass the `instrumentation` the metrics adapter shares (and register it
 * yourself), or give none and put the logging itself in `behaviors`, which then carries a new
 * `instrument()`. It subscribes at once; `close()` unsubscribes.
 *
 * @param options - See {@link WinstonLoggingOptions}.
 * @example
 * ```ts
 * import { createMediator, instrument, retry, circuitBreaker } from 'fs-mediator';
 * import { winstonLogging } from 'fs-mediator/winston';
 *
 * const telemetry = instrument({ progress: { everyItems: 10_000, everyMs: 5_000 } });
 * const retries = retry({ maxAttempts: 3 });
 * const breaker = circuitBreaker();
 * const logging = winstonLogging({ instrumentation: telemetry, policies: [retries, breaker] });
 * const mediator = createMediator({ handlers, behaviors: [telemetry, retries, breaker] });
 * ```
 */
export function winstonLogging(options: WinstonLoggingOptions = {}): WinstonLogging {
  checkObject('options', options);
  const given = options.instrumentation;
  if (given !== undefined) {
    checkEvents('instrumentation', given);
    for (const key of ['progress', 'for', 'name'] as const) {
      if (options[key] !== undefined) {
        throw new TypeError(
          `Option '${key}' of winstonLogging() applies only to the instrumentation it creates; configure the 'instrumentation' you pass instead.`,
        );
      }
    }
  }
  const policies: readonly PolicyEventSource[] = options.policies ?? [];
  if (!Array.isArray(options.policies ?? [])) {
    throw new TypeError(`Option 'policies' must be an array, got ${show(policies)}.`);
  }
  policies.forEach((policy, i) => checkEvents(`policies[${i}]`, policy));
  const injected = options.logger;
  if (injected !== undefined) checkLogger(injected);
  const known = levelNames(injected);
  checkObject('levels', options.levels);
  const givenLevels: Record<string, unknown> = { ...options.levels };
  for (const key of Object.keys(givenLevels)) {
    if (!(LEVEL_KEYS as readonly string[]).includes(key)) {
      throw new TypeError(
        `Option 'levels' has no field '${key}'; its fields are ${LEVEL_KEYS.map((k) => `'${k}'`).join(', ')}.`,
      );
    }
  }
  const levels = { ...DEFAULT_LEVELS };
  for (const key of LEVEL_KEYS) {
    const option = `levels.${key}`;
    const value = givenLevels[key];
    levels[key] =
      value === undefined
        ? defaultLevel(option, levels[key], known)
        : checkLevel(option, value, known);
  }
  checkObject('policyLevels', options.policyLevels);
  const givenPolicyLevels: Record<string, unknown> = { ...options.policyLevels };
  const policyLevels: Record<string, LevelSetting> = {};
  for (const [type, value] of Object.entries(givenPolicyLevels)) {
    if (value !== undefined) policyLevels[type] = checkLevel(`policyLevels.${type}`, value, known);
  }
  const other = policyLevels['*'];
  for (const [type, level] of Object.entries(DEFAULT_POLICY_LEVELS)) {
    // A default the logger lacks falls back to a '*' the user gave, if any.
    policyLevels[type] ??=
      other !== undefined && !knows(known, level)
        ? other
        : defaultLevel(`policyLevels.${type}`, level, known);
  }
  const logPayloads = checkBoolean('logPayloads', options.logPayloads) ?? false;
  checkFunction('redact', options.redact);
  const errorStacks = checkBoolean('errorStacks', options.errorStacks) ?? true;

  let instrumentation: { readonly events: Observable<MediatorEvent> };
  let behaviors: readonly BehaviorRegistration[] = [];
  if (given !== undefined) instrumentation = given;
  else {
    const created = instrument({
      ...(options.progress !== undefined && { progress: options.progress }),
      ...(options.for !== undefined && { for: options.for }),
      ...(options.name !== undefined && { name: options.name }),
    });
    instrumentation = created;
    behaviors = created.behaviors;
  }

  const writer = new RecordWriter(
    injected,
    levels,
    policyLevels,
    logPayloads ? (options.redact ?? redactSecrets) : undefined,
    errorStacks,
  );
  const subscriptions: Subscription[] = [
    instrumentation.events.subscribe((event) => writer.onEvent(event)),
    ...policies.map((policy) => policy.events.subscribe((event) => writer.onPolicyEvent(event))),
  ];
  return {
    behaviors,
    instrumentation,
    get logger() {
      return writer.logger;
    },
    close() {
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}

/** Turns events into records, building each only when its level is enabled. */
class RecordWriter {
  #logger: Logger | undefined;
  #levelGate: LevelGate | undefined;
  readonly #success: LevelSetting;
  readonly #failure: LevelSetting;
  readonly #cancelled: LevelSetting;
  readonly #progress: LevelSetting;
  readonly #start: LevelSetting;
  // Whether each of those is written, as of the gate's last refresh.
  #successOn = false;
  #failureOn = false;
  #cancelledOn = false;
  #progressOn = false;
  #startOn = false;

  constructor(
    logger: Logger | undefined,
    levels: Required<WinstonLogLevels>,
    readonly policyLevels: Readonly<Record<string, LevelSetting>>,
    readonly redact: ((message: unknown, messageName: string) => unknown) | undefined,
    readonly stacks: boolean,
  ) {
    this.#logger = logger;
    this.#success = levels.success;
    this.#failure = levels.failure;
    this.#cancelled = levels.cancelled;
    this.#progress = levels.progress;
    this.#start = levels.start;
  }

  get logger(): Logger {
    return (this.#logger ??= defaultLogger());
  }

  /** The level gate, refreshed: a few property reads unless the logger's levels changed. */
  #gate(): LevelGate {
    const gate = (this.#levelGate ??= new LevelGate(this.logger));
    if (gate.refresh()) {
      this.#successOn = gate.enabled(this.#success);
      this.#failureOn = gate.enabled(this.#failure);
      this.#cancelledOn = gate.enabled(this.#cancelled);
      this.#progressOn = gate.enabled(this.#progress);
      this.#startOn = gate.enabled(this.#start);
    }
    return gate;
  }

  onEvent(event: MediatorEvent): void {
    this.#gate();
    switch (event.type) {
      case 'requestEnd':
      case 'notificationEnd': {
        const outcome = event.outcome;
        if (!this.#outcomeOn(outcome)) return;
        this.#write(
          event,
          this.#outcomeLevel(outcome),
          {
            outcome,
            durationMs: round(event.durationMs),
            ...(event.type === 'notificationEnd' && { handlerName: event.handlerName }),
          },
          event.type === 'requestEnd' ? REQUEST_TEXT[outcome] : NOTIFICATION_TEXT[outcome],
          event.error,
          outcome,
        );
        return;
      }
      case 'streamEnd': {
        const outcome =
          event.outcome === 'completed'
            ? 'success'
            : event.outcome === 'failed'
              ? 'failure'
              : 'cancelled';
        if (!this.#outcomeOn(outcome)) return;
        this.#write(
          event,
          this.#outcomeLevel(outcome),
          {
            outcome: event.outcome,
            durationMs: round(event.durationMs),
            items: event.items,
            ...rate(event.items, event.durationMs),
          },
          STREAM_TEXT[event.outcome],
          event.error,
          outcome,
        );
        return;
      }
      case 'streamProgress':
        if (!this.#progressOn) return;
        this.#write(
          event,
          this.#progress as string,
          {
            items: event.items,
            itemsSinceLast: event.itemsSinceLast,
            elapsedMs: round(event.elapsedMs),
            ...rate(event.items, event.elapsedMs),
          },
          'stream progress',
        );
        return;
      case 'requestStart':
      case 'streamStart':
        if (!this.#startOn) return;
        this.#write(
          event,
          this.#start as string,
          {},
          event.type === 'requestStart' ? 'request started' : 'stream started',
        );
        return;
      case 'streamFirstItem':
        if (!this.#startOn) return;
        this.#write(
          event,
          this.#start as string,
          { afterMs: round(event.afterMs) },
          'stream first item',
        );
        return;
    }
  }

  onPolicyEvent(event: PolicyEventLike): void {
    const level = this.policyLevels[event.type] ?? this.policyLevels['*'] ?? false;
    if (level === false || !this.#gate().enabled(level)) return;
    this.logger.log(policyRecord(event, level, this.stacks) as unknown as winston.LogEntry);
  }

  #outcomeOn(outcome: 'success' | 'failure' | 'cancelled'): boolean {
    return outcome === 'success'
      ? this.#successOn
      : outcome === 'failure'
        ? this.#failureOn
        : this.#cancelledOn;
  }

  /** The level of an outcome that {@link #outcomeOn} said is written (so not `false`). */
  #outcomeLevel(outcome: 'success' | 'failure' | 'cancelled'): string {
    return (
      outcome === 'success'
        ? this.#success
        : outcome === 'failure'
          ? this.#failure
          : this.#cancelled
    ) as string;
  }

  #write(
    event: MediatorEvent,
    level: string,
    fields: Record<string, unknown>,
    text: string,
    error?: unknown,
    outcome?: string,
  ): void {
    const record: Record<string, unknown> = {
      level,
      message: text,
      event: event.type,
      messageName: event.messageName,
      correlationId: event.context.correlationId,
      ...fields,
    };
    if (error !== undefined) {
      record.error = serializeError(error, this.stacks && outcome !== 'cancelled');
    }
    const redact = this.redact;
    if (redact !== undefined) {
      let payload: unknown;
      try {
        payload = redact(event.message, event.messageName);
      } catch {
        payload = '[redact failed]';
      }
      if (payload !== undefined) record.payload = payload;
    }
    this.logger.log(record as unknown as winston.LogEntry);
  }
}

/** Milliseconds to the microsecond: enough for logs, without float noise. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function rate(items: number, ms: number): { itemsPerSecond?: number } {
  return ms > 0 ? { itemsPerSecond: Math.round((items * 1000) / ms) } : {};
}

function checkBoolean(option: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw new TypeError(`Option '${option}' must be a boolean, got ${show(value)}.`);
}

function checkEvents(option: string, value: unknown): void {
  const events = (value as { events?: { subscribe?: unknown } } | null)?.events;
  if (typeof events?.subscribe !== 'function') {
    throw new TypeError(`Option '${option}' must have an 'events' Observable, got ${show(value)}.`);
  }
}

function checkLogger(value: unknown): void {
  const logger = value as Partial<Logger> | null;
  if (typeof logger?.log !== 'function' || typeof logger.isLevelEnabled !== 'function') {
    throw new TypeError(
      `Option 'logger' must be a winston Logger (with log() and isLevelEnabled()), got ${show(value)}.`,
    );
  }
}

/** The level names a logger knows (npm's for the default logger). */
function levelNames(logger: Logger | undefined): readonly string[] {
  const levels = logger?.levels;
  return Object.keys(
    typeof levels === 'object' && levels !== null ? levels : winston.config.npm.levels,
  );
}

/**
 * A default level the logger knows: as is, `'warn'` as `'warning'` for syslog-style levels, or an
 * error asking for the option to be set (rather than records that silently never appear).
 */
function defaultLevel(option: string, level: LevelSetting, known: readonly string[]): LevelSetting {
  if (level === false || known.includes(level)) return level;
  if (knows(known, level)) return 'warning';
  throw new RangeError(
    `The default level '${level}' of option '${option}' is not one of the logger's levels (${known.map((l) => `'${l}'`).join(', ')}); set '${option}'.`,
  );
}

/** Whether {@link defaultLevel} can place `level` on a logger with these levels. */
function knows(known: readonly string[], level: LevelSetting): boolean {
  return (
    level === false || known.includes(level) || (level === 'warn' && known.includes('warning'))
  );
}

function checkLevel(option: string, value: unknown, known: readonly string[]): LevelSetting {
  if (value === false) return false;
  if (typeof value !== 'string') {
    throw new TypeError(`Option '${option}' must be a level name or false, got ${show(value)}.`);
  }
  if (!known.includes(value)) {
    throw new RangeError(
      `Option '${option}' must be one of the logger's levels (${known.map((l) => `'${l}'`).join(', ')}) or false, got ${show(value)}.`,
    );
  }
  return value;
}
