/**
 * What an id the gateway accepts looks like: in paths, bodies and token
 * claims. The limits are the store's columns (an id that cannot be stored
 * must be refused here, as a 4xx, never reach MySQL as a 5xx), and the
 * charset has no spaces: MySQL compares VARCHARs with PAD SPACE, so
 * `"acme "` would match tenant `acme`'s rows.
 */
export const ID_PATTERN = /^[A-Za-z0-9_.:@-]+$/;

export const ID_CHARS_MESSAGE = 'use letters, digits and _ . : @ -';

/** Longest id of each kind (MySQL column widths: tenant and company 64, employees, groups, workflows, documents' ids 100). */
export const MAX_ID_LENGTH = { tenant: 64, company: 64, id: 100 } as const;

/** True when `value` is an id of at most `max` characters. */
export function isId(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max && ID_PATTERN.test(value);
}
