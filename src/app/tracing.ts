import type { Tracing } from '../actors/tracing/index.ts';

export type { Tracing };

/**
 * bflow's spans for this process (node id `node`), or undefined when tracing is off: then no OpenTelemetry
 * module is loaded and the composition roots wire the ports as they are. The SDK itself is started by
 * bin/bflow.js before the drivers load (docs/operations.md#tracing).
 */
export async function loadTracing(node: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!tracingEnabled(env)) return undefined;
  const { Tracing, samplingRatio } = await import('../actors/tracing/index.ts');
  // With OTEL_TRACES_SAMPLER the SDK's sampler decides every request; else bflow's gateway draws the ratio.
  return new Tracing(node, env.OTEL_TRACES_SAMPLER ? undefined : samplingRatio(env.OTEL_TRACES_SAMPLER_ARG));
}

/**
 * Whether `env` asks for tracing: an OTLP endpoint is set (for traces or for every signal) and the SDK is not
 * disabled. No OpenTelemetry module is loaded to answer: without tracing, none is (bin/bflow.js asks too).
 */
export function tracingEnabled(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}
