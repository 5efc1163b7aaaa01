import type { Context } from 'hono';
import type { ProblemBody } from '../schemas/common.ts';
import { titleOf } from './problem-table.ts';
import type { HttpProblem } from './to-problem.ts';

/** `type` URI of a problem: one per stable code. */
export const problemType = (code: string): string => `urn:bflow:problem:${code}`;

/** The RFC 9457 body of a problem: of an error response, and of each failed item of a batch. */
export function problemBody(p: HttpProblem): ProblemBody {
  const body: ProblemBody = {
    type: problemType(p.code),
    title: titleOf(p.status),
    status: p.status,
    detail: p.detail,
    code: p.code,
  };
  if (p.errors !== undefined && p.errors.length > 0)
    body.errors = p.errors.map((e) => ({ path: e.path, message: e.message }));
  return body;
}

/**
 * An `application/problem+json` response: the one shape of every gateway error.
 * `Retry-After` (whole seconds, at least 1) when the problem has one; `WWW-Authenticate: Bearer` on 401.
 * @example return problemResponse(c, { status: 404, code: 'not_found', detail: `runtime ${id} not found` });
 */
export function problemResponse(c: Context, p: HttpProblem): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (p.retryAfter !== undefined) headers['Retry-After'] = String(Math.max(1, Math.ceil(p.retryAfter)));
  if (p.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="bflow"';
  return c.body(JSON.stringify(problemBody(p)), p.status as 400, headers);
}
