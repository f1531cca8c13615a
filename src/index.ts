/**
 * fs-mediator: a reactive mediator for Node.js. Requests, streams and notifications dispatched
 * to typed handlers through pipeline behaviors, consumed as Promises, AsyncIterables or
 * Observables.
 * @packageDocumentation
 */

// Messages
export { Query } from './core/Query.js';
export { Command } from './core/Command.js';
export { StreamRequest } from './core/StreamRequest.js';
export { Notification } from './core/Notification.js';
export { MessageName, messageNameOf } from './core/MessageName.js';
export type {
  ItemOf,
  MaybePromise,
  Message,
  MessageClass,
  NotificationMessage,
  RequestMessage,
  RequestResult,
  ResultOf,
  StreamMessage,
  StreamSource,
} from './core/types.js';

// Handlers
export { handler } from './core/Handler.js';
export type {
  HandlerFor,
  HandlerFunction,
  HandlerOptions,
  HandlerRegistration,
  NotificationHandler,
  RequestHandler,
  StreamHandler,
} from './core/Handler.js';
export { Handles, handledMessagesOf } from './core/Handles.js';
export type { CallOptions, HandlerContext } from './core/HandlerContext.js';

// Behaviors
export { notificationBehavior, requestBehavior, streamBehavior } from './core/Behavior.js';
export type {
  Behavior,
  BehaviorOptions,
  BehaviorRegistration,
  BehaviorSet,
  NextOptions,
  NotificationBehavior,
  RequestBehavior,
  StreamBehavior,
} from './core/Behavior.js';
export { interceptRequest } from './core/interceptRequest.js';
export type { RequestInterceptor } from './core/interceptRequest.js';

// The mediator
export { Mediator } from './core/Mediator.js';
export type {
  BackgroundErrorInfo,
  MediatorOptions,
  PublishOptions,
  StreamOptions,
} from './core/Mediator.js';
export type { PublishStrategy } from './core/publishToHandlers.js';
export { createMediator } from './core/createMediator.js';
export { MediatorStream } from './core/MediatorStream.js';

// Streaming
export { pullable } from './streaming/pullable.js';
export { toAsyncIterable } from './streaming/toAsyncIterable.js';
export type { ToAsyncIterableOptions } from './streaming/toAsyncIterable.js';
export type { OverflowStrategy } from './streaming/OverflowStrategy.js';
export type { StreamPipelineOptions } from './streaming/StreamPipelineOptions.js';
export type { StageContext, StreamOperator } from './streaming/StreamOperator.js';
export { StreamMonitor } from './streaming/StreamMonitor.js';
export type { DropTotal, StageStats } from './streaming/StreamMonitor.js';

// Stream operators
export { batch } from './operators/batch.js';
export { memoize } from './operators/memoize.js';
export type { MemoizeOptions, MemoizeRegistration } from './operators/memoize.js';
export type { BatchOptions } from './operators/batch.js';
export { parallel } from './operators/parallel.js';
export type { ParallelOptions, TaskContext } from './operators/parallel.js';
export { streamTimeout } from './operators/streamTimeout.js';
export type { StreamTimeoutOptions } from './operators/streamTimeout.js';
export { tryMap } from './operators/tryMap.js';
export type {
  TryMapContext,
  TryMapFailure,
  TryMapOptions,
  TryMapRetryOptions,
} from './operators/tryMap.js';

