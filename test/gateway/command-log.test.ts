import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActorError } from '../../src/actors/errors.ts';
import { act, member, poDoc, startPo, TENANT_A, testGateway, type TestGateway } from './test-backend.ts';

/**
 * Command logs (docs/operations.md#logs): every command the gateway routes (start, action, batch item)
 * writes one info line `command` with the correlation id, user, tenant, workflow, runtime, action,
 * outcome and duration. Read from the pino output itself.
 */
let gw: TestGateway;
let lines: Record<string, unknown>[];

beforeEach(async () => {
  lines = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  gw = await testGateway({ logger: pino({ level: 'info' }, sink) });
});
afterEach(() => gw.close());

const commandLines = () => lines.filter((l) => l['msg'] === 'command');
const alice = member('alice');

describe('gateway - command logs', () => {
  it('a start and an action: one info line each, with request id, user, tenant, workflow, runtime, action, outcome, ms', async () => {
    const started = await gw.call(alice, 'POST', '/api/v1/runtimes', {
      body: { app: 'purchase.order', docId: 'PO-LOG-1', doc: poDoc(1_000) },
      headers: { 'X-Request-Id': 'req-start-1' },
    });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    const submitted = await act(gw, alice, id, { action: 'submit' }, { 'X-Request-Id': 'req-submit-1' });
    expect(submitted.status).toBe(200);

    const [start, submit, ...more] = commandLines();
    expect(more).toEqual([]);
    expect(start).toMatchObject({
      level: 30,
      requestId: 'req-start-1',
      user: 'alice',
      tenant: TENANT_A,
      workflow: 'wf-po',
      app: 'purchase.order',
      runtime: id,
      action: 'start',
      outcome: 'ok',
      status: 201,
    });
    expect(submit).toMatchObject({
      level: 30,
      requestId: 'req-submit-1',
      user: 'alice',
      tenant: TENANT_A,
      workflow: 'wf-po',
      runtime: id,
      action: 'submit',
      outcome: 'ok',
      status: 200,
    });
    for (const line of [start, submit]) expect(line!['ms']).toEqual(expect.any(Number));
  });

  it('a refused action logs the problem code the client got, and a replay says replayed', async () => {
    const { id } = await startPo(gw, 'PO-LOG-2');
    lines.length = 0;
    const refused = await act(gw, member('mallory'), id, { action: 'submit' }, { 'X-Request-Id': 'req-refused' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const headers = { 'Idempotency-Key': 'log-key-1' };
    expect((await act(gw, alice, id, { action: 'submit' }, headers)).status).toBe(200);
    expect((await act(gw, alice, id, { action: 'submit' }, headers)).status).toBe(200);

    const [bad, first, again] = commandLines();
    expect(bad).toMatchObject({
      requestId: 'req-refused',
      user: 'mallory',
      runtime: id,
      action: 'submit',
      outcome: refused.body.code,
      status: refused.status,
    });
    expect(bad).not.toHaveProperty('workflow'); // the node refused before naming the runtime's workflow
    expect(first).toMatchObject({ outcome: 'ok', workflow: 'wf-po' });
    expect(again).toMatchObject({ outcome: 'replayed', workflow: 'wf-po' });
    expect(first!['requestId']).not.toEqual(again!['requestId']);
  });

  it('an unreachable shard logs shard_unavailable with status 503', async () => {
    const { id } = await startPo(gw, 'PO-LOG-3');
    lines.length = 0;
    gw.deps.router.send = async () => {
      throw new ActorError('shard_unavailable', 'shard 1 did not answer after 5 tries', { retryAfterMs: 1000 });
    };
    const res = await act(gw, alice, id, { action: 'submit' });
    expect(res.status).toBe(503);
    expect(commandLines()).toEqual([
      expect.objectContaining({ runtime: id, action: 'submit', outcome: 'shard_unavailable', status: 503 }),
    ]);
  });

  it('each batch item is a command of its own line, under the batch request id', async () => {
    const a = (await startPo(gw, 'PO-LOG-4')).id as string;
    const b = (await startPo(gw, 'PO-LOG-5')).id as string;
    lines.length = 0;
    const res = await gw.call(alice, 'POST', '/api/v1/actions/batch', {
      body: {
        items: [
          { runtimeId: a, action: 'submit' },
          { runtimeId: b, action: 'cancel' },
        ],
      },
      headers: { 'X-Request-Id': 'req-batch' },
    });
    expect(res.status).toBe(200);
    const logged = commandLines().map((l) => [l['requestId'], l['runtime'], l['action'], l['outcome']]);
    expect(logged.sort()).toEqual(
      [
        ['req-batch', a, 'submit', 'ok'],
        ['req-batch', b, 'cancel', 'ok'],
      ].sort(),
    );
  });
});
