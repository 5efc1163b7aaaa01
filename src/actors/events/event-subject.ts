/**
 * Event subjects: `<prefix>.events.<tenant>.<app>.<type>`, one NATS token per
 * field, so consumers filter with wildcards, e.g. every event of one app:
 * `bflow.events.acme.purchase%2Eorder.*`.
 *
 * Token encoding (percent-style, canonical, reversible): printable ASCII
 * (0x21–0x7E) stays as is, except `%`, `.`, `*` and `>`; every other
 * character — those four, space and other whitespace, control characters,
 * DEL and all non-ASCII — is written as `%XX` per UTF-8 byte, hex in upper
 * case. So `purchase.order` → `purchase%2Eorder`, `café` → `caf%C3%A9`.
 * Each string has exactly one encoding, so a consumer builds its filter with
 * {@link encodeToken} and gets byte-equal subjects. The empty string has no
 * token and is refused; lone UTF-16 surrogates come back as U+FFFD.
 */

/**
 * The stream's de-duplication id (`Nats-Msg-Id`) of an event: its id qualified by its tenant. Event ids
 * (`<runtime>:<seq>:<index>`) are unique within a tenant only, and the stream is shared by every tenant: two
 * tenants' runtimes with the same id would otherwise have the second one's events dropped as duplicates.
 * The tenant is written as a subject token (which never holds `.`), so the mapping is one-to-one.
 */
export function eventMsgId(event: { tenant: string; id: string }): string {
  return `${encodeToken(event.tenant)}.${event.id}`;
}

/** The fields of a DomainEvent that name its subject. */
export interface EventSubjectFields {
  tenant: string;
  app: string;
  type: string;
}

const PLAIN = /^[\x21-\x24\x26-\x29\x2b-\x2d\x2f-\x3d\x3f-\x7e]+$/;
const PLAIN_CHAR = /[\x21-\x24\x26-\x29\x2b-\x2d\x2f-\x3d\x3f-\x7e]/;
const ENCODED = /^(?:[\x21-\x24\x26-\x29\x2b-\x2d\x2f-\x3d\x3f-\x7e]|%[0-9A-F]{2})+$/;
const utf8 = new TextEncoder();

/** Tokens already encoded: every event of a command encodes its tenant, app and type (`purchase.order` is not plain). */
const encodedTokens = new Map<string, string>();
const MAX_ENCODED_TOKENS = 10_000;

/** One subject token for `value` (see the module comment for the scheme). */
export function encodeToken(value: string): string {
  if (value.length === 0) throw new RangeError('an empty string cannot be a subject token');
  if (PLAIN.test(value)) return value;
  let token = encodedTokens.get(value);
  if (token === undefined) {
    token = percentEncode(value);
    if (encodedTokens.size >= MAX_ENCODED_TOKENS) encodedTokens.clear();
    encodedTokens.set(value, token);
  }
  return token;
}

function percentEncode(value: string): string {
  let out = '';
  for (const ch of value) {
    if (PLAIN_CHAR.test(ch)) out += ch;
    else for (const byte of utf8.encode(ch)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The value an {@link encodeToken} token stands for; throws on anything encodeToken cannot produce. */
export function decodeToken(token: string): string {
  if (!ENCODED.test(token)) throw new RangeError(`not an encoded subject token: ${JSON.stringify(token)}`);
  if (!token.includes('%')) return token;
  try {
    return decodeURIComponent(token);
  } catch (err) {
    throw new RangeError(`not an encoded subject token: ${JSON.stringify(token)}`, { cause: err });
  }
}

/** The subject an event is published on. */
export function eventSubject(prefix: string, event: EventSubjectFields): string {
  return `${eventRoot(prefix)}.${encodeToken(event.tenant)}.${encodeToken(event.app)}.${encodeToken(event.type)}`;
}

/**
 * A subscription filter over events; omitted fields match any value.
 * @example eventFilter('bflow', { tenant: 'acme', app: 'purchase.order' }) // 'bflow.events.acme.purchase%2Eorder.*'
 */
export function eventFilter(prefix: string, fields: Partial<EventSubjectFields> = {}): string {
  const token = (v: string | undefined): string => (v === undefined ? '*' : encodeToken(v));
  return `${eventRoot(prefix)}.${token(fields.tenant)}.${token(fields.app)}.${token(fields.type)}`;
}

/** The fields of an event subject under `prefix`, or undefined when it is not one. */
export function parseEventSubject(prefix: string, subject: string): EventSubjectFields | undefined {
  return parseFieldsUnder(`${eventRoot(prefix)}.`, subject);
}

/** The fields of a webhook queue subject under `prefix` ({@link webhookQueueSubject}), or undefined when it is not one. */
export function parseWebhookQueueSubject(prefix: string, subject: string): EventSubjectFields | undefined {
  return parseFieldsUnder(`${webhookQueueRoot(prefix)}.`, subject);
}

function parseFieldsUnder(root: string, subject: string): EventSubjectFields | undefined {
  if (!subject.startsWith(root)) return undefined;
  const tokens = subject.slice(root.length).split('.');
  if (tokens.length !== 3) return undefined;
  try {
    const [tenant, app, type] = tokens.map(decodeToken) as [string, string, string];
    return { tenant, app, type };
  } catch {
    return undefined;
  }
}

/**
 * The subject an event some webhook wants is queued on for delivery, `<prefix>.webhook-queue.<tenant>.<app>.<type>`
 * (the same tokens as its event subject, under another root: the webhook queue stream binds `<root>.>`).
 */
export function webhookQueueSubject(prefix: string, event: EventSubjectFields): string {
  return `${webhookQueueRoot(prefix)}.${encodeToken(event.tenant)}.${encodeToken(event.app)}.${encodeToken(event.type)}`;
}

/** `<prefix>.webhook-queue`, the root of the webhook queue's subjects. */
export function webhookQueueRoot(prefix: string): string {
  eventRoot(prefix); // validates the prefix
  return `${prefix}.webhook-queue`;
}

/** `<prefix>.events`, the root every event subject of a cluster shares (the stream binds `<root>.>`). */
export function eventRoot(prefix: string): string {
  if (!/^[^\s.*>]+(?:\.[^\s.*>]+)*$/.test(prefix))
    throw new RangeError(`invalid subject prefix: ${JSON.stringify(prefix)}`);
  return `${prefix}.events`;
}

/** NATS subject matching: `*` matches one token, a final `>` one or more. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const token = f[i];
    if (token === '>' && i === f.length - 1) return s.length > i;
    if (i >= s.length || (token !== '*' && token !== s[i])) return false;
  }
  return f.length === s.length;
}
