import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/app/dev-token.ts';
import { shardOf } from '../../src/actors/shard-of.ts';
import { poDoc } from '../actors/runtime-host/runtime-host-fixture.ts';
import { metricsAt } from '../app/roles-fixture.ts';
import { freePort } from '../harness/ports.ts';
import { waitFor } from '../harness/wait.ts';
import { ClusterHarness, SHARDS, TENANT, type NodeProcess } from './cluster-harness.ts';
import { expectExactlyOnce, type LoadResult } from './load.ts';

// Two `bflow all` processes on one cluster (real MariaDB and NATS): each runs the commands of the shards it
// holds as calls into its own host, and the others over NATS. Shards move between them under HTTP load.

const SECRET = randomBytes(32).toString('hex');

interface AllProcess {
  node: NodeProcess;
  api: string;
  metrics: string;
}

async function startAll(h: ClusterHarness, id: string): Promise<AllProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const node = h.startNode(
    id,
    {
      BFLOW_PORT: String(port),
      BFLOW_METRICS_PORT: String(metricsPort),
      BFLOW_JWT_SECRET: SECRET,
      BFLOW_RATE_LIMIT_PER_MINUTE: '10000000',
      BFLOW_RATE_LIMIT_BURST: '1000000',
    },
    'all',
  );
  const api = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => (await fetch(`${api}/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.ok,
    { deadlineMs: 45_000, what: `${id} ready` },
  );
  return { node, api, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
}

/** Sends `path` to `api` as alice (a member, or an admin with `admin`); the parsed body and status. */
async function call(api: string, method: string, path: string, body?: unknown, key?: string, admin = false) {
  const roles = admin ? ['admin'] : ['member'];
  const token = await signToken(SECRET, { sub: 'alice', tid: TENANT, roles }, 600);
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (key !== undefined) headers['Idempotency-Key'] = key;
  const res = await fetch(`${api}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** HTTP comments by `workers` loops through `api`, each acknowledged one recorded. */
function httpLoad(api: string, runtimes: readonly string[], workers = 6) {
  const result: LoadResult = { acked: [], failed: [], sent: 0 };
  let running = true;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; running; i++) {
      const runtimeId = runtimes[(w * 7919 + i) % runtimes.length]!;
      const comment = `colo-${w}-${i}`;
      result.sent++;
      try {
        const res = await call(
          api,
          'POST',
          `/api/v1/runtimes/${runtimeId}/actions`,
          { action: 'comment', comment },
          `key-${comment}`,
        );
        if (res.status === 200) result.acked.push({ runtimeId, comment });
        else result.failed.push({ runtimeId, comment, error: `${res.status} ${res.body.code}` });
      } catch (error) {
        result.failed.push({ runtimeId, comment, error: String(error) });
      }
    }
  });
  return {
    result,
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

describe('cluster - two co-located bflow all processes', () => {
  let h: ClusterHarness;
  beforeAll(async () => {
    h = await ClusterHarness.create('cl_colo');
  }, 60_000);
  afterAll(() => h.cleanup(), 60_000);

  it('colocated cluster - own shards in process, others over NATS; a second `all` takes half the shards while the first drains them with local commands queued: none failed, none lost, none doubled', async () => {
    const a1 = await startAll(h, 'a1');
    // Ready means every shard has a holder: no first command waits for the claims.
    const map = await call(a1.api, 'GET', '/api/v1/cluster', undefined, undefined, true);
    expect(map.body.shards.filter((s: { node: string | null }) => s.node !== 'a1')).toEqual([]);
    await h.waitBalanced(45_000);
    const runtimes: string[] = [];
    for (let i = 0; i < 32; i++) {
      const res = await call(a1.api, 'POST', '/api/v1/runtimes', {
        app: 'purchase.order',
        docId: `colo-${i}`,
        doc: poDoc(5_000_000),
      });
      expect(res.status).toBe(201);
      runtimes.push(res.body.id as string);
    }
    const load = httpLoad(a1.api, runtimes);
    await waitFor(() => load.result.acked.length >= 100, { deadlineMs: 30_000, what: 'load running on a1' });
    const localBefore = (await metricsAt(a1.metrics)).value('bflow_shard_requests_total', 'path="local"');
    expect(localBefore).toBeGreaterThan(100);

    const a2 = await startAll(h, 'a2'); // a1 hands half its shards over, draining them under load
    expect(await h.waitBalanced(45_000)).toEqual([SHARDS / 2, SHARDS / 2]);
    const before = load.result.acked.length;
    await waitFor(() => load.result.acked.length >= before + 100, {
      deadlineMs: 30_000,
      what: 'load after the hand-over',
    });
    const result = await load.stop();
    console.log(`colocated: ${result.acked.length} commands acknowledged, ${result.failed.length} failed`);
    expect(result.failed).toEqual([]);
    await expectExactlyOnce(h, result);

    // a1 now reaches a2's shards over NATS, and a2 reads a runtime of a1's from a1's memory.
    const m1 = await metricsAt(a1.metrics);
    expect(m1.value('bflow_shard_requests_total', 'path="remote"')).toBeGreaterThan(0);
    const onA1 = runtimes.find((id) => a1.node.held.has(shardOf(id, SHARDS)))!;
    const got = await call(a2.api, 'GET', `/api/v1/runtimes/${onA1}`);
    expect(got.status).toBe(200);
    expect(got.body.revision).toBeGreaterThan(1);
    expect((await metricsAt(a2.metrics)).value('bflow_routing_live_reads_total', 'outcome="live"')).toBe(1);

    expect(await a2.node.stop()).toBe(0);
    expect(await a1.node.stop()).toBe(0);
  }, 180_000);
});
