import { checkOneOf } from '../errors/validate.js';

/**
 * What a bounded buffer does when a producer that cannot be paused (a push source: a Subject, a
 * timer, a socket) fills it while the consumer is busy. Capacity 3, items 1–5 arrive while the
 * consumer is busy, then it reads everything:
 *
 * ```text
 * arrives      1 2 3 4 5
 * 'error'      1 2 3 ✖            stream fails with BufferOverflowError after 1 2 3 (lossless or loud)
 * 'dropNewest' 1 2 3              4 and 5 dropped (counted)
 * 'dropOldest'     3 4 5          1 and 2 dropped (counted)
 * 'latest'     1 2       5        the last slot always holds the newest: 3, 4 dropped (counted)
 * 'block'      1 2 3 (4 5 later)  the producer is not read until there is room: pull sources only
 * ```
 *
 * @example
 * ```ts
 * for await (const tick of mediator.createStream(new Ticks(), { bufferCapacity: 100, overflow: 'dropOldest' })) {}
 * ```
 */
export type OverflowStrategy = 'error' | 'dropOldest' | 'dropNewest' | 'latest' | 'block';

/** @internal */
export const OVERFLOW_STRATEGIES: readonly OverflowStrategy[] = [
  'error',
  'dropOldest',
  'dropNewest',
  'latest',
  'block',
];

/** @internal */
export function checkOverflow(option: string, value: unknown): OverflowStrategy {
  return checkOneOf(option, value, OVERFLOW_STRATEGIES);
}
