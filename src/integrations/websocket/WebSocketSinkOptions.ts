import type { Server as HttpServer } from 'node:http';
import type { Observable } from 'rxjs';
import {
  checkFunction,
  checkInteger,
  checkObject,
  checkOneOf,
  checkOptionalString,
  checkSignal,
  show,
} from '../../errors/validate.js';

/**
 * What a WebSocket sink does when a client cannot keep up (its queue of `clientQueue` frames is
 * full):
 * - `'block'`: the upstream is read only when every subscribed client's queue has room, so the
 *   slowest healthy client paces the shared source (dead clients are dropped by heartbeats);
 * - `'dropOldest'`: once the client has been full for `stallMs` with no send progress (see
 *   `stallMs`), the others go on without it and its oldest queued frame is dropped (and counted)
 *   for each new one; frames carry a per-stream `seq`, so the client sees the gap;
 * - `'disconnect'`: once the client has been full for `stallMs` with no send progress, it is
 *   closed with code 1013 ("try again later") and terminated if it has not closed within
 *   `closeGraceMs`.
 *
 * @example
 * ```ts
 * const policy: SlowClientPolicy = 'dropOldest';
 * ```
 */
export type SlowClientPolicy = 'block' | 'dropOldest' | 'disconnect';

/** @internal */
export const SLOW_CLIENT_POLICIES: readonly SlowClientPolicy[] = [
  'block',
  'dropOldest',
  'disconnect',
];

/**
 * Opens the upstream of a named stream for the parameters a client sent. Called once per distinct
 * `(name, params)` while at least one client is subscribed; `signal` aborts when the last client
 * leaves or the sink closes. Return an AsyncIterable (read one item at a time) or an Observable
 * (a push Observable is buffered up to `clientQueue` items; a `pullable()` one is read on demand).
 *
 * @example
 * ```ts
 * const orders: StreamFactory<Order> = (params, signal) =>
 *   mediator.createStream(new WatchOrders(String(params.customer)), { signal });
 * ```
 */
export type StreamFactory<T = unknown> = (
  params: Readonly<Record<string, unknown>>,
  signal: AbortSignal,
) => AsyncIterable<T> | Observable<T>;

/**
 * Options of {@link serveWebSocket}.
 *
 * @example
 * ```ts
 * const options: WebSocketSinkOptions = { streams: { 'orders.live': liveOrders }, policy: 'dropOldest' };
 * ```
 */
export interface WebSocketSinkOptions {
  /** The streams clients may subscribe to, by name. Required. */
  readonly streams: Readonly<Record<string, StreamFactory<any>>>;
  /**
   * An existing HTTP server to attach to (upgrade requests on `path`). When given, `host` and
   * `port` are ignored and `close()` leaves that server open. Default: none (the sink listens itself).
   */
  readonly server?: HttpServer;
  /** Interface to listen on. Default: `'127.0.0.1'` (loopback only). */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one (see `port` of the result). Default: 0. */
  readonly port?: number;
  /** Only upgrade requests for this path are accepted. Default: any path. */
  readonly path?: string;
  /** What happens to a client that cannot keep up. Default: `'dropOldest'`. */
  readonly policy?: SlowClientPolicy;
  /** Frames queued per client (all its subscriptions together) before the policy applies. Default: 1000. */
  readonly clientQueue?: number;
  /**
   * Under `'dropOldest'` and `'disconnect'`: how long a client whose queue is full may make no send
   * progress before it counts as stalled (it then drops, or is disconnected, while the others go
   * on). A momentarily busy client thus loses nothing, and a stalled one delays the others once by
   * about this much (plus two event-loop turns to confirm). Only time in which the server could
   * see progress counts: if its own event loop was blocked (a synchronous query, a GC pause) past
   * the end of that window, by more than a quarter of `stallMs` (at least 10 ms), the window starts
   * over, up to three times in a row. 0 never waits for a full client. Ignored under `'block'`.
   * Default: 200.
   */
  readonly stallMs?: number;
  /**
   * A client's pump stops sending while the socket's `bufferedAmount` is at least this many bytes,
   * and resumes when a send callback reports data flushed below it. Default: 1 MiB (1_048_576).
   */
  readonly maxBufferedBytes?: number;
  /** Ping interval; a client that has not answered the previous ping is terminated. `Infinity` disables. Default: 30_000. */
  readonly heartbeatMs?: number;
  /** How long a client closed by the sink (1013 or shutdown) has to complete the close before it is terminated. Default: 1_000. */
  readonly closeGraceMs?: number;
  /** Largest message accepted from a client, in bytes (ws `maxPayload`). Default: 65_536. */
  readonly maxMessageBytes?: number;
  /** Streams one client may be subscribed to at once. Default: 16. */
  readonly maxSubscriptions?: number;
  /** Closes the sink when aborted. Default: none. */
  readonly signal?: AbortSignal;
  /** Name reported in events as `sink`. Default: `'websocket'`. */
  readonly name?: string;
}

