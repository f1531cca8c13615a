/**
 * How a stage with limited room (a parallel stage, a consumer that signals demand) tells a pull
 * source upstream when it may read. The stage subscribes to its upstream inside
 * {@link subscribeThroughValve}; a pull source subscribed during that call (through any number
 * of synchronous operators: map, filter, bufferCount…) captures the valve and reads only while
 * it is open. Asynchronous operators between the two (observeOn, delay) hold items the valve
 * cannot see, so the bound holds through synchronous operators and the library's own stages.
 * @internal
 */
export class Valve {
  readonly #hasRoom: () => boolean;
  readonly #downstream: Valve | undefined;
  #waiting: (() => void)[] = [];
  /** Waiting on the downstream valve to reopen (registered once). */
  #chained = false;

  /**
   * @param hasRoom - Whether the stage itself has room.
   * @param downstream - The valve of the stage this one emits into, if any: while it is shut,
   *   this one is shut too, so demand travels up a chain of stages (a slow `for await` loop
   *   behind a parallel stage pauses the source in front of it).
   */
  constructor(hasRoom: () => boolean, downstream?: Valve) {
    this.#hasRoom = hasRoom;
    this.#downstream = downstream;
  }

  get open(): boolean {
    return this.#hasRoom() && (this.#downstream === undefined || this.#downstream.open);
  }

  /** For sources: run `resume` once the stage has room again. */
  whenOpen(resume: () => void): void {
    this.#waiting.push(resume);
    this.#chain();
  }

  /** For stages: room may have appeared; wake the sources waiting for it. */
  notify(): void {
    if (this.#waiting.length === 0) return;
    if (!this.open) return this.#chain();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resume of waiting) resume();
  }

  /** For stages tearing down: forget waiting sources. */
  clear(): void {
    this.#waiting = [];
  }

  /** When it is the downstream stage that is full, ask it to wake this valve when it has room. */
  #chain(): void {
    const downstream = this.#downstream;
    if (downstream === undefined || this.#chained || downstream.open) return;
    this.#chained = true;
    downstream.whenOpen(() => {
      this.#chained = false;
      this.notify();
    });
  }
}

let current: Valve | undefined;

/** Subscribes (inside `subscribe`) with `valve` visible to pull sources upstream. @internal */
export function subscribeThroughValve<T>(valve: Valve, subscribe: () => T): T {
  const previous = current;
  current = valve;
  try {
    return subscribe();
  } finally {
    current = previous;
  }
}

/**
 * Runs `fn(arg)` with no valve visible. A stage whose upstream emits synchronously during
 * subscription runs its per-item user code (a task, a projection) inside that subscription; a
 * pull source the user code opens must not capture the stage's own valve, which is shut while
 * that very item is being worked on (it would wait for itself).
 * @internal
 */
export function outsideValve<A>(fn: (arg: A) => void, arg: A): void {
  const previous = current;
  if (previous === undefined) return fn(arg);
  current = undefined;
  try {
    fn(arg);
  } finally {
    current = previous;
  }
}

/** The valve of the nearest stage downstream, read by a pull source when subscribed. @internal */
export function currentValve(): Valve | undefined {
  return current;
}
