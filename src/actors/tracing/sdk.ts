import { register } from 'node:module';
import { context, diag, DiagLogLevel, ROOT_CONTEXT, type DiagLogger } from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { CarriedContextManager } from './carried-context.ts';
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
 *
 * The context manager is bflow's CarriedContextManager, whose base context has tracing suppressed: no async
 * hook is installed, and a driver call outside the trace scopes bflow re-enters records nothing.
 */
export function startTracing(role: string, env: NodeJS.ProcessEnv = process.env): StartedTracing {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: ['ioredis', 'pino'] } });
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  diag.setLogger(stderrDiag, diagLevel(env.OTEL_LOG_LEVEL));
  const sdk = new NodeSDK({
    contextManager: new CarriedContextManager(suppressTracing(ROOT_CONTEXT)),
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: `bflow-${role}` }),
    ...(env.OTEL_TRACES_SAMPLER ? {} : { sampler: bflowSampler(samplingRatio(env.OTEL_TRACES_SAMPLER_ARG)) }),
    instrumentations: [
      // Outgoing calls only (webhook deliveries): the gateway's server spans are bflow's own
      // (Tracing.httpHandler), where a command's trace is decided before any span is built.
      new HttpInstrumentation({ disableIncomingRequestInstrumentation: true }),
      // The statement as bflow wrote it, placeholders unfilled: no tenant data in a span, and no second
      // formatting of every query (the instrumentation would run mysql2's own, slower, format on each).
      tracedOnly(new MySQL2Instrumentation({ maskStatement: true, maskStatementHook: statementTemplate })),
      // The command's name only: the keys and values are tenant data (and serialising them costs).
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
      // trace_id and span_id on every log line written in a span; the lines stay on stderr (no log export).
      new PinoInstrumentation({ disableLogSending: true }),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

type QueryPatch = (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown;
type PatchQuery = (format: unknown, isPrepared: boolean) => QueryPatch;

/**
 * The mysql2 instrumentation, at work only in a trace. Its wrapper builds each query's attributes and a span
 * (a non-recording one where tracing is suppressed) for every query of the process: at 0.1 sampling that was
 * ~2.5% of a node's CPU, for the nine batches in ten nobody traced. Here a query made where tracing is
 * suppressed (bflow's base context: outside every trace scope) goes straight to mysql2. The instrumentation
 * patches mysql2's Connection when mysql2 loads, through its `_patchQuery`; should a version not have it,
 * the instrumentation is kept as it is.
 */
export function tracedOnly(instrumentation: MySQL2Instrumentation): MySQL2Instrumentation {
  const patchable = instrumentation as unknown as { _patchQuery?: PatchQuery };
  const patchQuery = patchable._patchQuery?.bind(instrumentation);
  if (typeof patchQuery !== 'function') return instrumentation;
  patchable._patchQuery = (format, isPrepared) => (original) => {
    const traced = patchQuery(format, isPrepared)(original);
    return function query(this: unknown, ...args: unknown[]) {
      return (isTracingSuppressed(context.active()) ? original : traced).apply(this, args);
    };
  };
  return instrumentation;
}

/** Longest statement text a span keeps (a group commit's multi-statement text is longer). */
const STATEMENT_MAX = 1_000;

/** Separates the statements of one query (batch-sql.ts joins them so). */
const STATEMENT_SEPARATOR = ';\n';
/** A longer last statement is not kept after a cut (it is not a transaction's end). */
const LAST_STATEMENT_MAX = 40;

/**
 * A statement's text for its span: the SQL with its `?` placeholders, cut at STATEMENT_MAX characters. A cut
 * query of several statements keeps its short last one: a group commit's query ends with its `COMMIT`.
 */
export function statementTemplate(sql: string): string {
  if (sql.length <= STATEMENT_MAX) return sql;
  const lastAt = sql.lastIndexOf(STATEMENT_SEPARATOR);
  const last = lastAt < 0 ? '' : sql.slice(lastAt + STATEMENT_SEPARATOR.length);
  const kept = last !== '' && last.length <= LAST_STATEMENT_MAX ? `${STATEMENT_SEPARATOR}${last}` : '';
  return `${sql.slice(0, STATEMENT_MAX)}…${kept}`;
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
