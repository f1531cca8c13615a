import { RingBuffer } from './RingBuffer.js';
import type { OverflowStrategy } from './OverflowStrategy.js';
import type { StageProbe } from './StreamMonitor.js';

/**
 * A ring buffer that applies an {@link OverflowStrategy} when a push producer offers an item it
 * has no room for. Counts what it drops. `'block'` never reaches `offer()` on a full buffer:
 * pull producers check `hasRoom` before reading.
 * @internal
 */
export class OverflowBuffer<T> {
  readonly #ring: RingBuffer<T>;
  /** Items dropped so far by a lossy strategy. */
  dropped = 0;

  constructor(
    capacity: number,
    readonly strategy: OverflowStrategy,
    /** Told of every drop, when the stream is monitored. */
    public probe?: StageProbe,
  ) {
    this.#ring = new RingBuffer(capacity);
  }

  get capacity(): number {
    return this.#ring.capacity;
  }

  get size(): number {
    return this.#ring.size;
  }

  get hasRoom(): boolean {
    return !this.#ring.isFull;
  }

  /**
   * Adds an item, applying the strategy when full. Returns false only under `'error'` (and
   * `'block'`, which a correct caller never reaches) when there was no room: the caller fails.
   */
  offer(item: T): boolean {
    const ring = this.#ring;
    if (!ring.isFull) {
      ring.push(item);
      return true;
    }
    switch (this.strategy) {
      case 'dropNewest':
        this.#drop();
        return true;
      case 'dropOldest':
        ring.shift();
        ring.push(item);
        this.#drop();
        return true;
      case 'latest':
        ring.replaceLast(item);
        this.#drop();
        return true;
      default:
        return false;
    }
  }

  #drop(): void {
    this.dropped++;
    this.probe?.drop();
  }

  shift(): T {
    return this.#ring.shift();
  }

  clear(): void {
    this.#ring.clear();
  }
}
