import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterStreams } from '../../src/actors/events/cluster-streams.ts';
import { DEMO_TENANT, seedDemo } from '../../src/app/demo/demo-seed.ts';
import { signToken } from '../../src/app/dev-token.ts';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import { SmtpSink } from '../actors/notifications/smtp-sink.ts';
import { BflowProcess, spawnBflow, waitReady } from '../e2e/stack.ts';
import { poDoc } from '../fixtures/purchase-order-doc.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { useTestNats, type TestNats } from '../harness/nats-server.ts';
import { freePort } from '../harness/ports.ts';
import { waitFor } from '../harness/wait.ts';
import { TEST_MASTER_KEYS } from '../harness/master-keys.ts';

/**
 * Two `bflow notifier` replicas share the durable consumer of BFLOW_EVENTS
 * behind a `bflow all` (node + gateway, its own notifier off). One is
 * SIGKILLed while the SMTP sink holds its messages before their 250; every
 * notification still arrives, each dedupe key once at the sink, and each
 * in-app notification once.
 */
const RUNTIMES = 24;
const ACK_WAIT_MS = 2_000;
let db: TestDatabase;
let nats: TestNats;
let smtp: SmtpSink;
let url: string;
const secret = randomBytes(32).toString('hex');
const processes: BflowProcess[] = [];

beforeAll(async () => {
  [db, nats, smtp] = await Promise.all([useTestDatabase('notifier_replicas'), useTestNats('notify'), SmtpSink.start()]);
  await seedDemo({ directory: new MySqlDirectoryStore(db.pool), workflows: new MySqlWorkflowStore(db.pool) });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env = {
    BFLOW_MYSQL_URL: db.url,
    BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
    BFLOW_NATS_URL: nats.url,
    BFLOW_CLUSTER: nats.prefix,
    BFLOW_SHARDS: '4',
    BFLOW_LOG_LEVEL: 'warn',
  };
  const all = new BflowProcess(
    spawnBflow('all', {
      ...env,
      BFLOW_PORT: String(port),
      BFLOW_JWT_SECRET: secret,
      BFLOW_NOTIFIER: 'false',
      BFLOW_NODE_ID: 'app',
      // The runtime rows are not projected while the emails go out: the notifier reads the log.
      BFLOW_PROJECTION_DELAY_MS: '10000',
    }),
  );
  processes.push(all);
  await waitReady(url, all);
  for (const id of ['na', 'nb'])
    processes.push(
      new BflowProcess(
        spawnBflow('notifier', {
          ...env,
          BFLOW_NODE_ID: id,
          BFLOW_SMTP_URL: smtp.url,
          BFLOW_NOTIFY_ACK_WAIT_MS: String(ACK_WAIT_MS),
          BFLOW_NOTIFY_LINK_BASE: 'https://bflow.example.com/api/v1',
        }),
      ),
    );
  // Both replicas are pulling from the shared consumer.
  const nc = await nats.connect('notify-test');
  const jsm = await jetstreamManager(nc);
  await waitFor(
    async () => {
      for (const p of processes) if (!p.running) throw new Error(`a process exited:\n${p.stderr.slice(-3000)}`);
      const info = await jsm.consumers
        .info(clusterStreams(nats.prefix).events, `${nats.prefix}_notifier`)
        .catch(() => undefined);
      return (info?.num_waiting ?? 0) >= 2;
    },
    { deadlineMs: 60_000, what: 'two notifier replicas pulling' },
  );
}, 120_000);

afterAll(async () => {
  smtp?.release();
  await Promise.all(processes.map((p) => p.stop(5_000)));
  if (nats) {
    const nc = await nats.connect('notify-cleanup');
    const jsm = await jetstreamManager(nc);
    const streams = clusterStreams(nats.prefix);
    for (const s of [streams.events, streams.webhookQueue]) await jsm.streams.delete(s).catch(() => undefined);
    await nats.cleanup();
  }
  await db?.drop();
  await smtp?.close();
});

async function call(sub: string, method: string, path: string, body?: unknown) {
  const token = await signToken(secret, { sub, tid: DEMO_TENANT, roles: ['member'] }, 3600);
  const init: RequestInit = {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${url}${path}`, init);
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

describe('cluster - notifier replicas', () => {
  it('notifier - replicas share the events; one SIGKILLed mid-delivery: every email arrives, each dedupe key once', async () => {
    smtp.hold();
    const ids: string[] = [];
    for (let i = 0; i < RUNTIMES; i++) {
      const started = await call('alice', 'POST', '/api/v1/runtimes', {
        app: 'purchase.order',
        docId: `PO-K-${i}`,
        doc: poDoc(5_000_000),
      });
      expect(started.status).toBe(201);
      ids.push(started.body.id);
      expect(
        (await call('alice', 'POST', `/api/v1/runtimes/${started.body.id}/actions`, { action: 'submit' })).status,
      ).toBe(200);
    }
    // Both replicas have messages in flight (DATA sent, waiting for the 250): kill one now.
    await waitFor(() => smtp.held.includes('bflow-na') && smtp.held.includes('bflow-nb'), {
      deadlineMs: 30_000,
      what: 'messages of both replicas in flight at the sink',
    });
    const victim = processes[1]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    // Release only once the sink has seen the victim's connections close: a 250 must never reach a dead sender.
    await waitFor(() => !smtp.connected('bflow-na'), {
      deadlineMs: 10_000,
      what: "the victim's SMTP connections closed",
    });
    smtp.release();

    await waitFor(() => new Set(smtp.received.map((m) => m.dedupeKey)).size === RUNTIMES, {
      deadlineMs: 60_000,
      what: `${RUNTIMES} distinct emails`,
    });
    const byKey = new Map<string, number>();
    for (const m of smtp.received) byKey.set(m.dedupeKey, (byKey.get(m.dedupeKey) ?? 0) + 1);
    expect([...byKey.values()].every((n) => n === 1)).toBe(true);
    expect(smtp.received.every((m) => m.to.join() === 'pur-mgr@example.com')).toBe(true);
    // The document as the step left it, read from the log before its runtime row was projected.
    expect(smtp.received.every((m) => m.text.includes('supplier: ACME'))).toBe(true);
    const ids24 = new Set(smtp.received.map((m) => m.dedupeKey.split(':')[0]));
    expect(ids24).toEqual(new Set(ids));
    // The victim's messages never got their 250, so the survivor sent them after its claims lapsed.
    expect(new Set(smtp.received.map((m) => m.client))).toEqual(new Set(['bflow-nb']));

    // In-app: one per runtime, none twice.
    const list = await call('pur-mgr', 'GET', '/api/v1/notifications?limit=100');
    expect(list.status).toBe(200);
    const docs = list.body.items.map((n: { docId: string }) => n.docId);
    expect(docs).toHaveLength(RUNTIMES);
    expect(new Set(docs).size).toBe(RUNTIMES);
  });
});
