import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { node, tracing } from '@opentelemetry/sdk-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarriedContextManager } from './carried-context.ts';
import { statementTemplate, tracedOnly } from './sdk.ts';

const exporter = new tracing.InMemorySpanExporter();
const provider = new node.NodeTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] });

beforeAll(() => provider.register({ contextManager: new CarriedContextManager(suppressTracing(ROOT_CONTEXT)) }));
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

type Query = (this: unknown, ...args: unknown[]) => unknown;

describe('tracing - sdk', () => {
  it('tracing - the mysql2 instrumentation records a query made in a trace; one made outside every trace goes straight to mysql2', () => {
    const instrumentation = tracedOnly(
      new MySQL2Instrumentation({ enabled: false, maskStatement: true, maskStatementHook: statementTemplate }),
    );
    instrumentation.setTracerProvider(provider);
    const patchQuery = (instrumentation as unknown as { _patchQuery: (f: unknown, p: boolean) => (q: Query) => Query })
      ._patchQuery;
    const received: unknown[] = [];
    // What mysql2's Connection#query does with a callback: answers through it.
    const original: Query = function (this: unknown, ...args: unknown[]) {
      received.push(this, args[0]);
      (args.at(-1) as (err: null, rows: unknown[]) => void)(null, []);
      return 'sent';
    };
    const query = patchQuery(undefined, false)(original);
    const connection = { config: { host: 'db', port: 3306, database: 'bflow', user: 'bflow' } };

    const untraced = query.call(connection, 'SELECT 1', [], () => undefined);
    expect(untraced).toBe('sent');
    expect(received).toEqual([connection, 'SELECT 1']);
    expect(exporter.getFinishedSpans()).toEqual([]);

    const parent = provider.getTracer('test').startSpan('bflow.group_commit', {}, ROOT_CONTEXT);
    context.with(trace.setSpan(ROOT_CONTEXT, parent), () => query.call(connection, 'COMMIT', [], () => undefined));
    parent.end();
    const commit = exporter.getFinishedSpans().find((s) => s.attributes['db.query.text'] === 'COMMIT');
    expect(commit?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(received).toEqual([connection, 'SELECT 1', connection, 'COMMIT']);
  });

  it("tracing - a statement's text is kept up to 1,000 characters; a cut group commit keeps its COMMIT", () => {
    expect(statementTemplate('SELECT 1')).toBe('SELECT 1');
    const writes = `INSERT INTO runtime_steps VALUES ${'(?, ?), '.repeat(300)}(?, ?)`;
    const batch = statementTemplate(['START TRANSACTION', writes, 'COMMIT'].join(';\n'));
    expect(batch).toBe(`${['START TRANSACTION', writes].join(';\n').slice(0, 1_000)}…;\nCOMMIT`);
    expect(statementTemplate(writes)).toBe(`${writes.slice(0, 1_000)}…`);
  });
});
