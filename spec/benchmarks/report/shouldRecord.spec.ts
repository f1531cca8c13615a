import { describe, expect, it } from '@jest/globals';
import { shouldRecord, type RunShape } from '../../../benchmarks/report/shouldRecord.js';

const full: RunShape = { quick: false, filters: [], overrides: [], record: undefined };

describe('shouldRecord', () => {
  it('records a full run of the whole suite with the default protocol', () => {
    expect(shouldRecord(full).record).toBe(true);
  });

  it.each<[string, Partial<RunShape>]>([
    ['a filtered run', { filters: ['stream'] }],
    ['a run with protocol flags', { overrides: ['--processes 1'] }],
    ['a quick run', { quick: true }],
    ['a run with --no-record', { record: false }],
  ])('does not record %s', (_, change) => {
    const decision = shouldRecord({ ...full, ...change });
    expect(decision.record).toBe(false);
    expect(decision.reason).not.toBe('');
  });

  it('records a filtered or shortened run with --record, saying what it lacks', () => {
    const decision = shouldRecord({
      ...full,
      filters: ['stream'],
      overrides: ['--rounds 3'],
      record: true,
    });
    expect(decision).toEqual({
      record: true,
      reason: "--record, although the run has filter 'stream', --rounds 3",
    });
  });

  it('refuses --record on a quick run', () => {
    expect(() => shouldRecord({ ...full, quick: true, record: true })).toThrow(TypeError);
  });
});
