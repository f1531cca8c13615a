import type { DeadLetter } from '../../src/behaviors/DeadLetter.js';

/** A letter for store specs: `letter('a')` has id 'a'. */
export function letter(id: string, fields: Partial<DeadLetter> = {}): DeadLetter {
  return {
    id,
    kind: 'request',
    messageName: 'PlaceOrder',
    payload: { sku: id },
    error: { name: 'Error', message: `failed ${id}` },
    attempts: 1,
    correlationId: `c-${id}`,
    time: '2030-01-01T00:00:00.000Z',
    ...fields,
  };
}

/** The ids of some letters, in order. */
export const ids = (letters: readonly DeadLetter[]): string[] => letters.map((l) => l.id);
