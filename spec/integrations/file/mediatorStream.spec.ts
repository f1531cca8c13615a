import { describe, expect, it } from '@jest/globals';
import { exportToFile } from '../../../src/integrations/file/index.js';
import { createMediator, handler } from '../../../src/index.js';
import { ExportOrders, order } from '../../helpers/orders.js';
import { listDir, readText, useTempDir } from './fileFixtures.js';

describe('exportToFile from a mediator stream', () => {
  const tmp = useTempDir();

  it('writes every item of createStream() as CSV', async () => {
    const mediator = createMediator({
      handlers: [handler(ExportOrders, () => [order('1', 5), order('2, b', 7)])],
    });
    const path = tmp.file('orders.csv');
    const result = await exportToFile(mediator.createStream(new ExportOrders()), {
      path,
      format: 'csv',
      columns: ['id', 'total'],
    });
    expect(await readText(path)).toBe('id,total\n1,5\n"2, b",7\n');
    expect(result.rows).toBe(2);
  });

  it('ends the handler when the export is aborted', async () => {
    const state = { finallyRan: false, produced: 0 };
    const controller = new AbortController();
    const mediator = createMediator({
      handlers: [
        handler(ExportOrders, async function* () {
          try {
            for (let i = 0; ; i++) {
              state.produced++;
              if (i === 100) controller.abort();
              yield order(String(i));
              await Promise.resolve();
            }
          } finally {
            state.finallyRan = true;
          }
        }),
      ],
    });
    const path = tmp.file('orders.ndjson');
    await expect(
      exportToFile(mediator.createStream(new ExportOrders()), {
        path,
        format: 'ndjson',
        signal: controller.signal,
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(state.finallyRan).toBe(true);
    expect(state.produced).toBeLessThan(1000);
    expect(await listDir(tmp.dir)).toEqual([]);
  });
});
