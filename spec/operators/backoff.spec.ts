import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  backoffCeiling,
  backoffDelay,
  checkBackoff,
  MAX_TIMER_MS,
  type Backoff,
} from '../../src/operators/backoff.js';

const DEFAULTS = { delayMs: 100, maxDelayMs: 30_000 };

const settings = (overrides: Partial<Backoff> = {}): Backoff => ({
  delayMs: 100,
  exponential: true,
  maxDelayMs: MAX_TIMER_MS,
  jitter: false,
  ...overrides,
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('checkBackoff', () => {
  it('fills in the defaults it is given: exponential, with jitter', () => {
    expect(checkBackoff('', {}, DEFAULTS)).toEqual({
      delayMs: 100,
      exponential: true,
      maxDelayMs: 30_000,
      jitter: true,
    });
  });

  it('takes the options given', () => {
    expect(
      checkBackoff('', { delayMs: 5, backoff: 'fixed', maxDelayMs: 50, jitter: false }, DEFAULTS),
    ).toEqual({ delayMs: 5, exponential: false, maxDelayMs: 50, jitter: false });
  });

  it('clamps maxDelayMs to the longest timer Node keeps', () => {
    expect(checkBackoff('', { maxDelayMs: Infinity }, DEFAULTS).maxDelayMs).toBe(MAX_TIMER_MS);
  });

  it.each<[object, ErrorConstructor, RegExp]>([
    [{ delayMs: -1 }, RangeError, /Option 'retry.delayMs'.*got -1/],
    [{ delayMs: 1.5 }, RangeError, /Option 'retry.delayMs'.*got 1.5/],
    [{ delayMs: Infinity }, RangeError, /Option 'retry.delayMs'.*got Infinity/],
    [{ maxDelayMs: NaN }, RangeError, /Option 'retry.maxDelayMs'.*got NaN/],
    [{ maxDelayMs: '9' }, TypeError, /Option 'retry.maxDelayMs' must be a number, got '9'/],
    [{ backoff: 'linear' }, TypeError, /Option 'retry.backoff'.*got 'linear'/],
    [{ jitter: 1 }, TypeError, /Option 'retry.jitter' must be a boolean, got 1/],
  ])('refuses %j, naming the option with its prefix', (options, type, message) => {
    expect(() => checkBackoff('retry.', options, DEFAULTS)).toThrow(type);
    expect(() => checkBackoff('retry.', options, DEFAULTS)).toThrow(message);
  });
});

describe('backoffCeiling', () => {
  it('doubles per attempt when exponential, from delayMs before attempt 2', () => {
    expect([2, 3, 4, 5].map((n) => backoffCeiling(settings(), n))).toEqual([100, 200, 400, 800]);
  });

  it('stays at delayMs when fixed', () => {
    const fixed = settings({ exponential: false });
    expect([2, 3, 10].map((n) => backoffCeiling(fixed, n))).toEqual([100, 100, 100]);
  });

  it('never exceeds maxDelayMs, even for huge attempt numbers', () => {
    const capped = settings({ maxDelayMs: 1_000 });
    expect([4, 5, 1_000, Infinity].map((n) => backoffCeiling(capped, n))).toEqual([
      400, 800, 1_000, 1_000,
    ]);
    expect(backoffCeiling(settings(), 10_000)).toBe(MAX_TIMER_MS);
  });

  it('is 0 when delayMs is 0', () => {
    expect(backoffCeiling(settings({ delayMs: 0 }), 30)).toBe(0);
  });
});

describe('backoffDelay', () => {
  it('is the ceiling without jitter, capped to cap', () => {
    expect(backoffDelay(settings(), 3)).toBe(200);
    expect(backoffDelay(settings(), 3, 150)).toBe(150);
  });

  it('draws a whole number in [0, ceiling] with full jitter', () => {
    const random = jest.spyOn(Math, 'random');
    const jittered = settings({ jitter: true });
    random.mockReturnValue(0);
    expect(backoffDelay(jittered, 3)).toBe(0);
    random.mockReturnValue(0.5);
    expect(backoffDelay(jittered, 3)).toBe(100); // ⌊0.5 × 201⌋
    random.mockReturnValue(0.999_999_9);
    expect(backoffDelay(jittered, 3)).toBe(200);
  });

  it('draws from [0, cap] when cap is below the ceiling', () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999_999_9);
    expect(backoffDelay(settings({ jitter: true }), 5, 42)).toBe(42);
  });
});
