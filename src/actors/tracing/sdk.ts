import { register } from 'node:module';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { bflowSampler, samplingRatio } from './sampler.ts';

/** What startTracing started. */
export interface StartedTracing {
  /** Exports the spans still buffered and stops the SDK (bounded by OTEL_BSP_EXPORT_TIMEOUT). */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for a bflow process (`role`: all, gateway, node, notifier). bin/bflow.js calls it
 * before it loads the CLI, so the drivers are instrumented as they load: the mysql2, ioredis, pino and http
 * instrumentations, ioredis and pino through the ES module hook (import-in-the-middle, for those two only).
 *
 * Configured by the standard variables: OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT),
 * OTEL_EXPORTER_OTLP_PROTOCOL (`http/protobuf`, the default, or `http/json`), OTEL_EXPORTER_OTLP_HEADERS,
 * OTEL_SERVICE_NAME (default `bflow-<role>`), OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_* (batching),
 * OTEL_TRACES_SAMPLER_ARG (the ratio, default 0.1). OTEL_TRACES_SAMPLER, when set, replaces bflow's sampler
 * (parent-based, ratio for new traces, deliveries of a traced command traced; see sampler.ts) with the SDK's.
 * Only traces are exported: metrics stay Prometheus's and logs stay pino's unless OTEL_METRICS_EXPORTER /
 * OTEL_LOGS_EXPORTER ask otherwise.
 */
export function startTracing(role: string, env: NodeJS.ProcessEnv = process.env): StartedTracing {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['ioredis', 'pino'] } });
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  diag.setLogger(stderrDiag, diagLevel(env.OTEL_LOG_LEVEL));
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: `bflow-${role}` }),
    ...(env.OTEL_TRACES_SAMPLER ? {} : { sampler: bflowSampler(samplingRatio(env.OTEL_TRACES_SAMPLER_ARG)) }),
    instrumentations: [
      // Outgoing calls only (webhook deliveries): the gateway's server spans are bflow's own
      // (Tracing.httpHandler), where a command's trace is decided before any span is built.
      new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
      // The statement as bflow wrote it, placeholders unfilled: no tenant data in a span, and no second
      // formatting of every query (the instrumentation would run mysql2's own, slower, format on each).
      new MySQL2Instrumentation({ maskStatement: true, maskStatementHook: statementTemplate }),
      // The command's name only: the keys and values are tenant data (and serialising them costs).
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
      // trace_id and span_id on every log line written in a span; the lines stay on stderr (no log export).
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/** Longest statement text a span keeps (a group commit's multi-statement text is longer). */
const STATEMENT_MAX = 1_000;

/** A statement's text for its span: the SQL with its `?` placeholders, cut at STATEMENT_MAX characters. */
export function statementTemplate(sql: string): string {
  return sql.length > STATEMENT_MAX ? `${sql.slice(0, STATEMENT_MAX)}…` : sql;
}

/** The SDK's own warnings and errors, as one line on stderr each. */
const stderrDiag: DiagLogger = {
  error: (message, ...args) => process.stderr.write(`otel: ${message} ${args.join(' ')}\n`),
  warn: (message, ...args) => process.stderr.write(`otel: ${message} ${args.join(' ')}\n`),
  info: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
};

function diagLevel(level: string | undefined): DiagLogLevel {
  return level?.toUpperCase() === 'NONE' ? DiagLogLevel.NONE : DiagLogLevel.WARN;
}
