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
export { isAbortError } from './errors/isAbortError.js';
