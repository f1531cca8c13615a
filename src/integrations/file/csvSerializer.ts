import type { Transform } from 'node:stream';
import { stringify } from 'csv-stringify';

/**
 * csv-stringify's Transform (RFC 4180 quoting of delimiters, quotes and newlines, `\n` record
 * delimiter), taking at most `highWaterMark` rows before it pushes back.
 * @internal
 */
export function csvSerializer(
  columns: readonly string[] | undefined,
  header: boolean,
  highWaterMark: number,
  onRow: () => void,
): Transform {
  const stringifier = stringify({
    header,
    columns: columns === undefined ? undefined : [...columns],
    writableHighWaterMark: highWaterMark,
  });
  stringifier.on('record', onRow);
  return stringifier;
}
