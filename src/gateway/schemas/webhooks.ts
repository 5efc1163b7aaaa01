import { z } from '@hono/zod-openapi';
import { webhookUrlProblem, MAX_WEBHOOK_URL_LENGTH } from '../../actors/webhooks/index.ts';
import { EVENT_TYPES } from '../../engine/index.ts';
import { ID_CHARS_MESSAGE, ID_PATTERN } from '../ids.ts';
import { instant } from './common.ts';

/** Shortest webhook secret: 16 characters (128 bits when random). */
export const MIN_SECRET_LENGTH = 16;

/** A webhook id (the store's column: 64). */
export const webhookIdSchema = z.string().min(1).max(64).regex(ID_PATTERN, ID_CHARS_MESSAGE);

const eventType = z.enum([...EVENT_TYPES, '*']);

export const webhookBody = z
  .object({
    url: z
      .string()
      .max(MAX_WEBHOOK_URL_LENGTH)
      // Scheme, credentials and fragment here; private targets are the route's check (it depends on configuration).
      .superRefine((value, ctx) => {
        const problem = webhookUrlProblem(value, true);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
      })
      .openapi({ example: 'https://erp.example.com/hooks/bflow' }),
    events: z
      .array(eventType)
      .min(1)
      .max(EVENT_TYPES.length + 1)
      .refine((events) => new Set(events).size === events.length, 'each event type once')
      .openapi({
        description: 'Event types to deliver; "*" delivers every type.',
        example: ['stage.entered', 'runtime.finished'],
      }),
    secret: z
      .string()
      .min(MIN_SECRET_LENGTH)
      .max(256)
      .openapi({
        description: `Signs each delivery (X-Bflow-Signature: sha256=<hex HMAC of the body>); at least ${MIN_SECRET_LENGTH} characters. Never returned.`,
      }),
  })
  .openapi('WebhookInput');
export type WebhookBody = z.infer<typeof webhookBody>;

/** A webhook as the API returns it: never its secret. */
export const webhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    createdAt: instant,
  })
  .openapi('Webhook');

export const webhookListSchema = z
  .object({ items: z.array(webhookSchema), nextCursor: z.string().nullable() })
  .openapi('WebhookList');
