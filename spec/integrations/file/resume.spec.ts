import { describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import {
  exportToFile,
  isResumeIdNotFoundError,
  type FileExportEvent,
} from '../../../src/integrations/file/index.js';
import { listDir, orderRows, readText, useTempDir } from './fileFixtures.js';

const idOf = (row: { id: number | string }) => row.id;
const ndjson = (from: number, to: number) =>
  Array.from(
    { length: to - from + 1 },
    (_, i) => `{"id":${from + i},"name":"order ${from + i}"}\n`,
  ).join('');

describe('exportToFile with resume', () => {
  const tmp = useTempDir();

  it('cuts a torn last line, skips through the last id and appends the rest once', async () => {
    const path = tmp.file('orders.ndjson');
    await writeFile(`${path}.partial`, ndjson(1, 3) + '{"id":4,"na');
    const result = await exportToFile(orderRows(1, 10), {
      path,
      format: 'ndjson',
      resume: { idOf },
    });
    expect(await readText(path)).toBe(ndjson(1, 10));
    expect(result).toMatchObject({ rows: 7, resumedAfter: 3 });
    expect(await listDir(tmp.dir)).toEqual(['orders.ndjson']);
  });

  it('starts over when the partial file holds no complete line', async () => {
    const path = tmp.file('orders.ndjson');
    await writeFile(`${path}.partial`, '{"id":1,');
    const result = await exportToFile(orderRows(1, 3), {
      path,
      format: 'ndjson',
      resume: { idOf },
    });
    expect(await readText(path)).toBe(ndjson(1, 3));
    expect(result.resumedAfter).toBeUndefined();
  });

  it('keeps the partial file when a run fails, and the next run completes it', async () => {
    const path = tmp.file('orders.ndjson');
    const events: FileExportEvent[] = [];
    const first = exportToFile(orderRows(1, 1000, 500), {
      path,
      format: 'ndjson',
      resume: { idOf },
    });
    first.events.subscribe((e) => events.push(e));
    await expect(first).rejects.toThrow('source failed');
    expect(events).toEqual([
      expect.objectContaining({ type: 'failed', partialPath: `${path}.partial` }),
    ]);
    expect(await listDir(tmp.dir)).toEqual(['orders.ndjson.partial']);
    expect(await readText(`${path}.partial`)).toBe(ndjson(1, 500));

    const second = await exportToFile(orderRows(1, 1000), {
      path,
      format: 'ndjson',
      resume: { idOf },
    });
    expect(second).toMatchObject({ rows: 500, resumedAfter: 500 });
    expect(await readText(path)).toBe(ndjson(1, 1000));
    expect(await listDir(tmp.dir)).toEqual(['orders.ndjson']);
  });

  it('keeps the partial file on abort', async () => {
    const path = tmp.file('orders.ndjson');
    const controller = new AbortController();
    async function* rows() {
      yield* orderRows(1, 5);
      controller.abort();
      await new Promise(() => undefined);
    }
    await expect(
      exportToFile(rows(), { path, format: 'ndjson', resume: { idOf }, signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(await listDir(tmp.dir)).toEqual(['orders.ndjson.partial']);
  });

  it('resumes a CSV export whose torn record holds a quoted newline, without a second header', async () => {
    const path = tmp.file('orders.csv');
    const rows = async function* () {
      yield { id: 1, note: 'a, b' };
      yield { id: 2, note: 'two\nlines' };
      yield { id: 3, note: 'say "hi"' };
      yield { id: 4, note: 'end' };
    };
    const whole = tmp.file('whole.csv');
    await exportToFile(rows(), { path: whole, format: 'csv' });
    const expected = await readText(whole);
    expect(expected).toBe('id,note\n1,"a, b"\n2,"two\nlines"\n3,"say ""hi"""\n4,end\n');

    await writeFile(`${path}.partial`, 'id,note\n1,"a, b"\n2,"two\nlines"\n3,"say ""hi\n');
    const result = await exportToFile(rows(), { path, format: 'csv', resume: { idOf } });
    expect(result).toMatchObject({ rows: 2, resumedAfter: '2' });
    expect(await readText(path)).toBe(expected);
  });

  it('writes the header when the partial CSV file holds only a torn header', async () => {
    const path = tmp.file('orders.csv');
    await writeFile(`${path}.partial`, 'id,na');
    await exportToFile(orderRows(1, 1), { path, format: 'csv', resume: { idOf } });
    expect(await readText(path)).toBe('id,name\n1,order 1\n');
  });

  it('fails with ResumeIdNotFoundError, keeping the partial file, when the source lacks the last id', async () => {
    const path = tmp.file('orders.ndjson');
    await writeFile(`${path}.partial`, ndjson(1, 3));
    const error = await exportToFile(orderRows(10, 20), {
      path,
      format: 'ndjson',
      resume: { idOf },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isResumeIdNotFoundError(error)).toBe(true);
    expect(error).toMatchObject({ id: 3 });
    expect(await readText(`${path}.partial`)).toBe(ndjson(1, 3));
  });

  describe('with compareIds (a source that resumes from its own cursor)', () => {
    const byNumber = (a: string, b: string) => Number(a) - Number(b);

    it('skips rows up to the last id when the source replays a prefix', async () => {
      const path = tmp.file('orders.ndjson');
      await writeFile(`${path}.partial`, ndjson(1, 5));
      const result = await exportToFile(orderRows(3, 8), {
        path,
        format: 'ndjson',
        resume: { idOf, compareIds: byNumber },
      });
      expect(result).toMatchObject({ rows: 3, resumedAfter: 5 });
      expect(await readText(path)).toBe(ndjson(1, 8));
    });

    it('accepts a source that starts past the last id (its cursor passed every row in the file)', async () => {
      const path = tmp.file('orders.ndjson');
      await writeFile(`${path}.partial`, ndjson(1, 5));
      const result = await exportToFile(orderRows(6, 8), {
        path,
        format: 'ndjson',
        resume: { idOf, compareIds: byNumber },
      });
      expect(result).toMatchObject({ rows: 3, resumedAfter: 5 });
      expect(await readText(path)).toBe(ndjson(1, 8));
    });

    it('compares ids as strings in the order given, not as numbers', async () => {
      const path = tmp.file('orders.ndjson');
      await writeFile(`${path}.partial`, ndjson(1, 2));
      const seen: [string, string][] = [];
      await exportToFile(orderRows(1, 3), {
        path,
        format: 'ndjson',
        resume: {
          idOf,
          compareIds: (a, b) => (seen.push([a, b]), byNumber(a, b)),
        },
      });
      expect(seen).toEqual([
        ['1', '2'],
        ['2', '2'],
        ['3', '2'],
      ]);
    });

    it('rejects a compareIds that is not a function', () => {
      expect(() =>
        exportToFile(orderRows(1, 1), {
          path: tmp.file('x.ndjson'),
          format: 'ndjson',
          resume: { idOf, compareIds: 'asc' as never },
        }),
      ).toThrow(/resume\.compareIds/);
    });
  });

  it('refuses a partial CSV file whose header differs from the columns option', async () => {
    const path = tmp.file('orders.csv');
    await writeFile(`${path}.partial`, 'id,name\n1,order 1\n');
    await expect(
      exportToFile(orderRows(1, 2), {
        path,
        format: 'csv',
        columns: ['name', 'id'],
        resume: { idOf },
      }),
    ).rejects.toThrow(/header \(id,name\) differs from option 'columns' \(name,id\)/);
  });
});
