import { StoreError } from './errors.ts';

/** Largest page a list may return (docs/api.md#pagination: `?limit` max 500). */
export const MAX_PAGE_LIMIT = 500;

/** Largest batch a timer or outbox poll may return. */
export const MAX_POLL_LIMIT = 10_000;

/** Refuses a page size outside 1..max (callers apply the default of 50 before). */
export function checkLimit(limit: number, max = MAX_PAGE_LIMIT): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new StoreError('invalid_record', `limit must be an integer from 1 to ${max}, got ${limit}`);
  }
  return limit;
}

/** Encodes a keyset position as an opaque base64url token. */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** Decodes a token of `encodeCursor` whose items have the given types; anything else is refused. */
export function decodeCursor<T extends readonly (string | number)[]>(
  cursor: string,
  shape: readonly ('string' | 'number')[],
): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new StoreError('invalid_record', 'malformed cursor', { cause: err });
  }
  // Numbers in our cursors are epoch ms and stage indexes: a non-integer or non-finite one (`1e400`) is not ours.
  const fits = (t: 'string' | 'number', v: unknown) =>
    t === 'number' ? Number.isSafeInteger(v) : typeof v === 'string';
  const ok = Array.isArray(value) && value.length === shape.length && shape.every((t, i) => fits(t, value[i]));
  if (!ok) throw new StoreError('invalid_record', 'malformed cursor');
  return value as unknown as T;
}

/** Keyset position of the runtime list: the last id served. */
export type RuntimeCursor = [id: string];
/** Keyset position of the inbox: `(assigned_at, runtime_id, stage)` of the last item served. */
export type InboxCursor = [assignedAt: number, runtimeId: string, stage: number];

export const decodeRuntimeCursor = (c: string): RuntimeCursor => decodeCursor<RuntimeCursor>(c, ['string']);
export const decodeInboxCursor = (c: string): InboxCursor =>
  decodeCursor<InboxCursor>(c, ['number', 'string', 'number']);

/** Builds a page from `limit + 1` fetched rows: the extra row only says that more exist. */
export function toPage<T>(
  rows: T[],
  limit: number,
  cursorOf: (last: T) => string,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
