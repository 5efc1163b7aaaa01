import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProcess } from '../cluster/cluster-harness.ts';
import { Tenant, TRIO_DEFINITION, expectStatus } from '../e2e/api-client.ts';
import { BflowProcess, cleanupCluster, spawnBflow, waitReady } from '../e2e/stack.ts';
import { seedTenants, startLoad, type RunningLoad } from '../chaos/load-driver.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { useTestNats, type TestNats } from '../harness/nats-server.ts';
import { freePort } from '../harness/ports.ts';
import { startPrivateServer, type PrivateServer } from '../harness/private-server.ts';
import { waitFor } from '../harness/wait.ts';
import { DEPLOY, readYaml } from './deploy-files.ts';
import { metricNames } from './promql.ts';
import { TEST_MASTER_KEYS } from '../harness/master-keys.ts';

/**
 * The dashboard and the rules against a real Prometheus (Debian's `prometheus`, on a private port and temp
 * dir) scraping real bflow processes: a gateway and 2 nodes on the shared MariaDB, Redis and NATS, with
 * deploy/prometheus/prometheus.yml's jobs and rule files, its targets pointed at them. Load, a webhook, an
 * SLA timer and a 429 make every kind of series appear; then every dashboard query must return data, and
 * every recording rule and alert expression must evaluate, each metric it names existing.
 */
const SHARDS = 16;
const rules = ['bflow-recording.yml', 'bflow-alerts.yml'].flatMap(
  (f) => readYaml<any>(`prometheus/rules/${f}`).groups as { name: string; rules: any[] }[],
);
const dashboard = JSON.parse(readFileSync(`${DEPLOY}grafana/dashboards/bflow.json`, 'utf8'));
const panelQueries: { panel: string; expr: string }[] = dashboard.panels
  .filter((p: any) => p.type !== 'row')
  .flatMap((p: any) => p.targets.map((t: any) => ({ panel: p.title, expr: t.expr })));

let db: TestDatabase;
let nats: TestNats;
let prometheus: PrivateServer | undefined;
let receiver: Server;
let load: RunningLoad | undefined;
const processes: BflowProcess[] = [];
const nodes: NodeProcess[] = [];
const redisUrl = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const secret = 'prometheus-live-test-secret-0123456789abcdef';
let url = '';

async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  const res = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(5000),
  });
  return (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
}

const hasData = async (expr: string) => ((await query(expr)).data?.result.length ?? 0) > 0;

beforeAll(async () => {
  [db, nats] = await Promise.all([useTestDatabase('prom_live'), useTestNats('prom_live')]);
  const [port, gatewayMetrics, ...nodeMetrics] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env = {
    BFLOW_MYSQL_URL: db.url,
    BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
    BFLOW_NATS_URL: nats.url,
    BFLOW_REDIS_URL: redisUrl,
    BFLOW_CLUSTER: nats.prefix,
    BFLOW_SHARDS: String(SHARDS),
    BFLOW_LEASE_TTL_MS: '3000',
    BFLOW_JWT_SECRET: secret,
    BFLOW_WEBHOOK_ALLOW_PRIVATE: 'true',
    BFLOW_MYSQL_STATEMENT_METRICS: 'true',
    BFLOW_LOG_LEVEL: 'warn',
  };
  const gateway = new BflowProcess(
    spawnBflow('gateway', {
      ...env,
      BFLOW_PORT: String(port),
      BFLOW_METRICS_PORT: String(gatewayMetrics),
      BFLOW_NODE_ID: `${nats.prefix}-gw`,
      // A small burst, so that the test's burst of reads meets a 429.
      BFLOW_RATE_LIMIT_BURST: '20',
    }),
  );
  processes.push(gateway);
  nodeMetrics.forEach((metricsPort, i) => {
    const child = spawnBflow('node', {
      ...env,
      BFLOW_LOG_LEVEL: 'info', // NodeProcess reads the lease changes from the info lines
      BFLOW_NODE_ID: `${nats.prefix}-n${i + 1}`,
      BFLOW_METRICS_PORT: String(metricsPort),
    });
    child.stdout?.resume();
    nodes.push(new NodeProcess(`n${i + 1}`, child));
    processes.push(new BflowProcess(child));
  });
  url = `http://127.0.0.1:${port}`;
  await waitReady(url, gateway);
  await waitFor(() => nodes.reduce((n, p) => n + p.held.size, 0) === SHARDS, {
    deadlineMs: 45_000,
    what: 'the nodes holding every shard',
  });
  prometheus = await startPrometheus(gatewayMetrics, nodeMetrics);
  receiver = await startReceiver();
}, 120_000);

afterAll(async () => {
  await load?.stop();
  await prometheus?.destroy();
  receiver?.close();
  await Promise.all(processes.map((p) => p.stop(15_000)));
  try {
    await cleanupCluster(nats.prefix, await nats.connect('prom-live-cleanup'), redisUrl);
  } finally {
    await nats?.cleanup();
    await db?.drop();
  }
}, 60_000);

