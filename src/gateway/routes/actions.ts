import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { ShardRequest } from '../../actors/bus/index.ts';
import type { ActionCommand } from '../../engine/index.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import type { GatewayEnv, Principal } from '../gateway-env.ts';
import { loggableError } from '../loggable-error.ts';
import { idempotencyHeaders, idParam, json, jsonBody, problems } from '../schemas/common.ts';
import {
  actionBody,
  batchBody,
  batchResultSchema,
  runtimeViewSchema,
  type ActionBody,
  type BatchItem,
  type BatchResult,
} from '../schemas/runtimes.ts';
import { problemBody } from '../problems/problem-body.ts';
import { toProblem } from '../problems/to-problem.ts';
import { sendCommand, type RequestVars } from '../command-log.ts';
import { idempotencyKeyOf, type ApiContext } from './route-kit.ts';

const tags = ['Runtimes'];
const middleware = [requireRole('member', 'integration', 'admin')];

const postAction = createRoute({
  method: 'post',
  path: '/api/v1/runtimes/{id}/actions',
  tags,
  middleware,
  summary: 'Act on a runtime (approve, reject, return, update, …) as the caller',
  request: { params: z.object({ id: idParam('id', 'rt-1') }), headers: idempotencyHeaders, body: jsonBody(actionBody) },
  responses: { 200: json(runtimeViewSchema, 'The runtime after the action'), ...problems(404, 409, 422, 503) },
});

const postBatch = createRoute({
  method: 'post',
  path: '/api/v1/actions/batch',
  tags,
  middleware,
  summary: 'Many actions at once: items of different runtimes run concurrently, those of one runtime in order',
  request: { headers: idempotencyHeaders, body: jsonBody(batchBody) },
  responses: { 200: json(batchResultSchema, 'One result per item, in order'), ...problems(422) },
});

type CommandFields = Omit<ActionBody, 'expectedRevision'>;

/** The engine command: the caller is the actor; `admin` from the role, never from the body. */
function commandOf(principal: Principal, fields: CommandFields): ActionCommand {
  const { action, ...rest } = fields;
  const command: ActionCommand = { type: action, actor: principal.employee, admin: principal.roles.has('admin') };
  for (const [k, v] of Object.entries(rest))
    if (v !== undefined) (command as unknown as Record<string, unknown>)[k] = v;
  return command;
}

function commandRequest(
  principal: Principal,
  runtimeId: string,
  body: ActionBody,
  idempotencyKey: string,
): ShardRequest {
  const { expectedRevision, ...fields } = body;
  const request: ShardRequest = {
    kind: 'command',
    tenant: principal.tenant,
    runtimeId,
    command: commandOf(principal, fields),
    idempotencyKey,
  };
  if (expectedRevision !== undefined) request.expectedRevision = expectedRevision;
  return request;
}

export function registerActionRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  /** Sends one command (its log line written) and answers the caller's view of the committed state. */
  const act = async (request: RequestVars, principal: Principal, runtimeId: string, body: ActionBody, key: string) => {
    const reply = await sendCommand(
      ctx.deps.router,
      request,
      principal,
      commandRequest(principal, runtimeId, body, key),
    );
    return { view: await ctx.view(reply.state, principal), replayed: reply.replayed === true };
  };

  app.openapi(postAction, async (c) => {
    const key = idempotencyKeyOf(ctx, c.req.valid('header')['idempotency-key']);
    const { view, replayed } = await act(c.var, principalFrom(c), c.req.valid('param').id, c.req.valid('json'), key);
    if (replayed) c.header('Idempotency-Replayed', 'true');
    return c.json(view, 200);
  });

  app.openapi(postBatch, async (c) => {
    const principal = principalFrom(c);
    const base = idempotencyKeyOf(ctx, c.req.valid('header')['idempotency-key']);
    const runOne = async (item: BatchItem, index: number): Promise<BatchResult> => {
      const { runtimeId, idempotencyKey = `${base}:${index}`, ...body } = item;
      try {
        const { view } = await act(c.var, principal, runtimeId, body, idempotencyKey);
        return { runtimeId, status: 200, runtime: view };
      } catch (err) {
        return { runtimeId, ...failed(c.get('logger') ?? ctx.deps.logger, err) };
      }
    };
    return c.json({ results: await inRuntimeOrder(c.req.valid('json').items, runOne) }, 200);
  });
}

/** A failed item's status and problem (the app's error mapping); an unexpected error is logged and reported as `internal`. */
function failed(logger: Logger, err: unknown): Pick<BatchResult, 'status' | 'problem'> {
  const problem = toProblem(err);
  if (problem.unexpected) {
    logger.error({ err: loggableError(err) }, 'batch item failed');
    // The item says only "internal error": the batch answers 200, and the log line above has the cause.
    return { status: 500, problem: problemBody({ status: 500, code: 'internal', detail: 'internal error' }) };
  }
  return { status: problem.status, problem: problemBody(problem) };
}

/**
 * Runs every item, answering in item order: items of different runtimes run
 * concurrently, items of the same runtime one after the other in batch order
 * (concurrent sends could reach the shard in any order).
 */
async function inRuntimeOrder<T extends { runtimeId: string }, R>(
  items: readonly T[],
  run: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const tails = new Map<string, Promise<unknown>>();
  return Promise.all(
    items.map((item, index) => {
      const previous = tails.get(item.runtimeId) ?? Promise.resolve();
      const result = previous.then(() => run(item, index));
      tails.set(item.runtimeId, result);
      return result;
    }),
  );
}
