import { ResumeIdNotFoundError } from './ResumeIdNotFoundError.js';

/**
 * The rows of `source` after the first one whose id equals `lastId` (compared as strings).
 * Fails with {@link ResumeIdNotFoundError} when there is none, rather than finishing an export
 * that silently misses rows.
 * @internal
 */
export async function* skipThrough<T>(
  source: AsyncIterable<T>,
  idOf: (row: T) => string | number,
  lastId: string | number,
): AsyncGenerator<T> {
  const target = String(lastId);
  let found = false;
  for await (const row of source) {
    if (found) yield row;
    else if (String(idOf(row)) === target) found = true;
  }
  if (!found) throw new ResumeIdNotFoundError(lastId);
}
