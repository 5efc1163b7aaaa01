import type { ShardReply, ShardRequest } from '../actors/bus/index.ts';
import type { GatewayDeps } from './gateway-deps.ts';
import type { GatewayEnv, Principal } from './gateway-env.ts';
import { ShardProblemError, toProblem } from './problems/to-problem.ts';

/** What sendCommand takes of the request's context variables (`c.var`). */
export type RequestVars = Pick<GatewayEnv['Variables'], 'logger' | 'inTrace'>;

/** What a routed command came to, as its log line names it. */
export type CommandOutcome = 'ok' | 'replayed' | 'existing' | (string & {});

/**
 * Sends one command (a start or an action) to its shard and writes its one log line, at info:
 * `command` {requestId (the request logger's), user, tenant, workflow, app (starts), runtime, action,
 * outcome, status, ms}. `outcome` is `ok`, `replayed` (the idempotency key's first answer), `existing`
 * (a start that found the document's active runtime), or the problem code the client gets.
 * `workflow` is known once the node answered with the runtime. The request goes out in `inTrace`, the
 * HTTP request's trace (both from the request's context variables). Returns the ok reply; a problem
 * reply is thrown as ShardProblemError (the error mapping answers it by its code).
 */
export async function sendCommand(
  router: GatewayDeps['router'],
  { logger, inTrace }: RequestVars,
  principal: Principal,
  request: ShardRequest,
): Promise<Extract<ShardReply, { ok: true }>> {
  const started = performance.now();
  let outcome: CommandOutcome = 'error';
  let status = 500;
  let workflow: string | undefined;
  try {
    const reply = await inTrace(() => router.send(request));
    if (!reply.ok) throw new ShardProblemError(reply.problem);
    workflow = reply.state.runtime.workflowId;
    outcome = reply.replayed ? 'replayed' : reply.created === false ? 'existing' : 'ok';
    status = request.kind === 'start' && reply.created !== false ? 201 : 200;
    return reply;
  } catch (err) {
    ({ code: outcome, status } = toProblem(err));
    throw err;
  } finally {
    logger.info(
      {
        user: principal.employee,
        tenant: principal.tenant,
        ...(workflow === undefined ? {} : { workflow }),
        ...(request.kind === 'start' ? { app: request.app } : {}),
        runtime: request.runtimeId,
        action: request.kind === 'command' ? request.command.type : request.kind,
        outcome,
        status,
        ms: Math.round(performance.now() - started),
      },
      'command',
    );
  }
}
