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
  readonly #isOpen: () => boolean;
  #waiting: (() => void)[] = [];

  constructor(isOpen: () => boolean) {
    this.#isOpen = isOpen;
  }

  get open(): boolean {
    return this.#isOpen();
  }

  /** For sources: run `resume` once the stage has room again. */
  whenOpen(resume: () => void): void {
    this.#waiting.push(resume);
  }

  /** For stages: room may have appeared; wake the sources waiting for it. */
  notify(): void {
    if (this.#waiting.length === 0 || !this.#isOpen()) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resume of waiting) resume();
  }

  /** For stages tearing down: forget waiting sources. */
  clear(): void {
    this.#waiting = [];
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

/** The valve of the nearest stage downstream, read by a pull source when subscribed. @internal */
export function currentValve(): Valve | undefined {
  return current;
}
