import type { Logger } from 'winston';

/**
 * Answers "would the logger write at this level?" for a few nanoseconds. Winston's
 * `isLevelEnabled` walks the transports on every call (~70–140 ns here), which is most of what a
 * disabled record would cost; the gate asks it once per level and remembers the answer until
 * the logger's `level`, `silent` flag or number of transports changes. (A change of one
 * transport's own `level` alone is seen at the next such change.)
 * @internal
 */
export class LevelGate {
  readonly #logger: Logger;
  readonly #answers = new Map<string, boolean>();
  #level: unknown;
  #silent: unknown;
  #transports = -1;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * Re-reads what decides the answers; returns true (and forgets them) when it changed since the
   * last call, or on the first call.
   */
  refresh(): boolean {
    const logger = this.#logger;
    const transports = transportCount(logger);
    if (
      logger.level === this.#level &&
      logger.silent === this.#silent &&
      transports === this.#transports
    ) {
      return false;
    }
    this.#answers.clear();
    this.#level = logger.level;
    this.#silent = logger.silent;
    this.#transports = transports;
    return true;
  }

  /** Whether the logger writes records at `level` (never for `false`), as of the last refresh. */
  enabled(level: string | false): boolean {
    if (level === false) return false;
    let on = this.#answers.get(level);
    if (on === undefined) {
      const logger = this.#logger;
      on = logger.silent !== true && logger.isLevelEnabled(level);
      this.#answers.set(level, on);
    }
    return on;
  }
}

/**
 * How many transports the logger has. Winston's `transports` getter costs ~30–50 ns here, more
 * than everything else a disabled record costs, so the count is read from the stream state it
 * is derived from (`_readableState.pipes`, which winston itself reads), when there is one.
 */
function transportCount(logger: Logger): number {
  const state = (logger as { _readableState?: { pipes?: unknown; pipesCount?: unknown } })
    ._readableState;
  // readable-stream 3 (winston 3) keeps one pipe as the object itself and counts in pipesCount;
  // Node's own streams keep an array.
  if (typeof state?.pipesCount === 'number') return state.pipesCount;
  if (Array.isArray(state?.pipes)) return state.pipes.length;
  return (logger as { transports?: readonly unknown[] }).transports?.length ?? 0;
}
