import type { Observable } from 'rxjs';
import type { ITEM, NOTIFICATION, RESULT } from './symbols.js';

/** Anything `send()` accepts: an instance of a {@link Query} or {@link Command} subclass. */
export interface RequestMessage<TResult = unknown> {
  readonly [RESULT]: TResult;
}

/** Anything `createStream()` accepts: an instance of a {@link StreamRequest} subclass. */
export interface StreamMessage<TItem = unknown> {
  readonly [ITEM]: TItem;
}

/** Anything `publish()` accepts: an instance of a {@link Notification} subclass. */
export interface NotificationMessage {
  readonly [NOTIFICATION]: true;
}

/** Any message the mediator dispatches. */
export type Message = RequestMessage | StreamMessage | NotificationMessage;

/** The result type of a request class instance: `ResultOf<GetOrder>` is `Order`. */
export type ResultOf<M> = M extends RequestMessage<infer R> ? R : never;

/** The item type of a stream request instance: `ItemOf<ExportOrders>` is `Order`. */
export type ItemOf<M> = M extends StreamMessage<infer T> ? T : never;

/** A message class (its constructor), abstract or not. */
export type MessageClass<M = Message> = abstract new (...args: never[]) => M;

/** A value, or a promise of one. */
export type MaybePromise<T> = T | PromiseLike<T>;

/**
 * What a stream handler (or stream behavior) may return: an Observable, an AsyncIterable (an
 * async generator included), a synchronous Iterable (a generator or an array included), or a
 * promise of any of those.
 */
export type StreamSource<T> = Observable<T> | AsyncIterable<T> | Iterable<T>;

/** What a request handler may return: the result, a promise of it, or an Observable whose last value is the result. */
export type RequestResult<T> = T | PromiseLike<T> | Observable<T>;
