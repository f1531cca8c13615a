import { afterEach, beforeEach } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temp directory per spec, removed afterwards. */
export function useTempDir(): { readonly dir: string; file(name: string): string } {
  const state = { dir: '' };
  beforeEach(async () => {
    state.dir = await mkdtemp(join(tmpdir(), 'fs-mediator-file-'));
  });
  afterEach(async () => {
    await rm(state.dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return state.dir;
    },
    file: (name: string) => join(state.dir, name),
  };
}

export const listDir = (dir: string): Promise<string[]> => readdir(dir).then((n) => n.sort());
export const readText = (path: string): Promise<string> => readFile(path, 'utf8');

/** Rows `{ id, name }` for ids `from..to`, optionally failing after `failAfter` rows. */
export async function* orderRows(
  from: number,
  to: number,
  failAfter = Infinity,
): AsyncGenerator<{ id: number; name: string }> {
  for (let id = from, n = 0; id <= to; id++, n++) {
    if (n === failAfter) throw new Error('source failed');
    yield { id, name: `order ${id}` };
  }
}

/** Lets I/O callbacks and pending stream work run, without a timer. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}
