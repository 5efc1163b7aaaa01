import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMySqlPool, prewarmPool } from '../../src/store/mysql/pool.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await useTestDatabase('pool_prewarm');
});
afterAll(() => db?.drop());

/** Connections of `pool`: mysql2 keeps every connection it opened in `_allConnections`. */
const open = (pool: ReturnType<typeof createMySqlPool>): number =>
  (pool.pool as unknown as { _allConnections: { length: number } })._allConnections.length;

describe('mysql pool - prewarm', () => {
  it('prewarm - opens the connections now and returns them to the pool', async () => {
    const pool = createMySqlPool(db.url, { connectionLimit: 6 });
    try {
      expect(open(pool)).toBe(0);
      expect(await prewarmPool(pool, 4)).toBe(4);
      expect(open(pool)).toBe(4);
      await pool.query('SELECT 1'); // a free connection is reused, none opened
      expect(open(pool)).toBe(4);
    } finally {
      await pool.end();
    }
  });

  it('prewarm - a server that refuses is only a cold pool: it resolves with 0', async () => {
    const pool = createMySqlPool('mysql://root@127.0.0.1:1/none', { connectionLimit: 2, connectTimeoutMs: 500 });
    try {
      expect(await prewarmPool(pool, 2)).toBe(0);
    } finally {
      await pool.end();
    }
  });
});
