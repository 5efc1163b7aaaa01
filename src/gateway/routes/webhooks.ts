import { createHash } from 'node:crypto';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { webhookUrlProblem } from '../../actors/webhooks/index.ts';
import { MAX_WEBHOOKS_PER_TENANT, type WebhookRecord, type WebhookStore } from '../../store/webhook-ports.ts';
import { ApiError } from '../api-error.ts';
import type { GatewayEnv } from '../gateway-env.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import { idempotencyHeaders, iso, json, jsonBody, pageQuery, problems } from '../schemas/common.ts';
import {
  webhookBody,
  webhookIdSchema,
  webhookListSchema,
  webhookSchema,
  type WebhookBody,
} from '../schemas/webhooks.ts';
import { notFound, paged, type ApiContext } from './route-kit.ts';

const tags = ['Webhooks'];
const middleware = [requireRole('admin', 'integration')];
const idParams = z.object({ id: webhookIdSchema.openapi({ param: { name: 'id', in: 'path' }, example: 'wh_3f2a' }) });

const createWebhook = createRoute({
  method: 'post',
  path: '/api/v1/webhooks',
  tags,
  middleware,
  summary: "Register a webhook: the tenant's events of the given types are POSTed to the URL, signed with the secret",
  request: { headers: idempotencyHeaders, body: jsonBody(webhookBody) },
  responses: { 201: json(webhookSchema, 'The webhook (without its secret)'), ...problems(422) },
});
const listWebhooks = createRoute({
  method: 'get',
  path: '/api/v1/webhooks',
  tags,
  middleware,
  summary: "The tenant's webhooks, by id (secrets never returned)",
  request: { query: pageQuery },
  responses: { 200: json(webhookListSchema, 'A page of webhooks'), ...problems(422) },
});
const getWebhook = createRoute({
  method: 'get',
  path: '/api/v1/webhooks/{id}',
  tags,
  middleware,
  summary: 'A webhook (without its secret)',
  request: { params: idParams },
  responses: { 200: json(webhookSchema, 'The webhook'), ...problems(404, 422) },
});
const deleteWebhook = createRoute({
  method: 'delete',
  path: '/api/v1/webhooks/{id}',
  tags,
  middleware,
  summary: 'Remove a webhook (events already being delivered may still arrive)',
  request: { params: idParams },
  responses: { 204: { description: 'Removed' }, ...problems(404, 422) },
});

const view = (r: WebhookRecord) => ({ id: r.id, url: r.url, events: r.events, createdAt: iso(r.createdAt) });

/** With an Idempotency-Key the id is derived from it, so a repeat finds the first registration. */
function webhookId(ctx: ApiContext, key: string | undefined): string {
  return key === undefined
    ? `wh_${ctx.newId().replaceAll('-', '')}`.slice(0, 64)
    : `wh_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

const sameRegistration = (r: WebhookRecord, b: WebhookBody): boolean =>
  r.url === b.url &&
  r.secret === b.secret &&
  r.events.length === b.events.length &&
  r.events.every((e, i) => e === b.events[i]);

function storeOf(ctx: ApiContext): WebhookStore {
  const store = ctx.deps.webhooks;
  if (!store) throw new ApiError(503, 'unavailable', 'webhooks are not configured on this gateway');
  return store;
}

export function registerWebhookRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  app.openapi(createWebhook, async (c) => {
    const store = storeOf(ctx);
    const body = c.req.valid('json');
    const { tenant } = principalFrom(c);
    const problem = webhookUrlProblem(body.url, ctx.deps.webhookAllowPrivate ?? true);
    if (problem !== undefined)
      throw new ApiError(422, 'validation_failed', 'the webhook URL is not allowed', [
        { path: 'url', message: problem },
      ]);
    const key = c.req.valid('header')['idempotency-key'];
    const id = webhookId(ctx, key);
    const existing = key === undefined ? undefined : await store.get(tenant, id);
    if (existing === undefined && (await store.forTenant(tenant)).length >= MAX_WEBHOOKS_PER_TENANT) {
      throw new ApiError(
        422,
        'webhook_limit_reached',
        `a tenant has at most ${MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first`,
      );
    }
    const { record } = existing
      ? { record: existing }
      : await store.create({
          id,
          tenant,
          url: body.url,
          events: body.events,
          secret: body.secret,
          createdAt: ctx.now(),
        });
    if (key !== undefined && !sameRegistration(record, body)) {
      throw new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key registered a different webhook');
    }
    c.header('Location', `/api/v1/webhooks/${record.id}`);
    return c.json(view(record), 201);
  });

  app.openapi(listWebhooks, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const page = await paged(storeOf(ctx).list(principalFrom(c).tenant, limit, cursor));
    return c.json({ items: page.items.map(view), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getWebhook, async (c) => {
    const { id } = c.req.valid('param');
    const record = await storeOf(ctx).get(principalFrom(c).tenant, id);
    if (!record) throw notFound('webhook', id);
    return c.json(view(record), 200);
  });

  app.openapi(deleteWebhook, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await storeOf(ctx).delete(principalFrom(c).tenant, id))) throw notFound('webhook', id);
    return c.body(null, 204);
  });
}
