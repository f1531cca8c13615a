import type { HandlerContext } from '../core/HandlerContext.js';

/** How a request or a notification handler's run ended. */
export type CallOutcome = 'success' | 'failure' | 'cancelled';

/** How a stream ended: it completed, failed, or its consumer left (break, abort, unsubscribe). */
export type StreamOutcome = 'completed' | 'failed' | 'cancelled';

interface EventBase {
  /** The message's stable name: a bounded label, safe for metrics. */
  readonly messageName: string;
  /** The message itself: for logs only, never for metric labels. */
  readonly message: unknown;
  /** The call's context (correlation id made on first read, signal). */
  readonly context: HandlerContext;
}

/** A request entered the pipeline. */
export interface RequestStartEvent extends EventBase {
  readonly type: 'requestStart';
}

/** A request settled. */
export interface RequestEndEvent extends EventBase {
  readonly type: 'requestEnd';
  /** When it started, on the `performance.now()` clock, in milliseconds. */
  readonly startedAt: number;
  readonly outcome: CallOutcome;
  /** From start to settlement, in milliseconds. */
  readonly durationMs: number;
  /** The failure, for `'failure'` and `'cancelled'`. */
  readonly error?: unknown;
}

/** A stream's consumer made its first read (the handler runs from here). */
export interface StreamStartEvent extends EventBase {
  readonly type: 'streamStart';
}

/** A stream's first item reached its consumer. */
export interface StreamFirstItemEvent extends EventBase {
  readonly type: 'streamFirstItem';
  /** From the stream's start to its first item, in milliseconds. */
  readonly afterMs: number;
}

/** A long stream's periodic report (every `progress.everyItems` items or `progress.everyMs`). */
export interface StreamProgressEvent extends EventBase {
  readonly type: 'streamProgress';
  /** Items delivered so far. */
  readonly items: number;
  /** Items delivered since the previous report of this stream (or its start). */
  readonly itemsSinceLast: number;
  /** Since the stream's start, in milliseconds. */
  readonly elapsedMs: number;
}

/** A stream ended. */
export interface StreamEndEvent extends EventBase {
  readonly type: 'streamEnd';
  /** When it started, on the `performance.now()` clock, in milliseconds. */
  readonly startedAt: number;
  readonly outcome: StreamOutcome;
  /** Items delivered in all. */
  readonly items: number;
  /** Items delivered since the last progress report (all of them when there was none). */
  readonly itemsSinceLast: number;
  /** From start to end, in milliseconds. */
  readonly durationMs: number;
  /** The failure, for `'failed'`. */
  readonly error?: unknown;
}

/** One notification handler's run ended. */
export interface NotificationEndEvent extends EventBase {
  readonly type: 'notificationEnd';
  /** The handler that ran. */
  readonly handlerName: string;
  /** When it started, on the `performance.now()` clock, in milliseconds. */
  readonly startedAt: number;
  readonly outcome: CallOutcome;
  readonly durationMs: number;
  readonly error?: unknown;
}

/**
 * What `instrument()` reports about the calls it wraps; metrics and log adapters subscribe to
 * these. Item counts arrive in `streamProgress` and `streamEnd` events, never one event per item.
 *
 * @example
 * ```ts
 * telemetry.events.subscribe((e) => {
 *   if (e.type === 'requestEnd' && e.outcome === 'failure') alert(e.messageName, e.error);
 * });
 * ```
 */
export type MediatorEvent =
  | RequestStartEvent
  | RequestEndEvent
  | StreamStartEvent
  | StreamFirstItemEvent
  | StreamProgressEvent
  | StreamEndEvent
  | NotificationEndEvent;
