/**
 * A fixed-capacity FIFO queue over a preallocated array: O(1) push and shift, no `Array#shift`,
 * slots cleared on shift so delivered items can be collected.
 * @internal
 */
export class RingBuffer<T> {
  readonly #slots: (T | undefined)[];
  #head = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    this.#slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get isFull(): boolean {
    return this.#size === this.capacity;
  }

  /** Appends; the caller checks `isFull` first. */
  push(item: T): void {
    this.#slots[(this.#head + this.#size) % this.capacity] = item;
    this.#size++;
  }

  /** Removes and returns the oldest item; the caller checks `size` first. */
  shift(): T {
    const item = this.#slots[this.#head] as T;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    return item;
  }

  /** Overwrites the newest item; the caller checks `size` first. */
  replaceLast(item: T): void {
    this.#slots[(this.#head + this.#size - 1) % this.capacity] = item;
  }

  clear(): void {
    this.#slots.fill(undefined);
    this.#head = 0;
    this.#size = 0;
  }
}
