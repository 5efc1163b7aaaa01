import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShardRequest } from '../../../src/actors/bus/ports.ts';
import { RuntimeHost } from '../../../src/actors/runtime-host/runtime-host.ts';
import { replayLog } from '../../../src/check/replay.ts';
import {
  compileWorkflow,
  inMemoryDirectory,
  type MigrateCommand,
  type WorkflowDefinition,
} from '../../../src/engine/index.ts';
import { CachedRuntimeStore } from '../../../src/store/cached-runtime-store.ts';
import { migrationKey } from '../../../src/store/migration-ports.ts';
import { MemoryStore } from '../../../src/store/memory/memory-store.ts';
import { MemorySnapshotCache } from '../../../src/store/memory/snapshot-cache.ts';
import { loadExample } from '../../fixtures/engine-driver.ts';
import {
  PO_WORKFLOW,
  TestClock,
  commandRequest as cmd,
  ok,
  problemOf,
  seedTenant,
  startRequest,
} from './runtime-host-fixture.ts';

const SHARDS = 4;
const TENANT = 't-mig';
const hosts: RuntimeHost[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

/** A host on the twin with the purchase order at version 1 and `edit` of it published as version 2. */
async function setup(edit: (def: WorkflowDefinition) => void) {
  const store = new MemoryStore();
  const cache = new MemorySnapshotCache();
  const clock = new TestClock();
  const registry = new Registry();
  const host = new RuntimeHost(
    {
      runtimes: new CachedRuntimeStore(store.runtimes, cache, { registry }),
      writer: store.writer,
      cache,
      workflows: store.workflows,
      directory: store.directory,
      clock,
      registry,
    },
    { shardCount: SHARDS, sweepIntervalMs: 0 },
  );
  for (let s = 0; s < SHARDS; s++) host.openShard(s, 1);
  hosts.push(host);
  await seedTenant(store, TENANT);
  /** Publishes version 2 (after the test started its runtimes on version 1). */
  const publishV2 = async () => {
    const def = loadExample('purchase-order');
    edit(def);
    await store.workflows.updateDraft(TENANT, PO_WORKFLOW, def, clock.now());
    expect((await store.workflows.publish(TENANT, PO_WORKFLOW, clock.now()))?.version).toBe(2);
  };
  return { store, host, clock, publishV2 };
}

const migration = (extra: Partial<MigrateCommand> = {}): MigrateCommand => ({
  type: 'migrate',
  planId: 'plan-1',
  actor: 'admin-1',
  fromVersion: 1,
  toVersion: 2,
  nodeMap: {},
  ...extra,
});

const migrateRequest = (runtimeId: string, extra: Partial<MigrateCommand> = {}): ShardRequest => ({
  kind: 'migrate',
  tenant: TENANT,
  runtimeId,
  migration: migration(extra),
  idempotencyKey: migrationKey(extra.planId ?? 'plan-1', runtimeId),
});

describe('runtime host - migrating a runtime inside its actor', () => {
  it('migrates once per plan (a resend answers the first reply), the log holds one migrate entry, the actor runs version 2 after', async () => {
    const { store, host, publishV2 } = await setup((def) => {
      def.nodes.find((n) => n.id === 'manager')!.collaborators = {
        type: 'in_workflow',
        members: [{ employee: 'bob' }],
      };
    });
    ok(await host.handle(startRequest(TENANT, 'rt-1', 'doc-1')));
    ok(await host.handle(cmd(TENANT, 'rt-1', 'alice', 'submit')));
    await publishV2();
    const first = ok(await host.handle(migrateRequest('rt-1')));
    expect(first.state.runtime.version).toBe(2);
    expect(first.state.stages.at(-1)!.tasks.map((t) => [t.assignee, t.status])).toEqual([
      ['pur-mgr', 'skipped'],
      ['bob', 'open'],
    ]);
    const again = ok(await host.handle(migrateRequest('rt-1')));
    expect(again).toMatchObject({ replayed: true, state: { revision: first.state.revision } });
    const log = await store.read.runtimeLog(TENANT, 'rt-1');
    expect(log.filter((e) => e.action === 'migrate')).toEqual([
      expect.objectContaining({
        fromNode: 'manager',
        toNode: 'manager',
        command: expect.objectContaining({ idempotencyKey: migrationKey('plan-1', 'rt-1'), migrate: migration() }),
      }),
    ]);
    expect((await store.inbox(TENANT, 'bob', 'open', 10)).items).toEqual([
      expect.objectContaining({ runtimeId: 'rt-1', version: 2, node: 'manager' }),
    ]);
    // Version 2's assignee acts; after passivation the runtime reactivates on version 2.
    host.passivateIdle();
    expect(problemOf(await host.handle(cmd(TENANT, 'rt-1', 'pur-mgr', 'approve'))).code).toBe('not_assignee');
    expect(ok(await host.handle(cmd(TENANT, 'rt-1', 'bob', 'approve'))).state.stages.at(-1)!.node).not.toBe('manager');
    // A resend after the actor moved on still answers the migration's first reply, from the log.
    const late = ok(await host.handle(migrateRequest('rt-1')));
    expect(late).toMatchObject({ replayed: true, state: { revision: first.state.revision } });
  });

  it('a runtime that cannot move answers migration_blocked with its reason and stays where it was', async () => {
    const { store, host, publishV2 } = await setup((def) => {
      const manager = def.nodes.find((n) => n.id === 'manager')!;
      manager.id = 'line-manager';
      for (const a of def.associations) {
        if (a.from === 'manager') a.from = 'line-manager';
        if (a.to === 'manager') a.to = 'line-manager';
      }
    });
    ok(await host.handle(startRequest(TENANT, 'rt-2', 'doc-2')));
    const submitted = ok(await host.handle(cmd(TENANT, 'rt-2', 'alice', 'submit')));
    await publishV2();
    const blocked = problemOf(await host.handle(migrateRequest('rt-2')));
    expect(blocked).toMatchObject({ code: 'migration_blocked', reason: 'unmapped_node', retryable: false });
    expect(problemOf(await host.handle(migrateRequest('rt-2', { planId: 'p2', fromVersion: 7 })))).toMatchObject({
      reason: 'not_on_version',
    });
    expect(problemOf(await host.handle(migrateRequest('rt-2', { planId: 'p3', toVersion: 9 })))).toMatchObject({
      code: 'workflow_version_not_found',
    });
    expect((await store.read.getRuntime(TENANT, 'rt-2'))?.revision).toBe(submitted.state.revision);
    const moved = ok(await host.handle(migrateRequest('rt-2', { planId: 'p4', nodeMap: { manager: 'line-manager' } })));
    expect(moved.state.stages.at(-1)!.node).toBe('line-manager');
    expect(problemOf(await host.handle(migrateRequest('missing')))).toMatchObject({ code: 'runtime_not_found' });
  });

  it("the invariant checker's replay switches definitions at the migrate entry: the replayed state and log equal the stored ones", async () => {
    const { store, host, publishV2 } = await setup((def) => {
      def.nodes.find((n) => n.id === 'manager')!.collaborators = {
        type: 'in_workflow',
        members: [{ employee: 'bob' }],
      };
      // Version 2 sends everything from the manager to the CEO.
      def.associations = def.associations.filter((a) => a.from !== 'manager');
      def.associations.push({ from: 'manager', to: 'ceo' });
    });
    ok(await host.handle(startRequest(TENANT, 'rt-3', 'doc-3')));
    ok(await host.handle(cmd(TENANT, 'rt-3', 'alice', 'submit')));
    await publishV2();
    ok(await host.handle(migrateRequest('rt-3')));
    const after = ok(await host.handle(cmd(TENANT, 'rt-3', 'bob', 'approve')));
    expect(after.state.stages.at(-1)!.node).toBe('ceo');
    const log = await store.read.runtimeLog(TENANT, 'rt-3');
    const { employees, groups } = await store.directory.loadDirectory(TENANT);
    const replay = await replayLog(
      log,
      async (id, version) => {
        const v = await store.workflows.getVersion(TENANT, id, version);
        return v && compileWorkflow(v.definition, id, version);
      },
      inMemoryDirectory(employees, groups),
    );
    expect(replay.ok).toBe(true);
    if (!replay.ok) return;
    expect(JSON.parse(JSON.stringify(replay.state))).toEqual(await store.read.getRuntime(TENANT, 'rt-3'));
    expect(replay.log.map((e) => e.action)).toEqual(['start', 'submit', 'migrate', 'approve']);
  });
});
