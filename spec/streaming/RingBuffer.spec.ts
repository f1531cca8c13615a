import { describe, expect, it } from '@jest/globals';
import { RingBuffer } from '../../src/streaming/RingBuffer.js';

function drain<T>(buffer: RingBuffer<T>): T[] {
  const out: T[] = [];
  while (buffer.size > 0) out.push(buffer.shift());
  return out;
}

describe('RingBuffer', () => {
  it('starts empty and reports its capacity', () => {
    const buffer = new RingBuffer<number>(3);
    expect(buffer.capacity).toBe(3);
    expect(buffer.size).toBe(0);
    expect(buffer.isFull).toBe(false);
  });

  it('is full exactly when size reaches capacity', () => {
    const buffer = new RingBuffer<number>(2);
    buffer.push(1);
    expect(buffer.isFull).toBe(false);
    buffer.push(2);
    expect(buffer.size).toBe(2);
    expect(buffer.isFull).toBe(true);
    buffer.shift();
    expect(buffer.isFull).toBe(false);
    expect(buffer.size).toBe(1);
  });

  it('returns items first in, first out', () => {
    const buffer = new RingBuffer<string>(4);
    for (const item of ['a', 'b', 'c']) buffer.push(item);
    expect(drain(buffer)).toEqual(['a', 'b', 'c']);
  });

  it('keeps FIFO order when the head wraps around the end of its slots', () => {
    const buffer = new RingBuffer<number>(3);
    const out: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so head and tail cross the array boundary several times.
    for (let round = 0; round < 5; round++) {
      while (!buffer.isFull) buffer.push(next++);
      out.push(buffer.shift(), buffer.shift());
    }
    out.push(...drain(buffer));
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('gives undefined items back as they were pushed', () => {
    const buffer = new RingBuffer<number | undefined>(2);
    buffer.push(undefined);
    buffer.push(1);
    expect(drain(buffer)).toEqual([undefined, 1]);
  });

  it('hands out a shifted item once, never again after a wrap-around', () => {
    const buffer = new RingBuffer<object>(2);
    const first = { n: 1 };
    buffer.push(first);
    expect(buffer.shift()).toBe(first);
    buffer.push({ n: 2 });
    buffer.push({ n: 3 });
    expect(drain(buffer)).toEqual([{ n: 2 }, { n: 3 }]);
  });

  it('clear() empties it and restarts from a fresh head', () => {
    const buffer = new RingBuffer<number>(3);
    buffer.push(1);
    buffer.push(2);
    buffer.shift();
    buffer.clear();
    expect(buffer.size).toBe(0);
    expect(buffer.isFull).toBe(false);
    buffer.push(7);
    buffer.push(8);
    buffer.push(9);
    expect(buffer.isFull).toBe(true);
    expect(drain(buffer)).toEqual([7, 8, 9]);
  });
});
