import type { Observable } from 'rxjs';
import type {
  BehaviorSet,
  NotificationBehavior,
  RequestBehavior,
  StreamBehavior,
} from '../core/Behavior.js';
import type { HandlerContext } from '../core/HandlerContext.js';
import type { MessageClass } from '../core/types.js';
import { EventChannel } from '../behaviors/EventChannel.js';
import { policyBehaviors } from '../behaviors/policyBehaviors.js';
import { isAbortError } from '../errors/isAbortError.js';
import { checkInteger, checkObject, checkOptionalString, show } from '../errors/validate.js';
import { InstrumentedStream, type ActiveStream, type StreamProbe } from './InstrumentedStream.js';
import type { CallOutcome, MediatorEvent } from './MediatorEvent.js';

export type { ActiveStream } from './InstrumentedStream.js';

/**
 * Options of {@link instrument}.
 *
 * @example
 * ```ts
 * const options: InstrumentOptions = { progress: { everyItems: 50_000, everyMs: 5_000 } };
 * ```
 */
export interface InstrumentOptions {
  /**
   * When a long stream reports `streamProgress`: each time its item count reaches a multiple of
   * `everyItems` (default 10,000), and every `everyMs` milliseconds while it is active
   * (default 10,000; a time report comes even when no item arrived). `Infinity` turns either off.
   */
  readonly progress?: {
    readonly everyItems?: number;
    readonly everyMs?: number;
  };
  /** Watch only these message classes (requests, streams and/or notifications). Default: all. */
  readonly for?: readonly MessageClass[];
  /** The behaviors' name, for diagnostics. Default: `'instrument'`. */
  readonly name?: string;
}

/**
 * What {@link instrument} returns: a behavior set for the mediator's `behaviors`, the events it
 * reports, and a live view of the streams it is watching.
 *
 * @example
 * ```ts
 * const telemetry = instrument();
 * createMediator({ handlers, behaviors: [telemetry, retry()] });
 * telemetry.events.subscribe((e) => e.type === 'requestEnd' && console.log(e.messageName, e.durationMs));
 * ```
 */
export interface Instrumentation extends BehaviorSet {
  /** The behaviors' name (option `name`). */
  readonly name: string;
  /**
   * Every call's start and end, each stream's first item and progress. Calls that start while
   * nobody subscribes are not watched at all (they cost next to nothing): a subscriber that
   * arrives later sees only calls that start after it subscribed.
   */
  readonly events: Observable<MediatorEvent>;
  /**
   * The streams being watched now (from their first read to their end), as live views: read
   * `items` again later to see it grow. Only streams that started while `events` was observed.
   */
  activeStreams(): ActiveStream[];
}

/** The longest delay `setInterval` honours. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * The observability layer of the core (issue 6): one behavior set that reports every request,
 * stream and notification handler run as a {@link MediatorEvent}, for the Prometheus and winston
 * adapters and `streamHealth()` to consume. It never logs and imports no metrics library.
 *
 * - **Requests**: `requestStart`, then `requestEnd` with its outcome (`'success'`, `'failure'`,
 *   or `'cancelled'` when the call's signal was aborted or the error is an `AbortError`), its
 *   duration and error.
 * - **Streams**: `streamStart` at the first read, `streamFirstItem` (time to first item),
 *   `streamProgress` every `progress.everyItems` items and every `progress.everyMs` ms, and
 *   `streamEnd`: `'completed'`, `'failed'`, or `'cancelled'` (the consumer broke out, returned
 *   or aborted; the inner stream is closed). Items a `batch()` downstream takes in bulk count too.
 * - **Notifications**: `notificationEnd` per handler run (`context.handlerName`).
 *
 * Cost: a call that starts while nobody subscribes to `events` passes straight through (one
 * property read). A watched stream costs one `then`, one increment and one compare per item, and
 * one unref'd interval timer while it is active. Register it first (outermost), so durations
 * include retries and waits of the policies inside.
 *
 * @param options - See {@link InstrumentOptions}.
 * @example
 * ```ts
 * const telemetry = instrument({ progress: { everyItems: 100_000, everyMs: 5_000 } });
 * const mediator = createMediator({ handlers, behaviors: [telemetry, retry(), timeout(2_000)] });
 * telemetry.events.subscribe((e) => {
 *   if (e.type === 'streamProgress') console.log(`${e.messageName}: ${e.items} items`);
 * });
 * ```
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  checkObject('options', options);
  const name = checkOptionalString('name', options.name) ?? 'instrument';
  checkObject('progress', options.progress);
  const everyItems = checkInteger(
    'progress.everyItems',
    options.progress?.everyItems ?? 10_000,
    1,
    true,
  );
  const everyMs = checkInteger('progress.everyMs', options.progress?.everyMs ?? 10_000, 1, true);
  if (everyMs !== Infinity && everyMs > MAX_DELAY) {
    throw new RangeError(
      `Option 'progress.everyMs' must be at most ${MAX_DELAY} (or Infinity), got ${show(everyMs)}.`,
    );
  }

  const channel = new EventChannel<MediatorEvent>();
  const probe: StreamProbe = { channel, everyItems, everyMs, active: new Set() };

  const request: RequestBehavior = {
    handle(message, next, context) {
      if (!channel.observed) return next();
      const startedAt = performance.now();
      channel.emit({ type: 'requestStart', messageName: context.messageName, message, context });
      return next().then(
        (value) => {
          if (channel.observed) {
            channel.emit({
              type: 'requestEnd',
              messageName: context.messageName,
              message,
              context,
              startedAt,
              outcome: 'success',
              durationMs: performance.now() - startedAt,
            });
          }
          return value;
        },
        (error: unknown) => {
          if (channel.observed) {
            channel.emit({
              type: 'requestEnd',
              messageName: context.messageName,
              message,
              context,
              startedAt,
              outcome: failureOutcome(error, context),
              durationMs: performance.now() - startedAt,
              error,
            });
          }
          throw error;
        },
      );
    },
  };

  const stream: StreamBehavior = {
    handle(message, next, context) {
      if (!channel.observed) return next();
      return new InstrumentedStream(probe, message, next, context) as AsyncIterable<never>;
    },
  };

  const notification: NotificationBehavior = {
    handle(message, next, context) {
      if (!channel.observed) return next();
      const startedAt = performance.now();
      const end = (outcome: CallOutcome, error?: unknown): void => {
        if (!channel.observed) return;
        channel.emit({
          type: 'notificationEnd',
          messageName: context.messageName,
          message,
          context,
          handlerName: context.handlerName ?? '',
          startedAt,
          outcome,
          durationMs: performance.now() - startedAt,
          ...(outcome === 'success' ? {} : { error }),
        });
      };
      return next().then(
        () => end('success'),
        (error: unknown) => {
          end(failureOutcome(error, context), error);
          throw error;
        },
      );
    },
  };

  return {
    name,
    behaviors: policyBehaviors(name, options.for, { request, stream, notification }),
    events: channel.events,
    activeStreams: () => [...probe.active],
  };
}

/** A failure is a cancellation when the call's signal was aborted or the error is an abort. */
function failureOutcome(error: unknown, context: HandlerContext): CallOutcome {
  return context.signal.aborted || isAbortError(error) ? 'cancelled' : 'failure';
}
