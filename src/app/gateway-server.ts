import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import type { AuthConfig, BflowConfig } from './config.ts';
import type { GatewayOptions } from '../gateway/gateway-options.ts';
import { RedisRateLimitStore } from '../gateway/rate-limit/redis-rate-limit-store.ts';
import type { RateLimitStore } from '../gateway/rate-limit/rate-limit-store.ts';

/** An HTTP server serving one fetch handler. */
export interface RunningServer {
  port: number;
  /** `http://localhost:<port>` */
  url: string;
  /** Stops accepting connections, lets requests in flight finish (at most `graceMs`), then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

/** A fetch handler; `env` carries the Node request and response (@hono/node-server's bindings). */
type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

/** Serves `fetch` on `port` (0 = any free port) with @hono/node-server; resolves once listening. */
export async function serveHttp(fetch: Fetch, port: number, logger: Logger): Promise<RunningServer> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: closingAfterRefusedBody(fetch), port }, () => resolve(s));
    s.once('error', reject);
  });
  server.on('error', (err) => logger.error({ err }, 'http server error'));
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    url: `http://localhost:${bound}`,
    close: (graceMs = 10_000) =>
      (closing ??= new Promise<void>((resolve) => {
        const http = server as import('node:http').Server;
        const force = setTimeout(() => http.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        http.closeIdleConnections();
      })),
  };
}

/**
 * A 413 is answered before the body was read; the adapter then drops the rest
 * of the upload by closing the socket, and a keep-alive client would send its
 * next request on that dead connection. `Connection: close` tells it not to.
 */
function closingAfterRefusedBody(fetch: Fetch): Fetch {
  return async (request, env) => {
    const response = await fetch(request, env);
    if (response.status !== 413) return response;
    const headers = new Headers(response.headers);
    headers.set('connection', 'close');
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
}

/**
 * The gateway's options from the configuration: how tokens are verified, the
 * rate limit, and on a cluster with Redis the rate limit's shared store
 * (`<cluster>:rl:*` keys; the caller closes it).
 */
export async function gatewayOptionsFor(
  config: BflowConfig & { auth: AuthConfig },
): Promise<{ options: GatewayOptions; rateLimitStore?: RateLimitStore }> {
  const auth = config.auth.kind === 'secret' ? { secret: config.auth.secret } : { jwksUrl: config.auth.url };
  const failedAuth = { ...config.failedAuth };
  if (config.embedded || config.redisUrl === undefined)
    return { options: { auth, rateLimit: { ...config.rateLimit }, failedAuth } };
  const store = await RedisRateLimitStore.create({ url: config.redisUrl, prefix: config.cluster });
  return { options: { auth, rateLimit: { ...config.rateLimit, store }, failedAuth }, rateLimitStore: store };
}
