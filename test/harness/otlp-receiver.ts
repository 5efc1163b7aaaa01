import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as the receiver got it, flattened from OTLP/JSON (ids in hex, attributes as plain values). */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** Absent for a trace's first span. */
  parentSpanId?: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  links: { traceId: string; spanId: string }[];
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number };
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

/**
 * A small OTLP/HTTP trace receiver (`POST /v1/traces`) on a free loopback port: what an OpenTelemetry
 * collector would receive from bflow processes started with `OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint`.
 * JSON exports (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) are parsed into `spans`; protobuf ones (the default
 * protocol) are accepted and counted only (the benchmark's receiver). Anything else is answered 415 and
 * counted in `refused`.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  refused = 0;
  /** Export requests accepted, and their bytes. */
  exports = 0;
  bytes = 0;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const type = req.headers['content-type'] ?? '';
        const json = type.startsWith('application/json');
        if (req.method !== 'POST' || req.url !== '/v1/traces' || !(json || type.startsWith('application/x-protobuf'))) {
          receiver.refused += 1;
          res.writeHead(415).end();
          return;
        }
        const body = Buffer.concat(chunks);
        receiver.exports += 1;
        receiver.bytes += body.length;
        // An empty ExportTraceServiceResponse: no bytes.
        if (!json) return void res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        try {
          receiver.#take(JSON.parse(body.toString('utf8')) as OtlpExport);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch {
          receiver.refused += 1;
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** The base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #take(body: OtlpExport): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = String(plain(rs.resource?.attributes ?? [])['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? [])
        for (const s of ss.spans ?? []) {
          const span: ReceivedSpan = {
            service,
            traceId: s.traceId,
            spanId: s.spanId,
            name: s.name,
            kind: s.kind ?? 0,
            attributes: plain(s.attributes ?? []),
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            status: s.status?.code ?? 0,
          };
          if (s.parentSpanId) span.parentSpanId = s.parentSpanId;
          this.spans.push(span);
        }
    }
  }
}

function plain(attributes: OtlpKeyValue[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
  }
  return out;
}
