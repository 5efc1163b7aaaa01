/**
 * Runs `work` (synchronously) in a trace's context, so that the spans its calls start (a driver's query, an
 * outgoing request, a log line) belong to that trace: tracing carries a command's context by hand across its
 * awaits, and re-enters it with a scope at each call that should be recorded (docs/architecture.md#tracing).
 * Untraced work, and every process without tracing, gets `outsideTrace`: the work runs as it is.
 */
export type TraceScope = <T>(work: () => T) => T;

/** The scope of untraced work: runs it as it is. */
export const outsideTrace: TraceScope = (work) => work();

/** A traced HTTP request's trace, as the gateway carries it. */
export interface RequestTrace {
  /** Runs a call to the shard bus (or anything else to be recorded) in the request's trace. */
  inTrace: TraceScope;
  /** What the request's log lines carry: `trace_id`, `span_id` (its HTTP span's) and `trace_flags`. */
  logFields: Readonly<Record<string, string>>;
}
