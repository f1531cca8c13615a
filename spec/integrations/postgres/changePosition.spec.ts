import { describe, expect, it } from '@jest/globals';
import { changePosition, compareChangePositions } from 'fs-mediator/postgres';

describe('changePosition / compareChangePositions', () => {
  it('orders by transaction id first, then outbox id, numerically', () => {
    const positions = ['10/3', '9/12', '10/20', '9/2', '100/1'];
    expect([...positions].sort(compareChangePositions)).toEqual([
      '9/2',
      '9/12',
      '10/3',
      '10/20',
      '100/1',
    ]);
    expect(compareChangePositions('7/7', '7/7')).toBe(0);
  });

  it('handles ids beyond 2^53 (xid8 and bigint arrive as decimal strings)', () => {
    expect(compareChangePositions('9007199254740993/1', '9007199254740992/5')).toBe(1);
    expect(changePosition({ txid: '9007199254740993', id: '42' })).toBe('9007199254740993/42');
  });

  it('rejects strings that are not positions, naming them', () => {
    expect(() => compareChangePositions('12', '1/2')).toThrow(TypeError);
    expect(() => compareChangePositions('1/2', 'a/b')).toThrow(/'a\/b'|"a\/b"/);
  });
});
