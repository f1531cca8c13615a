/**
 * True for the error an aborted call rejects with when the signal was aborted without a custom
 * reason: a `DOMException` named `AbortError` (from `controller.abort()`) or `TimeoutError` (from
 * `AbortSignal.timeout()`). A call aborted with a custom reason (`controller.abort(myError)`)
 * rejects with that reason instead, as `fetch` and Node's own APIs do.
 *
 * @example
 * ```ts
 * try { await mediator.send(new GetOrder(id), { signal }); }
 * catch (e) { if (isAbortError(e)) return; throw e; }
 * ```
 */
export function isAbortError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const name = (error as { name?: unknown }).name;
  return name === 'AbortError' || name === 'TimeoutError';
}
