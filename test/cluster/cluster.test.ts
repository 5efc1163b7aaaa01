import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/actors/shard-of.ts';
import { commandRequest, startRequest } from '../actors/runtime-host/runtime-host-fixture.ts';
import { loadExample } from '../fixtures/engine-driver.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { testCipher } from '../harness/master-keys.ts';
import { waitFor } from '../harness/wait.ts';
import { ClusterHarness, LEASE_TTL_MS, SHARDS, TENANT } from './cluster-harness.ts';
import { createRuntimes, expectExactlyOnce, startLoad } from './load.ts';

// Nodes are separate `bflow node` processes on the real MariaDB and NATS; every
// wait has a deadline, every process is reaped in afterAll.

describe('cluster - shard ownership and graceful hand-over', () => {
  let h: ClusterHarness;
  beforeAll(async () => {
    h = await ClusterHarness.create('cl_join');
  }, 60_000);
  afterAll(() => h.cleanup(), 60_000);

  it('cluster - 3 nodes share 64 shards within ±1, a 4th joins and gets its share, SIGTERM hands over with no failed command', async () => {
    for (const id of ['n1', 'n2', 'n3']) h.startNode(id);
    expect((await h.waitBalanced(45_000)).sort()).toEqual([21, 21, 22]);
    const runtimes = await createRuntimes(h, 48, 'join');
    const load = startLoad(h, runtimes);
    await waitFor(() => load.result.acked.length >= 50, { deadlineMs: 30_000, what: 'load running' });
    h.startNode('n4');
    expect(await h.waitBalanced(45_000)).toEqual([16, 16, 16, 16]);
    const before = load.result.acked.length;
    expect(await h.nodes.get('n2')!.stop()).toBe(0);
    expect((await h.waitBalanced(45_000)).sort()).toEqual([21, 21, 22]);
    await waitFor(() => load.result.acked.length >= before + 50, {
      deadlineMs: 30_000,
      what: 'load after the hand-over',
    });
    const result = await load.stop();
    console.log(`join/leave: ${result.acked.length} commands acknowledged, ${result.failed.length} failed`);
    expect(result.failed).toEqual([]);
    await expectExactlyOnce(h, result);
  }, 180_000);
});

describe('cluster - failover', () => {
  let h: ClusterHarness;
  beforeAll(async () => {
    h = await ClusterHarness.create('cl_kill');
  }, 60_000);
  afterAll(() => h.cleanup(), 60_000);

  it('cluster - SIGKILL a node under load: its shards are served again within TTL + 2 s and every acknowledged command is logged exactly once', async () => {
    for (const id of ['k1', 'k2', 'k3']) h.startNode(id);
    await h.waitBalanced(45_000);
    const runtimes = await createRuntimes(h, 48, 'kill');
    const load = startLoad(h, runtimes);
    await waitFor(() => load.result.acked.length >= 100, { deadlineMs: 30_000, what: 'load running' });
    const victim = h.nodes.get('k1')!;
    const orphaned = [...victim.held];
    const killedAt = performance.now();
    victim.signal('SIGKILL');
    await waitFor(() => victim.exited, { deadlineMs: 5000, what: 'k1 exits' });
    const others = () => [h.nodes.get('k2')!, h.nodes.get('k3')!];
    await waitFor(() => orphaned.every((s) => others().some((n) => n.held.has(s))), {
      deadlineMs: LEASE_TTL_MS + 2000,
      intervalMs: 20,
      what: `k1's ${orphaned.length} shards served again within TTL + 2 s`,
    });
    const failoverMs = performance.now() - killedAt;
    const ackedAtFailover = load.result.acked.length;
    await waitFor(() => load.result.acked.length >= ackedAtFailover + 100, {
      deadlineMs: 30_000,
      what: 'load after failover',
    });
    const result = await load.stop();
    console.log(
      `failover: ${orphaned.length} shards re-served in ${failoverMs.toFixed(0)} ms; ${result.acked.length} acknowledged, ${result.failed.length} failed`,
    );
    expect(others().reduce((n, node) => n + node.held.size, 0)).toBe(SHARDS);
    await expectExactlyOnce(h, result);
  }, 180_000);
});