/** Prometheus with the shipped config: its jobs and rule files, its targets replaced by this test's processes. */
function startPrometheus(gatewayMetrics: number, nodeMetrics: number[]): Promise<PrivateServer> {
  const shipped = readYaml<any>('prometheus/prometheus.yml');
  const targets: Record<string, string[]> = {
    'bflow-gateway': [`127.0.0.1:${gatewayMetrics}`],
    'bflow-node': nodeMetrics.map((p) => `127.0.0.1:${p}`),
  };
  const config = {
    ...shipped,
    // Seconds, not the shipped 15 s, so that rates have samples within the test's deadline.
    global: { ...shipped.global, scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: shipped.rule_files.map((f: string) => join(DEPLOY, 'prometheus', f)),
    scrape_configs: shipped.scrape_configs.map((job: any) => {
      expect(targets[job.job_name], `a job of the shipped config: ${job.job_name}`).toBeDefined();
      return { ...job, static_configs: [{ targets: targets[job.job_name] }] };
    }),
  };
  return startPrivateServer({
    binary: 'prometheus',
    dirPrefix: 'bflow-prometheus-',
    installHint: 'install Debian package prometheus (apt-get install prometheus); .ci/run does',
    url: (port) => `http://127.0.0.1:${port}`,
    prepare: (dir) => writeFileSync(join(dir, 'prometheus.yml'), stringify(config)),
    args: (dir, port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    answers: async (u) => (await fetch(`${u}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok,
    startDeadlineMs: 30_000,
  });
}

/** The ERP's webhook endpoint: answers every delivery 204. */
function startReceiver(): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A tenant with a webhook, and a workflow whose stage is due 1 s after it opens (its SLA timer fires). */
async function driveEverything(): Promise<void> {
  const stack = { url, secret, stop: async () => undefined };
  const tenant = await Tenant.create(stack, 'prom');
  const admin = await tenant.as('integration-1', ['admin', 'integration', 'designer']);
  const address = receiver.address() as { port: number };
  expectStatus(
    await admin.post('/api/v1/webhooks', {
      url: `http://127.0.0.1:${address.port}/hook`,
      events: ['*'],
      secret: 'prometheus-live-webhook-secret-0123456789',
    }),
    201,
    'register webhook',
  );
  const sla = {
    ...TRIO_DEFINITION,
    app: 'test.sla',
    nodes: TRIO_DEFINITION.nodes.map((n) => (n.id === 'trio' ? { ...n, sla: { due: 'PT1S' } } : n)),
  };
  const created = expectStatus(await admin.post('/api/v1/workflows', sla), 201, 'create SLA workflow').body;
  expectStatus(await admin.post(`/api/v1/workflows/${created.id}/publish`), 201, 'publish');
  expectStatus(
    await admin.put('/api/v1/apps/test.sla/config', { workflowId: created.id, mode: 'apply' }),
    200,
    'app config',
  );
  const member = await tenant.as('alice');
  for (let i = 0; i < 3; i++) {
    const started = expectStatus(
      await member.post('/api/v1/runtimes', { app: 'test.sla', docId: `sla-${i}`, doc: { amount: 1 } }),
      201,
      'start',
    ).body;
    expectStatus(await member.post(`/api/v1/runtimes/${started.id}/actions`, { action: 'submit' }), 200, 'submit');
  }
  // A burst past BFLOW_RATE_LIMIT_BURST: some reads answer 429.
  const reader = await tenant.as('burst-reader');
  const statuses = await Promise.all(
    Array.from({ length: 40 }, () =>
      fetch(`${url}/api/v1/tasks`, { headers: { authorization: `Bearer ${reader.token}` } }).then((r) => r.status),
    ),
  );
  expect(statuses).toContain(429);
  const tenants = await seedTenants(stack, 2, 'promload');
  load = startLoad(stack, tenants, { workers: 4, label: `prom${Date.now().toString(36)}`, badInputEvery: 10 });
}

describe('deploy - dashboard and rules on a real Prometheus', () => {
  it('with load, a webhook, SLA timers and a 429 driven, every target of the shipped jobs is up', async () => {
    await driveEverything();
    await waitFor(
      async () => {
        const res = await fetch(`${prometheus!.url}/api/v1/targets?state=active`);
        const targets = ((await res.json()) as any).data.activeTargets as { health: string }[];
        return targets.length === 3 && targets.every((t) => t.health === 'up');
      },
      { deadlineMs: 30_000, intervalMs: 500, what: 'the gateway and both nodes up in Prometheus' },
    );
  }, 120_000);

  it('every dashboard query returns data', async () => {
    const empty = async () => {
      const missing: string[] = [];
      for (const q of panelQueries) if (!(await hasData(q.expr))) missing.push(`${q.panel}: ${q.expr}`);
      return missing;
    };
    await waitFor(async () => (await empty()).length === 0, {
      deadlineMs: 90_000,
      intervalMs: 2000,
      what: 'data for every dashboard query',
    }).catch(async (err: Error) => {
      throw new Error(`${err.message}; still empty:\n${(await empty()).join('\n')}`);
    });
  }, 120_000);

  it('every recording rule records data, and every alert expression evaluates on metrics that exist', async () => {
    for (const group of rules)
      for (const rule of group.rules) {
        const name = rule.record ?? rule.alert;
        const evaluated = await query(rule.expr);
        expect(evaluated.status, `${name}: ${evaluated.error}`).toBe('success');
        for (const metric of metricNames(rule.expr))
          expect(await hasData(metric), `${name} reads ${metric}, which has no series`).toBe(true);
        if (rule.record) await waitFor(() => hasData(rule.record), { deadlineMs: 30_000, what: `${name} recorded` });
      }
  }, 120_000);

  it('the healthy cluster has no alert pending or firing but the SLA one', async () => {
    const res = await fetch(`${prometheus!.url}/api/v1/alerts`);
    const alerts = ((await res.json()) as any).data.alerts as { labels: { alertname: string }; state: string }[];
    const firing = alerts.map((a) => a.labels.alertname);
    expect(firing.filter((a) => a !== 'workflow_sla_breach')).toEqual([]);
  });
});
