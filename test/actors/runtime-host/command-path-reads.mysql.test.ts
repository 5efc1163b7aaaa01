import { afterAll, describe, expect, it } from 'vitest';
import { RuntimeHost } from '../../../src/actors/runtime-host/runtime-host.ts';
import { CachedRuntimeStore } from '../../../src/store/cached-runtime-store.ts';
import { MemorySnapshotCache } from '../../../src/store/memory/snapshot-cache.ts';
import { MySqlDirectoryStore } from '../../../src/store/mysql/directory-store.ts';
import { MySqlRuntimeStore } from '../../../src/store/mysql/runtime-store.ts';
import { mysqlStatementCounts } from '../../../src/store/mysql/statement-metrics.ts';
import { MySqlTransitionWriter } from '../../../src/store/mysql/transition-writer.ts';
import { MySqlWorkflowStore } from '../../../src/store/mysql/workflow-store.ts';
import { useTestDatabase, type TestDatabase } from '../../harness/mysql.ts';
import { commandRequest as cmd, ok, seedTenant, startRequest } from './runtime-host-fixture.ts';

let db: TestDatabase | undefined;
const closers: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
  await db?.drop();
});

/** SELECTs sent so far by every counted pool, by table. */
const selects = (): Record<string, number> => Object.fromEntries(mysqlStatementCounts.reads);
const total = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

describe('runtime host - the command path of a live runtime', () => {
  it('command path - commands on a live actor send no SELECT: the state, the workflow, the directory and the recent keys are in memory', async () => {
    db = await useTestDatabase('command_path_reads');
    const tenant = 't-reads';
    const workflows = new MySqlWorkflowStore(db.pool);
    const directory = new MySqlDirectoryStore(db.pool);
    await seedTenant({ workflows, directory }, tenant);
    const cache = new MemorySnapshotCache();
    const writer = new MySqlTransitionWriter(db.pool);
    const host = new RuntimeHost(
      { runtimes: new CachedRuntimeStore(new MySqlRuntimeStore(db.pool), cache), writer, cache, workflows, directory },
      { shardCount: 1, sweepIntervalMs: 0 },
    );
    host.openShard(0, 1);
    closers.push(
      () => host.close(),
      () => writer.close(),
    );
    ok(await host.handle(startRequest(tenant, 'rt-1', 'doc-1')));
    const before = selects();
    expect(total(before)).toBeGreaterThan(0); // the start read its app config, workflow and directory: counting works
    ok(await host.handle(cmd(tenant, 'rt-1', 'alice', 'submit')));
    for (let i = 0; i < 5; i++) ok(await host.handle(cmd(tenant, 'rt-1', 'alice', 'comment', { comment: `c${i}` })));
    const retry = cmd(tenant, 'rt-1', 'alice', 'comment', { comment: 'retried' }, { idempotencyKey: 'k-retry' });
    ok(await host.handle(retry));
    expect(await host.handle(retry)).toMatchObject({ ok: true, replayed: true }); // answered from the actor's recent keys
    const after = selects();
    expect(total(after) - total(before), `SELECTs on the command path: ${JSON.stringify({ before, after })}`).toBe(0);
  });
});
