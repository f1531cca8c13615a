import type { StreamPipelineOptions } from '../streaming/StreamPipelineOptions.js';
import type { CircuitBreakerOptions } from './circuitBreaker.js';
import type { MemoryGuardOptions } from './memoryGuard.js';
import type { RetryOptions } from './retry.js';
import {
  isDatabaseFailure,
  isHttpDependencyFailure,
  isTransientDatabaseError,
  isTransientHttpError,
} from './transientErrors.js';

/**
 * Ready-made `retry()` options, named after FS.Mediator's retry presets, with the values listed
 * in the README. Spread one and override what you need.
 *
 * - `Conservative`: 3 attempts, 500 ms fixed, 10 s budget: fail fast in front of users.
 * - `Aggressive`: 6 attempts, exponential from 200 ms with jitter, 2 min budget.
 * - `Database`: 4 attempts, exponential from 1 s with jitter, 30 s budget; retries only
 *   {@link isTransientDatabaseError} (deadlocks, serialization failures, lost connections).
 * - `HttpApi`: 5 attempts, exponential from 750 ms with jitter, 45 s budget; retries only
 *   {@link isTransientHttpError} (408, 425, 429, 500, 502, 503, 504, network errors), never
 *   another 4xx.
 *
 * @example
 * ```ts
 * createMediator({ handlers, behaviors: [retry({ ...RetryPresets.HttpApi, for: [GetQuote] })] });
 * ```
 */
export const RetryPresets = Object.freeze({
  Conservative: Object.freeze({
    maxAttempts: 3,
    backoff: 'fixed',
    delayMs: 500,
    jitter: false,
    budgetMs: 10_000,
  }),
  Aggressive: Object.freeze({
    maxAttempts: 6,
    backoff: 'exponential',
    delayMs: 200,
    jitter: true,
    budgetMs: 120_000,
  }),
  Database: Object.freeze({
    maxAttempts: 4,
    backoff: 'exponential',
    delayMs: 1_000,
    jitter: true,
    budgetMs: 30_000,
    shouldRetry: isTransientDatabaseError,
  }),
  HttpApi: Object.freeze({
    maxAttempts: 5,
    backoff: 'exponential',
    delayMs: 750,
    jitter: true,
    budgetMs: 45_000,
    shouldRetry: isTransientHttpError,
  }),
} as const satisfies Record<string, RetryOptions>);

/**
 * Ready-made `circuitBreaker()` options, named after FS.Mediator's presets, with the values
 * listed in the README (ratios where FS.Mediator used percentages).
 *
 * @example
 * ```ts
 * circuitBreaker({ ...CircuitBreakerPresets.ExternalApi, for: [GetQuote] });
 * ```
 */
export const CircuitBreakerPresets = Object.freeze({
  Sensitive: Object.freeze({
    failureRatio: 0.3,
    minimumThroughput: 3,
    samplingWindowMs: 30_000,
    breakDurationMs: 15_000,
    halfOpenMaxTrials: 2,
  }),
  Balanced: Object.freeze({
    failureRatio: 0.5,
    minimumThroughput: 5,
    samplingWindowMs: 60_000,
    breakDurationMs: 30_000,
    halfOpenMaxTrials: 3,
  }),
  Resilient: Object.freeze({
    failureRatio: 0.7,
    minimumThroughput: 10,
    samplingWindowMs: 120_000,
    breakDurationMs: 60_000,
    halfOpenMaxTrials: 5,
  }),
  Database: Object.freeze({
    failureRatio: 0.4,
    minimumThroughput: 5,
    samplingWindowMs: 60_000,
    breakDurationMs: 45_000,
    halfOpenMaxTrials: 2,
    isFailure: isDatabaseFailure,
  }),
  ExternalApi: Object.freeze({
    failureRatio: 0.6,
    minimumThroughput: 8,
    samplingWindowMs: 180_000,
    breakDurationMs: 60_000,
    halfOpenMaxTrials: 3,
    isFailure: isHttpDependencyFailure,
  }),
} as const satisfies Record<string, CircuitBreakerOptions>);

/**
 * Ready-made stream pipeline settings (`createMediator({ streams })` or per `createStream()`
 * call), named after FS.Mediator's backpressure presets. A pull source (generator,
 * AsyncIterable) is always paced by its consumer whatever the preset; the buffer and its
 * overflow strategy apply to push sources (Observables, Subjects, sockets). Lossy presets count
 * every drop (see `StreamMonitor`).
 *
 * @example
 * ```ts
 * createMediator({ handlers, streams: BackpressurePresets.RealTime });
 * mediator.createStream(new ExportOrders(), BackpressurePresets.NoDataLoss);
 * ```
 */
export const BackpressurePresets = Object.freeze({
  NoDataLoss: Object.freeze({ bufferCapacity: 50_000, overflow: 'error' }),
  HighThroughput: Object.freeze({
    bufferCapacity: 10_000,
    overflow: 'dropNewest',
    batchSize: 500,
    maxDegreeOfParallelism: 8,
  }),
  MemoryConstrained: Object.freeze({
    bufferCapacity: 1_000,
    overflow: 'dropOldest',
    batchSize: 50,
    maxDegreeOfParallelism: 2,
  }),
  RealTime: Object.freeze({ bufferCapacity: 5_000, overflow: 'dropOldest', batchSize: 10 }),
  Analytics: Object.freeze({ bufferCapacity: 25_000, overflow: 'error', batchSize: 1_000 }),
  Balanced: Object.freeze({ bufferCapacity: 10_000, overflow: 'error' }),
} as const satisfies Record<string, StreamPipelineOptions>);

/**
 * Ready-made `memoryGuard()` options, named after FS.Mediator's resource-management presets
 * (whose limits only logged and forced garbage collections; these refuse or pause work).
 *
 * @example
 * ```ts
 * createMediator({ handlers, behaviors: [memoryGuard(ResourceLimitPresets.MemoryConstrained)] });
 * ```
 */
export const ResourceLimitPresets = Object.freeze({
  MemoryConstrained: Object.freeze({
    highWaterBytes: 256_000_000,
    lowWaterBytes: 192_000_000,
    mode: 'pause',
    checkIntervalMs: 100,
  }),
  Balanced: Object.freeze({
    highWaterBytes: 512_000_000,
    lowWaterBytes: 400_000_000,
    mode: 'reject',
    checkIntervalMs: 250,
  }),
  HighPerformance: Object.freeze({
    highWaterBytes: 1_000_000_000,
    lowWaterBytes: 800_000_000,
    mode: 'reject',
    checkIntervalMs: 1_000,
  }),
  Development: Object.freeze({
    highWaterBytes: 2_000_000_000,
    lowWaterBytes: 1_600_000_000,
    mode: 'reject',
    checkIntervalMs: 1_000,
  }),
} as const satisfies Record<string, MemoryGuardOptions>);
