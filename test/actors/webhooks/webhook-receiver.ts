import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/** What to answer the n-th request (from 1): a status, optionally with headers, or hang (never answer). */
export type Responder = (
  n: number,
  req: Received,
) => number | { status: number; headers?: Record<string, string>; delayMs?: number } | 'hang';

/** A real HTTP endpoint on a free loopback port that records every request and answers as told. */
export class WebhookReceiver {
  readonly received: Received[] = [];
  respond: Responder = () => 204;
  readonly #server: Server;
  readonly #hanging: ServerResponse[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const got: Received = {
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
          at: Date.now(),
        };
        receiver.received.push(got);
        const answer = receiver.respond(receiver.received.length, got);
        if (answer === 'hang') {
          receiver.#hanging.push(res);
          return;
        }
        const { status, headers, delayMs } =
          typeof answer === 'number' ? { status: answer, headers: {}, delayMs: 0 } : answer;
        const send = (): void => void res.writeHead(status, headers).end(status === 204 ? undefined : 'ok');
        if (delayMs) setTimeout(send, delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${path}`;
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
