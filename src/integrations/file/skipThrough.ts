import { ResumeIdNotFoundError } from './ResumeIdNotFoundError.js';

/**
 * The rows of `source` after the first one whose id equals `lastId` (compared as strings).
 * Fails with {@link ResumeIdNotFoundError} when there is none, rather than finishing an export
 * that silently misses rows. With `compareIds`, the rows after `lastId` in that order instead:
 * the source may already start past it.
 * @internal
 */
export async function* skipThrough<T>(
  source: AsyncIterable<T>,
  idOf: (row: T) => string | number,
  lastId: string | number,
  compareIds?: (a: string, b: string) => number,
): AsyncGenerator<T> {
  const target = String(lastId);
  let found = false;
  for await (const row of source) {
    if (found) yield row;
    else if (compareIds === undefined) found = String(idOf(row)) === target;
    else if (compareIds(String(idOf(row)), target) > 0) {
      found = true;
      yield row;
    }
  }
  if (!found && compareIds === undefined) throw new ResumeIdNotFoundError(lastId);
}
