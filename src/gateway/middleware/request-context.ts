import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Logger } from 'pino';
import { outsideTrace, type RequestTrace } from '../../shared/trace-scope.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { nodeResponse } from '../node-bindings.ts';
import { routeTemplate } from './http-metrics.ts';

/** What a client-sent X-Request-Id must look like to be echoed (else a fresh one is generated). */
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface RequestContextOptions {
  logger: Logger;
  /** @default crypto.randomUUID */
  newId?: () => string;
  /** The request's trace, when it is traced (GatewayDeps.traceOf). */
  traceOf?: ((request: Request) => RequestTrace | undefined) | undefined;
}

/**
 * First middleware: `requestId` (the client's `X-Request-Id` when sane, else
 * a new one) echoed on every response, errors included, and `logger`, a child
 * logger bound to it (handlers add tenant and runtime id). Each request ends
 * with one debug line `request` {method, route, status, ms}: the route
 * template, never the raw path or query (they may carry ids or a token).
 * A traced request's logger carries its trace and span ids, and `inTrace` its trace's scope.
 */
export function requestContext(options: RequestContextOptions): MiddlewareHandler<GatewayEnv> {
  const newId = options.newId ?? (() => crypto.randomUUID());
  return createMiddleware<GatewayEnv>(async (c, next) => {
    const started = performance.now();
    const sent = c.req.header('X-Request-Id');
    const id = sent !== undefined && SANE_ID.test(sent) ? sent : newId();
    const trace = options.traceOf?.(c.req.raw);
    const logger = options.logger.child(trace ? { requestId: id, ...trace.logFields } : { requestId: id });
    c.set('requestId', id);
    c.set('logger', logger);
    c.set('inTrace', trace?.inTrace ?? outsideTrace);
    // On Node, on the ServerResponse: on every response, errors included, without a WHATWG Headers (see fixedHeaders).
    const outgoing = nodeResponse(c);
    outgoing?.setHeader('X-Request-Id', id);
    await next();
    // Off Node, after next(): the response may be one onError built.
    if (!outgoing) c.res.headers.set('X-Request-Id', id);
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        {
          method: c.req.method,
          route: routeTemplate(c),
          status: c.res.status,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    }
  });
}
