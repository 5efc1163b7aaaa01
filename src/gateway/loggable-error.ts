/** `scheme://user:password@` in a URL: the password part. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:)[^\s/@]+@/gi;

/** `text` with the password of every URL in it replaced by `***` (drivers put DSNs in their messages). */
export const redactCredentials = (text: string): string => text.replace(URL_PASSWORD, '$1***@');

/** What the gateway logs of an error (`{ err: loggableError(e) }`): type, code, message and stack, without URL passwords. */
export function loggableError(err: unknown): unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? redactCredentials(err) : err;
  const out: Record<string, unknown> = { type: err.name, message: redactCredentials(err.message) };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out['code'] = code;
  if (err.stack !== undefined) out['stack'] = redactCredentials(err.stack);
  return out;
}
