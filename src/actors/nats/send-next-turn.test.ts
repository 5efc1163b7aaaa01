import { describe, expect, it } from 'vitest';
import { SendNextTurn } from './send-next-turn.ts';

describe('SendNextTurn', () => {
  it('send next turn - sends queued in one turn run together at its end, in order; a failing one does not stop the rest', async () => {
    const errors: unknown[] = [];
    const sends = new SendNextTurn((err) => errors.push(err));
    const ran: string[] = [];
    sends.queue(() => ran.push('a'));
    sends.queue(() => {
      throw new Error('b failed');
    });
    await Promise.resolve();
    sends.queue(() => ran.push('c'));
    expect(ran).toEqual([]); // nothing before the turn ends
    await new Promise((r) => setImmediate(r));
    expect(ran).toEqual(['a', 'c']);
    expect(errors).toHaveLength(1);
  });

  it("send next turn - turn() resolves with the turn's other sends", async () => {
    const sends = new SendNextTurn(() => undefined);
    const order: string[] = [];
    sends.queue(() => order.push('queued'));
    const turn = sends.turn().then(() => order.push('after turn'));
    order.push('sync');
    await turn;
    expect(order).toEqual(['sync', 'queued', 'after turn']);
  });
});
