import { WebSocket, type ClientOptions } from 'ws';

/** A frame as the sink sends it. */
export interface Received {
  readonly stream?: string;
  readonly seq?: number;
  readonly data?: unknown;
  readonly end?: true;
  readonly subscribed?: true;
  readonly unsubscribed?: true;
  readonly error?: { readonly code: string; readonly message: string; readonly name?: string };
}

/** A real `ws` client recording every frame, for specs. */
export interface TestClient {
  readonly socket: WebSocket;
  readonly frames: Received[];
  readonly closed: Promise<number>;
  send(body: unknown): void;
  /** Waits (bounded) for a frame matching `match` at or after index `from`. */
  frame(match: (frame: Received) => boolean, from?: number): Promise<Received>;
  /** Data frames received so far. */
  data(): Received[];
  /** Stops reading from the TCP socket (the kernel buffers fill, then the server's). */
  stall(): void;
  resume(): void;
}

const opened: WebSocket[] = [];

export async function connect(url: string, options?: ClientOptions): Promise<TestClient> {
  const socket = new WebSocket(url, options);
  opened.push(socket);
  const frames: Received[] = [];
  socket.on('message', (data) => frames.push(JSON.parse(String(data)) as Received));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const raw = (): { pause(): void; resume(): void } =>
    (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  return {
    socket,
    frames,
    closed,
    send: (body) => socket.send(typeof body === 'string' ? body : JSON.stringify(body)),
    async frame(match, from = 0) {
      await until(() => frames.slice(from).some(match));
      return frames.slice(from).find(match)!;
    },
    data: () => frames.filter((f) => f.seq !== undefined && f.data !== undefined),
    stall: () => raw().pause(),
    resume: () => raw().resume(),
  };
}

/** Terminates every client opened by `connect` (spec teardown). */
export function terminateClients(): void {
  for (const socket of opened.splice(0)) socket.terminate();
}

/** Polls `condition` every 5 ms; rejects after `timeoutMs` so a broken spec fails, not hangs. */
export async function until(condition: () => boolean, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`Condition not met within ${timeoutMs} ms: ${String(condition)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until `read()` has not changed for `quietMs` (bounded by `timeoutMs`); returns its value. */
export async function settled(
  read: () => number,
  quietMs = 150,
  timeoutMs = 4000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = read();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline)
      throw new Error(`Value kept changing for ${timeoutMs} ms (now ${read()})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = read();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

/**
 * An instrumented source: counts factory calls and pulls, records `finally` and the signal. With
 * `gate`, the first item waits for it (so that several clients can subscribe first).
 */
export function probeSource<T>(item: (i: number) => T, count = Infinity, gate?: Promise<void>) {
  const state = {
    opened: 0,
    pulled: 0,
    finallyRan: 0,
    signals: [] as AbortSignal[],
    params: [] as unknown[],
  };
  const factory = (
    params: Readonly<Record<string, unknown>>,
    signal: AbortSignal,
  ): AsyncIterable<T> => {
    state.opened++;
    state.signals.push(signal);
    state.params.push(params);
    return (async function* () {
      try {
        await gate;
        for (let i = 1; i <= count; i++) {
          state.pulled++;
          yield item(i);
        }
      } finally {
        state.finallyRan++;
      }
    })();
  };
  return { state, factory };
}
