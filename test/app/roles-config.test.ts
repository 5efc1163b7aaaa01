import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterStreams } from '../../src/actors/events/index.ts';
import { signToken } from '../../src/app/dev-token.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { MySqlWebhookStore } from '../../src/store/mysql/webhook-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import { WebhookReceiver } from '../actors/webhooks/webhook-receiver.ts';
import { Caller, expectStatus, Tenant } from '../e2e/api-client.ts';
import { cleanupCluster } from '../e2e/stack.ts';
import { poDoc } from '../fixtures/purchase-order-doc.ts';
import { type TestNats, useTestNats } from '../harness/nats-server.ts';
import { waitFor } from '../harness/wait.ts';
import {
  AUTH_FAILURES_BURST,
  BURST,
  type ClusterRoles,
  type EmbeddedRole,
  MAX_LIVE_ACTORS,
  REDIS_URL,
  startClusterAll,
  startEmbeddedAll,
  startNodeAndGateway,
} from './role-stacks.ts';
import { type BflowProcess, burst, type JwksServer, logLines, metricsAt, startJwksServer } from './roles-fixture.ts';
import { testCipher } from '../harness/master-keys.ts';

/**
 * Every documented variable takes effect in every role that reads it
 * (src/app/config.ts `variablesRead`): each role is started through
 * bin/bflow.js with the variables set to values other than their defaults,
 * and each is seen at work from outside — the port answers, the cluster view
 * and the lease buckets carry the shard count, node id, cluster name and TTL,
 * the Redis keys and the event stream the cluster name, the burst + 1st
 * request is a 429, capacity passivations show in /metrics, and so on.
 * Four processes: `bflow all` embedded; `bflow all` on a cluster; `bflow node`
 * and `bflow gateway` together on a second cluster. What cannot be seen from
 * outside is checked closer in: BFLOW_WRITERS on the resolved configuration
 * (src/app/config.test.ts), and in embedded mode the event subjects and the
 * cache TTLs in-process (test/app/embedded-config.test.ts).
 */

const HOOK_SECRET = 'roles-hook-secret-0123456789';

let nats: TestNats;
let natsClient: NatsConnection;
let jwks: JwksServer;
let redis: Redis;
let embedded: EmbeddedRole | undefined;
const clusters: ClusterRoles[] = [];

beforeAll(async () => {
  [nats, jwks] = await Promise.all([useTestNats('roles'), startJwksServer()]);
  natsClient = await nats.connect('roles-test');
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  await Promise.all([
    startEmbeddedAll(jwks).then((e) => void (embedded = e)),
    startClusterAll(nats, `${nats.prefix}_all`).then((c) => void clusters.push(c)),
    startNodeAndGateway(nats, `${nats.prefix}_ng`).then((c) => void clusters.push(c)),
  ]);
}, 180_000);

afterAll(async () => {
  // A graceful stop of each role exits 0.
  const codes = await Promise.all(
    [embedded?.process, ...clusters.flatMap((c) => [c.gateway.process, c.node.process])]
      .filter((p, i, all): p is BflowProcess => p !== undefined && all.indexOf(p) === i)
      .map((p) => p.stop()),
  );
  for (const c of clusters) await cleanupCluster(c.cluster, natsClient, REDIS_URL).catch(() => undefined);
  await nats?.cleanup();
  redis?.disconnect();
  await jwks?.close();
  for (const c of clusters) {
    await c.db.pool.query(`DROP USER IF EXISTS '${c.readUser}'@'%'`);
    await c.db.drop();
  }
  expect(codes.every((code) => code === 0)).toBe(true);
}, 120_000);

/** A user that may only read `db`, and the URL the gateway's read side connects with. */

const embeddedRole = () => {
  if (embedded === undefined) throw new Error('embedded bflow all did not start');
  return embedded;
};

