import { describe, expect, it } from '@jest/globals';
import { statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { exportToFile } from '../../../src/integrations/file/index.js';
import { ndjsonSerializer } from '../../../src/integrations/file/ndjsonSerializer.js';
import { writeRows } from '../../../src/integrations/file/writeRows.js';
import { countingSource } from '../../helpers/countingSource.js';
import { settle, useTempDir } from './fileFixtures.js';

/** One NDJSON row of exactly `ROW_BYTES` bytes, newline included. */
const ROW_BYTES = 100;
const row = (i: number) => ({ id: i, pad: 'x'.repeat(ROW_BYTES - 17 - String(i).length) });
/**
 * The documented bound: 2 × highWaterMark rows + 32 KiB of text (two 16 KiB byte buffers, each
 * allowed to overshoot by one chunk) + the rows in flight between stages (a handful).
 */
const bound = (highWaterMark: number) => 2 * highWaterMark + Math.ceil(32768 / ROW_BYTES) + 10;

describe('exportToFile backpressure', () => {
  const tmp = useTempDir();

  it('reads the source no further ahead of a stalled disk than the documented bound', async () => {
    const { state, source } = countingSource(100_000);
    const rows = (async function* () {
      for await (const i of source()) yield row(i);
    })();
    let written = 0;
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    const slowDisk = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        stalled.then(() => {
          written += chunk.length;
          callback();
        });
      },
    });
    const done = writeRows(
      rows,
      ndjsonSerializer(4, () => undefined),
      slowDisk,
      4,
      undefined,
    );
    await settle(50);
    expect(written).toBe(0);
    expect(state.pulled).toBeGreaterThan(0);
    expect(state.pulled).toBeLessThanOrEqual(bound(4));
    release();
    await done;
    expect(written).toBe(100_000 * ROW_BYTES);
  });

  it('keeps the source within the bound of what is on disk, on a real file', async () => {
    const path = tmp.file('orders.ndjson');
    const partial = `${path}.partial`; // resume mode: a known temp name to watch
    let pulled = 0;
    let maxAhead = 0;
    async function* rows() {
      for (let i = 0; i < 20_000; i++) {
        pulled++;
        let onDisk = 0;
        try {
          onDisk = statSync(partial).size / ROW_BYTES;
        } catch {
          // not created yet
        }
        maxAhead = Math.max(maxAhead, pulled - onDisk);
        yield row(i);
      }
    }
    const result = await exportToFile(rows(), {
      path,
      format: 'ndjson',
      highWaterMark: 4,
      fsync: false,
      resume: { idOf: (r) => r.id },
    });
    expect(result.rows).toBe(20_000);
    expect(maxAhead).toBeLessThanOrEqual(bound(4));
  });
});
