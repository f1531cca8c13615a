import { describe, expect, it } from '@jest/globals';
import { Command, createMediator, handler, Notification, Query, StreamRequest } from '../../src/index.js';

class GetOrder extends Query<{ id: string }> {
  constructor(readonly id: string) { super(); }
}
class Place extends Command<number> {}
class Export extends StreamRequest<number> {}
class Placed extends Notification {}

describe('smoke', () => {
  it('works', async () => {
    const seen: string[] = [];
    const m = createMediator({
      handlers: [
        handler(GetOrder, (q) => ({ id: q.id })),
        handler(Place, async () => 7),
        handler(Export, async function* () { yield 1; yield 2; }),
        handler(Placed, () => { seen.push('a'); }),
      ],
    });
    const o = await m.send(new GetOrder('x'));
    expect(o.id).toBe('x');
    expect(await m.send(new Place())).toBe(7);
    const items: number[] = [];
    for await (const n of m.createStream(new Export())) items.push(n);
    expect(items).toEqual([1, 2]);
    await m.publish(new Placed());
    expect(seen).toEqual(['a']);
  });
});