async function post(api: string, token: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${api}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('roles config - bflow all embedded', () => {
  const member = (sub: string) => jwks.token({ sub, tid: 'demo', roles: ['member'] });

  it('roles config - embedded: BFLOW_PORT and BFLOW_JWKS_URL: the API answers on the port to tokens of the JWKS key only', async () => {
    const { api } = embeddedRole();
    expect(
      (await fetch(`${api}/api/v1/tasks`, { headers: { authorization: `Bearer ${member('pur-mgr')}` } })).status,
    ).toBe(200);
    const hs256 = await signToken('x'.repeat(32), { sub: 'pur-mgr', tid: 'demo', roles: ['member'] }, 600);
    expect((await fetch(`${api}/api/v1/tasks`, { headers: { authorization: `Bearer ${hs256}` } })).status).toBe(401);
  });

  it('roles config - embedded: BFLOW_SHARDS and BFLOW_NODE_ID: the cluster view', async () => {
    const { api, id } = embeddedRole();
    const admin = new Caller(api, jwks.token({ sub: 'ceo', tid: 'demo', roles: ['admin'] }));
    const view = expectStatus(await admin.get('/api/v1/cluster'), 200).body;
    expect(view.shardCount).toBe(5);
    expect(view.nodes.map((n: { id: string }) => n.id)).toEqual([id]);
  });

  it('roles config - embedded: BFLOW_RATE_LIMIT_*: the burst + 1st request is a 429, Retry-After from perMinute', async () => {
    const { statuses, retryAfter } = await burst(embeddedRole().api, member('rl-probe'), BURST + 1);
    expect(statuses.slice(0, BURST).every((s) => s === 200)).toBe(true);
    expect(statuses[BURST]).toBe(429);
    // One token a minute: the default 600 would say 1 s.
    expect(retryAfter).toBeGreaterThan(1);
  });

  it('roles config - embedded: BFLOW_MAX_LIVE_ACTORS and BFLOW_METRICS_PORT: capacity passivations on the metrics port', async () => {
    const { api, metrics } = embeddedRole();
    for (let i = 0; i < MAX_LIVE_ACTORS + 2; i++) {
      const res = await post(api, member('alice'), '/api/v1/runtimes', {
        app: 'purchase.order',
        docId: `EMB-LIVE-${i}`,
        doc: poDoc(1_000),
      });
      expect(res.status).toBe(201);
    }
    const m = await metricsAt(metrics);
    expect(m.value('bflow_actor_passivations_total', 'reason="capacity"')).toBeGreaterThanOrEqual(2);
    expect(m.value('bflow_actors_live')).toBeLessThanOrEqual(MAX_LIVE_ACTORS);
    // One registry: the gateway's metrics are there too.
    expect(m.text).toContain('bflow_http_request_duration_seconds');
  });

  it('roles config - embedded: BFLOW_RETENTION_*: the retention job runs in process on its interval', async () => {
    const { metrics } = embeddedRole();
    await waitFor(async () => (await metricsAt(metrics)).value('bflow_retention_runs_total', 'result="done"') >= 2, {
      deadlineMs: 15_000,
      what: 'two retention runs',
    });
  });

  it('roles config - embedded: BFLOW_AUTH_FAILURES_* and BFLOW_TRUSTED_PROXY_HOPS: a client IP failing too often gets 429', async () => {
    const forged = await signToken('z'.repeat(32), { sub: 'alice', tid: 'demo', roles: ['member'] }, 600);
    await checkFailedAuthLimit(embeddedRole().api, '198.51.100.7', forged, member('alice'));
  });

  it('roles config - embedded: BFLOW_WEBHOOK_ALLOW_PRIVATE=false: a loopback webhook URL is refused', async () => {
    const res = await post(
      embeddedRole().api,
      jwks.token({ sub: 'erp', tid: 'demo', roles: ['integration'] }),
      '/api/v1/webhooks',
      {
        url: 'http://127.0.0.1:9/hook',
        events: ['*'],
        secret: HOOK_SECRET,
      },
    );
    expect(res.status).toBe(422);
  });

  it('roles config - embedded: BFLOW_LOG_LEVEL=debug logs each request; the variables embedded mode does not read are named', () => {
    const lines = logLines(embeddedRole().process);
    expect(lines.some((l) => l.level === 20 && l.msg === 'request')).toBe(true);
    expect(lines.find((l) => Array.isArray(l.unused))?.unused).toEqual(['BFLOW_LEASE_TTL_MS', 'BFLOW_WRITERS']);
  });
});

/** `GET /api/v1/tasks` with `token` through one trusted proxy from `ip` (a spoofed entry left of it). */
const tasksFrom = (api: string, ip: string, token: string): Promise<Response> =>
  fetch(`${api}/api/v1/tasks`, {
    headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': `10.9.9.9, ${ip}` },
    signal: AbortSignal.timeout(5000),
  });

/** BFLOW_AUTH_FAILURES_BURST failures from `ip` are 401, the next is 429 auth_rate_limited; `good` from another IP passes. */
async function checkFailedAuthLimit(api: string, ip: string, forged: string, good: string): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < AUTH_FAILURES_BURST; i++) statuses.push((await tasksFrom(api, ip, forged)).status);
  expect(statuses).toEqual(Array(AUTH_FAILURES_BURST).fill(401));
  const refused = await tasksFrom(api, ip, forged);
  expect(refused.status).toBe(429);
  expect(((await refused.json()) as { code: string }).code).toBe('auth_rate_limited');
  // One failure a minute: the default 30 would say 2 s.
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(2);
  expect((await tasksFrom(api, `${ip}0`, good)).status).toBe(200);
}

