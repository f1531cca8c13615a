import { describe, expect, it } from '@jest/globals';
import { FrameQueue, type Frame } from '../../../src/integrations/websocket/FrameQueue.js';

const data = (seq: number): Frame => ({
  stream: undefined,
  seq,
  text: `d${seq}`,
  at: 0,
  control: false,
});
const control = (seq: number): Frame => ({
  stream: undefined,
  seq,
  text: `c${seq}`,
  at: 0,
  control: true,
});

function drain(queue: FrameQueue): string[] {
  const texts: string[] = [];
  while (queue.size > 0) texts.push(queue.shift().text);
  return texts;
}

describe('FrameQueue', () => {
  it('keeps FIFO order across growth and wrap-around, counting data frames apart', () => {
    const queue = new FrameQueue(2); // 6 slots at first
    for (let i = 1; i <= 4; i++) queue.push(data(i));
    expect(drain(queue).slice(0, 2)).toEqual(['d1', 'd2']);
    for (let i = 5; i <= 20; i++) queue.push(i % 5 === 0 ? control(i) : data(i));
    expect(queue.size).toBe(16);
    expect(queue.dataSize).toBe(16 - 4);
    expect(drain(queue)).toEqual(
      Array.from({ length: 16 }, (_, k) => (k % 5 === 0 ? `c${k + 5}` : `d${k + 5}`)),
    );
    expect(queue.dataSize).toBe(0);
  });

  it('drops the oldest data frame and keeps control frames before it in order', () => {
    const queue = new FrameQueue(4);
    queue.push(data(0));
    queue.shift(); // move the head off slot 0 so the shift below wraps
    queue.push(control(1));
    queue.push(control(2));
    queue.push(data(3));
    queue.push(data(4));
    expect(queue.dropOldestData()?.text).toBe('d3');
    expect(queue.dataSize).toBe(1);
    expect(drain(queue)).toEqual(['c1', 'c2', 'd4']);
  });

  it('drops nothing when only control frames are queued, and clears', () => {
    const queue = new FrameQueue(1);
    queue.push(control(1));
    expect(queue.dropOldestData()).toBeUndefined();
    queue.push(data(2));
    queue.clear();
    expect([queue.size, queue.dataSize]).toEqual([0, 0]);
  });
});
