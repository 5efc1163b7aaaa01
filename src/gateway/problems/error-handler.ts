import type { ErrorHandler, NotFoundHandler } from 'hono';
import type { Logger } from 'pino';
import type { GatewayEnv } from '../gateway-env.ts';
import { loggableError } from '../loggable-error.ts';
import { problemResponse } from './problem-body.ts';
import { toProblem, type HttpProblem } from './to-problem.ts';

/** Node's error when the client closes the connection before its request body was read (`abortIncoming`). */
function isClientAbort(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return typeof e === 'object' && e !== null && e.code === 'ECONNRESET' && e.message === 'aborted';
}

const CLIENT_ABORT: HttpProblem = {
  status: 400,
  code: 'bad_request',
  detail: 'the client closed the connection before the request body was read',
};

/**
 * `app.onError`: the one place errors become responses (through {@link toProblem}).
 * A 5xx is logged with the request id, never shown. A client that hangs up
 * mid-body is the client's doing: a 400 (nobody reads it) and a debug line,
 * not a 500 with a stack in the error log for every upload an attacker abandons.
 */
export function errorHandler(fallbackLogger: Logger): ErrorHandler<GatewayEnv> {
  return (err, c) => {
    const logger = c.get('logger') ?? fallbackLogger;
    if (isClientAbort(err)) {
      logger.debug('client closed the connection before the request body was read');
      return problemResponse(c, CLIENT_ABORT);
    }
    const problem = toProblem(err);
    if (problem.status >= 500)
      logger.error({ err: loggableError(err), requestId: c.get('requestId'), code: problem.code }, 'request failed');
    return problemResponse(c, problem);
  };
}

/** `app.notFound`: unknown routes answer a 404 problem too. */
export const notFoundHandler: NotFoundHandler<GatewayEnv> = (c) =>
  problemResponse(c, {
    status: 404,
    code: 'not_found',
    detail: `no route for ${c.req.method} ${new URL(c.req.url).pathname}`,
  });
