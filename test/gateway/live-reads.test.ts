import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.ts';
import { DEMO_TENANT, seedDemo } from '../../src/app/demo/demo-seed.ts';
import { signToken } from '../../src/app/dev-token.ts';
import { startEmbedded, type EmbeddedBackend } from '../../src/app/embedded.ts';
import type { RuntimeState } from '../../src/engine/index.ts';
import { createApp } from '../../src/gateway/app.ts';
import type { ReadModel } from '../../src/store/ports.ts';

// `GET /runtimes/{id}` reads the owner's memory first, the read model when the runtime is not live there.
// The read model here can be frozen at a moment, as a lagging projection (or replica) would be.

const SECRET = 'live-reads-test-secret-0123456789abcdef';
const logger = pino({ level: 'silent' });
let backend: EmbeddedBackend | undefined;
afterEach(async () => {
  await backend?.stop();
  backend = undefined;
});

/** The read model, frozen per runtime from `freeze()` on: it keeps answering the state it had then. */
function laggingReadModel(inner: ReadModel) {
  const frozen = new Map<string, RuntimeState | undefined>();
  let lagging = false;
  const read: ReadModel = Object.create(inner) as ReadModel;
  read.getRuntime = async (tenant, id) => {
    if (!lagging) return inner.getRuntime(tenant, id);
    if (!frozen.has(id)) frozen.set(id, await inner.getRuntime(tenant, id));
    return frozen.get(id);
  };
  read.listRuntimes = async (...args) => {
    const page = await inner.listRuntimes(...args);
    return lagging ? { ...page, items: page.items.map((s) => frozen.get(s.runtime.id) ?? s) } : page;
  };
  return {
    read,
    /** From now on every runtime read answers its state as of its first read after this call. */
    async freeze(ids: string[]) {
      for (const id of ids) frozen.set(id, await inner.getRuntime(DEMO_TENANT, id));
      lagging = true;
    },
  };
}

async function gateway(env: Record<string, string> = {}) {
  backend = await startEmbedded(loadConfig({ BFLOW_SHARDS: '8', ...env }), logger);
  await seedDemo(backend.deps);
  const lag = laggingReadModel(backend.deps.read);
  const app = createApp({ ...backend.deps, read: lag.read }, { auth: { secret: SECRET } });
  const tokens = {
    alice: await signToken(SECRET, { sub: 'alice', tid: DEMO_TENANT, roles: ['member'] }, 600),
    manager: await signToken(SECRET, { sub: 'pur-mgr', tid: DEMO_TENANT, roles: ['member'] }, 600),
  };
  const call = async (who: keyof typeof tokens, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${tokens[who]}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await app.request(path, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const start = async (docId: string) => {
    const doc = { amount: 5_000_000, currency: 'VND', requester: 'alice', items: [], note: 'n', supplier: 'ACME' };
    const res = await call('alice', 'POST', '/api/v1/runtimes', { app: 'purchase.order', docId, doc });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const liveReads = async (outcome: string) => {
    const metric = await backend!.deps.registry.getSingleMetric('bflow_routing_live_reads_total')?.get();
    return metric?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  };
  return { call, start, lag, liveReads };
}

describe('gateway - single-runtime reads from the owner', () => {
  it("live reads - after a command's reply, a GET by the same caller shows its effect while the read model lags; lists stay on the read model", async () => {
    const gw = await gateway();
    const id = await gw.start('PO-live');
    expect((await gw.call('alice', 'POST', `/api/v1/runtimes/${id}/actions`, { action: 'submit' })).status).toBe(200);
    await gw.lag.freeze([id]); // the read model stops at revision 2 (submitted)

    const approved = await gw.call('manager', 'POST', `/api/v1/runtimes/${id}/actions`, {
      action: 'approve',
      comment: 'ok',
    });
    expect(approved.status).toBe(200);
    const got = await gw.call('manager', 'GET', `/api/v1/runtimes/${id}`);
    expect(got.status).toBe(200);
    expect({ revision: got.body.revision, status: got.body.status }).toEqual({
      revision: approved.body.revision,
      status: approved.body.status,
    });
    expect(got.body.revision).toBe(3);
    expect(await gw.liveReads('live')).toBeGreaterThanOrEqual(1);

    const list = await gw.call('manager', 'GET', `/api/v1/runtimes?docId=PO-live`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((v: { revision: number }) => v.revision)).toEqual([2]);
  });

  it('live reads - a runtime passivated right after its command (over capacity) still shows that command while the read model lags', async () => {
    const gw = await gateway({ BFLOW_MAX_LIVE_ACTORS: '1' });
    const first = await gw.start('PO-a');
    await gw.lag.freeze([first]); // the read model stays at revision 1
    const submitted = await gw.call('alice', 'POST', `/api/v1/runtimes/${first}/actions`, { action: 'submit' });
    expect(submitted.body.revision).toBe(2);
    await gw.start('PO-b'); // the only live actor now: PO-a was passivated
    const got = await gw.call('alice', 'GET', `/api/v1/runtimes/${first}`);
    expect(got.status).toBe(200);
    expect(got.body.revision).toBe(2);
  });

  it('live reads - a runtime not in memory is read from the read model: an unknown id is 404', async () => {
    const gw = await gateway();
    const missing = await gw.call('alice', 'GET', '/api/v1/runtimes/no-such-runtime');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('not_found');
    expect(await gw.liveReads('not_live')).toBe(1);
  });
});
