import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { EventChannel } from '../../behaviors/EventChannel.js';
import { ClientConnection, type ClientOwner } from './ClientConnection.js';
import { paramsKey } from './paramsKey.js';
import { SharedStream, type StreamOwner } from './SharedStream.js';
import type { WebSocketClientSnapshot } from './WebSocketClientSnapshot.js';
import type { WebSocketSink } from './WebSocketSink.js';
import type { WebSocketSinkEvent } from './WebSocketSinkEvent.js';
import {
  resolveSinkOptions,
  type ResolvedSinkOptions,
  type WebSocketSinkOptions,
} from './WebSocketSinkOptions.js';

/**
 * Serves named streams to WebSocket clients (`ws` 8), one upstream pull shared by every client
 * subscribed to the same name with equal parameters.
 *
 * Protocol (JSON text frames):
 * - client → `{ "subscribe": "orders.live", "params": { … } }` → `{ "stream", "subscribed": true }`,
 *   then `{ "stream", "seq": n, "data": item }` per item (`seq` counts the shared stream's items
 *   from 1, so a late joiner starts above 1 and a gap means drops), then `{ "stream", "end": true }`
 *   or `{ "stream", "error": { "code": "upstream_error", "name", "message" } }`;
 * - client → `{ "unsubscribe": "orders.live" }` → `{ "stream", "unsubscribed": true }`;
 * - a bad message gets `{ "error": { "code", "message" } }` (`malformed_message`, `bad_request`,
 *   `unknown_stream`, `already_subscribed`, `not_subscribed`, `too_many_subscriptions`) and the
 *   connection stays open.
 *
 * Flow: each client has a queue of `clientQueue` frames, sent while the socket's `bufferedAmount`
 * is under `maxBufferedBytes`. The upstream is read one item at a time, only while the `policy`
 * allows (see {@link SlowClientPolicy}): at most `clientQueue` items plus the socket buffers are in
 * flight per client. The upstream opens on the first subscriber and is closed (its signal aborted,
 * its iterator returned) when the last one leaves. Dead clients are found by ping/pong every
 * `heartbeatMs`. Resolves once listening.
 *
 * @example
 * ```ts
 * const sink = await serveWebSocket({
 *   streams: {
 *     'orders.live': (params, signal) =>
 *       mediator.createStream(new WatchOrders(String(params.customer)), { signal }),
 *   },
 *   policy: 'dropOldest',
 *   port: 8080,
 * });
 * // browser: ws.send(JSON.stringify({ subscribe: 'orders.live', params: { customer: 'c1' } }))
 * ```
 */
export async function serveWebSocket(options: WebSocketSinkOptions): Promise<WebSocketSink> {
  const resolved = resolveSinkOptions(options);
  const sink = new WebSocketSinkServer(resolved);
  await sink.listen();
  return sink;
}

class WebSocketSinkServer implements WebSocketSink, ClientOwner, StreamOwner {
  readonly channel = new EventChannel<WebSocketSinkEvent>();
  readonly events = this.channel.events;
  readonly name: string;
  readonly policy: ResolvedSinkOptions['policy'];
  readonly clientQueue: number;
  readonly stallMs: number;
  readonly #wss: WebSocketServer;
  readonly #clients = new Set<ClientConnection>();
  readonly #streams = new Map<string, SharedStream>();
  #nextId = 1;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  readonly #onAbort = (): void => void this.close();

  constructor(readonly options: ResolvedSinkOptions) {
    this.name = options.name;
    this.policy = options.policy;
    this.clientQueue = options.clientQueue;
    this.stallMs = options.stallMs;
    const common: ServerOptions = {
      path: options.path,
      maxPayload: options.maxMessageBytes,
      perMessageDeflate: false, // compression would queue frames outside bufferedAmount's reach
      clientTracking: false,
    };
    this.#wss =
      options.server !== undefined
        ? new WebSocketServer({ ...common, server: options.server })
        : new WebSocketServer({ ...common, host: options.host, port: options.port });
    this.#wss.on('connection', (socket, request) =>
      this.#connect(socket, request.socket.remoteAddress),
    );
  }

  async listen(): Promise<void> {
    if (this.options.server === undefined) {
      await new Promise<void>((resolve, reject) => {
        const fail = (error: Error): void => {
          this.#wss.close();
          reject(error);
        };
        this.#wss.once('error', fail);
        this.#wss.once('listening', () => {
          this.#wss.off('error', fail);
          resolve();
        });
      });
    }
    this.#wss.on('error', () => undefined); // listen errors were reported above; later ones surface per client
    if (this.options.heartbeatMs !== Infinity) {
      this.#heartbeat = setInterval(() => {
        for (const client of this.#clients) client.heartbeat();
      }, this.options.heartbeatMs);
      this.#heartbeat.unref?.();
    }
    const signal = this.options.signal;
    if (signal !== undefined) {
      if (signal.aborted) await this.close();
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get port(): number {
    const address = (this.options.server ?? this.#wss).address();
    return typeof address === 'object' && address !== null ? (address as AddressInfo).port : 0;
  }

  get url(): string {
    const address = (this.options.server ?? this.#wss).address();
    let host = this.options.host;
    if (typeof address === 'object' && address !== null) host = address.address;
    if (host.includes(':')) host = `[${host}]`;
    return `ws://${host}:${this.port}${this.options.path ?? '/'}`;
  }

  get clients(): number {
    return this.#clients.size;
  }

  get upstreams(): number {
    return this.#streams.size;
  }

  clientsSnapshot(): WebSocketClientSnapshot[] {
    const snapshot: WebSocketClientSnapshot[] = [];
    const now = performance.now();
    for (const client of this.#clients) {
      snapshot.push({
        clientId: client.id,
        depth: client.queueDepth,
        bufferedAmount: client.socket.bufferedAmount,
        subscriptions: client.subscriptions.size,
        stalled: client.stalled || client.stalledAt(now),
      });
    }
    return snapshot;
  }

  streamFor(name: string, params: Readonly<Record<string, unknown>>): SharedStream {
    const key = `${name}\u0000${paramsKey(params)}`;
    let stream = this.#streams.get(key);
    if (stream === undefined) {
      stream = new SharedStream(name, key, params, this.options.streams.get(name)!, this);
      this.#streams.set(key, stream);
    }
    return stream;
  }

  streamClosed(stream: SharedStream): void {
    if (this.#streams.get(stream.key) === stream) this.#streams.delete(stream.key);
  }

  clientClosed(client: ClientConnection): void {
    this.#clients.delete(client);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.options.signal?.removeEventListener('abort', this.#onAbort);
    for (const stream of [...this.#streams.values()]) stream.abandon();
    const clients = [...this.#clients];
    for (const client of clients) client.disconnect('shutdown', 1001, 'Server shutting down');
    const stopped = new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await Promise.all([stopped, ...clients.map((client) => client.closed)]);
  }

  #connect(socket: WebSocket, remoteAddress: string | undefined): void {
    if (this.#closing !== undefined) {
      socket.terminate();
      return;
    }
    const client = new ClientConnection(this.#nextId++, socket, this);
    this.#clients.add(client);
    if (this.channel.observed) {
      this.channel.emit({ type: 'connect', sink: this.name, clientId: client.id, remoteAddress });
    }
  }
}
