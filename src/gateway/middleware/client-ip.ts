import type { Context } from 'hono';
import { nodeRequest } from '../node-bindings.ts';

/**
 * The client's IP address. With no trusted proxy (`trustedProxyHops` 0) it is the socket's peer; behind
 * `n` proxies that each append the address they received from to `X-Forwarded-For`, it is the n-th entry
 * from the right (entries further left are whatever the client wrote, so never trusted), or the peer when
 * the header has fewer entries (the request did not come through the proxies). Undefined only without a
 * socket (a test's `app.request`).
 */
export function clientIp(c: Context, trustedProxyHops: number): string | undefined {
  if (trustedProxyHops > 0) {
    const hops = (c.req.header('X-Forwarded-For') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const forwarded = hops[hops.length - trustedProxyHops];
    // What a client wrote into a header can be anything: a bounded key.
    if (forwarded !== undefined) return forwarded.slice(0, 64);
  }
  return nodeRequest(c)?.socket?.remoteAddress || undefined;
}
