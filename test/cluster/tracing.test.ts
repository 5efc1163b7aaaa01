import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookReceiver } from '../actors/webhooks/webhook-receiver.ts';
import { Tenant, expectStatus } from '../e2e/api-client.ts';
import { startClusterStack, type ClusterStack } from '../e2e/stack.ts';
import { poDoc } from '../fixtures/purchase-order-doc.ts';
import { OtlpReceiver, type ReceivedSpan } from '../harness/otlp-receiver.ts';
import { waitFor } from '../harness/wait.ts';

// A gateway and two nodes on the real services, tracing to a small OTLP/HTTP (JSON) receiver: one command's
// trace runs from the gateway's HTTP span over NATS to the node, its engine step and its group commit's SQL,
// and the webhook delivery of its events links back to it (docs/architecture.md#tracing).

let stack: ClusterStack | undefined;
let otlp: OtlpReceiver;
let hooks: WebhookReceiver;

const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;

beforeAll(async () => {
  [otlp, hooks] = await Promise.all([OtlpReceiver.start(), WebhookReceiver.start()]);
  stack = await startClusterStack('tracing', {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Every new trace sampled (the default ratio is 0.1), and spans sent within 100 ms.
      OTEL_TRACES_SAMPLER_ARG: '1',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
    // The gateway logs each request at debug: the line must carry the request's trace and span ids.
    gateway: { BFLOW_LOG_LEVEL: 'debug' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([otlp?.close(), hooks?.close()]);
}, 60_000);

/** The span of `trace` named `name` (with `attributes`), waited for: processes export in batches. */
async function spanOf(
  name: string,
  attributes: Record<string, string | number> = {},
  among: () => ReceivedSpan[] = () => otlp.spans,
): Promise<ReceivedSpan> {
  return waitFor(
    () => among().find((s) => s.name === name && Object.entries(attributes).every(([k, v]) => s.attributes[k] === v)),
    { deadlineMs: 20_000, what: `span ${name} ${JSON.stringify(attributes)}` },
  );
}

function parentOf(span: ReceivedSpan): ReceivedSpan | undefined {
  return otlp.spans.find((s) => s.traceId === span.traceId && s.spanId === span.parentSpanId);
}

describe('cluster - tracing', () => {
  it('tracing - one command is one trace: HTTP → NATS → node → engine → group commit → MySQL COMMIT, parented across processes, with its attributes; its webhook delivery links to it; log lines carry its ids', async () => {
    const tenant = await Tenant.create(stack!, 'trace');
    const erp = await tenant.as('erp', ['integration']);
    expectStatus(
      await erp.post('/api/v1/webhooks', {
        url: hooks.url('/traced'),
        events: ['*'],
        secret: 'trace-hook-secret-0123456789',
      }),
      201,
      'register',
    );
    const alice = await tenant.as('alice');
    const started = expectStatus(
      await alice.post('/api/v1/runtimes', { app: 'purchase.order', docId: 'PO-TRACE', doc: poDoc(5_000_000) }),
      201,
      'start',
    ).body as { id: string };
    const requestId = 'trace-submit-1';
    expectStatus(await alice.act(started.id, 'submit', {}, { 'X-Request-Id': requestId }), 200, 'submit');

    // The node's server span of the submit, then everything of its trace.
    const handle = await spanOf('bflow.shard.handle', { 'bflow.runtime_id': started.id, 'bflow.action': 'submit' });
    const inTrace = () => otlp.trace(handle.traceId);
    const http = await spanOf('POST', {}, () => inTrace().filter((s) => s.kind === SERVER && !s.parentSpanId));
    const request = await spanOf('bflow.shard.request', { 'bflow.action': 'submit' }, inTrace);
    const step = await spanOf('bflow.engine.step', {}, inTrace);
    const commit = await spanOf('bflow.commit', {}, inTrace);
    const batch = await spanOf('bflow.group_commit', {}, inTrace);
    const sqlCommit = await waitFor(
      () =>
        inTrace().find(
          (s) =>
            s.parentSpanId === batch.spanId &&
            /\bCOMMIT\b/.test(String(s.attributes['db.query.text'] ?? s.attributes['db.statement'] ?? '')),
        ),
      { deadlineMs: 20_000, what: 'the MySQL COMMIT of the group commit' },
    );

    // One trace: the HTTP request is its root, in the gateway; the rest follows, across the NATS hop.
    expect(http.service).toBe('bflow-gateway');
    expect(String(http.attributes['url.path'] ?? http.attributes['http.target'])).toContain(started.id);
    expect(request).toMatchObject({ service: 'bflow-gateway', kind: CLIENT, parentSpanId: http.spanId });
    expect(handle).toMatchObject({ service: 'bflow-node', kind: SERVER, parentSpanId: request.spanId });
    expect(step.parentSpanId).toBe(handle.spanId);
    expect(commit.parentSpanId).toBe(handle.spanId);
    expect(batch.parentSpanId).toBe(commit.spanId);
    expect(sqlCommit).toMatchObject({ service: 'bflow-node', kind: CLIENT });
    for (const span of [request, handle, step, commit, batch, sqlCommit]) expect(span.traceId).toBe(http.traceId);
    // Every span naming this command is in this one trace.
    const ofCommand = otlp.spans.filter(
      (s) => s.attributes['bflow.runtime_id'] === started.id && s.attributes['bflow.action'] === 'submit',
    );
    expect(new Set(ofCommand.map((s) => s.traceId))).toEqual(new Set([http.traceId]));

    // The attributes: tenant, runtime id, workflow, action, shard, node.
    const workflowId = tenant.workflows.get('purchase.order');
    expect(handle.attributes).toMatchObject({
      'bflow.tenant': tenant.id,
      'bflow.runtime_id': started.id,
      'bflow.workflow': workflowId,
      'bflow.action': 'submit',
      'bflow.shard': request.attributes['bflow.shard'],
    });
    expect(String(handle.attributes['bflow.node'])).toMatch(new RegExp(`^${stack!.cluster}-n[12]$`));
    expect(step.attributes).toMatchObject({
      'bflow.tenant': tenant.id,
      'bflow.runtime_id': started.id,
      'bflow.workflow': workflowId,
      'bflow.action': 'submit',
      'bflow.shard': handle.attributes['bflow.shard'],
      'bflow.node': handle.attributes['bflow.node'],
    });
    expect(request.attributes).toMatchObject({ 'bflow.tenant': tenant.id, 'bflow.runtime_id': started.id });
    expect(Number(batch.attributes['bflow.batch.size'])).toBeGreaterThanOrEqual(1);
    expect(batch.links).toContainEqual({ traceId: commit.traceId, spanId: commit.spanId });

    // The webhook deliveries of its events are traces of their own, linked to its commit.
    const delivery = await spanOf('bflow.webhook.deliver', {}, () =>
      otlp.spans.filter((s) => s.links.some((l) => l.traceId === http.traceId)),
    );
    expect(delivery.kind).toBe(CONSUMER);
    expect(delivery.traceId).not.toBe(http.traceId);
    expect(delivery.links).toContainEqual({ traceId: http.traceId, spanId: commit.spanId });
    expect(delivery.attributes['bflow.tenant']).toBe(tenant.id);
    // The delivery's POST to the webhook is a child of the delivery.
    await spanOf('POST', {}, () =>
      otlp.trace(delivery.traceId).filter((s) => s.kind === CLIENT && s.parentSpanId === delivery.spanId),
    );
    await waitFor(() => hooks.received.some((r) => r.path === '/traced'), { what: 'a webhook delivered' });

    // The gateway's log line of the request carries the trace and the span it was written in.
    const line = await waitFor(
      () =>
        stack!.gateway.stderr
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((entry) => entry.requestId === requestId && entry.msg === 'request'),
      { deadlineMs: 10_000, what: 'the request log line' },
    );
    expect(line).toMatchObject({ trace_id: http.traceId, span_id: http.spanId });

    expect(otlp.refused).toBe(0);
    expect(parentOf(handle)).toBe(request);
  });
});
