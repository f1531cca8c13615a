import type { Observable, Subscription } from 'rxjs';
import type { MediatorEvent } from '../MediatorEvent.js';
import { HistogramCell } from './HistogramCell.js';
import type { MetricRegistrar } from './MetricRegistrar.js';

const CALL_OUTCOMES = ['success', 'failure', 'cancelled'] as const;
const STREAM_OUTCOMES = ['completed', 'failed', 'cancelled'] as const;

/** Duration buckets of the instrumentation's histograms, in seconds. @internal */
export interface EventBuckets {
  readonly request: readonly number[];
  readonly stream: readonly number[];
  readonly firstItem: readonly number[];
}

class RequestSeries {
  inFlight = 0;
  readonly byOutcome: Readonly<Record<string, HistogramCell>>;
  constructor(bounds: readonly number[]) {
    this.byOutcome = {
      success: new HistogramCell(bounds),
      failure: new HistogramCell(bounds),
      cancelled: new HistogramCell(bounds),
    };
  }
}

class StreamSeries {
  started = 0;
  active = 0;
  items = 0;
  readonly firstItem: HistogramCell;
  readonly byOutcome: Readonly<Record<string, HistogramCell>>;
  constructor(buckets: EventBuckets) {
    this.firstItem = new HistogramCell(buckets.firstItem);
    this.byOutcome = {
      completed: new HistogramCell(buckets.stream),
      failed: new HistogramCell(buckets.stream),
      cancelled: new HistogramCell(buckets.stream),
    };
  }
}

interface HandlerCounts {
  success: number;
  failure: number;
  cancelled: number;
}

/**
 * The request, stream and notification metrics, fed by an instrumentation's events. Each event
 * costs a `Map` lookup by message name and a few additions; nothing is done per stream item
 * (item counts arrive in `streamProgress`/`streamEnd`).
 *
 * The in-flight and active gauges count only calls that started after the subscription: an end
 * whose `startedAt` predates it ends a call the gauge never counted, so it does not decrement.
 * @internal
 */
export function eventMetrics(
  registrar: MetricRegistrar,
  events: Observable<MediatorEvent>,
  buckets: EventBuckets,
): Subscription {
  const requests = new Map<string, RequestSeries>();
  const streams = new Map<string, StreamSeries>();
  const notifications = new Map<string, Map<string, HandlerCounts>>();

  const request = (name: string): RequestSeries => {
    let series = requests.get(name);
    if (series === undefined) requests.set(name, (series = new RequestSeries(buckets.request)));
    return series;
  };
  const stream = (name: string): StreamSeries => {
    let series = streams.get(name);
    if (series === undefined) streams.set(name, (series = new StreamSeries(buckets)));
    return series;
  };

  registrar.counter(
    'requests_total',
    'Requests settled, by message type and outcome (success, failure, cancelled).',
    ['message', 'outcome'],
    (emit) => {
      for (const [message, series] of requests) {
        for (const outcome of CALL_OUTCOMES) {
          emit({ message, outcome }, series.byOutcome[outcome]!.count);
        }
      }
    },
  );
  registrar.histogram(
    'request_duration_seconds',
    'Time from a request entering the pipeline to its settlement.',
    ['message', 'outcome'],
    buckets.request,
    (emit) => {
      for (const [message, series] of requests) {
        for (const outcome of CALL_OUTCOMES) {
          const cell = series.byOutcome[outcome]!;
          if (cell.count > 0) emit({ message, outcome }, cell);
        }
      }
    },
  );
  registrar.gauge(
    'requests_in_flight',
    'Requests started and not yet settled.',
    ['message'],
    (emit) => {
      for (const [message, series] of requests) emit({ message }, series.inFlight);
    },
  );

  registrar.counter(
    'streams_started_total',
    'Streams started (their first read).',
    ['message'],
    (emit) => {
      for (const [message, series] of streams) emit({ message }, series.started);
    },
  );
  registrar.counter(
    'streams_ended_total',
    'Streams ended, by outcome (completed, failed, cancelled).',
    ['message', 'outcome'],
    (emit) => {
      for (const [message, series] of streams) {
        for (const outcome of STREAM_OUTCOMES) {
          emit({ message, outcome }, series.byOutcome[outcome]!.count);
        }
      }
    },
  );
  registrar.counter(
    'stream_items_total',
    'Items streams delivered to their consumers (updated at each progress report and at the end).',
    ['message'],
    (emit) => {
      for (const [message, series] of streams) emit({ message }, series.items);
    },
  );
  registrar.histogram(
    'stream_duration_seconds',
    'Time from a stream start to its end.',
    ['message', 'outcome'],
    buckets.stream,
    (emit) => {
      for (const [message, series] of streams) {
        for (const outcome of STREAM_OUTCOMES) {
          const cell = series.byOutcome[outcome]!;
          if (cell.count > 0) emit({ message, outcome }, cell);
        }
      }
    },
  );
  registrar.histogram(
    'stream_first_item_seconds',
    'Time from a stream start to its first item reaching the consumer.',
    ['message'],
    buckets.firstItem,
    (emit) => {
      for (const [message, series] of streams) {
        if (series.firstItem.count > 0) emit({ message }, series.firstItem);
      }
    },
  );
  registrar.gauge('streams_active', 'Streams started and not yet ended.', ['message'], (emit) => {
    for (const [message, series] of streams) emit({ message }, series.active);
  });

  registrar.counter(
    'notification_handlers_total',
    'Notification handler runs, by message type, handler and outcome.',
    ['message', 'handler', 'outcome'],
    (emit) => {
      for (const [message, handlers] of notifications) {
        for (const [handler, counts] of handlers) {
          for (const outcome of CALL_OUTCOMES) emit({ message, handler, outcome }, counts[outcome]);
        }
      }
    },
  );

  const subscribedAt = performance.now();

  const onEvent = (event: MediatorEvent): void => {
    switch (event.type) {
      case 'requestStart':
        request(event.messageName).inFlight++;
        break;
      case 'requestEnd': {
        const series = request(event.messageName);
        if (event.startedAt >= subscribedAt && series.inFlight > 0) series.inFlight--;
        series.byOutcome[event.outcome]?.observe(event.durationMs / 1000);
        break;
      }
      case 'streamStart': {
        const series = stream(event.messageName);
        series.started++;
        series.active++;
        break;
      }
      case 'streamFirstItem':
        stream(event.messageName).firstItem.observe(event.afterMs / 1000);
        break;
      case 'streamProgress':
        stream(event.messageName).items += event.itemsSinceLast;
        break;
      case 'streamEnd': {
        const series = stream(event.messageName);
        series.items += event.itemsSinceLast;
        if (event.startedAt >= subscribedAt && series.active > 0) series.active--;
        series.byOutcome[event.outcome]?.observe(event.durationMs / 1000);
        break;
      }
      case 'notificationEnd': {
        let handlers = notifications.get(event.messageName);
        if (handlers === undefined) notifications.set(event.messageName, (handlers = new Map()));
        let counts = handlers.get(event.handlerName);
        if (counts === undefined) {
          handlers.set(event.handlerName, (counts = { success: 0, failure: 0, cancelled: 0 }));
        }
        if (event.outcome in counts) counts[event.outcome]++;
        break;
      }
    }
  };
  return events.subscribe({ next: onEvent, error: () => {} });
}
