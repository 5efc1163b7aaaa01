import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoutingClient } from '../../src/actors/bus/routing-client.ts';
import { MAX_FIELDS_BYTES } from '../../src/gateway/schemas/common.ts';
import { natsBusSubject, type ShardBusSubject } from '../actors/bus/shard-bus.contract.ts';
import { member, poDoc, TENANT_A, testGateway, type TestGateway } from '../gateway/test-backend.ts';

/**
 * Commands cross NATS as one message each way (the server's max_payload,
 * 1 MiB by default). A start whose body sat within a few hundred bytes of
 * the 1 MiB body limit was a 503 `shard_unavailable` (the request too big,
 * retried in vain) or a 500 after the runtime was committed (the reply too
 * big). Documents and patches are now capped at MAX_FIELDS_BYTES: refused
 * with a 422 before anything is sent, and the largest accepted one makes the
 * round trip through a real NATS shard bus.
 */

const SHARDS = 4;
const ONE_MIB = 1_048_576;

describe('nats payload', () => {
  let gw: TestGateway;
  let bus: ShardBusSubject;
  beforeAll(async () => {
    gw = await testGateway();
    bus = await natsBusSubject('secpayload');
    for (let shard = 0; shard < SHARDS; shard++) await bus.server.serve(shard, (request) => gw.host.handle(request));
    gw.deps.router = new RoutingClient(bus.client, { shardCount: SHARDS, registry: new Registry(), deadlineMs: 3_000 });
  });
  afterAll(async () => {
    await bus?.cleanup();
    await gw?.close();
  });

  /** A start whose JSON body is `bodyBytes` long, the document's note padding it. */
  const startOf = (docId: string, bodyBytes: number) => {
    const base = JSON.stringify({ app: 'purchase.order', docId, doc: poDoc(5, { note: '' }) });
    const note = 'n'.repeat(bodyBytes - Buffer.byteLength(base));
    return gw.call(member('alice'), 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId, doc: poDoc(5, { note }) },
    });
  };
  const count = async () => (await gw.store.read.listRuntimes(TENANT_A, {}, 500)).items.length;

  it.each([0, 100, 200, 400, 200_000])(
    'nats payload - a start %i bytes under the 1 MiB body limit is 422 at doc, nothing created (was: 503 or a 500 after the commit)',
    async (slack) => {
      const before = await count();
      const res = await startOf(`NP-${slack}`, ONE_MIB - slack);
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
      expect(res.body.errors).toEqual([{ path: 'doc', message: `larger than ${MAX_FIELDS_BYTES} bytes of JSON` }]);
      expect(await count()).toBe(before);
    },
  );

  it('nats payload - the largest document accepted makes the round trip through NATS, and so does a patch keeping it at that size; one byte more is 422', async () => {
    const base = JSON.stringify(poDoc(5, { note: '' }));
    const note = 'n'.repeat(MAX_FIELDS_BYTES - Buffer.byteLength(base));
    const started = await gw.call(member('alice'), 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'NP-MAX', doc: poDoc(5, { note }) },
    });
    expect(started.status, JSON.stringify(started.body).slice(0, 300)).toBe(201);
    expect(started.body.doc.note).toHaveLength(note.length);
    const patch = { note: 'p'.repeat(note.length) };
    const updated = await gw.call(member('alice'), 'POST', `/api/v1/runtimes/${started.body.id}/actions`, {
      body: { action: 'update', patch },
    });
    expect(updated.status, JSON.stringify(updated.body).slice(0, 300)).toBe(200);
    // The patch itself is within the gateway's cap; the document it would make is not (the engine's cap).
    const over = await gw.call(member('alice'), 'POST', `/api/v1/runtimes/${started.body.id}/actions`, {
      body: { action: 'update', patch: { note: `${patch.note}p` } },
    });
    expect(over.status).toBe(422);
    expect(over.body.errors).toEqual([
      { path: 'patch', message: `the patched document would be larger than ${MAX_FIELDS_BYTES} bytes of JSON` },
    ]);
    const tooBig = await gw.call(member('alice'), 'POST', `/api/v1/runtimes/${started.body.id}/actions`, {
      body: { action: 'update', patch: { note: 'q'.repeat(MAX_FIELDS_BYTES) } },
    });
    expect(tooBig.body.errors).toEqual([{ path: 'patch', message: `larger than ${MAX_FIELDS_BYTES} bytes of JSON` }]);
  });

  // Each patch is within the gateway's cap, but patching field after field grew the document past what one NATS
  // reply can carry (the node committed the update, then could not reply: a 500 with the state changed). The
  // engine now caps the merged document.
  it('nats payload - patches that grow the document past the bus limit are refused before the commit (422; the engine caps the merged document)', async () => {
    const started = await gw.call(member('alice'), 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'NP-GROW', doc: poDoc(5) },
    });
    const big = 'x'.repeat(250_000);
    const patches = [
      { note: big },
      { supplier: big },
      { currency: big },
      { requester: big },
      { items: [{ sku: big, category: 'office', total: 1 }] },
    ];
    const statuses: number[] = [];
    for (const patch of patches)
      statuses.push(
        (
          await gw.call(member('alice'), 'POST', `/api/v1/runtimes/${started.body.id}/actions`, {
            body: { action: 'update', patch },
          })
        ).status,
      );
    expect(statuses.every((s) => s < 500)).toBe(true);
    const stored = await gw.store.read.getRuntime(TENANT_A, started.body.id);
    expect(Buffer.byteLength(JSON.stringify(stored?.doc))).toBeLessThan(ONE_MIB - 64 * 1024);
  });
});
