/** `scheme://user:password@` in a URL: the password part. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:)[^\s/@]+@/gi;

/** `text` with the password of every URL in it replaced by `***` (drivers put DSNs in their messages). */
export const redactCredentials = (text: string): string => text.replace(URL_PASSWORD, '$1***@');

/** What the gateway logs of an error (`{ err: loggableError(e) }`): type, code, message and stack, without URL passwords. */
export function loggableError(err: unknown): unknown {
  if (typeof err === 'string') return redactCredentials(err);
  // Duck-typed: an Error of another realm (Node's own, a worker's) is no `instanceof Error` here.
  if (typeof err !== 'object' || err === null || typeof (err as { message?: unknown }).message !== 'string') return err;
  const e = err as { name?: unknown; message: string; stack?: unknown; code?: unknown };
  const out: Record<string, unknown> = {
    type: typeof e.name === 'string' ? e.name : 'Error',
    message: redactCredentials(e.message),
  };
  if (e.code !== undefined) out['code'] = e.code;
  if (typeof e.stack === 'string') out['stack'] = redactCredentials(e.stack);
  return out;
}