// Resilience policies (behavior sets; documented order, outermost first:
// memoryGuard → deadLetters → retry → circuitBreaker → bulkhead → rateLimit → timeout → handler)
export { retry } from './behaviors/retry.js';
export type {
  RetryAttemptEvent,
  RetryContext,
  RetryEvent,
  RetryGiveUpEvent,
  RetryGiveUpReason,
  RetryOptions,
  RetryPolicy,
  RetryStreamOptions,
  RetryStreamPosition,
} from './behaviors/retry.js';
export { circuitBreaker } from './behaviors/circuitBreaker.js';
export type {
  CircuitBreakEvent,
  CircuitBreakReason,
  CircuitBreakerEvent,
  CircuitBreakerOptions,
  CircuitBreakerPolicy,
  CircuitHalfOpenEvent,
  CircuitRejectEvent,
  CircuitResetEvent,
  CircuitSnapshot,
  CircuitState,
  CircuitStateChangeEvent,
} from './behaviors/circuitBreaker.js';
export { timeout } from './behaviors/timeout.js';
export type { TimeoutEvent, TimeoutOptions, TimeoutPolicy } from './behaviors/timeout.js';
export { bulkhead } from './behaviors/bulkhead.js';
export type {
  BulkheadEvent,
  BulkheadOptions,
  BulkheadPolicy,
  BulkheadScope,
  BulkheadStats,
  BulkheadTotals,
} from './behaviors/bulkhead.js';
export { rateLimit } from './behaviors/rateLimit.js';
export type {
  RateLimitEvent,
  RateLimitOptions,
  RateLimitPolicy,
  RateLimitStats,
} from './behaviors/rateLimit.js';
export { memoryGuard } from './behaviors/memoryGuard.js';
export type {
  MemoryGuardEvent,
  MemoryGuardOptions,
  MemoryGuardPolicy,
  MemoryGuardState,
  MemoryGuardStats,
} from './behaviors/memoryGuard.js';
export { deadLetters } from './behaviors/deadLetters.js';
export type {
  DeadLetterEvent,
  DeadLetterOptions,
  DeadLetterPolicy,
  DeadLetterStats,
  ItemErrorOptions,
  ReplayOptions,
  ReplayResult,
  ReplayTarget,
} from './behaviors/deadLetters.js';
export type {
  AppendResult,
  DeadLetter,
  DeadLetterError,
  DeadLetterKind,
  DeadLetterQuery,
  DeadLetterStore,
} from './behaviors/DeadLetter.js';
export { MemoryDeadLetterStore } from './behaviors/MemoryDeadLetterStore.js';
export type { MemoryDeadLetterStoreOptions } from './behaviors/MemoryDeadLetterStore.js';
export { FileDeadLetterStore } from './behaviors/FileDeadLetterStore.js';
export type { CompactResult, FileDeadLetterStoreOptions } from './behaviors/FileDeadLetterStore.js';
export {
  BackpressurePresets,
  CircuitBreakerPresets,
  ResourceLimitPresets,
  RetryPresets,
} from './behaviors/presets.js';
export {
  httpStatusOf,
  isDatabaseFailure,
  isHttpDependencyFailure,
  isTransientDatabaseError,
  isTransientHttpError,
} from './behaviors/transientErrors.js';

// Observability (the Prometheus and winston adapters are subpaths: fs-mediator/prometheus, fs-mediator/winston)
export { instrument } from './observability/instrument.js';
export type {
  ActiveStream,
  Instrumentation,
  InstrumentOptions,
} from './observability/instrument.js';
export type {
  CallOutcome,
  MediatorEvent,
  NotificationEndEvent,
  RequestEndEvent,
  RequestStartEvent,
  StreamEndEvent,
  StreamFirstItemEvent,
  StreamOutcome,
  StreamProgressEvent,
  StreamStartEvent,
} from './observability/MediatorEvent.js';
export { loggingHealthReporter, streamHealth } from './observability/streamHealth.js';
export type {
  ErrorRateEvent,
  ErrorRateInfo,
  ErrorRateRecoveredEvent,
  HealthEvent,
  HealthLogger,
  HealthReport,
  HealthReporter,
  HealthStatus,
  HealthStatusChangeEvent,
  StreamHealth,
  StreamHealthInfo,
  StreamHealthOptions,
  StreamHealthSource,
  StreamRecoveredEvent,
  StreamSlowEvent,
  StreamStalledEvent,
} from './observability/streamHealth.js';
export { HealthPresets } from './observability/HealthPresets.js';
export type { HealthPreset, HealthPresetName } from './observability/HealthPresets.js';

// Errors
export { HandlerNotFoundError, isHandlerNotFoundError } from './errors/HandlerNotFoundError.js';
export type { MessageKind } from './errors/HandlerNotFoundError.js';
export { DuplicateHandlerError, isDuplicateHandlerError } from './errors/DuplicateHandlerError.js';
export {
  DuplicateMessageNameError,
  isDuplicateMessageNameError,
} from './errors/DuplicateMessageNameError.js';
export {
  InvalidHandlerResultError,
  isInvalidHandlerResultError,
} from './errors/InvalidHandlerResultError.js';
export {
  NotificationHandlersError,
  isNotificationHandlersError,
} from './errors/NotificationHandlersError.js';
export type { NotificationHandlerFailure } from './errors/NotificationHandlersError.js';
export { BufferOverflowError, isBufferOverflowError } from './errors/BufferOverflowError.js';
export {
  StreamTimeoutError,
  isStreamTimeoutError,
  type StreamTimeoutKind,
} from './errors/StreamTimeoutError.js';
export { CircuitOpenError, isCircuitOpenError } from './errors/CircuitOpenError.js';
export type { CircuitRejection } from './errors/CircuitOpenError.js';
export { RequestTimeoutError, isRequestTimeoutError } from './errors/RequestTimeoutError.js';
export { BulkheadRejectedError, isBulkheadRejectedError } from './errors/BulkheadRejectedError.js';
export { RateLimitedError, isRateLimitedError } from './errors/RateLimitedError.js';
export { MemoryPressureError, isMemoryPressureError } from './errors/MemoryPressureError.js';
export { isAbortError } from './errors/isAbortError.js';
