/**
 * One connected client of a WebSocket sink as it is at the moment of
 * {@link WebSocketSink.clientsSnapshot}: its queue and socket now, not as it last reported them.
 *
 * @example
 * ```ts
 * const backedUp = sink.clientsSnapshot().filter((c: WebSocketClientSnapshot) => c.stalled);
 * console.log(backedUp.map((c) => `#${c.clientId}: ${c.depth} frames, ${c.bufferedAmount} B`));
 * ```
 */
export interface WebSocketClientSnapshot {
  /** The id its events carry as `clientId` (unique within the sink). */
  readonly clientId: number;
  /**
   * Frames queued for it and not yet handed to the socket: data frames (bounded by `clientQueue`,
   * under `'block'` plus at most one per subscribed stream) and replies. Counted as the `depth`
   * of its `'sent'` events.
   */
  readonly depth: number;
  /** The socket's `bufferedAmount`: bytes handed to the socket and not yet written to the kernel. */
  readonly bufferedAmount: number;
  /** Streams it is subscribed to. */
  readonly subscriptions: number;
  /**
   * True when its queue has stayed full without send progress for at least `stallMs` (under any
   * policy), or a shared stream judged it stalled (`'dropOldest'`, `'disconnect'`: the streams then
   * go on without it). Cleared by its next send progress.
   */
  readonly stalled: boolean;
}
