import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { settingsTemplateProblems } from '../../actors/notifications/index.ts';
import {
  DEFAULT_NOTIFICATION_SETTINGS,
  type NotificationPreferences,
  type NotificationSettings,
  type NotificationStore,
  type StoredNotification,
} from '../../store/notification-ports.ts';
import { ApiError } from '../api-error.ts';
import type { GatewayEnv, Principal } from '../gateway-env.ts';
import { principalFrom, requireRole } from '../middleware/auth.ts';
import { iso, json, jsonBody, pageQuery, problems } from '../schemas/common.ts';
import {
  deadLetterListSchema,
  notificationIdParams,
  notificationListSchema,
  preferencesBody,
  settingsBody,
} from '../schemas/notifications.ts';
import { notFound, paged, type ApiContext } from './route-kit.ts';

const tags = ['Notifications'];
const admin = [requireRole('admin')];

const listNotifications = createRoute({
  method: 'get',
  path: '/api/v1/notifications',
  tags,
  summary: "The caller's in-app notifications, newest first, with the unread count",
  request: { query: pageQuery },
  responses: { 200: json(notificationListSchema, 'A page of notifications'), ...problems(422, 503) },
});
const readOne = createRoute({
  method: 'post',
  path: '/api/v1/notifications/{id}/read',
  tags,
  summary: 'Mark one notification read',
  request: { params: notificationIdParams },
  responses: { 204: { description: 'Read' }, ...problems(404, 422, 503) },
});
const readAll = createRoute({
  method: 'post',
  path: '/api/v1/notifications/read-all',
  tags,
  summary: "Mark every one of the caller's notifications read",
  responses: {
    200: json(notificationListSchema.pick({ unread: true }).extend({}), 'How many were marked (unread is now 0)'),
    ...problems(503),
  },
});
const getPreferences = createRoute({
  method: 'get',
  path: '/api/v1/notifications/preferences',
  tags,
  summary: "The caller's notification preferences (channels per kind; a kind absent uses the tenant's defaults)",
  responses: { 200: json(preferencesBody, 'The preferences'), ...problems(503) },
});
const putPreferences = createRoute({
  method: 'put',
  path: '/api/v1/notifications/preferences',
  tags,
  summary: "Replace the caller's notification preferences",
  request: { body: jsonBody(preferencesBody) },
  responses: { 200: json(preferencesBody, 'The preferences as saved'), ...problems(422, 503) },
});
const getSettings = createRoute({
  method: 'get',
  path: '/api/v1/notifications/settings',
  tags,
  middleware: admin,
  summary: "The tenant's notification channels and templates",
  responses: { 200: json(settingsBody, 'The settings'), ...problems(503) },
});
const putSettings = createRoute({
  method: 'put',
  path: '/api/v1/notifications/settings',
  tags,
  middleware: admin,
  summary: "Replace the tenant's notification channels and templates (a template that does not parse is refused)",
  request: { body: jsonBody(settingsBody) },
  responses: { 200: json(settingsBody, 'The settings as saved'), ...problems(422, 503) },
});
const listDeadLetters = createRoute({
  method: 'get',
  path: '/api/v1/notifications/dead-letters',
  tags,
  middleware: [requireRole('admin', 'integration')],
  summary: 'Notifications given up (provider refused, or failed past the last attempt), newest first',
  request: { query: pageQuery },
  responses: { 200: json(deadLetterListSchema, 'A page of dead letters'), ...problems(422, 503) },
});

const view = (n: StoredNotification) => ({
  id: String(n.seq),
  kind: n.kind,
  title: n.title,
  body: n.body,
  link: n.link,
  runtimeId: n.runtimeId,
  app: n.app,
  docId: n.docId,
  createdAt: iso(n.createdAt),
  readAt: n.readAt === undefined ? null : iso(n.readAt),
});

function storeOf(ctx: ApiContext): NotificationStore {
  const store = ctx.deps.notifications;
  if (!store) throw new ApiError(503, 'unavailable', 'notifications are not configured on this gateway');
  return store;
}

/** How often an idle stream re-reads the store (a lost wake-up costs at most this) and sends a keep-alive. */
const STREAM_POLL_MS = 15_000;
/** A stream ends after this (or `?wait=` seconds); the client reconnects with Last-Event-ID. */
const MAX_STREAM_SECONDS = 3600;
/** Notifications one stream read sends at most. */
const STREAM_BATCH = 100;

