/**
 * What the examples' long-running jobs print: a progress line redrawn in place on a terminal (plain
 * periodic lines otherwise), a sliding-window rate, and number formats.
 */

/** Something to write the output to: `process.stdout`, or a fake in a test. */
export interface Output {
  write(text: string): unknown;
}

/** Items per second over a sliding window of samples. */
export class RateWindow {
  readonly #samples: { at: number; items: number }[];
  constructor(
    readonly windowMs: number,
    startedAt: number,
  ) {
    this.#samples = [{ at: startedAt, items: 0 }];
  }
  add(at: number, items: number): number {
    const samples = this.#samples;
    samples.push({ at, items });
    while (samples.length > 2 && at - samples[1]!.at >= this.windowMs) samples.shift();
    const first = samples[0]!;
    return at > first.at ? ((items - first.items) * 1000) / (at - first.at) : 0;
  }
}

/** One line redrawn in place on a terminal; plain lines otherwise. */
export class ProgressLine {
  #drawn = false;
  constructor(
    readonly out: Output,
    readonly isTTY: boolean,
    readonly columns: number | undefined,
  ) {}

  show(text: string): void {
    if (!this.isTTY) {
      this.out.write(`${text}\n`);
      return;
    }
    const cut =
      this.columns !== undefined && this.columns > 1 ? text.slice(0, this.columns - 1) : text;
    this.out.write(`\r\x1b[2K${cut}`);
    this.#drawn = true;
  }

  /** A line of its own above the progress line. */
  note(text: string): void {
    this.out.write(this.isTTY && this.#drawn ? `\r\x1b[2K${text}\n` : `${text}\n`);
    this.#drawn = false;
  }

  /** Leaves the last progress line on screen. */
  end(): void {
    if (this.#drawn) this.out.write('\n');
    this.#drawn = false;
  }
}

export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** When a job stops, as printed: `after 1,000 orders, or after 5.0s, or on Ctrl-C`. */
export function stopConditions(items: number, durationMs: number, noun: string): string {
  const when = [];
  if (items !== Infinity) when.push(`after ${count(items)} ${noun}`);
  if (durationMs !== Infinity) when.push(`after ${seconds(durationMs)}`);
  when.push('on Ctrl-C');
  return when.join(', or ');
}
