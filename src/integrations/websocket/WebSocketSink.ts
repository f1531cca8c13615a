import type { Observable } from 'rxjs';
import type { WebSocketClientSnapshot } from './WebSocketClientSnapshot.js';
import type { WebSocketSinkEvent } from './WebSocketSinkEvent.js';

/**
 * A running WebSocket sink, returned by {@link serveWebSocket}.
 *
 * @example
 * ```ts
 * const sink = await serveWebSocket({ streams: { 'orders.live': liveOrders } });
 * console.log(`clients connect to ${sink.url}`);
 * sink.events.subscribe((e) => e.type === 'drop' && drops.inc());
 * await sink.close();
 * ```
 */
export interface WebSocketSink {
  /** What the sink does, for metrics. Never completes. */
  readonly events: Observable<WebSocketSinkEvent>;
  /** The `name` option: the `sink` of its events. */
  readonly name: string;
  /** The port listened on (the attached server's port when `server` was given and is listening). */
  readonly port: number;
  /** `ws://host:port/path` to connect to. */
  readonly url: string;
  /** Clients connected now. */
  readonly clients: number;
  /** Shared upstreams open now (one per distinct stream name and parameters). */
  readonly upstreams: number;
  /**
   * The connected clients as they are now: queue depth, socket `bufferedAmount`, subscriptions and
   * whether each is stalled. Unlike the events, which report a client's depth only when something
   * is sent or dropped, this sees a client whose queue filled and then stopped moving (under
   * `'block'`, or one that stopped reading). Cheap enough to call per scrape: it reads counters,
   * allocating the array and one small object per client (no queue is copied). A client that is
   * closing is listed (with depth 0) until its socket has closed.
   *
   * @example
   * ```ts
   * const clients = sink.clientsSnapshot();
   * const deepest = clients.reduce((max, c) => Math.max(max, c.depth), 0);
   * const buffered = clients.reduce((sum, c) => sum + c.bufferedAmount, 0);
   * console.log(`${clients.length} clients, deepest queue ${deepest}, ${buffered} bytes buffered`);
   * ```
   */
  clientsSnapshot(): readonly WebSocketClientSnapshot[];
  /**
   * Closes every upstream (abort + `return()`), closes clients with 1001 (terminating any that is
   * backed up, or has not closed within `closeGraceMs`) and stops listening; an attached server is
   * left open. Resolves when all is closed. Idempotent.
   */
  close(): Promise<void>;
}
