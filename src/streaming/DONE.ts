/** The one finished iterator result every iterator of the library hands out. @internal */
export const DONE: IteratorResult<never> = Object.freeze({
  value: undefined,
  done: true,
}) as IteratorResult<never>;
