/**
 * The thresholds of a `streamHealth()` check; a preset gives all four.
 *
 * @example
 * ```ts
 * const mine: HealthPreset = { ...HealthPresets.DataProcessing, stallMs: 600_000 };
 * ```
 */
export interface HealthPreset {
  /** How often the health timer samples the active streams, in ms. */
  readonly checkIntervalMs: number;
  /** A stream whose item count has not changed for this long (ms) is stalled. */
  readonly stallMs: number;
  /** A stream slower than this (items/s over the last check interval) is slow. */
  readonly minItemsPerSecond: number;
  /** Streams failed ÷ streams ended (recent window) above this is unhealthy. */
  readonly maxErrorRate: number;
}

/** The names of {@link HealthPresets}. */
export type HealthPresetName =
  'HighPerformance' | 'DataProcessing' | 'LongRunning' | 'RealTime' | 'Development';

/**
 * Ready-made `streamHealth()` thresholds for common kinds of stream (the values of FS.Mediator's
 * presets, which its own health check never applied). Spread one into the options and override
 * what differs.
 *
 * | preset          | checkIntervalMs | stallMs | minItemsPerSecond | maxErrorRate |
 * |-----------------|----------------:|--------:|------------------:|-------------:|
 * | HighPerformance |           5,000 |  10,000 |             1,000 |         0.01 |
 * | DataProcessing  |          30,000 | 120,000 |                50 |         0.05 |
 * | LongRunning     |          60,000 | 300,000 |                10 |          0.1 |
 * | RealTime        |           2,000 |   5,000 |               100 |        0.001 |
 * | Development     |          10,000 |  30,000 |                 1 |          0.2 |
 *
 * @example
 * ```ts
 * const health = streamHealth({ instrumentation: telemetry, ...HealthPresets.DataProcessing });
 * ```
 */
export const HealthPresets: Readonly<Record<HealthPresetName, HealthPreset>> = Object.freeze({
  HighPerformance: Object.freeze({
    checkIntervalMs: 5_000,
    stallMs: 10_000,
    minItemsPerSecond: 1_000,
    maxErrorRate: 0.01,
  }),
  DataProcessing: Object.freeze({
    checkIntervalMs: 30_000,
    stallMs: 120_000,
    minItemsPerSecond: 50,
    maxErrorRate: 0.05,
  }),
  LongRunning: Object.freeze({
    checkIntervalMs: 60_000,
    stallMs: 300_000,
    minItemsPerSecond: 10,
    maxErrorRate: 0.1,
  }),
  RealTime: Object.freeze({
    checkIntervalMs: 2_000,
    stallMs: 5_000,
    minItemsPerSecond: 100,
    maxErrorRate: 0.001,
  }),
  Development: Object.freeze({
    checkIntervalMs: 10_000,
    stallMs: 30_000,
    minItemsPerSecond: 1,
    maxErrorRate: 0.2,
  }),
});
