import type { SharedStream } from './SharedStream.js';

/**
 * One outgoing message, serialized once and queued by reference in every client that gets it
 * (fan-out costs one `JSON.stringify` per item, not per client).
 * @internal
 */
export interface Frame {
  /** The shared stream it comes from; undefined for replies to the client (acks, errors). */
  readonly stream: SharedStream | undefined;
  /** The stream's sequence number (data frames), or its last one (end and error frames). */
  readonly seq: number;
  readonly text: string;
  /** `performance.now()` when the frame was made, for `lagMs`. */
  readonly at: number;
  /** Acks, errors and end frames: never dropped, and not counted against `clientQueue`. */
  readonly control: boolean;
}

/**
 * A client's outgoing FIFO: a growable ring (data frames are bounded by the caller through
 * `dataSize`; control frames are few), with `dropOldestData` that keeps control frames.
 * @internal
 */
export class FrameQueue {
  #slots: (Frame | undefined)[];
  #head = 0;
  #size = 0;
  #data = 0;

  constructor(capacity: number) {
    this.#slots = new Array<Frame | undefined>(Math.max(4, Math.min(capacity + 4, 1024)));
  }

  get size(): number {
    return this.#size;
  }

  /** Data frames queued (what `clientQueue` bounds). */
  get dataSize(): number {
    return this.#data;
  }

  push(frame: Frame): void {
    if (this.#size === this.#slots.length) this.#grow();
    this.#slots[(this.#head + this.#size) % this.#slots.length] = frame;
    this.#size++;
    if (!frame.control) this.#data++;
  }

  shift(): Frame {
    const frame = this.#slots[this.#head]!;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#slots.length;
    this.#size--;
    if (!frame.control) this.#data--;
    return frame;
  }

  /** Removes the oldest data frame, keeping any control frames before it in order. */
  dropOldestData(): Frame | undefined {
    const length = this.#slots.length;
    for (let i = 0; i < this.#size; i++) {
      const at = (this.#head + i) % length;
      const frame = this.#slots[at]!;
      if (frame.control) continue;
      // Close the gap by moving the i control frames before it one slot forward.
      for (let j = i; j > 0; j--) {
        this.#slots[(this.#head + j) % length] = this.#slots[(this.#head + j - 1) % length];
      }
      this.#slots[this.#head] = undefined;
      this.#head = (this.#head + 1) % length;
      this.#size--;
      this.#data--;
      return frame;
    }
    return undefined;
  }

  clear(): void {
    this.#slots.fill(undefined);
    this.#head = 0;
    this.#size = 0;
    this.#data = 0;
  }

  #grow(): void {
    const old = this.#slots;
    const slots = new Array<Frame | undefined>(old.length * 2);
    for (let i = 0; i < this.#size; i++) slots[i] = old[(this.#head + i) % old.length];
    this.#slots = slots;
    this.#head = 0;
  }
}
