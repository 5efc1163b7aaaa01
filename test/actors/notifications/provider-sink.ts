import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the provider sink answered. */
export interface ProviderRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  status: number;
}

/**
 * A local HTTP server speaking the providers' API shapes closely enough to
 * record what bflow sends: Twilio's `POST /2010-04-01/Accounts/{sid}/Messages.json`
 * (201) and FCM v1's `POST /v1/projects/{project}/messages:send` (200).
 * `status` forces an answer (503: an outage; 400: a refusal).
 */
export class ProviderSink {
  readonly requests: ProviderRequest[] = [];
  status: number | undefined;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<ProviderSink> {
    let sink: ProviderSink | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const path = req.url ?? '';
        const known =
          /^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/.test(path) ||
          /^\/v1\/projects\/[^/]+\/messages:send$/.test(path);
        const status = sink?.status ?? (known ? (path.includes('Messages.json') ? 201 : 200) : 404);
        sink?.requests.push({ path, headers: req.headers, body, status });
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(status < 300 ? JSON.stringify({ sid: 'SM1', name: 'projects/p/messages/1' }) : '{"error":"x"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    sink = new ProviderSink(server);
    return sink;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Requests answered 2xx. */
  get delivered(): ProviderRequest[] {
    return this.requests.filter((r) => r.status < 300);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
