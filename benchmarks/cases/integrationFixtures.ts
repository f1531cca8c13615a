/**
 * Helpers of the integration reports (integrations.ts): heap and RSS readings after a forced GC,
 * percentiles, number formatting, and a light `ws` client that counts frames without parsing
 * them (the clients run in the benchmark's own process, so every microsecond they spend is taken
 * from the server they measure).
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';

/** 1 MiB. */
export const MB = 1024 * 1024;

const forceGc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    throw new Error('The integration reports need node --expose-gc (run.ts passes it).');
  });

/** Heap used, memory outside the heap (Buffers) and RSS, in bytes, read after a forced full GC. */
export interface Memory {
  readonly heap: number;
  readonly external: number;
  readonly rss: number;
}

/**
 * Forces a full GC and reads the heap and RSS: what is still reachable, not garbage.
 *
 * @example
 * ```ts
 * const before = memoryAfterGc();
 * // … work …
 * const growthMb = (memoryAfterGc().heap - before.heap) / MB;
 * ```
 */
export function memoryAfterGc(): Memory {
  forceGc();
  const { heapUsed, external, rss } = process.memoryUsage();
  return { heap: heapUsed, external, rss };
}

/**
 * The nearest-rank percentile `p` (0–100) of `values`; NaN when empty.
 *
 * @example
 * ```ts
 * percentile([5, 1, 3], 50); // 3
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

/**
 * An integer with thousands separators.
 *
 * @example
 * ```ts
 * count(20000); // '20,000'
 * ```
 */
export const count = (n: number): string => Math.round(n).toLocaleString('en');

/**
 * A rate per second, rounded to three significant figures with a k/M suffix.
 *
 * @example
 * ```ts
 * perSecond(123_456); // '123 k'
 * ```
 */
export function perSecond(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)} M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)} k`;
  return n.toFixed(0);
}

/**
 * Megabytes with one decimal and an explicit sign (a growth).
 *
 * @example
 * ```ts
 * megabytes(1.5 * MB); // '+1.5'
 * ```
 */
export const megabytes = (bytes: number): string =>
  `${bytes >= 0 ? '+' : '−'}${(Math.abs(bytes) / MB).toFixed(1)}`;

/**
 * Resolves `promise`, or rejects after `ms` with an error naming `what`: a broken run fails the
 * report instead of hanging the suite.
 *
 * @example
 * ```ts
 * await within(client.ended, 30_000, 'client 3 to receive the end frame');
 * ```
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms waiting for ${what}.`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A `ws` client subscribed to one stream of a WebSocket sink, counting its data frames. Frames are
 * recognised by prefix, not parsed, except in `trackSeq` mode (the stalled client, to count the
 * gaps that drops leave in `seq`).
 */
export class BenchClient {
  readonly socket: WebSocket;
  /** Data frames received. */
  received = 0;
  /** `performance.now()` of the last data frame. */
  lastAt = 0;
  /** The longest time between two data frames, in ms. */
  longestPause = 0;
  /** Items missing between the data frames received (`trackSeq` only). */
  gaps = 0;
  /** Called on every data frame (after counting it). */
  onData: ((client: BenchClient) => void) | undefined;
  /** Resolves with the time the `subscribed` ack arrived. */
  readonly subscribed: Promise<number>;
  /** Resolves with the time the `end` frame arrived. */
  readonly ended: Promise<number>;
  /** Resolves with the close code once the socket has closed. */
  readonly closed: Promise<number>;
  readonly #dataPrefix: string;
  readonly #trackSeq: boolean;
  readonly #stall: boolean;
  #lastSeq = 0;

  private constructor(socket: WebSocket, stream: string, trackSeq: boolean, stall: boolean) {
    this.socket = socket;
    this.#dataPrefix = `{"stream":${JSON.stringify(stream)},"seq":`;
    this.#trackSeq = trackSeq;
    this.#stall = stall;
    let onSubscribed!: (at: number) => void;
    let onEnded!: (at: number) => void;
    this.subscribed = new Promise((resolve) => (onSubscribed = resolve));
    this.ended = new Promise((resolve) => (onEnded = resolve));
    this.closed = new Promise((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('message', (data) => {
      const now = performance.now();
      const text = String(data);
      if (text.startsWith(this.#dataPrefix)) {
        if (this.received > 0 && now - this.lastAt > this.longestPause) {
          this.longestPause = now - this.lastAt;
        }
        this.received++;
        this.lastAt = now;
        if (this.#trackSeq) {
          const seq = (JSON.parse(text) as { seq: number }).seq;
          this.gaps += seq - this.#lastSeq - 1;
          this.#lastSeq = seq;
        }
        this.onData?.(this);
      } else if (text.includes('"subscribed":true')) {
        // Data flows only once every client is subscribed (see the fan-out report's gate).
        if (this.#stall) this.#tcp.pause();
        onSubscribed(now);
      } else if (text.includes('"end":true')) onEnded(now);
      else throw new Error(`Unexpected frame from the sink: ${text.slice(0, 200)}`);
    });
  }

  /**
   * Connects to `url` and subscribes to `stream`; with `stall`, stops reading its TCP socket once
   * the subscription is acknowledged (the kernel buffers fill, then the server's).
   */
  static async open(
    url: string,
    stream: string,
    { stall = false, trackSeq = false } = {},
  ): Promise<BenchClient> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const client = new BenchClient(socket, stream, trackSeq, stall);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ subscribe: stream }));
    return client;
  }

  /** Starts reading the TCP socket again. */
  resume(): void {
    this.#tcp.resume();
  }

  /** Resumes reading (a paused socket would not see its own end) and drops the connection. */
  terminate(): void {
    this.#tcp.resume();
    this.socket.terminate();
  }

  get #tcp(): Socket {
    return (this.socket as unknown as { _socket: Socket })._socket;
  }
}
