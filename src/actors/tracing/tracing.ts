import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { IncomingMessage } from 'node:http';
import type { DomainEvent } from '../../engine/index.ts';
import type { CommitOutcome, TransitionRecord, TransitionWriter } from '../../store/ports.ts';
import type { AroundBatch } from '../../store/mysql/transition-writer.ts';
import { outsideTrace, type RequestTrace, type TraceScope } from '../../shared/trace-scope.ts';
import type { ShardBus, ShardRequest } from '../bus/ports.ts';
import type { EventPublisher, TraceConsume } from '../events/ports.ts';
import type { MessageHeaders } from '../nats/message-headers.ts';
import type { StepTrace, TraceStep } from '../runtime-host/runtime-host-options.ts';
import { ATTR } from './attributes.ts';
import { endWith, recordError, sampled as tracedContext, TracedShardBus } from './traced-shard-bus.ts';

/** Probes and scrapes: never traced (an orchestrator calls them every few seconds). */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/** The instrumentation scope of bflow's own spans. */
export const TRACER_NAME = 'bflow';

/**
 * bflow's own spans, as decorators and hooks the composition roots wire around the ports, so that the core
 * (engine, host, bus, writer, relay, consumers) makes no OpenTelemetry call (docs/architecture.md#tracing):
 *
 * - `httpHandler` + `requestTrace`: the gateway's HTTP span, where a command's trace is decided, and the
 *   request's trace for the gateway (its scope, its log lines' ids);
 * - `shardBus`: the gateway → node hop (client and server spans, W3C context in the NATS headers);
 * - `traceScope`: the node's scope of a request that came traced, for the host's step and hand-over;
 * - `traceStep`: the engine step (`bflow.engine.step`, naming the workflow);
 * - `writer` + `aroundBatch`: each command's wait for the group commit (`bflow.commit`), and the batch's one
 *   transaction (`bflow.group_commit`, with its size and links to the traced commands it carried), under
 *   which the MySQL instrumentation records the batch's statements;
 * - `eventPublisher`: a traced step's events carry its `bflow.commit` context on their JetStream messages;
 * - `traceConsume`: a webhook delivery or a notification (`bflow.webhook.deliver`,
 *   `bflow.notification.handle`): a trace of its own, linked to the command's commit.
 *
 * The context is carried by hand: the SDK runs with the CarriedContextManager (no async hook, no cost per
 * promise), a traced request's context is remembered by the object it came as (the HTTP Request, the shard
 * message), and each port call that must be recorded is made in that context's TraceScope. Only traced
 * (sampled) commands pay for spans: in an untraced context each decorator calls through without one, so at
 * 0.1 sampling nine commands in ten cost a look-up per port. bench/tracing.ts measures what tracing costs
 * (docs/benchmarks.md#tracing). With the SDK not started every span is a no-op.
 */
export class Tracing {
  readonly #tracer: Tracer;
  /** The `bflow.commit` span of each record handed to the writer, for the batch's parent and links. */
  readonly #commits = new WeakMap<TransitionRecord, SpanContext>();
  /** The context of the committed step whose events these are (traced steps only), for their headers. */
  readonly #events = new WeakMap<object, Context>();
  /** The context a traced request runs in, by the object it came as (the HTTP Request, the shard message). */
  readonly #carried = new WeakMap<object, Context>();

  constructor(
    /** This process's node id (`bflow.node`). */
    readonly node: string,
    /**
     * The share of HTTP requests traced, drawn by `httpHandler` before any span is built (bflow's sampler then
     * records what it drew); undefined: every request gets a span and the SDK's sampler decides.
     */
    private readonly ratio?: number,
    tracer: Tracer = trace.getTracer(TRACER_NAME),
  ) {
    this.#tracer = tracer;
  }

