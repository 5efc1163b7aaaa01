import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type mysql from 'mysql2/promise';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { RuntimeHost } from '../../src/actors/runtime-host/runtime-host.ts';
import { startCipher } from '../../src/app/cipher.ts';
import type { WorkflowDefinition } from '../../src/engine/index.ts';
import { CachedRuntimeStore } from '../../src/store/cached-runtime-store.ts';
import { MemorySnapshotCache } from '../../src/store/memory/snapshot-cache.ts';
import { CipherError } from '../../src/store/crypto/crypto-errors.ts';
import { verifyKeyRing } from '../../src/store/crypto/data-keys.ts';
import { EnvelopeCipher } from '../../src/store/crypto/field-cipher.ts';
import { generateMasterKey, keyRing, type MasterKey } from '../../src/store/crypto/key-ring.ts';
import { rotateMasterKey } from '../../src/store/crypto/key-rotation.ts';
import { MySqlDataKeyStore } from '../../src/store/mysql/data-key-store.ts';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { MySqlNotificationStore } from '../../src/store/mysql/notification-store.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { rewrapTenantData } from '../../src/store/mysql/rewrap-data.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { MySqlWebhookStore } from '../../src/store/mysql/webhook-store.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import { RedisSnapshotCache } from '../../src/store/redis/snapshot-cache.ts';
import {
  TestClock,
  commandRequest as cmd,
  ok,
  poDoc,
  startRequest,
} from '../actors/runtime-host/runtime-host-fixture.ts';
import { loadExample } from '../fixtures/engine-driver.ts';
import { employees, groups } from '../fixtures/org-chart.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { uniqueTenant } from './fixtures.ts';

/**
 * Encryption at rest (docs/security.md), issue 19's acceptance: raw MariaDB rows and Redis values hold no
 * plaintext of a sentinel; a value copied to another row or tenant does not decrypt; runtimes created before
 * and after a master key rotation (and a data key rewrap) read back; a wrong key ring is refused naming the id.
 */

const REDIS_URL = process.env.BFLOW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `bflow-enc-${randomBytes(6).toString('hex')}`;
const SHARDS = 2;
const logger = pino({ level: 'silent' });

const DOC_SENTINEL = `doc-sentinel-${randomBytes(6).toString('hex')}`;
const ZONE_SENTINEL = `zone-sentinel-${randomBytes(6).toString('hex')}`;
const CONDITION_SENTINEL = `condition-sentinel-${randomBytes(6).toString('hex')}`;
const COMMENT_SENTINEL = `comment-sentinel-${randomBytes(6).toString('hex')}`;
const SECRET_SENTINEL = `secret-sentinel-${randomBytes(6).toString('hex')}`;
const SENTINELS = [DOC_SENTINEL, ZONE_SENTINEL, CONDITION_SENTINEL, COMMENT_SENTINEL, SECRET_SENTINEL];

// A database per test: a rotation re-wraps every data key of its database, and a start checks them all.
const dbs = new Map<string, Promise<TestDatabase>>();
const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
  for await (const keys of admin.scanStream({ match: `${PREFIX}:*`, count: 500 })) {
    if ((keys as string[]).length > 0) await admin.del(...(keys as string[]));
  }
  admin.disconnect();
  for (const db of dbs.values()) await (await db).drop();
});

let current = 'main';
const pool = async (): Promise<mysql.Pool> => {
  if (!dbs.has(current)) dbs.set(current, useTestDatabase(`encryption_${current}`));
  return (await dbs.get(current)!).pool;
};

/** The purchase-order workflow with sentinels in a zone and a condition (both encrypted with the definition). */
function sentinelWorkflow(): WorkflowDefinition {
  const definition = loadExample('purchase-order');
  const text = JSON.stringify(definition)
    .replace('"Internal notes"', JSON.stringify(ZONE_SENTINEL))
    .replace('"capex"', JSON.stringify(CONDITION_SENTINEL));
  return JSON.parse(text) as WorkflowDefinition;
}

