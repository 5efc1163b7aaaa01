import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShardReply } from '../actors/bus/index.ts';
import { loadConfig } from './config.ts';
import { DEMO_TENANT, seedDemo } from './demo/demo-seed.ts';
import { startEmbedded, type EmbeddedBackend } from './embedded.ts';

const logger = pino({ level: 'silent' });
let backend: EmbeddedBackend | undefined;

afterEach(async () => {
  await backend?.stop();
  backend = undefined;
});

function ok(reply: ShardReply): Extract<ShardReply, { ok: true }> {
  if (!reply.ok) throw new Error(`${reply.problem.code}: ${reply.problem.message}`);
  return reply;
}

describe('embedded backend', () => {
  it('embedded - ready once the node holds every shard; not ready after stop', async () => {
    backend = await startEmbedded(loadConfig({ BFLOW_SHARDS: '8' }), logger);
    expect(await backend.deps.readiness()).toEqual({ store: true, bus: true, shardMap: true });
    const view = await backend.deps.cluster();
    expect(view.shards.every((s) => s.node !== null)).toBe(true);
    await backend.stop();
    expect((await backend.deps.readiness()).shardMap).toBe(false);
    await backend.stop(); // idempotent
  });

  it('embedded - the retention job runs in process (the one node holds shard 0) with the BFLOW_RETENTION_* settings', async () => {
    backend = await startEmbedded(
      loadConfig({ BFLOW_SHARDS: '2', BFLOW_RETENTION_MODE: 'delete', BFLOW_RETENTION_INTERVAL_MS: '0' }),
      logger,
    );
    await backend.store.retention.setPolicy('t1', { auditLogDays: 5 }, Date.now());
    expect(await backend.retention.runOnce()).toEqual({ result: 'done', rows: {} });
    expect(await backend.deps.retention?.getPolicy('t1')).toMatchObject({ auditLogDays: 5 });
    expect(await backend.deps.registry.metrics()).toMatch(/bflow_retention_runs_total\{result="done"\} 1/);
  });

  it('embedded - the demo seed lets a purchase order go start → manager → approved through the router', async () => {
    backend = await startEmbedded(loadConfig({}), logger);
    const seeded = await seedDemo(backend.deps);
    expect(seeded.workflows.map((w) => w.app).sort()).toEqual([
      'finance.expense',
      'hr.leave',
      'legal.contract',
      'purchase.order',
    ]);
    const { router, read } = backend.deps;
    const doc = { amount: 5_000_000, currency: 'VND', requester: 'alice', items: [], note: 'n', supplier: 'ACME' };
    const start = {
      kind: 'start',
      tenant: DEMO_TENANT,
      runtimeId: 'rt-1',
      app: 'purchase.order',
      docId: 'PO-1',
      creator: 'alice',
      doc,
      idempotencyKey: 'k1',
    } as const;
    expect(ok(await router.send(start)).state.status).toBe('created');
    const act = (actor: string, type: 'submit' | 'approve', key: string) =>
      router.send({
        kind: 'command',
        tenant: DEMO_TENANT,
        runtimeId: 'rt-1',
        command: { type, actor },
        idempotencyKey: key,
      });
    ok(await act('alice', 'submit', 'k2'));
    expect(ok(await act('pur-mgr', 'approve', 'k3')).state.status).toBe('approved');
    expect((await read.getRuntime(DEMO_TENANT, 'rt-1'))?.status).toBe('approved');
    expect((await read.runtimeLog(DEMO_TENANT, 'rt-1')).map((l) => l.action)).toEqual(['start', 'submit', 'approve']);
  });

  it('embedded - a directory change reaches the runtime host at once (no cache TTL wait)', async () => {
    backend = await startEmbedded(loadConfig({}), logger);
    await seedDemo(backend.deps, 't2');
    const { router, directory } = backend.deps;
    const doc = { amount: 5_000_000, currency: 'VND', requester: 'alice', items: [], note: 'n', supplier: 'ACME' };
    const startPo = (id: string) =>
      router.send({
        kind: 'start',
        tenant: 't2',
        runtimeId: id,
        app: 'purchase.order',
        docId: id,
        creator: 'alice',
        doc,
        idempotencyKey: `s-${id}`,
      });
    const submit = (id: string) =>
      router.send({
        kind: 'command',
        tenant: 't2',
        runtimeId: id,
        command: { type: 'submit', actor: 'alice' },
        idempotencyKey: `c-${id}`,
      });
    ok(await startPo('a'));
    expect(
      ok(await submit('a'))
        .state.stages.at(-1)
        ?.tasks.map((t) => t.assignee),
    ).toEqual(['pur-mgr']);
    await directory.upsertGroups('t2', [
      { id: 'g-purchasing', name: 'Purchasing', parentId: 'g-ops', managerId: 'bob', level: 2 },
    ]);
    ok(await startPo('b'));
    expect(
      ok(await submit('b'))
        .state.stages.at(-1)
        ?.tasks.map((t) => t.assignee),
    ).toEqual(['bob']);
  });

  it('embedded - committed events reach the in-process stream', async () => {
    backend = await startEmbedded(loadConfig({}), logger);
    await seedDemo(backend.deps);
    const doc = { amount: 1, currency: 'VND', requester: 'alice', items: [], note: 'n', supplier: 'ACME' };
    ok(
      await backend.deps.router.send({
        kind: 'start',
        tenant: DEMO_TENANT,
        runtimeId: 'e1',
        app: 'purchase.order',
        docId: 'e1',
        creator: 'alice',
        doc,
        idempotencyKey: 'e1',
      }),
    );
    const events = backend.events;
    const deadline = Date.now() + 5000;
    while (events.messages().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(events.messages().map((e) => e.subject)).toContain('bflow.events.demo.purchase%2Eorder.runtime%2Estarted');
  });
});
