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
import type { ShardBus, ShardHandler, ShardMessage, ShardReply } from '../bus/ports.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import { ATTR, messageAttributes } from './attributes.ts';

/** Problems that are failures of bflow (the span's status says error), not refusals of a caller's request. */
const FAILURES = new Set(['internal', 'store_unavailable']);

/**
 * A ShardBus that continues the caller's trace on the node: `request`, in a traced (sampled) context, sends in
 * a client span and carries its context in the W3C `traceparent`/`tracestate` headers (a retry of the same
 * message, sent after a backoff, continues the trace its first try was sent in); `serve` answers each
 * request that brings a sampled context in a server span, its child, and remembers that span's context in
 * `carried` by the message (the host's steps and hand-overs run in it: Tracing.traceScope). An untraced
 * request costs nothing: no span, no header, and the node does not trace it either (the gateway's HTTP span
 * is where a command's trace is decided). Wrap the outermost bus (the ColocatedShardBus of `bflow all`
 * included: its local calls hand the headers over as NATS does).
 */
export class TracedShardBus implements ShardBus {
  /** The context each traced message was first sent in, for its retries. */
  readonly #sentIn = new WeakMap<ShardMessage, Context>();

  constructor(
    private readonly inner: ShardBus,
    private readonly tracer: Tracer,
    private readonly node: string,
    private readonly carried: WeakMap<object, Context> = new WeakMap(),
  ) {}

  serve(shard: number, handler: ShardHandler): Promise<() => Promise<void>> {
    return this.inner.serve(shard, (request, headers) => {
      const parent = headers?.traceparent === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, headers);
      // A caller that did not trace the command: nothing is traced on its way here either.
      if (!sampled(parent)) return handler(request, headers);
      const span = this.tracer.startSpan(
        'bflow.shard.handle',
        { kind: SpanKind.SERVER, attributes: { ...messageAttributes(request, shard), [ATTR.node]: this.node } },
        parent,
      );
      const handled = trace.setSpan(parent, span);
      this.carried.set(request, handled);
      return settle(
        span,
        context.with(handled, () => handler(request, headers)),
      );
    });
  }

  request(shard: number, request: ShardMessage, timeoutMs: number, headers?: MessageHeaders): Promise<ShardReply> {
    const active = context.active();
    const parent = sampled(active) ? active : this.#sentIn.get(request);
    if (!parent) return this.inner.request(shard, request, timeoutMs, headers);
    this.#sentIn.set(request, parent);
    const span = this.tracer.startSpan(
      'bflow.shard.request',
      {
        kind: SpanKind.CLIENT,
        attributes: { ...messageAttributes(request, shard), [ATTR.node]: this.node, 'messaging.system': 'nats' },
      },
      parent,
    );
    const carrier: Record<string, string> = { ...headers };
    const sent = trace.setSpan(parent, span);
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

/** Ends `span` when `reply` settles, with the problem's code, or the error, recorded. */
function settle(span: Span, reply: Promise<ShardReply>): Promise<ShardReply> {
  return endWith(span, reply, (answer) => {
    if (answer.ok) return;
    span.setAttribute(ATTR.problem, answer.problem.code);
    if (FAILURES.has(answer.problem.code))
      span.setStatus({ code: SpanStatusCode.ERROR, message: answer.problem.message });
  });
}

/** Ends `span` once `work` settles (recording its error); `done` sees the result first. */
export async function endWith<T>(span: Span, work: Promise<T>, done?: (result: T) => void): Promise<T> {
  try {
    const result = await work;
    done?.(result);
    return result;
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
