import { NEVER_ABORTED } from '../core/HandlerContext.js';

/** What {@link onAbort} returns when it added no listener. */
const NOTHING_TO_REMOVE = (): void => undefined;

/**
 * Calls `listener` once when `signal` aborts; returns a function that removes it. Adds nothing
 * (and returns a no-op remover) for the shared never-aborted signal that calls without a signal
 * get: every waiting call adding a listener to that one signal would leak them and trip Node's
 * MaxListenersExceededWarning at 11. Nor for a signal already aborted: a listener added then never
 * fires, so the caller must check `signal.aborted` first. `listener` may be an object with a
 * `handleEvent()` method, so a hot path need not make a closure per call.
 * @internal
 *
 * @example
 * ```ts
 * const stop = onAbort(context.signal, () => reject(context.signal.reason));
 * // … when the wait ends by itself:
 * stop();
 * ```
 */
export function onAbort(
  signal: AbortSignal,
  listener: (() => void) | { handleEvent(): void },
): () => void {
  if (signal === NEVER_ABORTED || signal.aborted) return NOTHING_TO_REMOVE;
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
