import { describe, expect, it } from 'vitest';
import { CoalescedReads } from './coalesced-reads.ts';
import type { Row } from './sql.ts';

/** A select that records what it was sent and answers with `answer(sql)`. */
function recorder(answer: (sql: string) => Row[] | Error = () => []) {
  const sent: { sql: string; values: unknown[] }[] = [];
  const select = async (sql: string, values: unknown[]): Promise<Row[]> => {
    sent.push({ sql, values });
    const result = answer(sql);
    if (result instanceof Error) throw result;
    return result;
  };
  return { sent, select };
}

const byN = (a: Row, b: Row): number => Number(a.n) - Number(b.n);

describe('coalesced reads', () => {
  it('coalesced reads - a query alone in its turn is sent as it is', async () => {
    const r = recorder(() => [{ n: 1 }]);
    const reads = new CoalescedReads(r.select, byN);
    expect(await reads.query('SELECT n FROM t WHERE a = ? LIMIT ?', ['x', 2])).toEqual([{ n: 1 }]);
    expect(r.sent).toEqual([{ sql: 'SELECT n FROM t WHERE a = ? LIMIT ?', values: ['x', 2] }]);
  });

  it('coalesced reads - queries of one turn go as one UNION ALL; each gets its own rows, in order', async () => {
    // The server may interleave the parts: rows come back out of order.
    const r = recorder(() => [
      { q: 1, n: 5 },
      { q: 0, n: 2 },
      { q: 1, n: 3 },
      { q: 0, n: 1 },
    ]);
    const reads = new CoalescedReads(r.select, byN);
    const [a, b, c] = await Promise.all([
      reads.query('SELECT n FROM t WHERE a = ? ORDER BY n LIMIT ?', ['a', 3]),
      reads.query('SELECT n FROM t WHERE a = ? ORDER BY n LIMIT ?', ['b', 3]),
      reads.query('SELECT n FROM t WHERE a = ? ORDER BY n LIMIT ?', ['c', 3]),
    ]);
    expect(r.sent).toEqual([
      {
        sql:
          '(SELECT 0 AS q, n FROM t WHERE a = ? ORDER BY n LIMIT ?) UNION ALL (SELECT 1 AS q, n FROM t WHERE a = ? ORDER BY n LIMIT ?) UNION ALL ' +
          '(SELECT 2 AS q, n FROM t WHERE a = ? ORDER BY n LIMIT ?)',
        values: ['a', 3, 'b', 3, 'c', 3],
      },
    ]);
    expect(a!.map((row) => row.n)).toEqual([1, 2]);
    expect(b!.map((row) => row.n)).toEqual([3, 5]);
    expect(c).toEqual([]);
  });

  it('coalesced reads - a failed statement fails every query of its batch; the next turn starts afresh', async () => {
    let fail = true;
    const r = recorder(() => (fail ? new Error('server gone') : [{ n: 1 }]));
    const reads = new CoalescedReads(r.select, byN);
    const results = await Promise.allSettled([reads.query('SELECT n FROM t', []), reads.query('SELECT n FROM u', [])]);
    expect(results.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await reads.query('SELECT n FROM t', [])).toEqual([{ n: 1 }]);
  });

  it('coalesced reads - at most maxBatch parts per statement; only SELECTs are taken', async () => {
    const r = recorder();
    const reads = new CoalescedReads(r.select, byN, 2);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((x) => reads.query('SELECT n FROM t WHERE a = ?', [x])));
    expect(r.sent.map((s) => s.values)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(() => reads.query('DELETE FROM t', [])).toThrow(RangeError);
  });
});
