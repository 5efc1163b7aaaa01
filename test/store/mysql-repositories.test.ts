import { afterAll, describe, expect, it } from 'vitest';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';
import { mysqlStatementCounts } from '../../src/store/mysql/statement-metrics.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { isUnavailable } from '../../src/store/mysql/sql.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import { useTestDatabase } from '../harness/mysql.ts';
import { freePort } from '../harness/ports.ts';

describe('mysql repositories - failures', () => {
  const pools: ReturnType<typeof createMySqlPool>[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  });

  it('repositories - an unreachable server is a retryable store_unavailable', async () => {
    const pool = createMySqlPool(`mysql://root@127.0.0.1:${await freePort()}/none`, { connectTimeoutMs: 1000 });
    pools.push(pool);
    const unavailable = { name: 'StoreError', code: 'store_unavailable', retryable: true };
    await expect(new MySqlRuntimeStore(pool).loadRuntime('t', 'r')).rejects.toMatchObject(unavailable);
    await expect(new MySqlReadModel(pool).inbox('t', 'e', 'open', 10)).rejects.toMatchObject(unavailable);
    await expect(new MySqlDirectoryStore(pool).upsertGroups('t', [{ id: 'g', name: 'G' }])).rejects.toMatchObject(
      unavailable,
    );
    await expect(new MySqlWorkflowStore(pool).publish('t', 'wf', 0)).rejects.toMatchObject(unavailable);
  });

  it('repositories - isUnavailable tells an outage (no server, a timeout) from a statement the server refused', async () => {
    const down = createMySqlPool(`mysql://root@127.0.0.1:${await freePort()}/none`, { connectTimeoutMs: 1000 });
    pools.push(down);
    const db = await useTestDatabase('unavailable_kinds');
    try {
      const errorOf = (p: Promise<unknown>) =>
        p.then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(isUnavailable(await errorOf(down.query('SELECT 1')))).toBe(true);
      expect(isUnavailable(await errorOf(db.pool.query({ sql: 'SELECT SLEEP(2)', timeout: 50 })))).toBe(true);
      expect(isUnavailable(await errorOf(new MySqlRuntimeStore(down).loadRuntime('t', 'r')))).toBe(true);
      const refused = await errorOf(db.pool.query('INSERT INTO no_such_table VALUES (1)'));
      expect(refused).toMatchObject({ code: 'ER_NO_SUCH_TABLE' });
      expect(isUnavailable(refused)).toBe(false);
      expect(isUnavailable(await errorOf(db.pool.query("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no'")))).toBe(
        false,
      );
    } finally {
      await db.drop();
    }
  });
});

describe('mysql read model - coalesced reads', () => {
  it('read model - concurrent inbox pages and runtime reads take one statement each kind, counted as reads of their table', async () => {
    const db = await useTestDatabase('read_coalesced');
    try {
      const read = new MySqlReadModel(db.pool);
      await read.getRuntime('t', 'warm-up'); // the pool's connection and its counter exist
      const before = {
        queries: mysqlStatementCounts.queries,
        tasks: mysqlStatementCounts.reads.get('tasks') ?? 0,
        runtimes: mysqlStatementCounts.reads.get('runtimes') ?? 0,
      };
      await Promise.all([
        read.inbox('t', 'a', 'open', 10),
        read.inbox('t', 'b', 'done', 5),
        read.getRuntime('t', 'r1'),
        read.getRuntime('t', 'r2'),
      ]);
      expect(mysqlStatementCounts.queries - before.queries).toBe(2);
      expect((mysqlStatementCounts.reads.get('tasks') ?? 0) - before.tasks).toBe(1);
      expect((mysqlStatementCounts.reads.get('runtimes') ?? 0) - before.runtimes).toBe(1);
    } finally {
      await db.drop();
    }
  });
});
