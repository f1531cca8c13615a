import { WebSocket, type RawData } from 'ws';
import type { EventChannel } from '../../behaviors/EventChannel.js';
import { FrameQueue, type Frame } from './FrameQueue.js';
import type { SharedStream } from './SharedStream.js';
import type { ResolvedSinkOptions } from './WebSocketSinkOptions.js';
import type { DisconnectReason, WebSocketSinkEvent } from './WebSocketSinkEvent.js';

/** @internal What a client needs from its sink. */
export interface ClientOwner {
  readonly options: ResolvedSinkOptions;
  readonly channel: EventChannel<WebSocketSinkEvent>;
  /** The live shared stream for `name` and `params`, created if needed. */
  streamFor(name: string, params: Readonly<Record<string, unknown>>): SharedStream;
  clientClosed(client: ClientConnection): void;
}

/**
 * One connected client: parses its requests, holds its bounded queue, and pumps frames to the
 * socket while `bufferedAmount` is under `maxBufferedBytes`.
 *
 * ws 8 has no 'drain' event on a WebSocket (its maintainers point to the `send()` callback, which
 * runs once that frame has been handed to the kernel). So the pump passes one shared callback to
 * every `send()`; once blocked, the next callback that finds `bufferedAmount` under the threshold
 * resumes it. No timer runs per client; the heartbeat tick re-checks blocked clients as a floor
 * (bytes queued by pings carry no callback).
 * @internal
 */
export class ClientConnection {
  readonly subscriptions = new Map<string, SharedStream>();
  drops = 0;
  sent = 0;
  /**
   * -1 while the queue has room; else `performance.now()` when the window in which it must make
   * send progress began: when the queue became full, or later, when a shared stream restarted the
   * window because the event loop had been blocked.
   */
  stallWindowStart = -1;
  /** Restarts of the current window (bounded: a blocked loop must not hold back a verdict for good). */
  windowRestarts = 0;
  /** Counts the times a full queue got room by sending: a stream judging a stall compares it. */
  progress = 0;
  /**
   * Judged stalled by a shared stream (see `SharedStream`); streams then go on without waiting
   * for it. Cleared by the next send progress.
   */
  stalled = false;
  readonly #queue: FrameQueue;
  #blocked = false;
  #alive = true;
  #closing = false;
  #reason: DisconnectReason = 'closed';
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #closedPromise: Promise<void>;

