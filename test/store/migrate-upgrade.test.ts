import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { diffState, type RuntimeState } from '../../src/engine/index.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { commitOk, runtimeState, step, T0 } from './fixtures.ts';

const MIGRATIONS = fileURLToPath(new URL('../../src/store/migrations/', import.meta.url));
const TENANT = 'up-t1';
const SHARD = 5;

let db: TestDatabase | undefined;
let dir: string | undefined;
afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const run = (pool: mysql.Pool, sql: string, values: unknown[] = []) => pool.query(sql, values);
const rows = async (pool: mysql.Pool, sql: string, values: unknown[] = []) =>
  (await pool.query<mysql.RowDataPacket[]>(sql, values))[0];

/** What a cluster on migrations 001–003 (state-first commit) left: rows written as its writer wrote them. */
async function seedStateFirst(pool: mysql.Pool): Promise<{ active: RuntimeState; finished: RuntimeState }> {
  const active = runtimeState({ tenant: TENANT, id: 'old-active', docId: 'po-1', revision: 2, at: T0 + 2000 });
  const finished = runtimeState({
    tenant: TENANT,
    id: 'old-done',
    docId: 'po-2',
    status: 'approved',
    revision: 3,
    at: T0 + 3000,
  });
  for (const s of [active, finished]) {
    const rt = s.runtime;
    await run(
      pool,
      'INSERT INTO runtimes (tenant, id, app, doc_id, company_id, workflow_id, version, status, current_node, state, revision, shard, created_at, updated_at) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        TENANT,
        rt.id,
        rt.app,
        rt.docId,
        rt.workflowId,
        rt.version,
        s.status,
        'n1',
        JSON.stringify(s),
        s.revision,
        SHARD,
        T0,
        s.updatedAt,
      ],
    );
    for (let seq = 1; seq <= s.seq; seq++) {
      await run(
        pool,
        "INSERT INTO runtime_log (tenant, runtime_id, seq, at, actor, action, from_node, to_node) VALUES (?, ?, ?, ?, 'emp-creator', 'approve', 'n0', 'n1')",
        [TENANT, rt.id, seq, T0 + 1000 * seq],
      );
    }
    await run(
      pool,
      'INSERT INTO idempotency_keys (tenant, idem_key, runtime_id, response, created_at) VALUES (?, ?, ?, ?, ?)',
      [TENANT, `old-key-${rt.id}`, rt.id, JSON.stringify({ state: s }), s.updatedAt],
    );
  }
  await run(
    pool,
    "INSERT INTO tasks (tenant, runtime_id, stage, assignee, node, app, doc_id, status, assigned_at) VALUES (?, 'old-active', 1, 'emp-2', 'n2', 'purchase.order', 'po-1', 'open', ?)",
    [TENANT, T0],
  );
  // The outbox: one row published, two still pending when the cluster stopped.
  const events = (id: string, seq: number) =>
    JSON.stringify([
      {
        id: `${id}:${seq}:0`,
        type: 'stage.entered',
        tenant: TENANT,
        app: 'purchase.order',
        docId: 'po-1',
        runtimeId: id,
        workflowId: 'wf-po',
        version: 1,
        actor: 'emp-creator',
        at: T0,
        data: {},
      },
    ]);
  await run(
    pool,
    'INSERT INTO outbox (shard, tenant, runtime_id, seq, events, created_at, published_at) VALUES (?, ?, ?, 1, ?, ?, ?), (?, ?, ?, 2, ?, ?, NULL), (?, ?, ?, 3, ?, ?, NULL)',
    [
      SHARD,
      TENANT,
      'old-done',
      events('old-done', 1),
      T0,
      T0,
      SHARD,
      TENANT,
      'old-done',
      events('old-done', 2),
      T0,
      SHARD,
      TENANT,
      'old-active',
      events('old-active', 2),
      T0,
    ],
  );
  return { active, finished };
}

