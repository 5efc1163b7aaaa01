import { afterAll, describe, expect, it } from 'vitest';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { createMySqlPool } from '../../src/store/mysql/pool.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
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
    await expect(new MySqlDirectoryStore(pool).upsertGroups('t', [{ id: 'g', name: 'G' }])).rejects.toMatchObject(unavailable);
    await expect(new MySqlWorkflowStore(pool).publish('t', 'wf', 0)).rejects.toMatchObject(unavailable);
  });
});