/** @internal Options with defaults applied. */
export interface ResolvedSinkOptions {
  readonly streams: ReadonlyMap<string, StreamFactory<unknown>>;
  readonly server: HttpServer | undefined;
  readonly host: string;
  readonly port: number;
  readonly path: string | undefined;
  readonly policy: SlowClientPolicy;
  readonly clientQueue: number;
  readonly maxBufferedBytes: number;
  readonly stallMs: number;
  readonly heartbeatMs: number;
  readonly closeGraceMs: number;
  readonly maxMessageBytes: number;
  readonly maxSubscriptions: number;
  readonly signal: AbortSignal | undefined;
  readonly name: string;
}

/** @internal Validates options at creation (TypeError for a wrong type, RangeError out of range). */
export function resolveSinkOptions(options: WebSocketSinkOptions): ResolvedSinkOptions {
  checkObject('options', options);
  if (options === undefined) throw new TypeError(`serveWebSocket() needs options with 'streams'.`);
  checkObject('streams', options.streams);
  if (options.streams === undefined) {
    throw new TypeError(`Option 'streams' is required: an object of stream factories by name.`);
  }
  const streams = new Map<string, StreamFactory<unknown>>();
  for (const [name, factory] of Object.entries(options.streams)) {
    checkFunction(`streams['${name}']`, factory);
    streams.set(name, factory as StreamFactory<unknown>);
  }
  const server = options.server;
  if (
    server !== undefined &&
    (typeof server !== 'object' || server === null || typeof server.on !== 'function')
  ) {
    throw new TypeError(`Option 'server' must be an http.Server, got ${show(server)}.`);
  }
  const port = options.port ?? 0;
  checkInteger('port', port, 0);
  if (port > 65535) throw new RangeError(`Option 'port' must be ≤ 65535, got ${show(port)}.`);
  return {
    streams,
    server,
    host: checkOptionalString('host', options.host) ?? '127.0.0.1',
    port,
    path: checkOptionalString('path', options.path),
    policy: checkOneOf('policy', options.policy ?? 'dropOldest', SLOW_CLIENT_POLICIES),
    clientQueue: checkInteger('clientQueue', options.clientQueue ?? 1000, 1),
    maxBufferedBytes: checkInteger('maxBufferedBytes', options.maxBufferedBytes ?? 1_048_576, 1),
    stallMs: checkInteger('stallMs', options.stallMs ?? 200, 0),
    heartbeatMs: checkInteger('heartbeatMs', options.heartbeatMs ?? 30_000, 1, true),
    closeGraceMs: checkInteger('closeGraceMs', options.closeGraceMs ?? 1_000, 0),
    maxMessageBytes: checkInteger('maxMessageBytes', options.maxMessageBytes ?? 65_536, 16),
    maxSubscriptions: checkInteger('maxSubscriptions', options.maxSubscriptions ?? 16, 1),
    signal: checkSignal(options.signal),
    name: checkOptionalString('name', options.name) ?? 'websocket',
  };
}
