import { show } from '../../errors/validate.js';

/** What {@link changePosition} reads: a {@link ChangeItem}, or a row copied from one. */
export interface ChangePositionSource {
  readonly txid: string;
  readonly id: string;
}

/**
 * A change's position in its feed as one string, `'<txid>/<id>'`: the order the feed delivers in
 * (transaction id first, then outbox id), which the outbox id alone is not. Pair it with
 * {@link compareChangePositions}, e.g. to resume a file export from a change feed:
 *
 * @example
 * ```ts
 * await exportToFile(rows, {
 *   path: 'orders.ndjson',
 *   format: 'ndjson',
 *   resume: { idOf: (row) => row.position, compareIds: compareChangePositions },
 * });
 * ```
 */
export function changePosition(change: ChangePositionSource): string {
  return `${change.txid}/${change.id}`;
}

const POSITION = /^(\d+)\/(\d+)$/;

function parse(position: string): [bigint, bigint] {
  const match = typeof position === 'string' ? POSITION.exec(position) : null;
  if (match === null) {
    throw new TypeError(`A change position must look like '<txid>/<id>', got ${show(position)}.`);
  }
  return [BigInt(match[1]!), BigInt(match[2]!)];
}

/**
 * Orders two {@link changePosition} strings as the feed delivers them: negative when `a` comes
 * first, 0 when equal, positive after (for `Array.prototype.sort` and `exportToFile`'s
 * `resume.compareIds`). Throws a TypeError for a string that is not a position.
 *
 * @example
 * ```ts
 * compareChangePositions('9/12', '10/3'); // < 0: transaction 9 before 10, whatever the ids
 * ```
 */
export function compareChangePositions(a: string, b: string): number {
  const [ta, ia] = parse(a);
  const [tb, ib] = parse(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return ia === ib ? 0 : ia < ib ? -1 : 1;
}
