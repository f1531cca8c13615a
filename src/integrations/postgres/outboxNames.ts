import { checkObject, show } from '../../errors/validate.js';
import { IDENTIFIER } from './Database.js';

/** Where the outbox lives. Shared by every function of this module that touches it. */
export interface OutboxOptions {
  /** The schema of the outbox and cursor tables (created when missing). Default: `'public'`. */
  readonly schema?: string;
  /**
   * The outbox table's name. The cursor table is `<table>_cursors`, the trigger functions
   * `<table>_capture()` and `<table>_notify()`, and the NOTIFY channel `<table>`. Plain lower-case
   * identifiers only. Default: `'outbox'`.
   */
  readonly table?: string;
}

/** @internal The qualified names of one outbox. */
export interface OutboxNames {
  readonly schema: string;
  readonly table: string;
  readonly outbox: string;
  readonly cursors: string;
  readonly capture: string;
  readonly notify: string;
  readonly channel: string;
}

/** @internal Validates a name: a lower-case identifier, optionally `schema.name`. */
export function checkIdentifier(option: string, value: unknown, qualified = false): string {
  if (typeof value !== 'string') {
    throw new TypeError(`Option '${option}' must be a string, got ${show(value)}.`);
  }
  const parts = qualified ? value.split('.') : [value];
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw new RangeError(
      `Option '${option}' must be a lower-case SQL identifier${qualified ? ' (optionally schema.name)' : ''}, got ${show(value)}.`,
    );
  }
  return value;
}

/** @internal */
export function outboxNames(options: OutboxOptions = {}): OutboxNames {
  checkObject('options', options);
  const schema = checkIdentifier('schema', options.schema ?? 'public');
  const table = checkIdentifier('table', options.table ?? 'outbox');
  if (table.length > 54) {
    throw new RangeError(`Option 'table' must be at most 54 characters long, got ${show(table)}.`);
  }
  return {
    schema,
    table,
    outbox: `${schema}.${table}`,
    cursors: `${schema}.${table}_cursors`,
    capture: `${schema}.${table}_capture`,
    notify: `${schema}.${table}_notify`,
    channel: table,
  };
}

/** @internal A SQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
