import type { MiddlewareHandler } from 'hono';
import { nodeResponse } from '../node-bindings.ts';

/**
 * The security headers of every response: hono's `secureHeaders()` defaults (no CSP: JSON needs none,
 * and /docs sets its own).
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
];

/**
 * Adds `headers` to every response, errors included, without replacing one the handler set itself.
 *
 * On Node they go on the `ServerResponse` before the handler runs: Node merges them with the headers the
 * adapter writes, which win. Setting them on hono's response instead made @hono/node-server turn each
 * response's headers into a WHATWG `Headers` object (undici's, ~5% of the gateway's CPU) only to copy them
 * out again. Off Node (`app.request` in tests) they are set on `c.res` after the handler.
 */
export function fixedHeaders(headers: readonly (readonly [string, string])[]): MiddlewareHandler {
  return async (c, next) => {
    const outgoing = nodeResponse(c);
    if (outgoing) {
      for (const [name, value] of headers) outgoing.setHeader(name, value);
      return next();
    }
    await next();
    for (const [name, value] of headers) if (!c.res.headers.has(name)) c.res.headers.set(name, value);
  };
}
