import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMediator, handler } from '../../src/index.js';
import { deadLetters, type DeadLetterEvent } from '../../src/behaviors/deadLetters.js';
import { FileDeadLetterStore } from '../../src/behaviors/FileDeadLetterStore.js';
import { MemoryDeadLetterStore } from '../../src/behaviors/MemoryDeadLetterStore.js';
import { ids, letter } from '../helpers/deadLetters.js';
import { GetOrder, PlaceOrder } from '../helpers/orders.js';

let dir: string;
let path: string;
const stores: FileDeadLetterStore[] = [];

/** A store on the spec's file, closed after the spec. */
function open(fsync = false): FileDeadLetterStore {
  const store = new FileDeadLetterStore({ path, fsync });
  stores.push(store);
  return store;
}

const linesOf = async (): Promise<string[]> => (await readFile(path, 'utf8')).split('\n');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dead-letters-'));
  path = join(dir, 'dead-letters.ndjson');
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('FileDeadLetterStore', () => {
  it('reads nothing from a file that does not exist yet', async () => {
    const store = open();
    expect(await store.list()).toEqual([]);
    expect(await store.count()).toBe(0);
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('round-trips letters as one JSON line each, oldest first', async () => {
    const store = open();
    const letters = [
      letter('a'),
      letter('b', { kind: 'stream', delivered: 3 }),
      letter('c', { kind: 'item', index: 7 }),
    ];
    for (const l of letters) await store.append(l);
    expect(await store.list()).toEqual(letters);
    expect(await linesOf()).toEqual([...letters.map((l) => JSON.stringify(l)), '']);
    // another instance (a restarted process) reads the same
    expect(await open().list()).toEqual(letters);
    expect(await store.count()).toBe(3);
    expect(ids(await store.list({ filter: (l) => l.kind !== 'request', limit: 1 }))).toEqual(['b']);
  });

  it('writes concurrent appends one at a time, in call order', async () => {
    const store = open();
    const names = Array.from({ length: 50 }, (_, i) => `l${i}`);
    await Promise.all(names.map((id) => store.append(letter(id))));
    expect(ids(await store.list())).toEqual(names);
    const lines = await linesOf();
    expect(lines).toHaveLength(51);
    for (const line of lines.slice(0, -1)) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('streams large files line by line, multi-byte characters included', async () => {
    const store = open();
    const text = 'é€😀'.repeat(100); // lines well past one read chunk in total, split anywhere
    const letters = Array.from({ length: 400 }, (_, i) => letter(`l${i}`, { payload: { text } }));
    for (const l of letters) await store.append(l);
    expect((await readFile(path)).length).toBeGreaterThan(3 * 64 * 1024);
    expect(await store.list()).toEqual(letters);
  });

  it('skips a torn last line, counts it, and starts the next append on a fresh line', async () => {
    const first = open();
    await first.append(letter('a'));
    await first.append(letter('b'));
    await first.close();
    await appendFile(path, JSON.stringify(letter('torn')).slice(0, 25)); // a crash mid-write

    const store = open();
    expect(ids(await store.list())).toEqual(['a', 'b']);
    expect(store.unreadableLines).toBe(1);
    await store.append(letter('c'));
    const lines = await linesOf();
    expect(lines).toHaveLength(5);
    expect(lines[2]).toBe(JSON.stringify(letter('torn')).slice(0, 25));
    expect(JSON.parse(lines[3]!)).toEqual(letter('c'));
    expect(ids(await store.list())).toEqual(['a', 'b', 'c']);
    expect(store.unreadableLines).toBe(1);
  });

  it('reads a last line that only lacks its newline, and writes the next on a fresh line', async () => {
    await writeFile(path, JSON.stringify(letter('a')));
    const store = open();
    await store.append(letter('b'));
    expect(ids(await store.list())).toEqual(['a', 'b']);
    expect(store.unreadableLines).toBe(0);
  });

  it('skips and counts lines that are neither letters nor tombstones', async () => {
    await writeFile(
      path,
      [JSON.stringify(letter('a')), '42', '{"hello":1}', '', '{"removed":[1]}', ''].join('\n'),
    );
    const store = open();
    expect(ids(await store.list())).toEqual(['a']);
    expect(store.unreadableLines).toBe(3);
  });

  it('removes letters with a tombstone line, and compact() rewrites the file without them', async () => {
    const store = open();
    for (const id of ['a', 'b', 'c', 'd']) await store.append(letter(id));
    await store.remove(['b', 'd']);
    await store.remove([]);
    expect(ids(await store.list())).toEqual(['a', 'c']);
    expect(await store.count()).toBe(2);
    expect((await linesOf()).at(-2)).toBe('{"removed":["b","d"]}');
    await appendFile(path, '{"id":"half'); // and a torn line

    expect(await store.compact()).toEqual({ kept: 2, discarded: 4 });
    expect(await linesOf()).toEqual([JSON.stringify(letter('a')), JSON.stringify(letter('c')), '']);
    expect(store.unreadableLines).toBe(0);
    expect(await readdir(dir)).toEqual(['dead-letters.ndjson']); // no temp file left

    // appends after compaction land in the new file
    await store.append(letter('e'));
    expect(ids(await open().list())).toEqual(['a', 'c', 'e']);
  });

  it('compacts a missing file to nothing', async () => {
    expect(await open().compact()).toEqual({ kept: 0, discarded: 0 });
  });

  it('reads a snapshot: letters appended during a read come in the next read', async () => {
    const store = open();
    for (const id of ['a', 'b']) await store.append(letter(id));
    const seen: string[] = [];
    for await (const l of store.read()) {
      seen.push(l.id);
      await store.remove([l.id]);
      await store.append(letter(`${l.id}2`));
    }
    expect(seen).toEqual(['a', 'b']);
    expect(ids(await store.list())).toEqual(['a2', 'b2']);
  });

  it('writes what JSON can represent and rejects what it cannot, staying usable', async () => {
    const store = open(true);
    await store.append(
      letter('a', { payload: { at: new Date('2030-01-01T00:00:00Z'), gone: undefined, n: NaN } }),
    );
    await expect(store.append(letter('b', { payload: { big: 1n } }))).rejects.toThrow(TypeError);
    await store.append(letter('c'));
    const [a, c] = await store.list();
    expect(a!.payload).toEqual({ at: '2030-01-01T00:00:00.000Z', n: null });
    expect(c!.id).toBe('c');
  });

  it('opens the file again after close()', async () => {
    const store = open();
    await store.append(letter('a'));
    await store.close();
    await store.append(letter('b'));
    expect(ids(await store.list())).toEqual(['a', 'b']);
  });

  it('reports a failed write as a rejection, and a missing directory as one too', async () => {
    const store = new FileDeadLetterStore({ path: join(dir, 'missing', 'x.ndjson') });
    await expect(store.append(letter('a'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('backs a deadLetters policy: letters survive, a letter JSON cannot write is a storeError', async () => {
    const store = open();
    const policy = deadLetters({ store, payload: (m) => ({ ...m, big: 1n }) });
    const events: DeadLetterEvent[] = [];
    policy.events.subscribe((e) => events.push(e));
    const plain = deadLetters({ store });
    const error = new Error('down');
    const mediator = createMediator({
      handlers: [
        handler(GetOrder, () => Promise.reject(error)),
        handler(PlaceOrder, () => Promise.reject(error)),
      ],
      behaviors: [plain, policy],
    });
    // the outer (plain) policy records; the inner one fails to serialize and reports it
    await expect(mediator.send(new GetOrder('1'))).rejects.toBe(error);
    expect(events).toMatchObject([{ type: 'storeError', error: expect.any(TypeError) }]);
    expect(await open().list()).toMatchObject([
      { kind: 'request', messageName: 'GetOrder', payload: { id: '1' } },
    ]);
  });

  it('validates its options', () => {
    expect(() => new FileDeadLetterStore(undefined as never)).toThrow(TypeError);
    expect(() => new FileDeadLetterStore({ path: '' })).toThrow(
      new TypeError("Option 'path' must be a non-empty string, got ''."),
    );
    expect(() => new FileDeadLetterStore({ path, fsync: 'yes' as never })).toThrow(
      new TypeError("Option 'fsync' must be a boolean, got 'yes'."),
    );
    expect(() => open().read({ limit: 0 })).toThrow(RangeError);
  });
});

describe('FileDeadLetterStore regressions (review of issue 5)', () => {
  it('shows a letter appended again after its removal, as MemoryDeadLetterStore does', async () => {
    // A tombstone used to hide every line with its id, even those written after it.
    const file = open();
    const memory = new MemoryDeadLetterStore();
    const again = letter('a1b2');
    for (const s of [file, memory]) {
      await s.append(again);
      await s.remove([again.id]);
      await s.append(again); // e.g. moved back after editing, or re-recorded
    }
    expect(await memory.count()).toBe(1);
    expect(await file.count()).toBe(1); // was 0
    expect(await file.compact()).toEqual({ kept: 1, discarded: 2 });
    expect(ids(await file.list())).toEqual(['a1b2']);
  });
});
