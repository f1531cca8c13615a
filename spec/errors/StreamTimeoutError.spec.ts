import { describe, expect, it } from '@jest/globals';
import { BufferOverflowError, isBufferOverflowError } from '../../src/index.js';
import {
  isStreamTimeoutError,
  StreamTimeoutError,
  type StreamTimeoutKind,
} from '../../src/errors/StreamTimeoutError.js';

const BRAND = Symbol.for('fs-mediator.StreamTimeoutError');

describe('StreamTimeoutError', () => {
  it('is an Error with its own name, also in its stack', () => {
    const error = new StreamTimeoutError('idle', 250);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('StreamTimeoutError');
    expect(String(error)).toBe(`StreamTimeoutError: ${error.message}`);
    expect(error.stack?.startsWith(`StreamTimeoutError: ${error.message}`)).toBe(true);
  });

  it.each<[StreamTimeoutKind, number, string]>([
    ['first', 100, 'Stream timed out: the first item did not arrive within 100 ms (firstMs).'],
    [
      'idle',
      250,
      'Stream timed out: no item arrived for 250 ms while the consumer waited (idleMs).',
    ],
    ['total', 60000, 'Stream timed out: the stream did not complete within 60000 ms (totalMs).'],
  ])('carries kind %p and ms %p, and says which limit fired', (kind, ms, message) => {
    const error = new StreamTimeoutError(kind, ms);
    expect(error).toMatchObject({ kind, ms });
    expect(error.message).toBe(message);
  });

  it('carries its brand as a non-enumerable property', () => {
    const error = new StreamTimeoutError('total', 1);
    expect(Object.getOwnPropertySymbols(error)).toContain(BRAND);
    expect(Object.prototype.propertyIsEnumerable.call(error, BRAND)).toBe(false);
  });
});

describe('isStreamTimeoutError', () => {
  it('recognises an instance', () => {
    expect(isStreamTimeoutError(new StreamTimeoutError('first', 5))).toBe(true);
  });

  it('accepts an error branded by another copy of the package, even a plain object', () => {
    class ForeignCopy extends Error {
      constructor() {
        super('from another copy');
        Object.defineProperty(this, BRAND, { value: true });
      }
    }
    expect(isStreamTimeoutError(new ForeignCopy())).toBe(true);
    expect(isStreamTimeoutError({ [BRAND]: true, kind: 'idle', ms: 5 })).toBe(true);
  });

  it('rejects unrelated values and look-alikes', () => {
    for (const value of [
      new Error('Stream timed out'),
      Object.assign(new Error('x'), { name: 'StreamTimeoutError', kind: 'idle', ms: 5 }),
      { [BRAND]: 'yes' },
      { 'fs-mediator.StreamTimeoutError': true },
      new BufferOverflowError(4),
      null,
      undefined,
      'StreamTimeoutError',
      42,
    ]) {
      expect(isStreamTimeoutError(value)).toBe(false);
    }
  });

  it('is not mistaken for another guard', () => {
    expect(isBufferOverflowError(new StreamTimeoutError('idle', 5))).toBe(false);
  });
});
