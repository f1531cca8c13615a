import { describe, expect, it, jest } from '@jest/globals';
import { getEventListeners } from 'node:events';
import { onAbort } from '../../src/behaviors/onAbort.js';
import { NEVER_ABORTED } from '../../src/core/HandlerContext.js';

describe('onAbort (internal)', () => {
  it('adds no listener to the shared never-aborted signal (regression: MaxListenersExceededWarning)', () => {
    const removers = Array.from({ length: 11 }, () => onAbort(NEVER_ABORTED, () => undefined));
    expect(getEventListeners(NEVER_ABORTED, 'abort')).toHaveLength(0);
    for (const remove of removers) remove(); // no-ops
  });

  it('adds no listener to a signal already aborted', () => {
    const controller = new AbortController();
    controller.abort();
    const listener = jest.fn();
    onAbort(controller.signal, listener)();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(listener).not.toHaveBeenCalled();
  });

  it('calls the listener once on abort, or never once removed', () => {
    const fired = new AbortController();
    const listener = jest.fn();
    onAbort(fired.signal, listener);
    fired.abort();
    fired.signal.dispatchEvent(new Event('abort'));
    expect(listener).toHaveBeenCalledTimes(1);
    expect(getEventListeners(fired.signal, 'abort')).toHaveLength(0);

    const removed = new AbortController();
    const other = jest.fn();
    onAbort(removed.signal, other)();
    expect(getEventListeners(removed.signal, 'abort')).toHaveLength(0);
    removed.abort();
    expect(other).not.toHaveBeenCalled();
  });

  it('accepts an object with handleEvent', () => {
    const controller = new AbortController();
    const target = { handleEvent: jest.fn() };
    onAbort(controller.signal, target);
    controller.abort();
    expect(target.handleEvent).toHaveBeenCalledTimes(1);
  });
});
