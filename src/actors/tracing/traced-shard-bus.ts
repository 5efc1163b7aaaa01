import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { ShardBus, ShardHandler, ShardMessage, ShardReply } from '../bus/ports.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import { ATTR, messageAttributes } from './attributes.ts';

/** Problems that are failures of bflow (the span's status says error), not refusals of a caller's request. */
const FAILURES = new Set(['internal', 'store_unavailable']);

/**
 * A ShardBus that continues the caller's trace on the node: `request` sends in a client span and carries its
 * context in the W3C `traceparent`/`tracestate` headers; `serve` answers each request in a server span whose
 * parent is the context those headers carry. Wrap the outermost bus (the ColocatedShardBus of `bflow all`
 * included: its local calls hand the headers over as NATS does).
 */
export class TracedShardBus implements ShardBus {
  constructor(
    private readonly inner: ShardBus,
    private readonly tracer: Tracer,
    private readonly node: string,
  ) {}

  serve(shard: number, handler: ShardHandler): Promise<() => Promise<void>> {
    return this.inner.serve(shard, (request, headers) => {
      const parent = headers ? propagation.extract(ROOT_CONTEXT, headers) : ROOT_CONTEXT;
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
