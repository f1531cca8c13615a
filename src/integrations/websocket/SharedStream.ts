import type { EventChannel } from '../../behaviors/EventChannel.js';
import { show } from '../../errors/validate.js';
import { toAsyncIterator } from '../../streaming/toAsyncIterator.js';
import type { ClientConnection } from './ClientConnection.js';
import type { Frame } from './FrameQueue.js';
import type { SlowClientPolicy, StreamFactory } from './WebSocketSinkOptions.js';
import type { WebSocketSinkEvent } from './WebSocketSinkEvent.js';

/** Items read between two yields to the event loop. */
const YIELD_EVERY = 64;

/** @internal What a shared stream needs from its sink. */
export interface StreamOwner {
  readonly name: string;
  readonly policy: SlowClientPolicy;
  readonly clientQueue: number;
  readonly stallMs: number;
  readonly channel: EventChannel<WebSocketSinkEvent>;
  streamClosed(stream: SharedStream): void;
}

/**
 * One upstream pull shared by every client subscribed to the same name with equal parameters.
 * Reads one item at a time, only when the policy allows: under `'block'` when every client's
 * queue has room; otherwise when every client has room or has been full for `stallMs` (a stalled
 * client then drops or is disconnected, and nobody waits for it again until it has caught up).
 * Opened on the first subscriber; closed (abort + iterator `return()`) when the last leaves.
 * @internal
 */
export class SharedStream {
  readonly clients = new Set<ClientConnection>();
  /** Items produced so far; the `seq` of the latest data frame. */
  seq = 0;
  readonly #controller = new AbortController();
  #iterator: AsyncIterator<unknown> | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(
    readonly name: string,
    readonly key: string,
    readonly params: Readonly<Record<string, unknown>>,
    readonly factory: StreamFactory<unknown>,
    readonly owner: StreamOwner,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  add(client: ClientConnection): void {
    this.clients.add(client);
    if (this.clients.size === 1 && this.#iterator === undefined) void this.#run();
    else this.wake();
  }

  remove(client: ClientConnection): void {
    if (!this.clients.delete(client)) return;
    if (this.clients.size === 0) this.abandon();
    else this.wake();
  }

  /** Re-checks whether the next item may be read (a client's queue gained room, or one left). */
  wake(): void {
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  /** Stops reading: aborts the factory's signal and returns the iterator. */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.abort();
    this.#close();
    this.owner.streamClosed(this);
    this.wake();
  }

  /**
   * 0 when the next item may be read; otherwise how long (ms) until a full client counts as
   * stalled, or Infinity to wait for a wake-up. Under `'block'` every client must have room; under
   * the other policies a full client is waited for only until it has been full for `stallMs`.
   */
  #waitBeforePull(): number {
    if (this.clients.size === 0) return Infinity;
    const block = this.owner.policy === 'block';
    let wait = 0;
    let now = -1;
    for (const client of this.clients) {
      if (client.hasRoom) continue;
      if (block) return Infinity;
      if (now < 0) now = performance.now();
      if (!client.stalledAt(now)) {
        wait = Math.max(wait, client.fullSince + this.owner.stallMs - now);
      }
    }
    return wait;
  }

  #waitForRoom(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (ms === Infinity) {
        this.#wake = resolve;
        return;
      }
      const timer = setTimeout(() => this.wake(), Math.max(1, Math.ceil(ms)));
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    const { channel, name: sink } = this.owner;
    if (channel.observed) {
      channel.emit({ type: 'upstreamOpen', sink, stream: this.name, params: this.params });
    }
    let outcome: 'end' | 'error' | 'abandoned' = 'abandoned';
    try {
      const source = this.factory(this.params, this.#controller.signal);
      const iterator = toAsyncIterator<unknown>(
        source,
        {
          bufferCapacity: this.owner.clientQueue,
          overflow: this.owner.policy === 'dropOldest' ? 'dropOldest' : 'error',
        },
        this.name,
      );
      if (iterator === undefined) {
        throw new TypeError(
          `The factory of stream '${this.name}' returned ${show(source)}, not an AsyncIterable or Observable.`,
        );
      }
      this.#iterator = iterator;
      if (this.#closed) return; // every client left while the factory ran
      for (;;) {
        for (let wait = this.#waitBeforePull(); wait > 0; wait = this.#waitBeforePull()) {
          await this.#waitForRoom(wait);
          if (this.#closed) return;
        }
        const result = await iterator.next();
        if (this.#closed) return;
        if (result.done === true) {
          outcome = 'end';
          this.#broadcast(JSON.stringify({ stream: this.name, end: true }), true);
          return;
        }
        const seq = ++this.seq;
        this.#broadcast(JSON.stringify({ stream: this.name, seq, data: result.value }), false);
        // A source that answers from memory and sockets that accept every write would keep this
        // loop in microtasks forever, starving socket I/O, pongs and client messages.
        if (seq % YIELD_EVERY === 0) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (this.#closed) return;
        }
      }
    } catch (error) {
      if (this.#closed) return;
      outcome = 'error';
      const { name, message } =
        error instanceof Error ? error : { name: 'Error', message: String(error) };
      this.#broadcast(
        JSON.stringify({ stream: this.name, error: { code: 'upstream_error', name, message } }),
        true,
      );
    } finally {
      if (!this.#closed) {
        this.#closed = true;
        this.#controller.abort();
        if (outcome !== 'end') this.#close();
        this.owner.streamClosed(this);
      }
      for (const client of this.clients) client.streamEnded(this);
      this.clients.clear();
      if (channel.observed) {
        channel.emit({
          type: 'upstreamClose',
          sink,
          stream: this.name,
          params: this.params,
          items: this.seq,
          outcome,
        });
      }
    }
  }

  #broadcast(text: string, control: boolean): void {
    const frame: Frame = { stream: this, seq: this.seq, text, at: performance.now(), control };
    for (const client of this.clients) client.enqueue(frame);
  }

  #close(): void {
    const iterator = this.#iterator;
    if (iterator?.return === undefined) return;
    try {
      // On an async generator still inside next(), return() is queued and runs its finally next.
      iterator.return().then(undefined, () => undefined);
    } catch {
      // A throwing return() is the source's problem; the stream is closed either way.
    }
  }
}