/** The checks of one cluster's roles (bflow all; bflow node + bflow gateway). */
function clusterChecks(index: number, label: string): void {
  describe(`roles config - ${label}`, () => {
    const c = (): ClusterRoles => {
      const found = clusters.find((x) => x.label === label);
      if (found === undefined) throw new Error(`${label} did not start`);
      return found;
    };
    let tenant: Tenant;
    let alice: Caller;
    let started = 0;
    const startPo = async (prefix: string) =>
      alice.post('/api/v1/runtimes', {
        app: 'purchase.order',
        docId: `${prefix}-${index}-${started++}`,
        doc: poDoc(1_000),
      });

    beforeAll(async () => {
      tenant = await Tenant.create({ url: c().api, secret: c().secret, stop: async () => undefined }, 'roles');
      alice = await tenant.as('alice');
    }, 60_000);

    it(`roles config - ${label}: BFLOW_PORT and BFLOW_JWT_SECRET: the API answers on the port, to tokens of that secret only`, async () => {
      // The tenant was seeded through the API with tokens of the secret.
      const other = await signToken('y'.repeat(32), { sub: 'alice', tid: tenant.id, roles: ['member'] }, 600);
      expect((await fetch(`${c().api}/api/v1/tasks`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(
        401,
      );
    });

    it(`roles config - ${label}: BFLOW_SHARDS, BFLOW_NODE_ID, BFLOW_CLUSTER, BFLOW_LEASE_TTL_MS: the cluster view and the lease buckets`, async () => {
      const admin = await tenant.admin();
      const view = expectStatus(await admin.get('/api/v1/cluster'), 200).body;
      expect(view.shardCount).toBe(c().shards);
      expect(view.nodes.map((n: { id: string }) => n.id)).toEqual([c().node.id]);
      const kvm = new Kvm(natsClient);
      expect((await (await kvm.open(`${c().cluster}_shards`)).status()).ttl).toBe(c().leaseTtlMs);
      expect((await (await kvm.open(`${c().cluster}_meta`)).get('shard_count'))?.string()).toBe(String(c().shards));
    });

    it(`roles config - ${label}: BFLOW_MYSQL_URL, BFLOW_REDIS_URL, BFLOW_CLUSTER: a start is in the database, its snapshot in Redis once passivated and its event in the cluster's stream`, async () => {
      const view = expectStatus(await startPo('STORE'), 201).body;
      // In the log at once; in the runtimes projection within BFLOW_PROJECTION_DELAY_MS.
      const read = new MySqlReadModel(c().db.pool, testCipher(c().db.pool));
      await waitFor(async () => (await read.getRuntime(tenant.id, view.id))?.status === view.status, {
        what: 'the runtime row',
      });
      // A live actor's state goes to Redis when it leaves memory: starts beyond BFLOW_MAX_LIVE_ACTORS passivate it.
      for (let i = 0; i < MAX_LIVE_ACTORS; i++) expectStatus(await startPo(`STORE-${i}`), 201);
      await waitFor(async () => (await redis.exists(`${c().cluster}:rt:${tenant.id}:${view.id}`)) === 1, {
        what: 'the snapshot in Redis',
      });
      const jsm = await jetstreamManager(natsClient);
      await waitFor(async () => (await jsm.streams.info(clusterStreams(c().cluster).events)).state.messages > 0, {
        what: `events in ${clusterStreams(c().cluster).events}`,
      });
    });

    it(`roles config - ${label}: BFLOW_MYSQL_READ_URL: the read side connects as the read-only user`, async () => {
      expectStatus(await alice.get('/api/v1/runtimes?limit=5'), 200);
      const [rows] = await c().db.pool.query<RowDataPacket[]>(
        'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?',
        [c().readUser],
      );
      expect(Number(rows[0]?.n)).toBeGreaterThan(0);
    });

    it(`roles config - ${label}: BFLOW_MAX_LIVE_ACTORS and BFLOW_METRICS_PORT: capacity passivations on the node's metrics port, the gateway's metrics on its own`, async () => {
      for (let i = 0; i < MAX_LIVE_ACTORS + 2; i++) expectStatus(await startPo('LIVE'), 201);
      const node = await metricsAt(c().node.metrics);
      expect(node.value('bflow_actor_passivations_total', 'reason="capacity"')).toBeGreaterThanOrEqual(2);
      expect(node.value('bflow_actors_live')).toBeLessThanOrEqual(MAX_LIVE_ACTORS);
      expect((await metricsAt(c().gateway.metrics)).text).toContain('bflow_http_request_duration_seconds');
    });

    it(`roles config - ${label}: BFLOW_RETENTION_*: the node holding shard 0 runs retention on its interval`, async () => {
      await waitFor(
        async () => (await metricsAt(c().node.metrics)).value('bflow_retention_runs_total', 'result="done"') >= 2,
        { deadlineMs: 15_000, what: 'two retention runs on the node' },
      );
    });

    it(`roles config - ${label}: BFLOW_AUTH_FAILURES_* and BFLOW_TRUSTED_PROXY_HOPS: a client IP failing too often gets 429`, async () => {
      const claims = { sub: 'alice', tid: tenant.id, roles: ['member'] };
      const forged = await signToken('z'.repeat(32), claims, 600);
      await checkFailedAuthLimit(c().api, `198.51.100.${20 + index}`, forged, await signToken(c().secret, claims, 600));
    });

    it(`roles config - ${label}: BFLOW_RATE_LIMIT_*: the burst + 1st request is a 429; the buckets are in Redis under the cluster's name`, async () => {
      const token = await signToken(c().secret, { sub: 'rl-probe', tid: tenant.id, roles: ['member'] }, 600);
      const { statuses, retryAfter } = await burst(c().api, token, BURST + 1);
      expect(statuses.slice(0, BURST).every((s) => s === 200)).toBe(true);
      expect(statuses[BURST]).toBe(429);
      expect(retryAfter).toBeGreaterThan(1);
      const keys = await redis.keys(`${c().cluster}:rl:*`);
      expect(keys.length).toBeGreaterThan(0);
    });

    it(`roles config - ${label}: BFLOW_WEBHOOK_ALLOW_PRIVATE, _TIMEOUT_MS, _MAX_ATTEMPTS: a loopback webhook is taken; a slow receiver gets 2 attempts, both timed out`, async () => {
      const slow = await WebhookReceiver.start();
      try {
        // Answers after 3 s: in time for the default 5 s timeout, too late for 300 ms.
        slow.respond = () => ({ status: 204, delayMs: 3_000 });
        const erp = await tenant.as('erp', ['integration']);
        const events = ['runtime.started'];
        const hook = expectStatus(
          await erp.post('/api/v1/webhooks', { url: slow.url('/slow'), events, secret: HOOK_SECRET }),
          201,
        ).body;
        expectStatus(await startPo('HOOK'), 201);
        await waitFor(
          async () =>
            (await metricsAt(c().node.metrics)).value('bflow_webhook_deliveries_total', 'outcome="failed"') > 0,
          { what: 'the delivery given up' },
        );
        expect(slow.received).toHaveLength(2);
        const node = await metricsAt(c().node.metrics);
        expect(node.value('bflow_webhook_attempts_total', 'result="timeout"')).toBe(2);
        expectStatus(await erp.request('DELETE', `/api/v1/webhooks/${hook.id}`), 204);
      } finally {
        await slow.close();
      }
    });

    it(`roles config - ${label}: BFLOW_WEBHOOK_CACHE_MS=0: a webhook written straight to MySQL (no change notice) gets the next event`, async () => {
      const receiver = await WebhookReceiver.start();
      try {
        expectStatus(await startPo('CACHE'), 201); // the node reads the tenant's webhooks
        await new MySqlWebhookStore(c().db.pool).create({
          id: 'wh-behind',
          tenant: tenant.id,
          url: receiver.url('/behind'),
          events: ['runtime.started'],
          secret: HOOK_SECRET,
          createdAt: Date.now(),
        });
        const view = expectStatus(await startPo('CACHE'), 201).body;
        await waitFor(() => receiver.received.some((r) => JSON.parse(r.body.toString()).runtimeId === view.id), {
          what: 'the event at the webhook written behind the node',
        });
      } finally {
        await receiver.close();
      }
    });

    it(`roles config - ${label}: BFLOW_START_DEFINITION_TTL_MS=0: an app config changed straight in MySQL applies to the next start`, async () => {
      expectStatus(await startPo('TTL'), 201); // the node reads the app's config
      const workflows = new MySqlWorkflowStore(c().db.pool);
      const config = await workflows.getAppConfig(tenant.id, 'purchase.order', '');
      await workflows.setAppConfig({ ...config!, mode: 'unapply' });
      const refused = await startPo('TTL');
      expect(refused.status).toBe(422);
      expect(refused.body.code).toBe('app_not_applied');
    });

    it(`roles config - ${label}: BFLOW_LOG_LEVEL and BFLOW_NODE_ID: the gateway logs each request at debug, as its node id; the node writes nothing below its level`, () => {
      const gateway = logLines(c().gateway.process);
      expect(gateway.some((l) => l.level === 20 && l.msg === 'request' && l.node === c().gateway.id)).toBe(true);
      if (c().node.logLevel === 'warn') {
        const node = logLines(c().node.process);
        expect(node.filter((l) => l.level < 40)).toEqual([]);
      }
    });
  });
}

clusterChecks(0, 'bflow all on a cluster');
clusterChecks(1, 'bflow node + bflow gateway');
