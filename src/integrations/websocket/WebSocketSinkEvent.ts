/**
 * Why a client left: it closed (`'closed'`), missed a pong (`'heartbeat'`), was too slow under
 * `'disconnect'` (`'slow'`), or the sink closed (`'shutdown'`).
 *
 * @example
 * ```ts
 * const reason: DisconnectReason = 'heartbeat';
 * ```
 */
export type DisconnectReason = 'closed' | 'heartbeat' | 'slow' | 'shutdown';

/**
 * What a WebSocket sink reports on `events` (it never logs). Every event has `sink` (option
 * `name`); client events have `clientId` (a number unique within the sink). `depth` is the
 * client's queued frames; `lagItems` how many items the shared stream has produced since the frame
 * just sent; `lagMs` how long that frame waited in the client's queue.
 *
 * @example
 * ```ts
 * sink.events.subscribe((e) => {
 *   if (e.type === 'drop') drops.inc({ client: String(e.clientId) });
 *   if (e.type === 'sent') queueDepth.set(e.depth);
 * });
 * ```
 */
export type WebSocketSinkEvent =
  | {
      readonly type: 'connect';
      readonly sink: string;
      readonly clientId: number;
      readonly remoteAddress: string | undefined;
    }
  | {
      readonly type: 'disconnect';
      readonly sink: string;
      readonly clientId: number;
      readonly reason: DisconnectReason;
      readonly code: number;
      readonly drops: number;
      readonly sent: number;
    }
  | {
      readonly type: 'subscribe';
      readonly sink: string;
      readonly clientId: number;
      readonly stream: string;
      readonly params: Readonly<Record<string, unknown>>;
    }
  | {
      readonly type: 'unsubscribe';
      readonly sink: string;
      readonly clientId: number;
      readonly stream: string;
    }
  | {
      readonly type: 'sent';
      readonly sink: string;
      readonly clientId: number;
      readonly stream: string;
      readonly seq: number;
      readonly bytes: number;
      readonly depth: number;
      readonly lagItems: number;
      readonly lagMs: number;
      readonly bufferedAmount: number;
    }
  | {
      readonly type: 'drop';
      readonly sink: string;
      readonly clientId: number;
      readonly stream: string;
      /** The dropped frame's sequence number. */
      readonly seq: number;
      /** The client's drops so far. */
      readonly drops: number;
      /** The client's queue depth (data and control frames) once the new frame is queued. */
      readonly depth: number;
    }
  | {
      readonly type: 'slowClient';
      readonly sink: string;
      readonly clientId: number;
      readonly depth: number;
      readonly bufferedAmount: number;
    }
  | {
      readonly type: 'terminate';
      readonly sink: string;
      readonly clientId: number;
      readonly reason: DisconnectReason;
    }
  | {
      readonly type: 'clientError';
      readonly sink: string;
      readonly clientId: number;
      readonly code: string;
      readonly message: string;
    }
  | {
      readonly type: 'upstreamOpen';
      readonly sink: string;
      readonly stream: string;
      readonly params: Readonly<Record<string, unknown>>;
    }
  | {
      readonly type: 'upstreamClose';
      readonly sink: string;
      readonly stream: string;
      readonly params: Readonly<Record<string, unknown>>;
      readonly items: number;
      readonly outcome: 'end' | 'error' | 'abandoned';
    };