/** One process's stores over the test database, all with `keys` (the first active), and a host on them. */
async function node(keys: readonly MasterKey[]) {
  const p = await pool();
  const cipher = new EnvelopeCipher(keyRing(keys), new MySqlDataKeyStore(p));
  const o = { cipher };
  const cache = await RedisSnapshotCache.create({ url: REDIS_URL, prefix: PREFIX, cipher, logger });
  const writer = new MySqlTransitionWriter(p, o);
  const workflows = new MySqlWorkflowStore(p, o);
  const directory = new MySqlDirectoryStore(p);
  const runtimes = new CachedRuntimeStore(new MySqlRuntimeStore(p, o), cache);
  const host = new RuntimeHost(
    { runtimes, writer, cache, workflows, directory, clock: new TestClock(), registry: new Registry() },
    { shardCount: SHARDS, sweepIntervalMs: 0 },
  );
  for (let s = 0; s < SHARDS; s++) host.openShard(s, 1);
  cleanups.push(async () => {
    host.close();
    await writer.close();
    await cache.close();
  });
  return {
    cipher,
    host,
    cache,
    workflows,
    directory,
    read: new MySqlReadModel(p, o),
    store: new MySqlRuntimeStore(p, o),
    webhooks: new MySqlWebhookStore(p, o),
    notifications: new MySqlNotificationStore(p, o),
  };
}

type Node = Awaited<ReturnType<typeof node>>;

async function seed(n: Node, tenant: string): Promise<void> {
  await n.directory.upsertGroups(tenant, groups);
  await n.directory.upsertEmployees(tenant, employees);
  await n.workflows.createWorkflow(tenant, 'wf-po', sentinelWorkflow(), 1);
  await n.workflows.publish(tenant, 'wf-po', 2);
  await n.workflows.setAppConfig({ tenant, companyId: '', app: 'purchase.order', mode: 'apply', workflowId: 'wf-po' });
}

/** Starts a purchase order holding the document sentinel and submits it with the comment sentinel. */
async function submitted(n: Node, tenant: string, id: string) {
  ok(await n.host.handle(startRequest(tenant, id, `doc-${id}`, { doc: poDoc(5_000_000, { note: DOC_SENTINEL }) })));
  const submit = { comment: COMMENT_SENTINEL };
  return ok(await n.host.handle(cmd(tenant, id, 'alice', 'submit', submit, { idempotencyKey: `submit-${id}` })));
}

/** Every row of every table of the test database, as text. */
async function rawDatabase(): Promise<string> {
  const p = await pool();
  const [tables] = await p.query<mysql.RowDataPacket[]>('SHOW TABLES');
  const dump: string[] = [];
  for (const t of tables) {
    const [rows] = await p.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${String(Object.values(t)[0])}\``);
    dump.push(JSON.stringify(rows));
  }
  return dump.join('\n');
}

async function rawRedis(): Promise<string> {
  const values: string[] = [];
  for await (const keys of admin.scanStream({ match: `${PREFIX}:*`, count: 500 }))
    for (const key of keys as string[]) values.push(`${key} ${await admin.get(key)}`);
  return values.join('\n');
}

