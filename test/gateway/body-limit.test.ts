import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serveHttp, type RunningServer } from '../../src/app/gateway-server.ts';
import { pino } from 'pino';
import { claims, hmacToken, SECRET, testApp } from './gateway-fixture.ts';

vi.mock('../../src/gateway/routes/index.ts', () => ({ registerApiRoutes: () => undefined }));

/**
 * The body limit as Node serves the app (@hono/node-server): by Content-Length, and by counting a chunked
 * body, which is then handed to the handler without a WHATWG stream in between.
 */
const LIMIT = 4_096;
const { app } = testApp({ bodyLimitBytes: LIMIT });
// What the middleware handed over: a chunked body read up to the limit arrives as the Node request's rawBody.
app.post('/api/v1/__test/raw', (c) => {
  const incoming = (c.env as { incoming?: { rawBody?: unknown } } | undefined)?.incoming;
  return c.json({ node: incoming !== undefined, rawBody: Buffer.isBuffer(incoming?.rawBody) });
});
let server: RunningServer;
let url = '';
const auth = { Authorization: `Bearer ${hmacToken(claims(), SECRET)}`, 'Content-Type': 'application/json' };

beforeAll(async () => {
  server = await serveHttp(app.fetch, 0, pino({ level: 'silent' }));
  url = `http://127.0.0.1:${server.port}/api/v1/__test/echo`;
});
afterAll(async () => {
  await server?.close(1_000);
});

/** A body sent chunked (no Content-Length), in `parts` pieces. */
function chunked(text: string, parts = 4): RequestInit {
  const bytes = new TextEncoder().encode(text);
  const size = Math.ceil(bytes.length / parts);
  const body = new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
      controller.close();
    },
  });
  return { method: 'POST', headers: auth, body, duplex: 'half' } as RequestInit;
}

const bodyOf = (name: string) => JSON.stringify({ name, n: 1 });

describe('gateway body limit over HTTP', () => {
  it('body limit - a body with Content-Length under the limit is read and validated; over it → 413', async () => {
    const ok = await fetch(url, { method: 'POST', headers: auth, body: bodyOf('x'.repeat(LIMIT - 100)) });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { name: string }).name).toHaveLength(LIMIT - 100);
    const big = await fetch(url, { method: 'POST', headers: auth, body: bodyOf('x'.repeat(LIMIT)) });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { code: string }).code).toBe('payload_too_large');
  });

  it('body limit - a chunked body under the limit is read whole; over it → 413; a bad one → 400', async () => {
    const ok = await fetch(url, chunked(bodyOf('y'.repeat(LIMIT - 100))));
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { name: string }).name).toBe('y'.repeat(LIMIT - 100));
    const big = await fetch(url, chunked(bodyOf('z'.repeat(LIMIT * 4)), 16));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { code: string }).code).toBe('payload_too_large');
    const bad = await fetch(url, chunked('{"name": "a",'));
    expect(bad.status).toBe(400);
    // The server still serves.
    expect((await fetch(url, { method: 'POST', headers: auth, body: bodyOf('after') })).status).toBe(200);
  });

  it('body limit - on Node the body is not read through a web stream: a chunked one is handed over as rawBody', async () => {
    const raw = url.replace('/echo', '/raw');
    expect(await (await fetch(raw, chunked(bodyOf('c')))).json()).toEqual({ node: true, rawBody: true });
    expect(await (await fetch(raw, { method: 'POST', headers: auth, body: bodyOf('l') })).json()).toEqual({
      node: true,
      rawBody: false,
    });
  });

  it('body limit - a GET carries no body and passes', async () => {
    const res = await fetch(url.replace('/echo', '/whoami'), { headers: { Authorization: auth.Authorization } });
    expect(res.status).toBe(200);
  });
});
