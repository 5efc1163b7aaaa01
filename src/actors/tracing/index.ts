/**
 * OpenTelemetry tracing (docs/architecture.md#tracing): loaded only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 * `sdk.ts` starts the SDK (bin/bflow.js, before the drivers load); `Tracing` gives the composition roots the
 * decorators and hooks that put bflow's spans around the ports.
 */
export { ATTR } from './attributes.ts';
export { bflowSampler, RootSampler, samplingRatio } from './sampler.ts';
export { TracedShardBus } from './traced-shard-bus.ts';
export { TRACER_NAME, Tracing } from './tracing.ts';
