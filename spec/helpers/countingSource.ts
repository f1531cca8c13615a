/**
 * An infinite (or bounded) counting source that records how many items were pulled and whether
 * its `finally` ran: the probe specs use to prove consumer pull and teardown.
 */
export function countingSource(count = Infinity) {
  const state = { pulled: 0, finallyRan: false };
  async function* source(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < count; i++) {
        state.pulled++;
        yield i;
      }
    } finally {
      state.finallyRan = true;
    }
  }
  return { state, source };
}