describe('encryption at rest', () => {
  it('encryption - raw MariaDB rows and Redis values hold no plaintext of the sentinels; the stores read them back', async () => {
    const n = await node([generateMasterKey('k1')]);
    const tenant = uniqueTenant('enc');
    await seed(n, tenant);
    const state = (await submitted(n, tenant, 'rt-1')).state;
    await n.cache.setMany([{ tenant, state }]);
    await n.webhooks.create({
      tenant,
      id: 'wh-1',
      url: 'https://example.com/hook',
      events: ['*'],
      secret: SECRET_SENTINEL,
      createdAt: 1,
    });
    await n.notifications.addInApp([
      {
        tenant,
        recipient: 'pur-mgr',
        dedupeKey: 'ev-1|pur-mgr|in_app',
        kind: 'task_assigned',
        eventId: 'ev-1',
        runtimeId: 'rt-1',
        app: 'purchase.order',
        docId: 'doc-rt-1',
        title: `Approve ${DOC_SENTINEL}`,
        body: `note: ${DOC_SENTINEL}`,
        link: 'https://example.com/rt-1',
        createdAt: 1,
      },
    ]);

    const database = await rawDatabase();
    const redis = await rawRedis();
    expect(redis).toContain(`:rt:${tenant}:rt-1 2|bf1.1.`); // the revision stays plaintext for the set-if-newer script
    expect(database).toContain('bf1.1.');
    for (const sentinel of SENTINELS) {
      expect(database, sentinel).not.toContain(sentinel);
      expect(redis, sentinel).not.toContain(sentinel);
    }

    // Read back through the adapters: every sentinel is there.
    expect((await n.read.getRuntime(tenant, 'rt-1'))?.doc.note).toBe(DOC_SENTINEL);
    expect((await n.store.loadRuntime(tenant, 'rt-1'))?.doc.note).toBe(DOC_SENTINEL);
    expect((await n.cache.get(tenant, 'rt-1'))?.doc.note).toBe(DOC_SENTINEL);
    expect((await n.read.runtimeLog(tenant, 'rt-1')).map((l) => l.comment)).toContain(COMMENT_SENTINEL);
    expect((await n.webhooks.get(tenant, 'wh-1'))?.secret).toBe(SECRET_SENTINEL);
    expect(JSON.stringify((await n.workflows.getVersion(tenant, 'wf-po', 1))?.definition)).toContain(ZONE_SENTINEL);
    expect(JSON.stringify((await n.workflows.getWorkflow(tenant, 'wf-po'))?.draft)).toContain(CONDITION_SENTINEL);
    expect((await n.notifications.list(tenant, 'pur-mgr', 10)).items[0]?.body).toBe(`note: ${DOC_SENTINEL}`);
    // The retried submit is answered from the (encrypted) log.
    const retried = cmd(
      tenant,
      'rt-1',
      'alice',
      'submit',
      { comment: COMMENT_SENTINEL },
      { idempotencyKey: 'submit-rt-1' },
    );
    const idempotent = ok(await n.host.handle(retried));
    expect(idempotent.state).toEqual(state);
    expect((await n.store.findIdempotency(tenant, 'submit-rt-1'))?.response).toEqual({ state });
  });

  it('encryption - a row copied to another runtime or tenant fails to decrypt with a typed error; a copied snapshot is a miss', async () => {
    const n = await node([generateMasterKey('k1')]);
    const [a, b] = [uniqueTenant('enc-a'), uniqueTenant('enc-b')];
    for (const t of [a, b]) await seed(n, t);
    await submitted(n, a, 'rt-1');
    await submitted(n, a, 'rt-2');
    await submitted(n, b, 'rt-1');
    const p = await pool();
    const stateOf = async (tenant: string, id: string) =>
      String(
        (
          await p.query<mysql.RowDataPacket[]>('SELECT state FROM runtimes WHERE tenant = ? AND id = ?', [tenant, id])
        )[0][0]?.state,
      );
    const copied = await stateOf(a, 'rt-1');
    await p.query('UPDATE runtimes SET state = ? WHERE tenant = ? AND id = ?', [copied, a, 'rt-2']);
    await p.query('UPDATE runtimes SET state = ? WHERE tenant = ? AND id = ?', [copied, b, 'rt-1']);

    const another = await n.read.getRuntime(a, 'rt-2').catch((err: unknown) => err);
    expect(another).toBeInstanceOf(CipherError);
    expect(another).toMatchObject({ code: 'ciphertext_mismatch' });
    expect(String(another)).toContain(`runtimes.state of tenant ${a} row rt-2 does not decrypt`);
    await expect(n.read.getRuntime(b, 'rt-1')).rejects.toMatchObject({ code: 'ciphertext_mismatch' });
    // The log row of one step under another step's key.
    await p.query(
      'UPDATE runtime_steps s JOIN runtime_steps o ON o.tenant = s.tenant AND o.runtime_id = ? AND o.revision = 1 SET s.body = o.body WHERE s.tenant = ? AND s.runtime_id = ? AND s.revision = 1',
      ['rt-1', a, 'rt-2'],
    );
    await expect(n.store.loadRuntime(a, 'rt-2')).rejects.toMatchObject({ code: 'ciphertext_mismatch' });

    // Redis: rt-1's snapshot under rt-2's key does not open; it is a miss and MySQL answers.
    const key = (t: string, id: string) => `${PREFIX}:rt:${t}:${id}`;
    await n.cache.setMany([{ tenant: a, state: (await n.store.loadRuntime(a, 'rt-1'))! }]);
    await admin.set(key(b, 'rt-1'), (await admin.get(key(a, 'rt-1')))!);
    expect(await n.cache.get(b, 'rt-1')).toBeUndefined();
  });

  it('rotation - runtimes created before and after a master key rotation and a data key rewrap read back and move on', async () => {
    current = 'rotation';
    const k1 = generateMasterKey('k1');
    const k2 = generateMasterKey('k2');
    const before = await node([k1]);
    const tenant = uniqueTenant('enc-rot');
    await seed(before, tenant);
    await submitted(before, tenant, 'rt-before');
    const p = await pool();
    const keys = new MySqlDataKeyStore(p);

    // Rotate: the data keys are re-wrapped with k2 and no data is rewritten.
    const rowsBefore = await rawDatabase();
    const report = await rotateMasterKey(keys, keyRing([k1]), k2);
    expect(report.rewrapped).toBeGreaterThanOrEqual(1);
    const unchanged = (dump: string) => dump.split('\n').filter((t) => !t.includes('master_key_id'));
    expect(unchanged(await rawDatabase())).toEqual(unchanged(rowsBefore));
    // A process restarted with only the old key is refused, naming the key id it lacks.
    await expect(verifyKeyRing(keys, keyRing([k1]))).rejects.toThrow(
      /master key "k2", which the key ring \(k1\) does not hold/,
    );

    // A process on the new ring reads the runtime created before, moves it on, and creates another.
    const after = await node([k2]);
    expect((await after.read.getRuntime(tenant, 'rt-before'))?.doc.note).toBe(DOC_SENTINEL);
    const approved = ok(await after.host.handle(cmd(tenant, 'rt-before', 'pur-mgr', 'approve')));
    expect(approved.state.status).toBe('approved');
    await submitted(after, tenant, 'rt-after');

    // Rewrap the tenant's data with a new data key, online; both runtimes still read, through MySQL and Redis.
    const progress: string[] = [];
    const rewrap = await rewrapTenantData({
      pool: p,
      cipher: new EnvelopeCipher(keyRing([k2]), keys),
      tenant,
      waitMs: 0,
      onProgress: (r) => progress.push(`${r.table} ${r.read}/${r.total}`),
    });
    expect(rewrap).toMatchObject({ version: 2, left: 0 });
    expect(rewrap.rewritten).toBeGreaterThan(5);
    expect(progress).toContain('runtimes 2/2');
    const [[latest]] = await p.query<mysql.RowDataPacket[]>('SELECT state FROM runtimes WHERE tenant = ? AND id = ?', [
      tenant,
      'rt-after',
    ]);
    expect(String(latest?.state)).toMatch(/^bf1\.2\./);
    const fresh = await node([k2]);
    for (const id of ['rt-before', 'rt-after']) {
      expect((await fresh.read.getRuntime(tenant, id))?.doc.note).toBe(DOC_SENTINEL);
      expect((await fresh.store.loadRuntime(tenant, id))?.doc.note).toBe(DOC_SENTINEL);
      expect((await fresh.read.runtimeLog(tenant, id)).map((l) => l.comment)).toContain(COMMENT_SENTINEL);
    }
    // The Redis snapshot written before the rewrap is sealed with data key 1, which still opens it.
    expect(await admin.get(`${PREFIX}:rt:${tenant}:rt-before`)).toMatch(/^\d+\|bf1\.1\./);
    expect((await fresh.cache.get(tenant, 'rt-before'))?.doc.note).toBe(DOC_SENTINEL);
    ok(await fresh.host.handle(cmd(tenant, 'rt-after', 'pur-mgr', 'approve')));
    const database = await rawDatabase();
    for (const sentinel of SENTINELS) expect(database, sentinel).not.toContain(sentinel);
  });

  it('encryption - data written before encryption (plaintext) reads back; rewrap-data then seals it', async () => {
    current = 'legacy';
    const p = await pool();
    const tenant = uniqueTenant('enc-legacy');
    // An older bflow: no cipher at all.
    const writer = new MySqlTransitionWriter(p);
    const legacy = { workflows: new MySqlWorkflowStore(p), directory: new MySqlDirectoryStore(p) };
    await legacy.directory.upsertGroups(tenant, groups);
    await legacy.directory.upsertEmployees(tenant, employees);
    await legacy.workflows.createWorkflow(tenant, 'wf-po', sentinelWorkflow(), 1);
    await legacy.workflows.publish(tenant, 'wf-po', 2);
    await legacy.workflows.setAppConfig({
      tenant,
      companyId: '',
      app: 'purchase.order',
      mode: 'apply',
      workflowId: 'wf-po',
    });
    const host = new RuntimeHost(
      {
        runtimes: new MySqlRuntimeStore(p),
        writer,
        cache: new MemorySnapshotCache(),
        ...legacy,
        clock: new TestClock(),
        registry: new Registry(),
      },
      { shardCount: 1, sweepIntervalMs: 0 },
    );
    host.openShard(0, 1);
    ok(await host.handle(startRequest(tenant, 'rt-old', 'doc-old', { doc: poDoc(5_000_000, { note: DOC_SENTINEL }) })));
    host.close();
    await writer.close();
    expect(await rawDatabase()).toContain(DOC_SENTINEL);

    // The upgraded node reads it as it is and moves it on (new rows sealed).
    const n = await node([generateMasterKey('k1')]);
    expect((await n.read.getRuntime(tenant, 'rt-old'))?.doc.note).toBe(DOC_SENTINEL);
    ok(await n.host.handle(cmd(tenant, 'rt-old', 'alice', 'submit', { comment: COMMENT_SENTINEL })));
    expect((await n.store.loadRuntime(tenant, 'rt-old'))?.status).toBe('in_progress');
    const rewrap = await rewrapTenantData({ pool: p, cipher: n.cipher, tenant, waitMs: 0 });
    expect(rewrap.left).toBe(0);
    const database = await rawDatabase();
    for (const sentinel of SENTINELS) expect(database, sentinel).not.toContain(sentinel);
    expect((await n.read.runtimeLog(tenant, 'rt-old')).map((l) => l.action)).toEqual(['start', 'submit']);
    expect(JSON.stringify((await n.workflows.getVersion(tenant, 'wf-po', 1))?.definition)).toContain(ZONE_SENTINEL);
  });

  it('encryption - a restart with the wrong key ring is refused with an error naming the key id, never garbage', async () => {
    current = 'restart';
    const k1 = generateMasterKey('k1');
    const n = await node([k1]);
    const tenant = uniqueTenant('enc-wrong');
    await seed(n, tenant);
    const p = await pool();
    const wrong = {
      keys: keyRing([{ id: 'k1', key: generateMasterKey('x').key }]),
      source: 'BFLOW_MASTER_KEYS',
      encrypt: true,
      compress: true,
    } as const;
    await expect(startCipher(wrong, p, logger)).rejects.toThrow(
      /master key "k1" does not unwrap data key 1 of tenant .*: the key given under id "k1" is not the one that wrapped it/,
    );
    const missing = {
      keys: keyRing([generateMasterKey('k9')]),
      source: 'BFLOW_MASTER_KEYS',
      encrypt: true,
      compress: true,
    } as const;
    await expect(startCipher(missing, p, logger)).rejects.toMatchObject({ code: 'master_key_missing' });
    await expect(
      startCipher({ keys: keyRing([k1]), source: 'BFLOW_MASTER_KEYS', encrypt: true, compress: true }, p, logger),
    ).resolves.toBeDefined();
  });
});
