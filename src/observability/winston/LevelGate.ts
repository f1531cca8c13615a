import type { Logger } from 'winston';

/** A transport as the gate compares it: its identity and its own `level`. */
interface TransportLike {
  readonly level?: unknown;
}

/**
 * Answers "would the logger write at this level?" for a few nanoseconds. Winston's
 * `isLevelEnabled` walks the transports on every call (~70–140 ns here), which is most of what a
 * disabled record would cost; the gate asks it once per level and remembers the answers until
 * what decides them changes: the logger's `level`, `levels`, `silent` flag, or its transports
 * (which ones, in which order, and each one's own `level`).
 *
 * The transports are read from the stream state winston's own `transports` getter derives them
 * from (`_readableState.pipes`: one transport, an array, or none), which costs a few property
 * reads where the getter allocates an array; a logger without that state falls back on the
 * getter, once per {@link refresh}.
 * @internal
 */
export class LevelGate {
  readonly #logger: Logger;
  readonly #answers = new Map<string, boolean>();
  #level: unknown;
  #levels: unknown;
  #silent: unknown;
  /** The transports as of the last change, and their levels then; `undefined` before the first refresh. */
  #transports: readonly TransportLike[] | undefined;
  #transportLevels: unknown[] = [];

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * Re-reads what decides the answers; returns true (and forgets them) when it changed since the
   * last call, or on the first call.
   */
  refresh(): boolean {
    const logger = this.#logger;
    const pipes = pipesOf(logger);
    if (
      logger.level === this.#level &&
      logger.silent === this.#silent &&
      logger.levels === this.#levels &&
      this.#sameTransports(pipes)
    ) {
      return false;
    }
    this.#answers.clear();
    this.#level = logger.level;
    this.#levels = logger.levels;
    this.#silent = logger.silent;
    const transports = listOf(pipes);
    this.#transports = transports;
    this.#transportLevels = transports.map((t) => t.level);
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

  /** Whether `pipes` are the remembered transports, in order, each at its remembered level. */
  #sameTransports(pipes: TransportLike | readonly TransportLike[] | null): boolean {
    const known = this.#transports;
    if (known === undefined) return false;
    const levels = this.#transportLevels;
    if (pipes === null) return known.length === 0;
    if (!Array.isArray(pipes)) {
      const one = pipes as TransportLike;
      return known.length === 1 && known[0] === one && one.level === levels[0];
    }
    if (pipes.length !== known.length) return false;
    for (let i = 0; i < pipes.length; i++) {
      const transport = pipes[i] as TransportLike;
      if (transport !== known[i] || transport.level !== levels[i]) return false;
    }
    return true;
  }
}

/**
 * The logger's transports as its stream state holds them: readable-stream 3 (winston 3) keeps
 * one pipe as the object itself (`null` for none) and several as an array; Node's own streams
 * always keep an array. Without that state: winston's `transports` getter.
 */
function pipesOf(logger: Logger): TransportLike | readonly TransportLike[] | null {
  const state = (logger as { _readableState?: { pipes?: unknown } })._readableState;
  if (state !== undefined && state !== null && 'pipes' in state) {
    const pipes = state.pipes;
    return typeof pipes === 'object' && pipes !== null ? (pipes as TransportLike) : null;
  }
  return (logger as { transports?: readonly TransportLike[] }).transports ?? null;
}

function listOf(pipes: TransportLike | readonly TransportLike[] | null): readonly TransportLike[] {
  if (pipes === null) return [];
  return Array.isArray(pipes) ? [...(pipes as readonly TransportLike[])] : [pipes as TransportLike];
}
