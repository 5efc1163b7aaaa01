import { z } from '@hono/zod-openapi';
import { ID_CHARS_MESSAGE, ID_PATTERN, MAX_ID_LENGTH } from '../ids.ts';
import { MAX_DOCUMENT_BYTES } from '../../engine/index.ts';

/**
 * Shapes shared by every route group: ids in paths, list paging, the problem
 * body, the Idempotency-Key header. Used both to validate requests and to
 * describe them in the OpenAPI document.
 */

/** An id in a path or body: 1–100 of letters, digits and `_ . : @ -` (the store's id columns). */
export const idSchema = z.string().min(1).max(MAX_ID_LENGTH.id).regex(ID_PATTERN, ID_CHARS_MESSAGE);

/** A company id: like {@link idSchema}, at most 64 characters (the store's company columns). */
export const companyIdSchema = z.string().min(1).max(MAX_ID_LENGTH.company).regex(ID_PATTERN, ID_CHARS_MESSAGE);

export const idParam = (name: string, example: string) => idSchema.openapi({ param: { name, in: 'path' }, example });

/**
 * A JSON object of any fields (a document, a patch). zod's record silently
 * drops an own `__proto__` key (JSON.parse makes one), so the rest of the
 * object would be accepted and the engine's reserved-key check never see it;
 * it is refused here instead, at its path. So is a value nested deeper than
 * {@link MAX_FIELDS_DEPTH}, or one larger than {@link MAX_FIELDS_BYTES}.
 */
export const fieldsObject = () =>
  z.preprocess(
    (value, ctx) => {
      if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
        ctx.addIssue({ code: 'custom', message: 'reserved key', path: ['__proto__'], input: value });
      }
      const deep = pathDeeperThan(value, MAX_FIELDS_DEPTH);
      if (deep !== undefined)
        ctx.addIssue({
          code: 'custom',
          message: `nested deeper than ${MAX_FIELDS_DEPTH} levels`,
          path: deep,
          input: value,
        });
      else if (
        typeof value === 'object' &&
        value !== null &&
        Buffer.byteLength(JSON.stringify(value)) > MAX_FIELDS_BYTES
      ) {
        ctx.addIssue({ code: 'custom', message: `larger than ${MAX_FIELDS_BYTES} bytes of JSON`, input: value });
      }
      return value;
    },
    z.record(z.string(), z.unknown()),
  );

/**
 * Largest document or patch, in bytes of JSON. A command travels to its shard
 * as one NATS message and the runtime's state comes back as one, both under
 * the server's max_payload (1 MiB by default): a document near the 1 MiB
 * body limit made the request too big (503, retried in vain) or, worse, the
 * reply of a committed start too big (500). A quarter of it leaves room for
 * the envelope, the stages and the rest of the state.
 */
export const MAX_FIELDS_BYTES = MAX_DOCUMENT_BYTES;

/**
 * Deepest nesting of objects and arrays below a document or patch (its own
 * fields are level 1). Real
 * documents are a few levels deep; a value thousands of levels deep exhausts
 * the stack where a layer below recurses (clone, compare, serialise): it was
 * a 500.
 */
export const MAX_FIELDS_DEPTH = 64;

/** The path of the first value nested deeper than `max` levels in `value`, or undefined (iterative: no recursion on hostile input). */
export function pathDeeperThan(value: unknown, max: number): (string | number)[] | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: v, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (path.length > max) return path.slice(0, max + 1);
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v);
    for (const [key, child] of entries)
      if (typeof child === 'object' && child !== null) stack.push({ value: child, path: [...path, key] });
  }
  return undefined;
}

/** `?limit=` (default 50, max 500) and an opaque `?cursor=` from the previous page's `nextCursor`. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ example: 50 }),
  cursor: z
    .string()
    .min(1)
    .max(512)
    .regex(/^[A-Za-z0-9_-]+$/, 'an opaque cursor from nextCursor')
    .optional(),
});

/** Idempotency keys: 1–128 of letters, digits and `_ . : -` (a UUID fits). */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
export const idempotencyKeySchema = z
  .string()
  .regex(IDEMPOTENCY_KEY, '1 to 128 of letters, digits and _ . : -')
  .openapi({ description: 'A repeat with the same key returns the first result and changes nothing.' });

export const idempotencyHeaders = z.object({
  'idempotency-key': idempotencyKeySchema.optional().openapi({ param: { name: 'idempotency-key', in: 'header' } }),
});

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: 'validation_failed' }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');
export type ProblemBody = z.infer<typeof problemSchema>;

/** Epoch ms as an ISO-8601 instant (every time the API returns). */
export const instant = z.string().openapi({ format: 'date-time', example: '2026-01-05T09:00:00.000Z' });
export const iso = (ms: number): string => new Date(ms).toISOString();

const problemContent = { 'application/problem+json': { schema: problemSchema } };

const DESCRIPTIONS: Record<number, string> = {
  401: 'No or invalid token',
  403: 'Wrong role (forbidden) or not an assignee (not_assignee)',
  404: 'No such object in the tenant (not_found)',
  409: 'Stale expectedRevision (version_conflict) or a conflicting write',
  413: 'Too many items or a body over 1 MiB (payload_too_large)',
  422: 'Invalid input (validation_failed with errors[]) or refused by the workflow',
  503: 'Shard or store unavailable; retry after Retry-After',
};

/** The problem+json responses of a route, by status (401 and 403 always apply). */
export function problems(...statuses: number[]) {
  const out: Record<number, { description: string; content: typeof problemContent }> = {};
  for (const s of [401, 403, ...statuses])
    out[s] = { description: DESCRIPTIONS[s] ?? 'Problem', content: problemContent };
  return out;
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});