export function registerNotificationRoutes(app: OpenAPIHono<GatewayEnv>, ctx: ApiContext): void {
  app.openapi(listNotifications, async (c) => {
    const { tenant, employee } = principalFrom(c);
    const { limit, cursor } = c.req.valid('query');
    const page = await paged(storeOf(ctx).list(tenant, employee, limit, cursor));
    return c.json({ items: page.items.map(view), nextCursor: page.nextCursor, unread: page.unread }, 200);
  });

  app.openapi(readAll, async (c) => {
    const { tenant, employee } = principalFrom(c);
    await storeOf(ctx).markAllRead(tenant, employee, ctx.now());
    return c.json({ unread: 0 }, 200);
  });

  app.openapi(readOne, async (c) => {
    const { tenant, employee } = principalFrom(c);
    const { id } = c.req.valid('param');
    if (!(await storeOf(ctx).markRead(tenant, employee, Number(id), ctx.now()))) throw notFound('notification', id);
    return c.body(null, 204);
  });

  app.openapi(getPreferences, async (c) => {
    const { tenant, employee } = principalFrom(c);
    const found = (await storeOf(ctx).preferences(tenant, [employee])).get(employee);
    return c.json(found ?? { channels: {}, pushTokens: [] }, 200);
  });

  app.openapi(putPreferences, async (c) => {
    const { tenant, employee } = principalFrom(c);
    const body = c.req.valid('json') as NotificationPreferences;
    await storeOf(ctx).setPreferences(tenant, employee, body, ctx.now());
    return c.json(body, 200);
  });

  app.openapi(getSettings, async (c) => {
    const settings = (await storeOf(ctx).settings(principalFrom(c).tenant)) ?? DEFAULT_NOTIFICATION_SETTINGS;
    return c.json(settings, 200);
  });

  app.openapi(putSettings, async (c) => {
    const { tenant } = principalFrom(c);
    const body = c.req.valid('json') as NotificationSettings;
    const bad = settingsTemplateProblems(body);
    if (bad.length > 0)
      throw new ApiError(
        422,
        'template_invalid',
        `${bad.length} template(s) do not parse; fix them at the positions given`,
        bad.map((p) => ({ path: p.path, message: p.message })),
      );
    await storeOf(ctx).setSettings(tenant, body, ctx.now());
    ctx.deps.onNotificationSettingsChanged?.(tenant);
    return c.json(body, 200);
  });

  app.openapi(listDeadLetters, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const page = await paged(storeOf(ctx).deadLetters(principalFrom(c).tenant, limit, cursor));
    const items = page.items.map(({ tenant: _t, at, ...d }) => ({ ...d, at: iso(at) }));
    return c.json({ items, nextCursor: page.nextCursor }, 200);
  });

  // Server-Sent Events: not in the OpenAPI document (text/event-stream); docs/api.md#notifications describes it.
  app.get('/api/v1/notifications/stream', async (c) => {
    const principal = principalFrom(c);
    const store = storeOf(ctx);
    const resumeFrom = c.req.header('last-event-id') ?? c.req.query('after');
    if (resumeFrom !== undefined && !/^(0|[1-9][0-9]{0,15})$/.test(resumeFrom))
      throw new ApiError(422, 'validation_failed', 'Last-Event-ID must be an event id this stream sent', [
        { path: 'header.last-event-id', message: 'a notification id' },
      ]);
    const wait = c.req.query('wait');
    if (wait !== undefined && !/^(0|[1-9][0-9]{0,3})$/.test(wait))
      throw new ApiError(422, 'validation_failed', 'wait must be whole seconds from 0 to 3600', [
        { path: 'query.wait', message: 'whole seconds, 0 to 3600' },
      ]);
    const endAt =
      Date.now() + Math.min(MAX_STREAM_SECONDS, wait === undefined ? MAX_STREAM_SECONDS : Number(wait)) * 1000;
    // Without Last-Event-ID the stream starts now: the list endpoint serves what came before.
    const after =
      resumeFrom === undefined
        ? ((await store.list(principal.tenant, principal.employee, 1)).items[0]?.seq ?? 0)
        : Number(resumeFrom);
    return streamSSE(c, (stream) => followNotifications(stream, store, ctx, principal, after, endAt));
  });
}

/** Sends the recipient's notifications after `after` as they come, until the client goes. */
async function followNotifications(
  stream: SSEStreamingApi,
  store: NotificationStore,
  ctx: ApiContext,
  principal: Principal,
  after: number,
  endAt: number,
): Promise<void> {
  let last = after;
  let told = true;
  let wake: (() => void) | undefined;
  const unsubscribe = ctx.deps.notificationSignal?.subscribe((tenant, recipient) => {
    if (tenant !== principal.tenant || recipient !== principal.employee) return;
    told = true;
    wake?.();
  });
  stream.onAbort(() => wake?.());
  try {
    while (!stream.aborted && !stream.closed) {
      told = false;
      const items = await store.after(principal.tenant, principal.employee, last, STREAM_BATCH);
      for (const n of items) {
        await stream.writeSSE({ id: String(n.seq), event: 'notification', data: JSON.stringify(view(n)) });
        last = n.seq;
      }
      if (items.length === STREAM_BATCH || told) continue;
      const left = endAt - Date.now();
      if (left <= 0) return;
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.min(STREAM_POLL_MS, left));
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      wake = undefined;
      if (!woken && !stream.aborted) await stream.write(': keep-alive\n\n');
    }
  } finally {
    unsubscribe?.();
  }
}
