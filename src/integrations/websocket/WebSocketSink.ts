import type { Observable } from 'rxjs';
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
  /** The port listened on (the attached server's port when `server` was given and is listening). */
  readonly port: number;
  /** `ws://host:port/path` to connect to. */
  readonly url: string;
  /** Clients connected now. */
  readonly clients: number;
  /** Shared upstreams open now (one per distinct stream name and parameters). */
  readonly upstreams: number;
  /**
   * Closes every upstream (abort + `return()`), closes clients with 1001 (terminating any that is
   * backed up, or has not closed within `closeGraceMs`) and stops listening; an attached server is
   * left open. Resolves when all is closed. Idempotent.
   */
  close(): Promise<void>;
}
