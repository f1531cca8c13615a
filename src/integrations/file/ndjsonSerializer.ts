import { Transform } from 'node:stream';

/**
 * A Transform from rows to NDJSON lines (`JSON.stringify(row) + '\n'`), taking at most
 * `highWaterMark` rows before it pushes back. A row JSON cannot write (`undefined`, a function,
 * a BigInt, a cycle) fails the export with a TypeError.
 * @internal
 */
export function ndjsonSerializer(highWaterMark: number, onRow: () => void): Transform {
  return new Transform({
    writableObjectMode: true,
    writableHighWaterMark: highWaterMark,
    transform(row: unknown, _encoding, callback) {
      let line: string | undefined;
      try {
        line = JSON.stringify(row);
      } catch (error) {
        callback(error as Error);
        return;
      }
      if (line === undefined) {
        callback(new TypeError(`A row of type ${typeof row} cannot be written as JSON.`));
        return;
      }
      onRow();
      callback(null, line + '\n');
    },
  });
}