describe('migration 004 - a cluster upgraded in place keeps its runtimes, history, pending events and keys', () => {
  it('migrate - state-first data (runtimes, log, tasks, pending outbox rows, idempotency keys) works under the log-first commit', async () => {
    db = await useTestDatabase('migrate_upgrade', { migrate: false });
    const { pool } = db;
    // The schema as it was: 001–003 only.
    dir = await mkdtemp(join(tmpdir(), 'bflow-mig-upgrade-'));
    for (const f of ['001_initial.sql', '002_runtime_log_command.sql', '003_webhooks.sql'])
      await cp(join(MIGRATIONS, f), join(dir, f));
    await runMigrations(pool, undefined, { dir });
    const { active, finished } = await seedStateFirst(pool);

    // Every node stopped, then `bflow migrate`.
    expect((await runMigrations(pool)).applied).toContain('004_runtime_steps.sql');

    // The active runtime holds its document's slot and has a baseline step; the finished one neither.
    expect(await rows(pool, 'SELECT app, doc_id, runtime_id FROM active_documents WHERE tenant = ?', [TENANT])).toEqual(
      [{ app: 'purchase.order', doc_id: 'po-1', runtime_id: 'old-active' }],
    );
    const baselines = await rows(pool, 'SELECT runtime_id, revision, events, idem_key, position FROM runtime_steps');
    expect(baselines.map((b) => [b.runtime_id, b.revision, b.events, b.idem_key])).toEqual([
      ['old-active', 2, 0, null],
    ]);
    const [outboxMax] = await rows(pool, 'SELECT MAX(position) AS p FROM outbox');
    expect(Number(baselines[0]!.position)).toBeGreaterThan(Number(outboxMax!.p));

    const store = new MySqlRuntimeStore(pool);
    const read = new MySqlReadModel(pool);
    const writer = new MySqlTransitionWriter(pool);
    try {
      // Runtimes and their history are kept.
      expect(await store.loadRuntime(TENANT, 'old-active')).toEqual(active);
      expect(await store.loadRuntime(TENANT, 'old-done')).toEqual(finished);
      expect(await store.findActiveRuntime(TENANT, 'purchase.order', 'po-1')).toEqual(active);
      expect(await read.runtimeLog(TENANT, 'old-done')).toHaveLength(3);
      expect((await read.inbox(TENANT, 'emp-2', 'open', 10)).items.map((i) => i.runtimeId)).toEqual(['old-active']);
      // Keys committed before the upgrade answer their stored reply.
      expect((await store.findIdempotency(TENANT, 'old-key-old-active'))?.response).toEqual({ state: active });

      // The pending outbox rows are drained first, in order, then the steps committed after the upgrade.
      const pending = await store.unpublishedEvents(SHARD, 100);
      expect(pending.map((e) => e.event.id)).toEqual(['old-done:2:0', 'old-active:2:0']);
      const next = {
        ...step({
          tenant: TENANT,
          id: 'old-active',
          docId: 'po-1',
          shard: SHARD,
          baseRevision: 2,
          idempotency: { key: 'new-key' },
        }),
      };
      next.change = diffState(active, next.state);
      const committed = await writer.commit(next);
      expect(committed.ok && committed.outboxPosition).toBeGreaterThan(Math.max(...pending.map((e) => e.position)));
      await store.markPublished([{ shard: SHARD, position: pending[1]!.position }]);
      expect(await rows(pool, 'SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL')).toEqual([{ n: 0 }]);
      expect((await store.unpublishedEvents(SHARD, 100)).map((e) => e.event.id)).toEqual(['old-active:3:0']);

      // A key committed after the upgrade: its reply is rebuilt from the baseline and the step's change.
      expect((await store.findIdempotency(TENANT, 'new-key'))?.response).toEqual({ state: next.state });
      // Its history: the rows written before the upgrade, then the new step's entry, read from the log (the
      // baseline step holds no entry of its own); each entry once.
      expect((await read.runtimeLog(TENANT, 'old-active')).map((e) => [e.seq, e.command?.idempotencyKey])).toEqual([
        [1, undefined],
        [2, undefined],
        [3, 'new-key'],
      ]);
      // The slot still guards the document; the finished runtime's document is free.
      expect(await writer.commit(step({ tenant: TENANT, id: 'another', docId: 'po-1', shard: SHARD }))).toMatchObject({
        ok: false,
        code: 'duplicate_runtime',
      });
      await commitOk(writer, step({ tenant: TENANT, id: 'po-2-again', docId: 'po-2', shard: SHARD }));
    } finally {
      await writer.close();
    }
  });
});
