import { SpanKind, type Attributes, type Context, type Link } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { ATTR } from './attributes.ts';

const { ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler } = tracing;
type Sampler = tracing.Sampler;
type SamplingResult = tracing.SamplingResult;

/**
 * The decision for a span with no parent (a trace's first span):
 * - the gateway's HTTP span of a request for which the gateway drew the ratio already (`bflow.sampling`):
 *   sampled;
 * - linked to a sampled span (a webhook delivery or a notification linked to the command that caused it):
 *   sampled, so a traced command's later deliveries are traced too;
 * - a client span (a MySQL query, a Redis command, an outgoing HTTP call) outside any trace: dropped, so
 *   background polls do not start traces of their own;
 * - anything else (an HTTP request, a timer's command, a delivery of an untraced command): by trace-id ratio.
 */
export class RootSampler implements Sampler {
  readonly #ratio: Sampler;

  constructor(readonly ratio: number) {
    this.#ratio = new TraceIdRatioBasedSampler(ratio);
  }

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (attributes[ATTR.sampling] === 'gateway' || links.some((l) => (l.context.traceFlags & 1) === 1))
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    if (spanKind === SpanKind.CLIENT) return { decision: SamplingDecision.NOT_RECORD };
    return this.#ratio.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `BflowRootSampler{ratio=${this.ratio}}`;
  }
}

/** Parent-based: a span follows its parent's decision; a trace's first span is decided by {@link RootSampler}. */
export function bflowSampler(ratio: number): Sampler {
  return new ParentBasedSampler({ root: new RootSampler(ratio) });
}

/** The sampling ratio of OTEL_TRACES_SAMPLER_ARG: a number in [0, 1], else `fallback`. */
export function samplingRatio(arg: string | undefined, fallback = 0.1): number {
  if (arg === undefined || arg.trim() === '') return fallback;
  const ratio = Number(arg);
  return Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : fallback;
}
