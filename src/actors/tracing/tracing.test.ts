import { context, propagation, ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { node, tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ColocatedShardBus } from '../bus/colocated-shard-bus.ts';
import { MemoryShardBus } from '../bus/memory-shard-bus.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import type { RuntimeState } from '../../engine/index.ts';
import type { CommitOutcome, TransitionRecord, TransitionWriter } from '../../store/ports.ts';
import { RootSampler, bflowSampler, samplingRatio } from './sampler.ts';
import { CarriedContextManager } from './carried-context.ts';
import { Tracing } from './tracing.ts';

// bflow's decorators on an in-process tracer provider (always sampling new traces unless a test says otherwise),
// with the context manager bflow's processes run: the context is carried by hand across awaits.
const exporter = new tracing.InMemorySpanExporter();
const provider = new node.NodeTracerProvider({
  sampler: new tracing.AlwaysOnSampler(),
  spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
});
let tracer: Tracer;

beforeAll(() => {
  // The base context of bflow's processes (sdk.ts): tracing suppressed wherever no trace was re-entered.
  provider.register({ contextManager: new CarriedContextManager(suppressTracing(ROOT_CONTEXT)) });
  tracer = provider.getTracer('test');
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
beforeEach(() => exporter.reset());

const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().find((s) => s.name === name)!;
const command = (runtimeId: string) => ({
  kind: 'command' as const,
  tenant: 'acme',
  runtimeId,
  command: { type: 'approve' as const, actor: 'alice' },
  idempotencyKey: `k-${runtimeId}`,
});
const okReply = { ok: true as const, state: {} as RuntimeState };

/** An unsampled root context, as the gateway's HTTP span is for nine commands in ten. */
function unsampled() {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.NONE,
  });
}

describe('tracing - shard bus', () => {
  it('tracing - a command for a shard of this process (bflow all) keeps its trace across the colocated call: client span, then server span as its child', async () => {
    const t = new Tracing('n1', undefined, tracer);
    const bus = t.shardBus(new ColocatedShardBus(new MemoryShardBus()));
    let seen: MessageHeaders | undefined;
    await bus.serve(3, async (_request, headers) => {
      seen = headers;
      t.traceStep(
        { tenant: 'acme', runtimeId: 'rt-1', workflowId: 'wf-po', version: 2, action: 'approve', shard: 3 },
        () => 1,
      );
      return okReply;
    });
    await tracer.startActiveSpan('http', {}, ROOT_CONTEXT, async (http) => {
      await bus.request(3, command('rt-1'), 1_000);
      http.end();
    });
    const [request, handle, step] = ['bflow.shard.request', 'bflow.shard.handle', 'bflow.engine.step'].map(named);
    const http = named('http');
    expect(seen?.traceparent).toContain(request!.spanContext().spanId);
    expect(request!.parentSpanContext?.spanId).toBe(http.spanContext().spanId);
    expect(handle!.parentSpanContext?.spanId).toBe(request!.spanContext().spanId);
    expect(step!.parentSpanContext?.spanId).toBe(handle!.spanContext().spanId);
    expect(new Set([http, request, handle, step].map((s) => s!.spanContext().traceId)).size).toBe(1);
    expect(request!.kind).toBe(SpanKind.CLIENT);
    expect(handle!.kind).toBe(SpanKind.SERVER);
    expect(handle!.attributes).toMatchObject({
      'bflow.tenant': 'acme',
      'bflow.runtime_id': 'rt-1',
      'bflow.action': 'approve',
      'bflow.shard': 3,
      'bflow.node': 'n1',
      'bflow.workflow': 'wf-po',
    });
  });

  it("tracing - the node's scope of a traced message carries its context past the host's awaits; a retry of the same message continues its trace", async () => {
    const t = new Tracing('n1', undefined, tracer);
    const bus = t.shardBus(new MemoryShardBus());
    await bus.serve(2, async (request) => {
      await Promise.resolve();
      // Past an await: no context is active any more, but the message's scope has it.
      expect(trace.getActiveSpan()).toBeUndefined();
      t.traceScope(request as ReturnType<typeof command>)(() =>
        t.traceStep(
          { tenant: 'acme', runtimeId: 'rt-4', workflowId: 'w', version: 1, action: 'approve', shard: 2 },
          () => 1,
        ),
      );
      return okReply;
    });
    const message = command('rt-4');
    await tracer.startActiveSpan('http', {}, ROOT_CONTEXT, async (http) => {
      await bus.request(2, message, 1_000);
      // A retry after a backoff: sent outside any context, the same message object.
      await Promise.resolve();
      await bus.request(2, message, 1_000);
      http.end();
    });
    const http = named('http');
    const requests = spans().filter((s) => s.name === 'bflow.shard.request');
    expect(requests.map((r) => r.parentSpanContext?.spanId)).toEqual([
      http.spanContext().spanId,
      http.spanContext().spanId,
    ]);
    const steps = spans().filter((s) => s.name === 'bflow.engine.step');
    const handles = spans().filter((s) => s.name === 'bflow.shard.handle');
    expect(steps.map((s) => s.parentSpanContext?.spanId)).toEqual(handles.map((h) => h.spanContext().spanId));
    expect(t.traceScope(command('rt-other'))(() => trace.getActiveSpan())).toBeUndefined();
  });

  it('tracing - an untraced command sends no header and starts no span', async () => {
    const t = new Tracing('n1', undefined, tracer);
    const bus = t.shardBus(new MemoryShardBus());
    let seen: MessageHeaders | undefined = { x: 'y' };
    await bus.serve(1, async (_request, headers) => {
      seen = headers;
      t.traceStep(
        { tenant: 'acme', runtimeId: 'rt-2', workflowId: 'w', version: 1, action: 'approve', shard: 1 },
        () => 1,
      );
      return okReply;
    });
    await context.with(unsampled(), () => bus.request(1, command('rt-2'), 1_000));
    expect(seen).toBeUndefined();
    expect(spans()).toEqual([]);
  });

  it('tracing - a problem answered is recorded on both spans', async () => {
    const t = new Tracing('n1', undefined, tracer);
    const bus = t.shardBus(new MemoryShardBus());
    await bus.serve(1, async () => ({ ok: false, problem: { code: 'internal', message: 'boom', retryable: false } }));
    await tracer.startActiveSpan('http', {}, ROOT_CONTEXT, async (http) => {
      await bus.request(1, command('rt-3'), 1_000);
      http.end();
    });
    for (const name of ['bflow.shard.request', 'bflow.shard.handle']) {
      expect(named(name).attributes['bflow.problem']).toBe('internal');
      expect(named(name).status.code).toBe(2);
    }
  });
});

describe('tracing - gateway', () => {
  const env = (url: string, headers: Record<string, string> = {}) => ({ incoming: { method: 'POST', url, headers } });
  const request = new Request('http://gw/api/v1/runtimes/rt-9/actions', { method: 'POST' });

  it('tracing - a request the gateway draws out of the ratio builds no span and sets no context', async () => {
    const t = new Tracing('gw', 0, tracer);
    let traced: boolean | undefined;
    const handler = t.httpHandler(async () => {
      traced = trace.getActiveSpan() !== undefined;
      return new Response(null, { status: 204 });
    });
    await handler(request, env('/api/v1/runtimes/rt-9/actions'));
    expect(traced).toBe(false);
    expect(spans()).toEqual([]);
  });

  it("tracing - a traced request's trace reaches the gateway by its Request: its scope past awaits, its log lines' ids", async () => {
    const t = new Tracing('gw', 1, tracer);
    const traced = new Request('http://gw/api/v1/runtimes', { method: 'POST' });
    let fields: Readonly<Record<string, string>> | undefined;
    const handler = t.httpHandler(async (req) => {
      await Promise.resolve();
      const requestTrace = t.requestTrace(req);
      fields = requestTrace?.logFields;
      requestTrace?.inTrace(() => tracer.startSpan('bflow.shard.request').end());
      return new Response(null, { status: 201 });
    });
    await handler(traced, env('/api/v1/runtimes'));
    const http = named('POST');
    expect(named('bflow.shard.request').parentSpanContext?.spanId).toBe(http.spanContext().spanId);
    expect(fields).toEqual({
      trace_id: http.spanContext().traceId,
      span_id: http.spanContext().spanId,
      trace_flags: '01',
    });
    expect(t.requestTrace(new Request('http://gw/other'))).toBeUndefined();
  });

  it("tracing - a traced request is a server span around the handler; a caller's traceparent is continued; probes are never traced", async () => {
    const t = new Tracing('gw', 1, tracer);
    const handler = t.httpHandler(async () => {
      tracer.startSpan('inside').end();
      return new Response(null, { status: 201 });
    });
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await handler(request, env('/api/v1/runtimes/rt-9/actions?x=1', { traceparent }));
    await handler(request, env('/health'));
    const http = named('POST');
    expect(http.kind).toBe(SpanKind.SERVER);
    expect(http.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(http.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(http.attributes).toMatchObject({
      'url.path': '/api/v1/runtimes/rt-9/actions',
      'http.response.status_code': 201,
    });
    expect(named('inside').parentSpanContext?.spanId).toBe(http.spanContext().spanId);
    expect(spans().filter((s) => s.name === 'POST')).toHaveLength(1);
  });
});

describe('tracing - group commit', () => {
  /** A writer that commits what it is given as one batch, through `aroundBatch`, when flushed. */
  function batchingWriter(t: Tracing) {
    const queued: { record: TransitionRecord; resolve: (o: CommitOutcome) => void }[] = [];
    const inner: TransitionWriter = {
      commit: (record) => new Promise((resolve) => queued.push({ record, resolve })),
      flush: async () => {
        const batch = queued.splice(0);
        const outcomes = await t.aroundBatch(
          batch.map((q) => q.record),
          async (inBatch) => {
            await Promise.resolve();
            inBatch(() => tracer.startSpan('COMMIT', { kind: SpanKind.CLIENT }).end());
            return batch.map((): CommitOutcome => ({ ok: true }));
          },
        );
        batch.forEach((q, i) => q.resolve(outcomes[i]!));
      },
      close: async () => undefined,
    };
    return t.writer(inner);
  }

  const record = (runtimeId: string): TransitionRecord => ({
    tenant: 'acme',
    shard: 1,
    baseRevision: 1,
    state: { revision: 2, runtime: { id: runtimeId, workflowId: 'wf-po' } } as RuntimeState,
    effects: { events: [], timers: [], cancelTimers: [] } as unknown as TransitionRecord['effects'],
  });

  it('tracing - a batch is a child of its first traced command, links every traced one, records its size; its SQL is its child', async () => {
    const t = new Tracing('n1', undefined, tracer);
    const writer = batchingWriter(t);
    const commits = [
      tracer.startActiveSpan('cmd-a', {}, ROOT_CONTEXT, (s) => writer.commit(record('rt-a')).finally(() => s.end())),
      context.with(unsampled(), () => writer.commit(record('rt-u'))),
      tracer.startActiveSpan('cmd-b', {}, ROOT_CONTEXT, (s) => writer.commit(record('rt-b')).finally(() => s.end())),
    ];
    await writer.flush();
    await Promise.all(commits);
    const batch = named('bflow.group_commit');
    const commitSpans = spans().filter((s) => s.name === 'bflow.commit');
    expect(commitSpans.map((s) => s.attributes['bflow.runtime_id'])).toEqual(['rt-a', 'rt-b']);
    expect(batch.parentSpanContext?.spanId).toBe(commitSpans[0]!.spanContext().spanId);
    expect(batch.links.map((l) => l.context.spanId)).toEqual(commitSpans.map((s) => s.spanContext().spanId));
    expect(batch.attributes).toMatchObject({ 'bflow.batch.size': 3, 'bflow.batch.traced': 2 });
    expect(named('COMMIT').parentSpanContext?.spanId).toBe(batch.spanContext().spanId);
  });

  it('tracing - a batch of untraced commands records nothing, its SQL included', async () => {
    const t = new Tracing('n1', undefined, tracer);
    const writer = batchingWriter(t);
    const done = context.with(unsampled(), () => writer.commit(record('rt-u')));
    // The batch re-enters no trace: its SQL runs in the process's base context, tracing suppressed.
    await writer.flush();
    await done;
    expect(spans()).toEqual([]);
  });
});

describe('tracing - consumed events', () => {
  it("tracing - a delivery is a trace of its own, linked to the context in the event's headers", async () => {
    const t = new Tracing('n1', undefined, tracer);
    const headers: Record<string, string> = {};
    await tracer.startActiveSpan('commit', {}, ROOT_CONTEXT, async (s) => {
      propagation.inject(context.active(), headers);
      s.end();
    });
    const commit = named('commit');
    await t.traceConsume(
      'bflow.webhook.deliver',
      headers,
      { tenant: 'acme', type: 'stage.exited' },
      async (inTrace) => {
        await Promise.resolve();
        inTrace(() => tracer.startSpan('POST', { kind: SpanKind.CLIENT }).end());
      },
    );
    const delivery = named('bflow.webhook.deliver');
    expect(named('POST').parentSpanContext?.spanId).toBe(delivery.spanContext().spanId);
    expect(delivery.parentSpanContext).toBeUndefined();
    expect(delivery.spanContext().traceId).not.toBe(commit.spanContext().traceId);
    expect(delivery.links.map((l) => l.context.spanId)).toEqual([commit.spanContext().spanId]);
    expect(delivery.attributes).toMatchObject({ 'bflow.tenant': 'acme', 'bflow.event_type': 'stage.exited' });
  });
});

describe('tracing - sampler', () => {
  const sampled = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
  const decide = (kind: SpanKind, links: { context: typeof sampled }[] = [], ratio = 0) =>
    new RootSampler(ratio).shouldSample(ROOT_CONTEXT, sampled.traceId, 'x', kind, {}, links).decision;

  it('tracing - a root linked to a sampled span is sampled, whatever the ratio', () => {
    expect(decide(SpanKind.CONSUMER, [{ context: sampled }])).toBe(tracing.SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('tracing - the HTTP span of a request the gateway drew is sampled', () => {
    const drawn = new RootSampler(0).shouldSample(
      ROOT_CONTEXT,
      sampled.traceId,
      'POST',
      SpanKind.SERVER,
      {
        'bflow.sampling': 'gateway',
      },
      [],
    );
    expect(drawn.decision).toBe(tracing.SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('tracing - a client span outside any trace is dropped; other roots follow the ratio', () => {
    expect(decide(SpanKind.CLIENT, [], 1)).toBe(tracing.SamplingDecision.NOT_RECORD);
    expect(decide(SpanKind.SERVER, [], 1)).toBe(tracing.SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(SpanKind.SERVER, [], 0)).toBe(tracing.SamplingDecision.NOT_RECORD);
  });

  it('tracing - a child follows its parent', () => {
    const parent = trace.setSpanContext(ROOT_CONTEXT, sampled);
    const result = bflowSampler(0).shouldSample(parent, sampled.traceId, 'x', SpanKind.CLIENT, {}, []);
    expect(result.decision).toBe(tracing.SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('tracing - OTEL_TRACES_SAMPLER_ARG: a ratio in [0, 1], else 0.1', () => {
    expect(samplingRatio(undefined)).toBe(0.1);
    expect(samplingRatio('0.25')).toBe(0.25);
    expect(samplingRatio('2')).toBe(0.1);
    expect(samplingRatio('x')).toBe(0.1);
    expect(samplingRatio(' ')).toBe(0.1);
  });
});
