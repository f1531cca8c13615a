/**
 * An AbortController whose signal counts live 'abort' listeners, so specs can prove that every
 * listener a call added was removed afterwards — after success, failure and abort alike.
 *
 * When the signal fires, the platform drops the listeners added with `{ once: true }`; those
 * stop counting. Listeners added without `once` still count until removed, so a leak of one
 * shows up even after an abort.
 */
export function trackedController(): {
  controller: AbortController;
  signal: AbortSignal;
  listeners(): number;
} {
  const controller = new AbortController();
  const { signal } = controller;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  const live = new Map<unknown, { once: boolean }>();
  // Registered first, so it runs first on abort and sees every `once` listener about to be dropped.
  add('abort', () => {
    for (const [listener, { once }] of live) if (once) live.delete(listener);
  });
  signal.addEventListener = ((
    type: string,
    listener: unknown,
    options?: Parameters<AbortSignal['addEventListener']>[2],
  ) => {
    if (type === 'abort' && !live.has(listener) && !signal.aborted) {
      live.set(listener, { once: typeof options === 'object' && options.once === true });
    }
    add(type, listener as Parameters<AbortSignal['addEventListener']>[1], options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((
    type: string,
    listener: unknown,
    options?: Parameters<AbortSignal['removeEventListener']>[2],
  ) => {
    if (type === 'abort') live.delete(listener);
    remove(type, listener as Parameters<AbortSignal['removeEventListener']>[1], options);
  }) as typeof signal.removeEventListener;
  return { controller, signal, listeners: () => live.size };
}

/**
 * A timer wait (fake timers advance it) that rejects with the signal's reason when it aborts,
 * as a handler honouring its signal would. `0` resolves at once; `Infinity` waits for the abort.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer =
      ms === Infinity
        ? undefined
        : setTimeout(() => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
