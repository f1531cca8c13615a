/**
 * `fs-mediator/winston`: structured winston logs of the mediator's calls and of its resilience
 * policies. Loaded only by applications that import this subpath (winston is an optional peer).
 *
 * @example
 * ```ts
 * import { winstonLogging } from 'fs-mediator/winston';
 * const mediator = createMediator({ handlers, behaviors: [winstonLogging()] });
 * ```
 */
export {
  winstonLogging,
  type WinstonLogging,
  type WinstonLoggingOptions,
  type WinstonLogLevels,
} from './winstonLogging.js';
export type { LevelSetting, PolicyEventLike, PolicyEventSource } from './policyRecord.js';
export { createDefaultLogger, defaultLogger } from './defaultLogger.js';
export { redactSecrets, REDACTED } from './redactSecrets.js';
export type { LoggedError } from './serializeError.js';
