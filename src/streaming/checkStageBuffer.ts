import { checkInteger, show } from '../errors/validate.js';
import { checkOverflow, type OverflowStrategy } from './OverflowStrategy.js';
import { StreamMonitor } from './StreamMonitor.js';

/** The buffer options every stage that may hold push items takes. @internal */
export interface StageBufferOptions {
  readonly bufferCapacity?: number;
  readonly overflow?: Exclude<OverflowStrategy, 'block'>;
  readonly monitor?: StreamMonitor;
  readonly name?: string;
}

/**
 * Validates a stage's buffer options at creation, naming each bad option and its value;
 * `'block'` is refused with `whyNotBlock`, since a stage buffers only what cannot be paused.
 * @internal
 */
export function checkStageBuffer(
  stage: string,
  options: StageBufferOptions,
  whyNotBlock: string,
): {
  readonly capacity: number | undefined;
  readonly overflow: Exclude<OverflowStrategy, 'block'> | undefined;
} {
  const capacity =
    options.bufferCapacity === undefined
      ? undefined
      : checkInteger('bufferCapacity', options.bufferCapacity, 1);
  const overflow =
    options.overflow === undefined ? undefined : checkOverflow('overflow', options.overflow);
  if (overflow === 'block') {
    throw new TypeError(`Option 'overflow' of ${stage}() cannot be 'block': ${whyNotBlock}`);
  }
  if (options.monitor !== undefined && !(options.monitor instanceof StreamMonitor)) {
    throw new TypeError(`Option 'monitor' must be a StreamMonitor, got ${show(options.monitor)}.`);
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new TypeError(`Option 'name' must be a string, got ${show(options.name)}.`);
  }
  return { capacity, overflow };
}
