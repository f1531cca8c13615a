import { describe, expect, it } from '@jest/globals';
import { MemoryDeadLetterStore } from '../../src/behaviors/MemoryDeadLetterStore.js';
import { ids, letter } from '../helpers/deadLetters.js';

describe('MemoryDeadLetterStore', () => {
  it('keeps letters oldest first, and lists, filters, limits, counts and removes them', async () => {
    const store = new MemoryDeadLetterStore();
    for (const id of ['a', 'b', 'c', 'd']) {
      await expect(
        store.append(letter(id, { kind: id === 'c' ? 'item' : 'request' })),
      ).resolves.toEqual({
        evicted: [],
      });
    }
    expect(ids(await store.list())).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(await store.list({ filter: (l) => l.kind === 'request', limit: 2 }))).toEqual([
      'a',
      'b',
    ]);
    expect(await store.count()).toBe(4);
    await store.remove(['b', 'd', 'unknown']);
    expect(ids(await store.list())).toEqual(['a', 'c']);
    expect(store.size).toBe(2);
  });

  it('evicts the oldest letters when full, counts them and returns them from append', async () => {
    const store = new MemoryDeadLetterStore({ capacity: 2 });
    await store.append(letter('a'));
    await store.append(letter('b'));
    const result = await store.append(letter('c'));
    expect(result).toEqual({ evicted: [letter('a')] });
    expect(store.dropped).toBe(1);
    expect(ids(await store.list())).toEqual(['b', 'c']);
    await store.append(letter('d'));
    expect(store.dropped).toBe(2);
    expect(await store.count()).toBe(2);
  });

  it('reads a snapshot: removing during a read skips nothing and adds nothing', async () => {
    const store = new MemoryDeadLetterStore();
    for (const id of ['a', 'b', 'c']) await store.append(letter(id));
    const seen: string[] = [];
    for await (const l of store.read()) {
      seen.push(l.id);
      await store.remove([l.id]);
      await store.append(letter(`${l.id}2`));
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(ids(await store.list())).toEqual(['a2', 'b2', 'c2']);
  });

  it('validates its options and queries', async () => {
    expect(() => new MemoryDeadLetterStore({ capacity: 0 })).toThrow(
      new RangeError("Option 'capacity' must be a whole number ≥ 1, got 0."),
    );
    expect(() => new MemoryDeadLetterStore({ capacity: 1.5 })).toThrow(RangeError);
    expect(() => new MemoryDeadLetterStore({ capacity: 'x' as never })).toThrow(TypeError);
    const store = new MemoryDeadLetterStore();
    expect(() => store.read({ limit: -1 })).toThrow(
      new RangeError("Option 'limit' must be a whole number ≥ 1 or Infinity, got -1."),
    );
    await expect(store.list({ filter: 'x' as never })).rejects.toThrow(
      new TypeError("Option 'filter' must be a function, got 'x'."),
    );
    await expect(store.remove([1 as never])).rejects.toThrow(TypeError);
    await expect(store.remove('abc' as never)).rejects.toThrow(/iterable of letter ids/);
  });
});
