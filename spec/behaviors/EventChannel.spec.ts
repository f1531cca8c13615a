import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { EventChannel } from '../../src/behaviors/EventChannel.js';

describe('EventChannel', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('delivers each event to every listener, in subscription order', () => {
    const channel = new EventChannel<number>();
    const seen: string[] = [];
    channel.events.subscribe((n) => seen.push(`a${n}`));
    channel.events.subscribe((n) => seen.push(`b${n}`));
    channel.emit(1);
    channel.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'a2', 'b2']);
  });

  it('is observed only while someone listens', () => {
    const channel = new EventChannel<number>();
    expect(channel.observed).toBe(false);
    const subscription = channel.events.subscribe(() => {});
    expect(channel.observed).toBe(true);
    subscription.unsubscribe();
    expect(channel.observed).toBe(false);
    channel.emit(1); // nobody: nothing happens
  });

  it('does not call a listener that unsubscribed during an emit', () => {
    const channel = new EventChannel<number>();
    const seen: number[] = [];
    const first = channel.events.subscribe(() => second.unsubscribe());
    const second = channel.events.subscribe((n) => seen.push(n));
    channel.emit(1);
    channel.emit(2);
    expect(seen).toEqual([]);
    first.unsubscribe();
  });

  it('reports a throwing listener without breaking the emitter or the other listeners', () => {
    jest.useFakeTimers();
    const channel = new EventChannel<number>();
    const seen: number[] = [];
    channel.events.subscribe(() => {
      throw new Error('listener broke');
    });
    channel.events.subscribe((n) => seen.push(n));
    expect(() => channel.emit(7)).not.toThrow();
    expect(seen).toEqual([7]);
    expect(() => jest.runOnlyPendingTimers()).toThrow('listener broke');
  });
});