describe('cluster - fencing', () => {
  let h: ClusterHarness;
  beforeAll(async () => {
    h = await ClusterHarness.create('cl_fence');
  }, 60_000);
  afterAll(() => h.cleanup(), 60_000);

  it('cluster - a node frozen (SIGSTOP) until its leases move, then resumed, drops its shards and duplicates nothing', async () => {
    for (const id of ['f1', 'f2', 'f3']) h.startNode(id);
    await h.waitBalanced(45_000);
    const runtimes = await createRuntimes(h, 48, 'fence');
    const load = startLoad(h, runtimes);
    await waitFor(() => load.result.acked.length >= 100, { deadlineMs: 30_000, what: 'load running' });
    const frozen = h.nodes.get('f1')!;
    const had = [...frozen.held];
    frozen.signal('SIGSTOP');
    const others = [h.nodes.get('f2')!, h.nodes.get('f3')!];
    await waitFor(() => had.every((s) => others.some((n) => n.held.has(s))), {
      deadlineMs: LEASE_TTL_MS + 10_000,
      what: 'leases moved',
    });
    frozen.signal('SIGCONT');
    await waitFor(() => frozen.held.size === 0 || had.every((s) => !frozen.held.has(s)), {
      deadlineMs: 15_000,
      what: 'f1 drops its shards',
    });
    expect(frozen.lost).toBeGreaterThan(0);
    const acked = load.result.acked.length;
    await waitFor(() => load.result.acked.length >= acked + 100, { deadlineMs: 30_000, what: 'load after the resume' });
    const result = await load.stop();
    console.log(
      `fencing: f1 lost ${frozen.lost} leases; ${result.acked.length} acknowledged, ${result.failed.length} failed`,
    );
    await expectExactlyOnce(h, result);
    // The old owner's stale writes could not land over the new owners' revisions.
    const rows = await h.query('SELECT id, revision FROM runtimes WHERE tenant = ?', [TENANT]);
    const logs = await h.query(
      'SELECT runtime_id, MAX(revision) AS revision, COUNT(*) AS n FROM runtime_steps WHERE tenant = ? GROUP BY runtime_id',
      [TENANT],
    );
    const byId = new Map(logs.map((l) => [String(l.runtime_id), l]));
    for (const r of rows) {
      const log = byId.get(String(r.id))!;
      expect(Number(log.n), `log of ${String(r.id)} has no gap or duplicate`).toBe(Number(log.revision));
      expect(Number(log.revision), `log of ${String(r.id)} holds its row's revision`).toBeGreaterThanOrEqual(
        Number(r.revision),
      );
    }
  }, 180_000);
});

describe('cluster - durable timers', () => {
  let h: ClusterHarness;
  beforeAll(async () => {
    h = await ClusterHarness.create('cl_timer');
  }, 60_000);
  afterAll(() => h.cleanup(), 60_000);

  it('cluster - an SLA timer due while its node is dead fires on the new owner', async () => {
    const def = loadExample('purchase-order');
    const manager = def.nodes.find((n) => n.id === 'manager')!;
    manager.sla = { due: 'PT2S', escalateTo: { position: 'manager_2' } };
    await h.seedWorkflow('wf-fast', { ...def, app: 'purchase.fast' });
    for (const id of ['s1', 's2']) h.startNode(id);
    await h.waitBalanced(45_000);
    const doomed = h.nodes.get('s1')!;
    const runtimeId = Array.from({ length: 1000 }, (_, i) => `sla-${i}`).find((id) =>
      doomed.held.has(shardOf(id, SHARDS)),
    )!;
    const started = await h.send(startRequest(TENANT, runtimeId, `doc-${runtimeId}`, { app: 'purchase.fast' }));
    expect(started.ok).toBe(true);
    expect((await h.send(commandRequest(TENANT, runtimeId, 'alice', 'submit'))).ok).toBe(true);
    doomed.signal('SIGKILL');
    const history = new MySqlReadModel(h.db.pool, testCipher(h.db.pool));
    const breach = await waitFor(
      async () => (await history.runtimeLog(TENANT, runtimeId)).find((e) => e.action === 'sla_breach'),
      { deadlineMs: LEASE_TTL_MS + 15_000, what: 'the SLA breach logged by the new owner' },
    );
    expect(Number(breach.at)).toBeGreaterThan(0);
    // The escalation's task reaches the inbox with the breach step's projection.
    const openTasks = async () =>
      (
        await h.query(
          'SELECT assignee, status FROM tasks WHERE tenant = ? AND runtime_id = ? AND stage = 1 ORDER BY assignee',
          [TENANT, runtimeId],
        )
      ).map((t) => [t.assignee, t.status]);
    await waitFor(async () => (await openTasks()).length === 2, { what: 'the escalation projected' });
    expect(await openTasks()).toEqual([
      ['ops-head', 'open'],
      ['pur-mgr', 'open'],
    ]);
    // The timer service deletes a fired timer after the step it caused has committed: wait for that too.
    await waitFor(
      async () =>
        (await h.query('SELECT id FROM timers WHERE tenant = ? AND runtime_id = ?', [TENANT, runtimeId])).length === 0,
      {
        deadlineMs: 10_000,
        what: 'the fired timer deleted',
      },
    );
  }, 120_000);
});
