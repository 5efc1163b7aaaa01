import { z } from '@hono/zod-openapi';
import {
  NOTIFICATION_CHANNELS,
  NOTIFICATION_KINDS,
  TEMPLATE_PARTS,
  type NotificationKind,
  type TemplatePart,
} from '../../store/notification-ports.ts';
import { MAX_TEMPLATE_LENGTH } from '../../actors/notifications/index.ts';
import { instant } from './common.ts';

const channel = z.enum(NOTIFICATION_CHANNELS);
const channelList = z
  .array(channel)
  .max(NOTIFICATION_CHANNELS.length)
  .refine((l) => new Set(l).size === l.length, 'each channel once');

/** A notification's id (its sequence number) in a path. */
export const notificationIdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'a notification id from the list')
    .openapi({ param: { name: 'id', in: 'path' }, example: '42' }),
});

export const notificationSchema = z
  .object({
    id: z.string(),
    kind: z.enum(NOTIFICATION_KINDS),
    title: z.string(),
    body: z.string(),
    link: z.string(),
    runtimeId: z.string(),
    app: z.string(),
    docId: z.string(),
    createdAt: instant,
    readAt: instant.nullable(),
  })
  .openapi('Notification');

export const notificationListSchema = z.object({
  items: z.array(notificationSchema),
  nextCursor: z.string().nullable(),
  unread: z.number().int(),
});

const kindChannels = z
  .object(
    Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, channelList.optional()])) as Record<
      NotificationKind,
      z.ZodOptional<typeof channelList>
    >,
  )
  .strict();

export const preferencesBody = z
  .object({
    channels: kindChannels.default({}),
    pushTokens: z.array(z.string().min(1).max(4096)).max(10).default([]),
  })
  .strict()
  .openapi('NotificationPreferences', {
    example: { channels: { task_assigned: ['in_app', 'email'], comment_added: ['in_app'] }, pushTokens: [] },
  });

const partTemplates = z
  .object(
    Object.fromEntries(TEMPLATE_PARTS.map((p) => [p, z.string().max(MAX_TEMPLATE_LENGTH).optional()])) as Record<
      TemplatePart,
      z.ZodOptional<z.ZodString>
    >,
  )
  .strict();

export const settingsBody = z
  .object({
    defaultChannels: channelList.default(['in_app', 'email']),
    disabledChannels: channelList.default([]),
    templates: z
      .object(
        Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, partTemplates.optional()])) as Record<
          NotificationKind,
          z.ZodOptional<typeof partTemplates>
        >,
      )
      .strict()
      .default({}),
  })
  .strict()
  .openapi('NotificationSettings', {
    example: {
      defaultChannels: ['in_app', 'email'],
      disabledChannels: ['sms'],
      templates: { task_assigned: { subject: '{{runtime.docId}} waits for you, {{recipient.name}}' } },
    },
  });

export const deadLetterListSchema = z.object({
  items: z.array(
    z.object({
      dedupeKey: z.string(),
      channel: z.string(),
      recipient: z.string(),
      eventId: z.string(),
      kind: z.string(),
      attempts: z.number().int(),
      error: z.string(),
      at: instant,
    }),
  ),
  nextCursor: z.string().nullable(),
});
