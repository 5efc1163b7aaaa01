import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { publicOnlyLookup, webhookUrlProblem } from './webhook-target.ts';

/** What one POST to a webhook came to. */
export type AttemptResult =
  | { kind: 'response'; status: number /** Retry-After of a 429/503, in ms. */; retryAfterMs?: number }
  | { kind: 'timeout' }
  | { kind: 'network'; message: string }
  /** The target is not one bflow may call (scheme, credentials, internal address). Never retried. */
  | { kind: 'refused'; message: string };

export interface WebhookRequest {
  url: string;
  body: Uint8Array;
  headers: Record<string, string>;
  timeoutMs: number;
  /** false: refuse loopback/private/link-local targets, also when a name resolves to one. */
  allowPrivate: boolean;
}

/** The `X-Bflow-Signature` value: `sha256=` and the hex HMAC-SHA256 of the raw body under the webhook's secret. */
export function webhookSignature(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Longest response body read (then dropped): a receiver's reply is never used. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * One POST with a hard deadline over the whole exchange (connect, send, status
 * line). Redirects are not followed (a 3xx is a response like any other),
 * the response body is drained and discarded, and no socket is kept alive.
 */
export function postWebhook(req: WebhookRequest): Promise<AttemptResult> {
  const problem = webhookUrlProblem(req.url, req.allowPrivate);
  if (problem !== undefined) return Promise.resolve({ kind: 'refused', message: problem });
  const url = new URL(req.url);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...req.headers, 'Content-Length': String(req.body.byteLength), Connection: 'close' },
        agent: false,
        ...(req.allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('error', () => undefined);
        const result: AttemptResult = { kind: 'response', status: res.statusCode ?? 0 };
        const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
        if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
        finish(result);
        res.resume();
      },
    );
    const timer = setTimeout(() => {
      finish({ kind: 'timeout' });
      request.destroy();
    }, req.timeoutMs);
    request.on('error', (err: Error & { code?: string }) => {
      finish(
        err.code === 'webhook_target_refused'
          ? { kind: 'refused', message: err.message }
          : { kind: 'network', message: err.code ?? err.message },
      );
    });
    request.end(req.body);
  });
}

/** Retry-After as seconds or an HTTP date, in ms (undefined when absent or unreadable). */
function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
