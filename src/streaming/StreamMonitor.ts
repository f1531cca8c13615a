import { map, timer, type Observable } from 'rxjs';
import { checkInteger } from '../errors/validate.js';
import type { OverflowStrategy } from './OverflowStrategy.js';

/** What one buffering stage of one live stream looks like right now. */
export interface StageStats {
  /** The stage: `'bridge'` (a push source read with `for await`), `'parallel'`, … */
  readonly stage: string;
  /** The stream's message name (see `@MessageName`); bounded cardinality, safe as a metric label. */
  readonly stream: string;
  /** Items the stage may hold: its buffer capacity, or a parallel stage's concurrency. */
  readonly capacity: number;
  /** Items held now: buffered, or (parallel) started and not yet delivered. */
  readonly buffered: number;
  /** `buffered ÷ capacity`, from 0 to 1. */
  readonly utilisation: number;
  /** Tasks running now (parallel stages; 0 elsewhere). */
  readonly inFlight: number;
  /** The stage's overflow strategy for push sources. */
  readonly overflow: OverflowStrategy;
  /** Items this stage dropped under a lossy strategy. */
  readonly dropped: number;
  /** Items that entered the stage. */
  readonly itemsIn: number;
  /** Items the stage handed downstream. */
  readonly itemsOut: number;
  /** Total time the stage held items its consumer had not taken yet: the producer waiting on the consumer. */
  readonly producerWaitMs: number;
  /** Total time the consumer had a read pending and nothing to take: the consumer waiting on the producer. */
  readonly consumerWaitMs: number;
}

/** Items dropped so far by one stage kind of one stream, across every run of it. */
export interface DropTotal {
  readonly stream: string;
  readonly stage: string;
  readonly strategy: OverflowStrategy;
  readonly dropped: number;
}

/**
 * Watches the buffering stages of streams: give one to the mediator (`streams: { monitor }`), to
 * one `createStream()` call, or to an Observable-path stage (`parallel(task, { monitor })`), and
 * read {@link StreamMonitor.snapshot} (live stages: occupancy, utilisation, in-flight tasks,
 * waits) and {@link StreamMonitor.dropTotals} (monotonic counters, for metrics). Stages with no
 * monitor record nothing and read no clock: watching costs nothing when nobody watches.
 *
 * @example
 * ```ts
 * const monitor = new StreamMonitor();
 * const mediator = createMediator({ handlers, streams: { monitor } });
 * setInterval(() => {
 *   for (const s of monitor.snapshot()) log(`${s.stream}/${s.stage}: ${s.buffered}/${s.capacity}`);
 * }, 5000);
 * ```
 */
export class StreamMonitor {
  readonly #live = new Set<StageProbe>();
  readonly #drops = new Map<
    string,
    { stream: string; stage: string; strategy: OverflowStrategy; dropped: number }
  >();

  /** The live stages, as they are now. */
  snapshot(): StageStats[] {
    const now = performance.now();
    return [...this.#live].map((probe) => probe.stats(now));
  }

  /**
   * The live stages every `periodMs`, the first right away (on the next timer turn): for health checks and dashboards. Cold;
   * its timer runs only while subscribed.
   *
   * @example
   * ```ts
   * monitor.watch(1000).subscribe((stages) => {
   *   for (const s of stages) if (s.utilisation > 0.9) log.warn(`${s.stream}/${s.stage} nearly full`);
   * });
   * ```
   */
  watch(periodMs: number): Observable<StageStats[]> {
    checkInteger('periodMs', periodMs, 1);
    return timer(0, periodMs).pipe(map(() => this.snapshot()));
  }

  /** Items dropped per stream, stage and strategy since the monitor was made (only growing). */
  dropTotals(): DropTotal[] {
    return [...this.#drops.values()].map((d) => ({ ...d }));
  }

  /** @internal Called by a stage when it opens; the stage calls `close()` on the probe when done. */
  open(
    stage: string,
    stream: string,
    capacity: number,
    overflow: OverflowStrategy,
    sample: () => { readonly buffered: number; readonly inFlight: number },
  ): StageProbe {
    const key = `${stream}\u0000${stage}\u0000${overflow}`;
    let drops = this.#drops.get(key);
    if (drops === undefined) {
      drops = { stream, stage, strategy: overflow, dropped: 0 };
      this.#drops.set(key, drops);
    }
    const probe = new StageProbe(stage, stream, capacity, overflow, sample, drops, this.#live);
    this.#live.add(probe);
    return probe;
  }
}

/**
 * One stage's counters and wait clocks. Stages call it only when a monitor was given.
 * @internal
 */
export class StageProbe {
  itemsIn = 0;
  itemsOut = 0;
  dropped = 0;
  #producerWaitMs = 0;
  #consumerWaitMs = 0;
  #producerSince = -1;
  #consumerSince = -1;

  constructor(
    readonly stage: string,
    readonly stream: string,
    readonly capacity: number,
    readonly overflow: OverflowStrategy,
    readonly sample: () => { readonly buffered: number; readonly inFlight: number },
    readonly drops: { dropped: number },
    readonly live: Set<StageProbe>,
  ) {}

  drop(): void {
    this.dropped++;
    this.drops.dropped++;
  }

  /** The producer is (true) or is no longer (false) waiting on the consumer. */
  producerWaiting(waiting: boolean): void {
    if (waiting) {
      if (this.#producerSince < 0) this.#producerSince = performance.now();
    } else if (this.#producerSince >= 0) {
      this.#producerWaitMs += performance.now() - this.#producerSince;
      this.#producerSince = -1;
    }
  }

  /** The consumer is (true) or is no longer (false) waiting on the producer. */
  consumerWaiting(waiting: boolean): void {
    if (waiting) {
      if (this.#consumerSince < 0) this.#consumerSince = performance.now();
    } else if (this.#consumerSince >= 0) {
      this.#consumerWaitMs += performance.now() - this.#consumerSince;
      this.#consumerSince = -1;
    }
  }

  close(): void {
    this.producerWaiting(false);
    this.consumerWaiting(false);
    this.live.delete(this);
  }

  stats(now: number): StageStats {
    const { buffered, inFlight } = this.sample();
    return {
      stage: this.stage,
      stream: this.stream,
      capacity: this.capacity,
      buffered,
      utilisation: buffered / this.capacity,
      inFlight,
      overflow: this.overflow,
      dropped: this.dropped,
      itemsIn: this.itemsIn,
      itemsOut: this.itemsOut,
      producerWaitMs:
        this.#producerWaitMs + (this.#producerSince < 0 ? 0 : now - this.#producerSince),
      consumerWaitMs:
        this.#consumerWaitMs + (this.#consumerSince < 0 ? 0 : now - this.#consumerSince),
    };
  }
}
