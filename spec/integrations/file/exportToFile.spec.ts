import { describe, expect, it, jest } from '@jest/globals';
import fs from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { from } from 'rxjs';
import { exportToFile, type FileExportEvent } from '../../../src/integrations/file/index.js';
import { deferred } from '../../helpers/deferred.js';
import { listDir, orderRows, readText, useTempDir } from './fileFixtures.js';

describe('exportToFile', () => {
  const tmp = useTempDir();

  describe('formats', () => {
    it('writes NDJSON, one JSON value per line, and reports rows and bytes', async () => {
      const path = tmp.file('orders.ndjson');
      const result = await exportToFile(orderRows(1, 3), { path, format: 'ndjson' });
      const expected =
        '{"id":1,"name":"order 1"}\n{"id":2,"name":"order 2"}\n{"id":3,"name":"order 3"}\n';
      expect(await readText(path)).toBe(expected);
      expect(result).toEqual({
        path,
        rows: 3,
        bytes: Buffer.byteLength(expected),
        durationMs: expect.any(Number),
      });
      expect(await listDir(tmp.dir)).toEqual(['orders.ndjson']);
    });

    it('writes CSV with a header inferred from the first row, quoting commas, quotes and newlines', async () => {
      const path = tmp.file('orders.csv');
      async function* rows() {
        yield { id: 1, note: 'plain', total: 9.5 };
        yield { id: 2, note: 'a, b', total: 1 };
        yield { id: 3, note: 'say "hi"', total: 2 };
        yield { id: 4, note: 'two\nlines', total: 3 };
      }
      const result = await exportToFile(rows(), { path, format: 'csv' });
      expect(await readText(path)).toBe(
        'id,note,total\n1,plain,9.5\n2,"a, b",1\n3,"say ""hi""",2\n4,"two\nlines",3\n',
      );
      expect(result.rows).toBe(4);
    });

    it('writes the given CSV columns in their order, and no header with header: false', async () => {
      const path = tmp.file('orders.csv');
      await exportToFile(orderRows(1, 2), {
        path,
        format: 'csv',
        columns: ['name', 'id'],
        header: false,
      });
      expect(await readText(path)).toBe('order 1,1\norder 2,2\n');
    });

    it('reads an Observable source', async () => {
      const path = tmp.file('orders.ndjson');
      await exportToFile(from([{ id: 1 }, { id: 2 }]), { path, format: 'ndjson' });
      expect(await readText(path)).toBe('{"id":1}\n{"id":2}\n');
    });

    it('writes an empty file for an empty source', async () => {
      const path = tmp.file('empty.ndjson');
      const result = await exportToFile(orderRows(1, 0), { path, format: 'ndjson' });
      expect(await readText(path)).toBe('');
      expect(result.rows).toBe(0);
    });
  });

  describe('atomic finish', () => {
    it('replaces an existing file only when the export finishes', async () => {
      const path = tmp.file('orders.ndjson');
      await writeFile(path, 'old\n');
      await exportToFile(orderRows(1, 1), { path, format: 'ndjson' });
      expect(await readText(path)).toBe('{"id":1,"name":"order 1"}\n');
    });

    it('leaves no file and no temp file when the source fails', async () => {
      const path = tmp.file('orders.ndjson');
      await expect(
        exportToFile(orderRows(1, 100, 50), { path, format: 'ndjson', highWaterMark: 2 }),
      ).rejects.toThrow('source failed');
      expect(await listDir(tmp.dir)).toEqual([]);
    });

    it('leaves an existing final file untouched when the export fails', async () => {
      const path = tmp.file('orders.csv');
      await writeFile(path, 'old,file\n');
      await expect(exportToFile(orderRows(1, 100, 10), { path, format: 'csv' })).rejects.toThrow(
        'source failed',
      );
      expect(await listDir(tmp.dir)).toEqual(['orders.csv']);
      expect(await readText(path)).toBe('old,file\n');
    });

    it('fails on a row JSON cannot write, leaving nothing', async () => {
      const path = tmp.file('orders.ndjson');
      async function* rows() {
        yield { id: 1 };
        yield { id: 2n };
      }
      await expect(exportToFile(rows(), { path, format: 'ndjson' })).rejects.toThrow(TypeError);
      expect(await listDir(tmp.dir)).toEqual([]);
    });

    it('on abort mid-way rejects with the reason and leaves the old file alone, no temp file', async () => {
      const path = tmp.file('orders.ndjson');
      await writeFile(path, 'old\n');
      const controller = new AbortController();
      const paused = deferred();
      async function* rows() {
        for (let id = 1; ; id++) {
          if (id === 20) {
            paused.resolve();
            await new Promise(() => undefined); // a source that waits for its next row
          }
          yield { id };
        }
      }
      const run = exportToFile(rows(), { path, format: 'ndjson', signal: controller.signal });
      await paused.promise;
      const reason = new Error('shutting down');
      controller.abort(reason);
      await expect(run).rejects.toBe(reason);
      expect(await listDir(tmp.dir)).toEqual(['orders.ndjson']);
      expect(await readText(path)).toBe('old\n');
    });

    it('does not start when the signal is already aborted', async () => {
      const path = tmp.file('orders.ndjson');
      const { pulled, source } = countPulls(orderRows(1, 10));
      await expect(
        exportToFile(source, { path, format: 'ndjson', signal: AbortSignal.abort() }),
      ).rejects.toMatchObject({ name: 'AbortError' });
      expect(pulled()).toBe(0);
      expect(await listDir(tmp.dir)).toEqual([]);
    });

    it('fsyncs the file and its directory by default, and neither with fsync: false', async () => {
      const probe = await open(tmp.file('probe'), 'w');
      const handlePrototype = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
      await probe.close();
      const fileSync = jest.spyOn(fs, 'fsync'); // the write stream's flush
      const directorySync = jest.spyOn(handlePrototype, 'sync');
      try {
        await exportToFile(orderRows(1, 2), { path: tmp.file('a.ndjson'), format: 'ndjson' });
        expect(fileSync).toHaveBeenCalledTimes(1);
        expect(directorySync).toHaveBeenCalledTimes(1);
        fileSync.mockClear();
        directorySync.mockClear();
        await exportToFile(orderRows(1, 2), {
          path: tmp.file('b.ndjson'),
          format: 'ndjson',
          fsync: false,
        });
        expect(fileSync).not.toHaveBeenCalled();
        expect(directorySync).not.toHaveBeenCalled();
      } finally {
        fileSync.mockRestore();
        directorySync.mockRestore();
      }
    });
  });

  describe('events', () => {
    it('reports progress every progressEvery rows, then finished', async () => {
      const path = tmp.file('orders.ndjson');
      const events: FileExportEvent[] = [];
      const run = exportToFile(orderRows(1, 5), { path, format: 'ndjson', progressEvery: 2 });
      run.events.subscribe((e) => events.push(e));
      const result = await run;
      expect(events.map((e) => e.type)).toEqual(['progress', 'progress', 'finished']);
      expect(events[0]).toEqual({ type: 'progress', path, rows: 2, bytes: expect.any(Number) });
      expect(events[1]).toMatchObject({ rows: 4 });
      expect(events[2]).toEqual({ type: 'finished', ...result });
    });

    it('reports failed with the error', async () => {
      const path = tmp.file('orders.ndjson');
      const events: FileExportEvent[] = [];
      const run = exportToFile(orderRows(1, 5, 3), { path, format: 'ndjson' });
      run.events.subscribe((e) => events.push(e));
      await expect(run.done).rejects.toThrow('source failed');
      expect(events).toEqual([
        { type: 'failed', path, error: expect.any(Error), rows: 3, bytes: expect.any(Number) },
      ]);
    });

    it('reports aborted with the reason', async () => {
      const path = tmp.file('orders.ndjson');
      const controller = new AbortController();
      const events: FileExportEvent[] = [];
      async function* rows() {
        yield { id: 1 };
        controller.abort('stop');
        await new Promise(() => undefined);
      }
      const run = exportToFile(rows(), { path, format: 'ndjson', signal: controller.signal });
      run.events.subscribe((e) => events.push(e));
      await expect(run).rejects.toBe('stop');
      expect(events).toEqual([
        {
          type: 'aborted',
          path,
          reason: 'stop',
          rows: expect.any(Number),
          bytes: expect.any(Number),
        },
      ]);
    });
  });

  describe('validation', () => {
    const rows = orderRows(1, 1);
    it.each([
      [undefined, TypeError, /needs options/],
      [{ format: 'ndjson' }, TypeError, /'path' must be a non-empty string, got undefined/],
      [
        { path: 'x', format: 'xml' },
        TypeError,
        /'format' must be one of 'ndjson', 'csv', got 'xml'/,
      ],
      [
        { path: 'x', format: 'csv', columns: 'id' },
        TypeError,
        /'columns' must be an array of strings/,
      ],
      [{ path: 'x', format: 'csv', columns: [] }, RangeError, /'columns' must not be empty/],
      [{ path: 'x', format: 'ndjson', columns: ['id'] }, TypeError, /apply to format 'csv' only/],
      [
        { path: 'x', format: 'csv', header: 'yes' },
        TypeError,
        /'header' must be a boolean, got 'yes'/,
      ],
      [{ path: 'x', format: 'ndjson', fsync: 1 }, TypeError, /'fsync' must be a boolean, got 1/],
      [{ path: 'x', format: 'ndjson', signal: {} }, TypeError, /'signal' must be an AbortSignal/],
      [{ path: 'x', format: 'ndjson', highWaterMark: 0 }, RangeError, /'highWaterMark' .* got 0/],
      [
        { path: 'x', format: 'ndjson', highWaterMark: '8' },
        TypeError,
        /'highWaterMark' must be a number/,
      ],
      [
        { path: 'x', format: 'ndjson', progressEvery: 1.5 },
        RangeError,
        /'progressEvery' .* got 1.5/,
      ],
      [{ path: 'x', format: 'ndjson', resume: {} }, TypeError, /'resume.idOf' is required/],
      [
        { path: 'x', format: 'ndjson', resume: { idOf: 1 } },
        TypeError,
        /'resume.idOf' must be a function/,
      ],
      [
        { path: 'x', format: 'csv', header: false, resume: { idOf: () => 1 } },
        TypeError,
        /'header: false' needs 'columns'/,
      ],
    ])('rejects options %j', (options, type, message) => {
      const call = () => exportToFile(rows, options as never);
      expect(call).toThrow(type);
      expect(call).toThrow(message);
    });

    it('rejects a source that is neither an AsyncIterable nor an Observable', () => {
      expect(() => exportToFile([1, 2] as never, { path: 'x', format: 'ndjson' })).toThrow(
        /source must be an AsyncIterable or an Observable/,
      );
    });
  });
});

function countPulls<T>(source: AsyncIterable<T>) {
  let pulls = 0;
  return {
    pulled: () => pulls,
    source: {
      [Symbol.asyncIterator]() {
        const it = source[Symbol.asyncIterator]();
        return {
          next: () => {
            pulls++;
            return it.next();
          },
          return: () => it.return!(),
        };
      },
    } as AsyncIterable<T>,
  };
}