  shardBus(bus: ShardBus): ShardBus {
    return new TracedShardBus(bus, this.#tracer, this.node, this.#carried);
  }

  /** The node's scope of `request`: its trace when it came traced over the shard bus, else outsideTrace. */
  readonly traceScope = (request: ShardRequest): TraceScope => this.#scopeOf(request);

  /** The gateway's view of a traced HTTP request (its scope, its log lines' ids), else undefined. */
  readonly requestTrace = (request: Request): RequestTrace | undefined => {
    const traced = this.#carried.get(request);
    const sc = traced && trace.getSpanContext(traced);
    if (!traced || !sc) return undefined;
    return {
      inTrace: scopeIn(traced),
      // The fields the pino instrumentation writes, on every line of the request (its awaits included).
      logFields: { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${sc.traceFlags.toString(16)}` },
    };
  };

  #scopeOf(origin: object): TraceScope {
    const traced = this.#carried.get(origin);
    return traced ? scopeIn(traced) : outsideTrace;
  }

  /**
   * The gateway's HTTP handler (`fetch` of @hono/node-server, whose `env.incoming` is the Node request), each
   * request in a server span, the root of its command's trace (or a child of the caller's W3C context): where
   * a command's trace is decided. An unsampled request runs as it is, with no context set: nothing after it
   * traces (the shard bus sends no header). In place of the http instrumentation's server side, which builds a
   * span and its attributes for every request before the sampler is asked.
   */
  httpHandler<R>(handler: (request: Request, env?: unknown) => R): (request: Request, env?: unknown) => R {
    return (request, env) => {
      const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
      if (incoming?.url !== undefined && UNTRACED_PATHS.has(incoming.url)) return handler(request, env);
      const headers = incoming?.headers;
      const continued = headers?.traceparent !== undefined;
      // A new trace: nine requests in ten (at 0.1) stop here, with no span built.
      if (!continued && this.ratio !== undefined && !(Math.random() < this.ratio)) return handler(request, env);
      const parent = continued ? propagation.extract(ROOT_CONTEXT, headers) : ROOT_CONTEXT;
      const method = incoming?.method ?? request.method;
      const drawn = continued || this.ratio === undefined ? {} : { [ATTR.sampling]: 'gateway' };
      const span = this.#tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: drawn }, parent);
      if (!span.isRecording()) return handler(request, env);
      const path = incoming?.url ?? new URL(request.url).pathname;
      span.setAttributes({ 'http.request.method': method, 'url.path': path.split('?')[0]!, [ATTR.node]: this.node });
      const traced = trace.setSpan(parent, span);
      this.#carried.set(request, traced);
      const answer = context.with(traced, () => handler(request, env));
      void Promise.resolve(answer).then(
        (res) => {
          const status = (res as { status?: number }).status;
          if (status !== undefined) span.setAttribute('http.response.status_code', status);
          if (status !== undefined && status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        },
        (err: unknown) => {
          recordError(span, err);
          span.end();
        },
      );
      return answer;
    };
  }

  /** Runs the engine step in `bflow.engine.step`; names the workflow on the request's span too. */
  readonly traceStep: TraceStep = <T>(step: StepTrace, run: () => T): T => {
    if (!tracedContext(context.active())) return run();
    const attributes = {
      [ATTR.tenant]: step.tenant,
      [ATTR.runtimeId]: step.runtimeId,
      [ATTR.workflow]: step.workflowId,
      [ATTR.workflowVersion]: step.version,
      [ATTR.action]: step.action,
      [ATTR.shard]: step.shard,
      [ATTR.node]: this.node,
    };
    trace.getActiveSpan()?.setAttributes(attributes);
    return this.#tracer.startActiveSpan('bflow.engine.step', { attributes }, (span) => {
      try {
        return run();
      } catch (err) {
        recordError(span, err);
        throw err;
      } finally {
        span.end();
      }
    });
  };

  /** The writer, with each commit in a `bflow.commit` span (from the hand-over to the outcome). */
  writer(inner: TransitionWriter): TransitionWriter {
    return {
      commit: (record) => this.#commit(inner, record),
      flush: () => inner.flush(),
      close: () => inner.close(),
      ...(inner.catchUp && { catchUp: (shard: number) => inner.catchUp!(shard) }),
    };
  }

  async #commit(inner: TransitionWriter, record: TransitionRecord): Promise<CommitOutcome> {
    if (!tracedContext(context.active())) return inner.commit(record);
    const span = this.#tracer.startSpan('bflow.commit', {
      attributes: {
        [ATTR.tenant]: record.tenant,
        [ATTR.runtimeId]: record.state.runtime.id,
        [ATTR.workflow]: record.state.runtime.workflowId,
        [ATTR.shard]: record.shard,
        [ATTR.revision]: record.state.revision,
        [ATTR.node]: this.node,
      },
    });
    this.#commits.set(record, span.spanContext());
    try {
      const outcome = await context.with(trace.setSpan(context.active(), span), () => inner.commit(record));
      span.setAttribute(ATTR.outcome, outcome.ok ? 'ok' : outcome.code);
      if (outcome.ok) this.#tagEvents(record.effects.events, span);
      return outcome;
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  #tagEvents(events: readonly DomainEvent[], span: Span): void {
    if (events.length === 0) return;
    const committed = trace.setSpan(ROOT_CONTEXT, span);
    for (const event of events) this.#events.set(event, committed);
  }

  /**
   * The writer's batch hook: the batch's transaction in `bflow.group_commit`, a child of the first traced
   * command it carries (so that command's trace shows the SQL), linked to every traced command it carries.
   * A batch of untraced commands runs outside any trace (not in whichever context started it): its
   * statements are not recorded.
   */
  readonly aroundBatch: AroundBatch = (records, commit) => {
    const traced: SpanContext[] = [];
    for (const r of records) {
      const sc = this.#commits.get(r);
      if (sc) traced.push(sc);
    }
    if (traced.length === 0) return commit(outsideTrace);
    const parent = trace.setSpanContext(ROOT_CONTEXT, traced[0]!);
    const links: Link[] = traced.map((sc) => ({ context: sc }));
    const span = this.#tracer.startSpan(
      'bflow.group_commit',
      {
        attributes: { [ATTR.batchSize]: records.length, [ATTR.batchTraced]: traced.length, [ATTR.node]: this.node },
        links,
      },
      parent,
    );
    return endWith(span, commit(scopeIn(trace.setSpan(parent, span))), (outcomes) =>
      span.setAttribute(ATTR.outcome, outcomes.every((o) => o.ok) ? 'ok' : 'partial'),
    );
  };

  /**
   * The publisher, with a traced step's events carrying its `bflow.commit` span's context in their headers:
   * their consumers link to it. (No span per publish: a step has several events, and the relay publishes them
   * together with other steps' at the next turn.)
   */
  eventPublisher(inner: EventPublisher): EventPublisher {
    return {
      publish: (subject, msgId, payload, fields, headers) => {
        const committed = fields && this.#events.get(fields);
        if (!committed) return inner.publish(subject, msgId, payload, fields, headers);
        const carrier: Record<string, string> = { ...headers };
        propagation.inject(committed, carrier);
        return inner.publish(subject, msgId, payload, fields, carrier);
      },
    };
  }

  /** A consumed event's handling in a span of its own trace, linked to the publish its headers name. */
  readonly traceConsume: TraceConsume = <T>(
    name: string,
    headers: MessageHeaders | undefined,
    attributes: Readonly<Record<string, string>>,
    handle: (inTrace: TraceScope) => Promise<T>,
  ): Promise<T> => {
    const published = headers && trace.getSpanContext(propagation.extract(ROOT_CONTEXT, headers));
    const span = this.#tracer.startSpan(
      name,
      {
        kind: SpanKind.CONSUMER,
        root: true,
        links: published ? [{ context: published }] : [],
        attributes: {
          ...(attributes.tenant !== undefined && { [ATTR.tenant]: attributes.tenant }),
          ...(attributes.app !== undefined && { [ATTR.app]: attributes.app }),
          ...(attributes.type !== undefined && { [ATTR.eventType]: attributes.type }),
          [ATTR.node]: this.node,
          'messaging.system': 'nats',
        },
      },
      ROOT_CONTEXT,
    );
    return endWith(span, handle(scopeIn(trace.setSpan(ROOT_CONTEXT, span))));
  };
}

/** The scope that runs work in `traced`. */
function scopeIn(traced: Context): TraceScope {
  return (work) => context.with(traced, work);
}
