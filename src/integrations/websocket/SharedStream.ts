import type { EventChannel } from '../../behaviors/EventChannel.js';
import { show } from '../../errors/validate.js';
import { toAsyncIterator } from '../../streaming/toAsyncIterator.js';
import type { ClientConnection } from './ClientConnection.js';
import type { Frame } from './FrameQueue.js';
import type { SlowClientPolicy, StreamFactory } from './WebSocketSinkOptions.js';
import type { WebSocketSinkEvent } from './WebSocketSinkEvent.js';

/** Items read between two yields to the event loop. */
const YIELD_EVERY = 64;

/**
 * Event-loop turns a full client whose window is up gets to show send progress before it is
 * judged stalled. After the server's own loop was blocked (a synchronous PGlite query, a GC pause),
 * timers run before the I/O phase, so the send callbacks that would show a healthy client draining
 * have not run yet. Two turns cover a reader in the same process: its read, then our write.
 */
const CONFIRM_TURNS = 2;

/** What `#waitBeforePull` returns when full clients are past their window and need a verdict. */
const CONFIRM = -1;

/**
 * How late (ms) a check may come after a client's window ended before the window is restarted:
 * that late, the event loop (or this stream) was blocked and could not watch the client's socket.
 */
const lateAfter = (stallMs: number): number => Math.max(10, stallMs / 4);

/**
 * Restarts of one client's window without send progress in between. A loop blocked that often
 * is overloaded rather than paused; a verdict is then due, or a stalled client would hold back
 * the others for good.
 */
const MAX_WINDOW_RESTARTS = 3;

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
 * queue has room; otherwise when every client has room or is stalled (a stalled client then drops
 * or is disconnected, and nobody waits for it again until it makes send progress).
 *
 * Stalled means full with no send progress for `stallMs` while the server could see progress: a
 * window checked late (the loop was blocked past its end) starts over, and a window that ends is
 * confirmed only after {@link CONFIRM_TURNS} turns of the event loop have run its I/O phase.
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
   * 0 when the next item may be read; CONFIRM when a full client is past its window and not yet
   * judged; otherwise how long (ms) until the first window ends (so that each end is watched on
   * time), or Infinity to wait for a wake-up. Under `'block'` every client must have room.
   */
  #waitBeforePull(): number {
    if (this.clients.size === 0) return Infinity;
    const { policy, stallMs } = this.owner;
    let wait = Infinity;
    let now = -1;
    for (const client of this.clients) {
      if (client.hasRoom) continue;
      if (policy === 'block') return Infinity;
      if (client.stalled || stallMs === 0) continue;
      if (now < 0) now = performance.now();
      const late = now - client.stallWindowStart - stallMs;
      if (late > lateAfter(stallMs) && client.windowRestarts < MAX_WINDOW_RESTARTS) {
        // Nobody watched the end of this window: count from now, when the loop runs again.
        client.stallWindowStart = now;
        client.windowRestarts++;
        wait = Math.min(wait, stallMs);
      } else if (late < 0) {
        wait = Math.min(wait, -late);
      } else {
        return CONFIRM;
      }
    }
    return wait === Infinity ? 0 : wait;
  }

  /**
   * Judges the full clients whose window is up: a client that still has made no send progress
   * after {@link CONFIRM_TURNS} more turns of the event loop (I/O phases included) is stalled,
   * unless those turns themselves were blocked (then its window starts over).
   */
  async #judgeStalls(): Promise<void> {
    const stallMs = this.owner.stallMs;
    const started = performance.now();
    const suspects: ClientConnection[] = [];
    const marks: number[] = [];
    for (const client of this.clients) {
      if (client.hasRoom || client.stalled || client.stallWindowStart + stallMs > started) continue;
      suspects.push(client);
      marks.push(client.progress);
    }
    for (let turn = 0; turn < CONFIRM_TURNS; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const now = performance.now();
    const blocked = now - started > lateAfter(stallMs);
    for (let i = 0; i < suspects.length; i++) {
      const client = suspects[i]!;
      if (client.progress !== marks[i] || client.hasRoom) continue;
      if (blocked && client.windowRestarts < MAX_WINDOW_RESTARTS) {
        client.stallWindowStart = now;
        client.windowRestarts++;
      } else {
        client.stalled = true;
      }
    }
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
        for (let wait = this.#waitBeforePull(); wait !== 0; wait = this.#waitBeforePull()) {
          await (wait === CONFIRM ? this.#judgeStalls() : this.#waitForRoom(wait));
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
