import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosStack } from '../chaos/chaos-stack.ts';
import { checkInvariants } from '../chaos/invariants.ts';
import { seedTenants, startLoad, type LoadTenant, type RunningLoad } from '../chaos/load-driver.ts';
import { waitForAcks } from '../chaos/scenarios.ts';
import { waitFor } from '../harness/wait.ts';
import { describeWindow, windowStats, type Window } from './rollout-stats.ts';

/**
 * A rolling restart as Kubernetes does it (deploy/k8s: maxSurge 1, maxUnavailable 0), on bflow node
 * processes and real MariaDB, Redis and NATS (private instances): while clients keep sending commands,
 * each node in turn gets a replacement, then SIGTERM (drain → hand-off to a live node → exit). No request may fail,
 * and the invariant checker must find every acknowledged command exactly once. Then Redis is wiped under
 * load: it holds only snapshots and rate-limit buckets, so nothing is lost (docs/operations.md#backup-and-restore).
 *
 * Every second of the rollout must acknowledge commands, and its p99 stay within 3× the steady p99 (both
 * measured in the same run; with the hand-off it measured 0.7-1.6× in six runs on this shared 2-core
 * machine, docs/operations.md#rolling-restart). BFLOW_TEST_STRICT_HANDOVER=0 only prints the ratio, for a
 * machine too loaded to measure.
 */
const NODES = 3;
const SHARDS = 16;
const WORKERS = 8;
const STRICT = process.env.BFLOW_TEST_STRICT_HANDOVER !== '0';
const label = `roll${Date.now().toString(36)}`;

let stack: ChaosStack;
let tenants: LoadTenant[];
let load: RunningLoad;

beforeAll(async () => {
  stack = await ChaosStack.start({ nodes: NODES, shards: SHARDS, leaseTtlMs: 3000 });
  tenants = await seedTenants(stack, WORKERS, label);
  load = startLoad(stack, tenants, { workers: WORKERS, label, badInputEvery: 0 });
  await waitForAcks(load.record, 100);
}, 180_000);

afterAll(async () => {
  await load?.stop();
  await stack?.stop();
}, 60_000);

/** Waits until `count` more commands are acknowledged; the window they were sent in. */
async function measure(count: number): Promise<Window> {
  const from = Date.now();
  await waitForAcks(load.record, count, 120_000);
  return { from, to: Date.now() };
}

describe('ops - rolling restart under load', () => {
  it('every node restarted in turn: no request fails, throughput and p99 are recorded', async () => {
    const steady = windowStats(load.record, await measure(600));
    const from = Date.now();
    const original = [...stack.nodes.keys()];
    const steps: string[] = [];
    for (const name of original) {
      const started = Date.now();
      const replacement = stack.startNode(`${name}r`);
      // The replacement joins (claims its share) before the old node is stopped, as minReadySeconds lets it.
      await waitFor(() => replacement.held.size >= Math.floor(SHARDS / (NODES + 1)), {
        deadlineMs: 30_000,
        what: `${name}r holds its share of the shards`,
      });
      const joined = Date.now();
      await stack.nodes.get(name)!.stop(30_000);
      const stopped = Date.now();
      await stack.waitAllShardsHeld(30_000);
      steps.push(
        `${name}r joined in ${joined - started} ms, ${name} handed over and exited in ${stopped - joined} ms, ` +
          `its shards held again ${Date.now() - stopped} ms later`,
      );
    }
    const rollout = windowStats(load.record, { from, to: Date.now() });
    await waitForAcks(load.record, 100);
    for (const step of steps) console.log(step);
    console.log(describeWindow('steady ', steady));
    console.log(describeWindow('rollout', rollout));
    console.log(`rollout p99 / steady p99 = ${(rollout.p99 / steady.p99).toFixed(2)}`);

    expect(load.record.failedAttempts, 'no try failed (no 5xx, no timeout, no refused connection)').toEqual([]);
    expect(load.record.abandoned).toEqual([]);
    expect(
      stack
        .live()
        .map((n) => n.id)
        .sort(),
    ).toEqual(original.map((n) => `${n}r`).sort());
    for (const node of stack.nodes.values()) expect(node.lost, `${node.id} lost no lease (handed over)`).toBe(0);
    expect(rollout.minPerSecond, 'a second of the rollout without an acknowledged command').toBeGreaterThan(0);
    if (STRICT) expect(rollout.p99, 'rollout p99 within 3× the steady p99').toBeLessThanOrEqual(3 * steady.p99);
  }, 240_000);

  it('wiping Redis under load loses nothing; the invariant checker finds every acknowledged command once', async () => {
    const redis = new Redis(stack.services.redis.url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
    try {
      await redis.flushall();
    } finally {
      redis.disconnect();
    }
    await waitForAcks(load.record, 200);
    await load.stop();
    expect(load.record.failedAttempts).toEqual([]);
    expect(load.record.abandoned.filter((a) => a.reason !== 'stopped')).toEqual([]);
    await stack.waitAllShardsHeld(30_000);
    const report = await checkInvariants(
      stack,
      tenants.map((t) => t.id),
      load.record.acks,
    );
    console.log(
      `${load.record.acks.length} acknowledged over ${report.tenants} tenants: ${report.lost} lost, ${report.duplicates} duplicated`,
    );
    expect(report.problems).toEqual([]);
    expect(report.lost).toBe(0);
    expect(report.duplicates).toBe(0);
  }, 180_000);
});
