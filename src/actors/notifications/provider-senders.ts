import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';

/**
 * The senders of the channels outside bflow, one attempt each: email over
 * SMTP (nodemailer), SMS through a Twilio-compatible Messages API, push
 * through an FCM HTTP v1-compatible endpoint. Every attempt has a timeout and
 * says whether another could succeed.
 */

/** One message to one address of one channel. */
export interface OutgoingMessage {
  /** `<event id>|<recipient>|<channel>`: sent as a header (X-Bflow-Dedupe-Key) and, for email, in the Message-ID. */
  dedupeKey: string;
  /** Email address, phone number (E.164) or push device token. */
  to: string;
  subject: string;
  text: string;
  html: string;
  link: string;
}

export type AttemptResult = { ok: true } | { ok: false; retryable: boolean; error: string };

export type ProviderSend = (message: OutgoingMessage) => Promise<AttemptResult>;

/** Email over SMTP. */
export interface SmtpOptions {
  /** smtp:// or smtps:// URL, credentials included (BFLOW_SMTP_URL). */
  url: string;
  /** The From address (BFLOW_SMTP_FROM). */
  from: string;
  /** Connect, greeting and socket timeouts. @default 10_000 */
  timeoutMs?: number;
  /** The name this client gives in EHLO. @default the machine's hostname */
  clientName?: string;
}

/** Opens a pooled SMTP transport; `send` is one message, `close` ends the pool. */
export function smtpSender(options: SmtpOptions): { send: ProviderSend; close(): void } {
  const timeout = options.timeoutMs ?? 10_000;
  const url = new URL(options.url);
  const secure = url.protocol === 'smtps:';
  const transport = nodemailer.createTransport({
    pool: true,
    host: url.hostname,
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    ...(url.username === ''
      ? {}
      : { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }),
    // A local relay (the tests' sink, a dev server) may have no certificate: STARTTLS is used when offered.
    ignoreTLS: url.searchParams.get('tls') === 'off',
    ...(options.clientName === undefined ? {} : { name: options.clientName }),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  const send: ProviderSend = async (m) => {
    try {
      await transport.sendMail({
        from: options.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        // The same message id on every attempt of one (event, recipient): receivers can drop a repeat.
        messageId: `<${createHash('sha256').update(m.dedupeKey).digest('hex').slice(0, 40)}@bflow.notifications>`,
        headers: { 'X-Bflow-Dedupe-Key': m.dedupeKey },
      });
      return { ok: true };
    } catch (err) {
      const e = err as { responseCode?: number; message?: string; code?: string };
      // 5xx from the server will not change; 4xx, connection and timeout errors may pass later.
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
      return { ok: false, retryable: !permanent, error: `${e.code ?? 'SMTP'} ${e.message ?? String(err)}`.trim() };
    }
  };
  return { send, close: () => transport.close() };
}

/** SMS through a Twilio-compatible Messages API. */
export interface SmsOptions {
  /** API root, e.g. https://api.twilio.com (BFLOW_SMS_URL). */
  baseUrl: string;
  accountSid: string;
  authToken: string;
  /** The sending number. */
  from: string;
  /** @default 5_000 */
  timeoutMs?: number;
}

export function smsSender(options: SmsOptions): ProviderSend {
  const url = `${options.baseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  const auth = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  return (m) =>
    postOnce(
      url,
      {
        Authorization: auth,
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Bflow-Dedupe-Key': m.dedupeKey,
      },
      new URLSearchParams({ To: m.to, From: options.from, Body: m.text }).toString(),
      options.timeoutMs ?? 5_000,
    );
}

/** Push through an FCM HTTP v1-compatible endpoint. */
export interface PushOptions {
  /** API root, e.g. https://fcm.googleapis.com (BFLOW_PUSH_URL). */
  baseUrl: string;
  project: string;
  /** OAuth bearer token of the service account. */
  accessToken: string;
  /** @default 5_000 */
  timeoutMs?: number;
}

export function pushSender(options: PushOptions): ProviderSend {
  const url = `${options.baseUrl.replace(/\/$/, '')}/v1/projects/${encodeURIComponent(options.project)}/messages:send`;
  return (m) =>
    postOnce(
      url,
      {
        Authorization: `Bearer ${options.accessToken}`,
        'Content-Type': 'application/json',
        'X-Bflow-Dedupe-Key': m.dedupeKey,
      },
      JSON.stringify({
        message: {
          token: m.to,
          notification: { title: m.subject, body: m.text },
          data: { link: m.link, dedupeKey: m.dedupeKey },
        },
      }),
      options.timeoutMs ?? 5_000,
    );
}

/** One POST: 2xx sent; 408, 429, 5xx, timeouts and network errors may pass later; any other answer will not. */
async function postOnce(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptResult> {
  try {
    const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel().catch(() => undefined);
    if (response.ok) return { ok: true };
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    return { ok: false, retryable, error: `HTTP ${response.status}` };
  } catch (err) {
    const e = err as { name?: string; message?: string };
    return { ok: false, retryable: true, error: e.name === 'TimeoutError' ? 'timeout' : `network: ${e.message}` };
  }
}
