import { brand, hasBrand } from './brand.js';

const BRAND = brand('ConsumerBusyError');

/**
 * A change feed could not read as its consumer because another reader holds the consumer's
 * lease: either when the feed started ({@link ConsumerBusyError.lost} false: another reader is
 * live) or later ({@link ConsumerBusyError.lost} true: this feed's lease expired — the process was
 * blocked longer than `leaseMs`, or the database unreachable — and another reader took over).
 * In both cases the feed has ended without moving the other reader's cursor.
 *
 * @example
 * ```ts
 * try {
 *   for await (const change of changeFeed(db, { consumer: 'exporter' })) handle(change);
 * } catch (error) {
 *   if (error instanceof ConsumerBusyError) console.warn(`${error.consumer} is read elsewhere`);
 * }
 * ```
 */
export class ConsumerBusyError extends Error {
  declare readonly [BRAND]: true;
  override readonly name = 'ConsumerBusyError';

  constructor(
    /** The consumer name whose lease another reader holds. */
    readonly consumer: string,
    /** When the other reader's lease ends unless renewed, when known. */
    readonly leaseUntil: Date | undefined,
    /** True when this feed held the lease and lost it; false when it never got it. */
    readonly lost = false,
  ) {
    const until = leaseUntil ? ` (lease until ${leaseUntil.toISOString()})` : '';
    super(
      lost
        ? `Change feed consumer '${consumer}' lost its lease to another reader${until}.`
        : `Change feed consumer '${consumer}' is being read by another reader${until}.`,
    );
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a {@link ConsumerBusyError}, from this or any other copy of the package.
 *
 * @example
 * ```ts
 * if (isConsumerBusyError(e) && !e.lost) setTimeout(retry, 5000); // another reader is live
 * ```
 */
export function isConsumerBusyError(error: unknown): error is ConsumerBusyError {
  return hasBrand(error, BRAND);
}
