import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import type { ShardBus, ShardHandler, ShardMessage, ShardReply } from '../bus/ports.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import { ATTR, messageAttributes } from './attributes.ts';

/** Problems that are failures of bflow (the span's status says error), not refusals of a caller's request. */
const FAILURES = new Set(['internal', 'store_unavailable']);

/**
 * A ShardBus that continues the caller's trace on the node: `request`, in a traced (sampled) context, sends in
 * a client span and carries its context in the W3C `traceparent`/`tracestate` headers; `serve` answers each
 * request that brings a sampled context in a server span, its child. An untraced request costs nothing: no
 * span, no header, and the node does not trace it either (the gateway's HTTP span is where a command's trace
 * is decided). Wrap the outermost bus (the ColocatedShardBus of `bflow all` included: its local calls hand
 * the headers over as NATS does).
 */
export class TracedShardBus implements ShardBus {
  constructor(
    private readonly inner: ShardBus,
    private readonly tracer: Tracer,
    private readonly node: string,
  ) {}

  serve(shard: number, handler: ShardHandler): Promise<() => Promise<void>> {
    return this.inner.serve(shard, (request, headers) => {
      const parent = headers?.traceparent === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, headers);
      // A caller that did not trace the command: nothing is traced on its way here either (no spans of the
      // drivers' instrumentations, nor of the work it starts).
      if (!sampled(parent)) return untraced(() => handler(request, headers));
      const span = this.tracer.startSpan(
        'bflow.shard.handle',
        { kind: SpanKind.SERVER, attributes: { ...messageAttributes(request, shard), [ATTR.node]: this.node } },
        parent,
      );
      return settle(
        span,
        context.with(trace.setSpan(parent, span), () => handler(request, headers)),
      );
    });
  }

  request(shard: number, request: ShardMessage, timeoutMs: number, headers?: MessageHeaders): Promise<ShardReply> {
    if (!sampled(context.active())) return this.inner.request(shard, request, timeoutMs, headers);
    const span = this.tracer.startSpan('bflow.shard.request', {
      kind: SpanKind.CLIENT,
      attributes: { ...messageAttributes(request, shard), [ATTR.node]: this.node, 'messaging.system': 'nats' },
    });
    const carrier: Record<string, string> = { ...headers };
    const sent = trace.setSpan(context.active(), span);
    propagation.inject(sent, carrier);
    return settle(
      span,
      context.with(sent, () => this.inner.request(shard, request, timeoutMs, carrier)),
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Whether `ctx` holds a span that is sampled (recorded and exported). */
export function sampled(ctx: Context): boolean {
  const sc = trace.getSpanContext(ctx);
  return sc !== undefined && (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
}

/**
 * Runs `work` with tracing suppressed when the active context is not sampled: the instrumented drivers (MySQL,
 * Redis, HTTP) then start no span for it, not even an unsampled one, nor does the work it leaves behind
 * (timers, the next turn's batches). In a sampled context it runs as it is.
 */
export function untraced<T>(work: () => T): T {
  const active = context.active();
  return sampled(active) || isTracingSuppressed(active) ? work() : context.with(suppressTracing(active), work);
}

/** Ends `span` when `reply` settles, with the problem's code, or the error, recorded. */
async function settle(span: Span, reply: Promise<ShardReply>): Promise<ShardReply> {
  try {
    const answer = await reply;
    if (!answer.ok) {
      span.setAttribute(ATTR.problem, answer.problem.code);
      if (FAILURES.has(answer.problem.code))
        span.setStatus({ code: SpanStatusCode.ERROR, message: answer.problem.message });
    }
    return answer;
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Records `err` on `span` and marks it failed. */
export function recordError(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}