  constructor(
    readonly id: number,
    readonly socket: WebSocket,
    readonly owner: ClientOwner,
  ) {
    this.#queue = new FrameQueue(owner.options.clientQueue);
    let resolveClosed!: () => void;
    this.#closedPromise = new Promise<void>((resolve) => (resolveClosed = resolve));
    socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    socket.on('pong', () => (this.#alive = true));
    socket.on('error', () => undefined); // 'close' follows; reported there
    socket.on('close', (code) => {
      this.#leave();
      clearTimeout(this.#graceTimer);
      owner.clientClosed(this);
      const { channel } = owner;
      if (channel.observed) {
        channel.emit({
          type: 'disconnect',
          sink: owner.options.name,
          clientId: id,
          reason: this.#reason,
          code,
          drops: this.drops,
          sent: this.sent,
        });
      }
      resolveClosed();
    });
  }

  /** Resolves once the socket has closed. */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Frames queued now (data and control), as reported in `depth` of 'sent' events. */
  get queueDepth(): number {
    return this.#queue.size;
  }

  /** False once the queue holds `clientQueue` data frames, or the client is leaving. */
  get hasRoom(): boolean {
    return !this.#closing && this.#queue.dataSize < this.owner.options.clientQueue;
  }

  /**
   * True once the queue has stayed full for `stallMs` (wall time, measured at `now`): at shutdown
   * such a client is terminated rather than sent a close frame it would not read.
   */
  stalledAt(now: number): boolean {
    return this.stallWindowStart >= 0 && now - this.stallWindowStart >= this.owner.options.stallMs;
  }

  /** Queues a frame, applying the slow-client policy when the queue is full. */
  enqueue(frame: Frame): void {
    if (this.#closing) return;
    const { options, channel } = this.owner;
    if (!frame.control && this.#queue.dataSize >= options.clientQueue) {
      if (options.policy === 'dropOldest') {
        const dropped = this.#queue.dropOldestData()!;
        this.drops++;
        if (channel.observed) {
          channel.emit({
            type: 'drop',
            sink: options.name,
            clientId: this.id,
            stream: dropped.stream!.name,
            seq: dropped.seq,
            drops: this.drops,
            depth: this.#queue.size + 1,
          });
        }
      } else if (options.policy === 'disconnect') {
        if (channel.observed) {
          channel.emit({
            type: 'slowClient',
            sink: options.name,
            clientId: this.id,
            depth: this.#queue.size,
            bufferedAmount: this.socket.bufferedAmount,
          });
        }
        this.disconnect('slow', 1013, 'Try again later: client too slow');
        return;
      }
      // 'block': a client subscribed to several streams may go over by one frame per stream.
    }
    this.#queue.push(frame);
    if (this.stallWindowStart < 0 && this.#queue.dataSize >= options.clientQueue) {
      this.stallWindowStart = performance.now();
      this.windowRestarts = 0;
    }
    this.#pump();
  }

  /** A shared stream ended, failed or was closed: forget the subscription. */
  streamEnded(stream: SharedStream): void {
    if (this.subscriptions.get(stream.name) === stream) this.subscriptions.delete(stream.name);
  }

  /**
   * Closes with `code`; terminates if the closing handshake has not completed within
   * `closeGraceMs`, or at once when the socket is backed up (the close frame would queue behind
   * the unread data).
   */
  disconnect(reason: DisconnectReason, code: number, message: string): void {
    if (this.#closing) return;
    this.#reason = reason;
    const stalled = this.stalledAt(performance.now());
    this.#leave();
    const socket = this.socket;
    if (socket.readyState === WebSocket.OPEN) socket.close(code, message);
    const grace = this.owner.options.closeGraceMs;
    if (grace === 0 || (reason === 'shutdown' && stalled)) {
      this.terminate(reason);
    } else {
      this.#graceTimer = setTimeout(() => this.terminate(reason), grace);
      this.#graceTimer.unref?.();
    }
  }

  /** Drops the connection without a closing handshake. */
  terminate(reason: DisconnectReason): void {
    this.#reason = reason;
    this.#leave();
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const { channel, options } = this.owner;
    if (channel.observed) {
      channel.emit({ type: 'terminate', sink: options.name, clientId: this.id, reason });
    }
    this.socket.terminate();
  }

  /** Heartbeat tick: terminate if the last ping went unanswered, else ping again. */
  heartbeat(): void {
    if (this.#closing) return;
    if (!this.#alive) {
      this.terminate('heartbeat');
      return;
    }
    this.#alive = false;
    this.socket.ping();
    if (this.#blocked) this.#onFlushed();
  }

  /** Sends a reply (ack or error) in order with the stream frames. */
  reply(body: unknown): void {
    if (this.#closing) return;
    this.#queue.push({
      stream: undefined,
      seq: 0,
      text: JSON.stringify(body),
      at: performance.now(),
      control: true,
    });
    this.#pump();
  }

  #leave(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#queue.clear();
    this.stallWindowStart = -1;
    this.stalled = false;
    for (const stream of this.subscriptions.values()) stream.remove(this);
    this.subscriptions.clear();
  }

  #pump(): void {
    if (this.#blocked) return;
    const socket = this.socket;
    const queue = this.#queue;
    const { maxBufferedBytes, clientQueue, name } = this.owner.options;
    const { channel } = this.owner;
    const hadNoRoom = queue.dataSize >= clientQueue;
    let sentData = false;
    while (queue.size > 0 && socket.readyState === WebSocket.OPEN) {
      if (socket.bufferedAmount >= maxBufferedBytes) {
        this.#blocked = true;
        break;
      }
      const frame = queue.shift();
      socket.send(frame.text, this.#onFlushed);
      const stream = frame.stream;
      if (stream !== undefined && !frame.control) {
        sentData = true;
        this.sent++;
        if (channel.observed) {
          channel.emit({
            type: 'sent',
            sink: name,
            clientId: this.id,
            stream: stream.name,
            seq: frame.seq,
            bytes: Buffer.byteLength(frame.text),
            depth: queue.size,
            lagItems: stream.seq - frame.seq,
            lagMs: performance.now() - frame.at,
            bufferedAmount: socket.bufferedAmount,
          });
        }
      }
    }
    // Only streams that could be waiting on this client need a wake-up.
    if (sentData && hadNoRoom) {
      this.stallWindowStart = -1;
      this.progress++;
      this.stalled = false;
      for (const stream of this.subscriptions.values()) stream.wake();
    }
  }

  readonly #onFlushed = (error?: Error | null): void => {
    // Node passes null on success; an error means the socket is going away ('close' follows).
    if (error != null || !this.#blocked) return;
    if (this.socket.bufferedAmount < this.owner.options.maxBufferedBytes) {
      this.#blocked = false;
      this.#pump();
    }
  };

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closing) return;
    if (isBinary) {
      this.#error('malformed_message', 'Binary messages are not accepted: send JSON text.');
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(String(data));
    } catch {
      this.#error('malformed_message', 'The message is not valid JSON.');
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.#error('malformed_message', 'The message must be a JSON object.');
      return;
    }
    const request = message as Record<string, unknown>;
    if ('subscribe' in request) this.#subscribe(request['subscribe'], request['params']);
    else if ('unsubscribe' in request) this.#unsubscribe(request['unsubscribe']);
    else {
      this.#error(
        'bad_request',
        'Expected {"subscribe": "<stream>", "params": {…}} or {"unsubscribe": "<stream>"}.',
      );
    }
  }

  #subscribe(name: unknown, params: unknown): void {
    const { options, channel } = this.owner;
    if (typeof name !== 'string' || name === '') {
      this.#error('bad_request', '"subscribe" must be a non-empty stream name.');
      return;
    }
    if (
      params !== undefined &&
      (typeof params !== 'object' || params === null || Array.isArray(params))
    ) {
      this.#error('bad_request', `"params" of '${name}' must be a JSON object.`);
      return;
    }
    if (!options.streams.has(name)) {
      this.#error('unknown_stream', `Unknown stream '${name}'.`);
      return;
    }
    if (this.subscriptions.has(name)) {
      this.#error('already_subscribed', `Already subscribed to '${name}': unsubscribe first.`);
      return;
    }
    if (this.subscriptions.size >= options.maxSubscriptions) {
      this.#error(
        'too_many_subscriptions',
        `At most ${options.maxSubscriptions} subscriptions per connection.`,
      );
      return;
    }
    const values = (params ?? {}) as Record<string, unknown>;
    this.reply({ stream: name, subscribed: true });
    if (channel.observed) {
      channel.emit({
        type: 'subscribe',
        sink: options.name,
        clientId: this.id,
        stream: name,
        params: values,
      });
    }
    const stream = this.owner.streamFor(name, values);
    this.subscriptions.set(name, stream);
    stream.add(this);
  }

  #unsubscribe(name: unknown): void {
    const stream = typeof name === 'string' ? this.subscriptions.get(name) : undefined;
    if (stream === undefined) {
      this.#error('not_subscribed', `Not subscribed to ${JSON.stringify(name)}.`);
      return;
    }
    this.subscriptions.delete(stream.name);
    stream.remove(this);
    this.reply({ stream: stream.name, unsubscribed: true });
    const { channel, options } = this.owner;
    if (channel.observed) {
      channel.emit({
        type: 'unsubscribe',
        sink: options.name,
        clientId: this.id,
        stream: stream.name,
      });
    }
  }

  #error(code: string, message: string): void {
    this.reply({ error: { code, message } });
    const { channel, options } = this.owner;
    if (channel.observed) {
      channel.emit({ type: 'clientError', sink: options.name, clientId: this.id, code, message });
    }
  }
}
