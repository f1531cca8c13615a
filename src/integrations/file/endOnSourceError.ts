/** @internal A source whose failure ends it normally, to be rethrown once the rows are written. */
export interface HeldFailure<T> {
  readonly rows: AsyncIterable<T>;
  /** Throws the source's error, if it failed. */
  rethrow(): void;
}

/**
 * Ends `source` normally when it fails, so the pipeline writes every row the source yielded
 * before the failure (resume mode keeps them in the partial file), and keeps the error for
 * {@link HeldFailure.rethrow}.
 * @internal
 */
export function endOnSourceError<T>(source: AsyncIterable<T>): HeldFailure<T> {
  let failure: { error: unknown } | undefined;
  async function* rows(): AsyncGenerator<T> {
    try {
      yield* source;
    } catch (error) {
      failure = { error };
    }
  }
  return {
    rows: rows(),
    rethrow() {
      if (failure !== undefined) throw failure.error;
    },
  };
}
