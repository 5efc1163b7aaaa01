import { describe, expect, it, vi } from 'vitest';
import { bearer, claims, hmacToken, problemOf, SECRET, testApp } from './gateway-fixture.ts';

vi.mock('../../src/gateway/routes/index.ts', () => ({ registerApiRoutes: () => undefined }));

const TOKEN = hmacToken(claims(), SECRET);
const json = (body: string, extra: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body,
  headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...extra },
});

describe('gateway app - errors are problem+json', () => {
  const { app, logs } = testApp();

  it('gateway app - a body over 1 MiB → 413 payload_too_large (by Content-Length and when streamed)', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(1_048_576), n: 1 });
    const res = await app.request('/api/v1/__test/echo', json(big));
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe('payload_too_large');
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(65_536)));
        controller.close();
      },
    });
    const streamed = await app.request('/api/v1/__test/echo', {
      ...json(''),
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await problemOf(streamed)).code).toBe('payload_too_large');
  });

  it('gateway app - a body just under 1 MiB is accepted', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(1_000_000), n: 1 });
    expect((await app.request('/api/v1/__test/echo', json(body))).status).toBe(200);
  });

  it('gateway app - malformed JSON → 400 malformed_json', async () => {
    const res = await app.request('/api/v1/__test/echo', json('{"name": "a",'));
    expect(res.status).toBe(400);
    const body = await problemOf(res);
    expect(body).toMatchObject({
      status: 400,
      code: 'malformed_json',
      title: 'Bad Request',
      type: 'urn:bflow:problem:malformed_json',
    });
  });

  it('gateway app - a body failing the schema → 422 validation_failed with errors[{path, message}]', async () => {
    const res = await app.request('/api/v1/__test/echo', json(JSON.stringify({ name: 3, n: 1.5 })));
    expect(res.status).toBe(422);
    const body = await problemOf(res);
    expect(body.code).toBe('validation_failed');
    expect(body.errors?.map((e) => e.path).sort()).toEqual(['n', 'name']);
    for (const e of body.errors ?? []) expect(e.message).not.toBe('');
  });

  it('gateway app - an unknown route → 404 problem, with or without /api/v1', async () => {
    for (const [path, init] of [
      ['/nowhere', {}],
      ['/api/v1/__test/nowhere', bearer(TOKEN)],
    ] as const) {
      const res = await app.request(path, init);
      expect(res.status).toBe(404);
      expect((await problemOf(res)).code).toBe('not_found');
    }
  });

  it('gateway app - an unexpected error → 500 internal with no stack or message, logged with the request id', async () => {
    const res = await app.request('/api/v1/__test/boom', {
      headers: { Authorization: `Bearer ${TOKEN}`, 'X-Request-Id': 'req-boom-1' },
    });
    expect(res.status).toBe(500);
    const text = await res.clone().text();
    expect(text).not.toMatch(/hunter2|\bat \/|Error:/);
    expect((await problemOf(res)).code).toBe('internal');
    expect(res.headers.get('x-request-id')).toBe('req-boom-1');
    const line = logs.find((l) => l['requestId'] === 'req-boom-1' && l['level'] === 50);
    expect((line?.['err'] as { message?: string } | undefined)?.message).toBe('db password is hunter2');
  });

  it('gateway app - coded layer errors keep their code: 4xx with detail and errors, 5xx generic with Retry-After', async () => {
    const conflict = await app.request('/api/v1/__test/coded/action_not_allowed', bearer(TOKEN));
    expect(conflict.status).toBe(422);
    expect(await problemOf(conflict)).toMatchObject({
      code: 'action_not_allowed',
      detail: 'layer said action_not_allowed',
      errors: [{ path: 'a.b', message: 'bad' }],
    });
    const down = await app.request('/api/v1/__test/coded/shard_unavailable', bearer(TOKEN));
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('3');
    const body = await problemOf(down);
    expect(body.code).toBe('shard_unavailable');
    expect(body.detail).not.toContain('layer said');
    const unknown = await app.request('/api/v1/__test/coded/ECONNREFUSED', bearer(TOKEN));
    expect(unknown.status).toBe(500);
    expect((await problemOf(unknown)).code).toBe('internal');
  });
});

describe('gateway app - headers on every response', () => {
  const { app } = testApp({ cors: { origins: ['https://console.example.com'] } });

  it('gateway app - X-Request-Id is echoed when sane, generated otherwise, on successes and errors alike', async () => {
    for (const path of ['/health', '/nowhere', '/api/v1/__test/whoami']) {
      const echoed = await app.request(path, { headers: { 'X-Request-Id': 'abc-123' } });
      expect(echoed.headers.get('x-request-id')).toBe('abc-123');
      const generated = await app.request(path);
      expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const insane = await app.request(path, { headers: { 'X-Request-Id': 'a b<script>' } });
      expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('gateway app - each request ends with one debug line: its request id, method, route template and status; never the raw path or query', async () => {
    const { app: debugApp, logs } = testApp({}, {}, 'debug');
    await debugApp.request(`/api/v1/__test/items/secret-42?access_token=${TOKEN}`, {
      headers: { Authorization: `Bearer ${TOKEN}`, 'X-Request-Id': 'req-log-1' },
    });
    await debugApp.request('/nowhere/secret-43', { headers: { 'X-Request-Id': 'req-log-2' } });
    await debugApp.request('/api/v1/__test/whoami', { headers: { 'X-Request-Id': 'req-log-3' } });
    const lines = logs.filter((l) => l['msg'] === 'request');
    expect(lines.map(({ requestId, method, route, status }) => ({ requestId, method, route, status }))).toEqual([
      { requestId: 'req-log-1', method: 'GET', route: '/api/v1/__test/items/:id', status: 200 },
      { requestId: 'req-log-2', method: 'GET', route: 'unmatched', status: 404 },
      { requestId: 'req-log-3', method: 'GET', route: '/api/v1/__test/whoami', status: 401 },
    ]);
    for (const l of lines) expect(typeof l['ms']).toBe('number');
    expect(JSON.stringify(logs)).not.toMatch(/secret-4|access_token|eyJ/);
  });

  it('gateway app - secure headers are set', async () => {
    const res = await app.request('/health');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toContain('max-age=');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('gateway app - a CORS preflight from a configured origin is answered without a token', async () => {
    const res = await app.request('/api/v1/runtimes', {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://console.example.com',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://console.example.com');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');
    expect(res.headers.get('x-request-id')).not.toBeNull();
  });

  it('gateway app - another origin gets no CORS grant; no origins configured → no CORS headers at all', async () => {
    const other = await app.request('/health', { headers: { Origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const plain = testApp().app;
    const res = await plain.request('/health', { headers: { Origin: 'https://console.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('gateway app - operations routes', () => {
  it('gateway app - /health is 200 without a token', async () => {
    const res = await testApp().app.request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('gateway app - /ready is 200 only when every check is true; 503 with the checks otherwise', async () => {
    expect((await testApp().app.request('/ready')).status).toBe(200);
    const down = testApp({}, { readiness: async () => ({ store: true, bus: false }) }).app;
    const res = await down.request('/ready');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, checks: { store: true, bus: false } });
  });

  it('gateway app - /ready is 503 when the checks throw or hang past the timeout', async () => {
    const throwing = testApp({}, { readiness: () => Promise.reject(new Error('nats down')) }).app;
    expect((await throwing.request('/ready')).status).toBe(503);
    const hanging = testApp({ readyTimeoutMs: 50 }, { readiness: () => new Promise(() => undefined) }).app;
    const res = await hanging.request('/ready');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/50 ms/);
  });

  it('gateway app - /metrics has the HTTP histogram labelled with route templates, not raw paths', async () => {
    const { app } = testApp();
    await app.request('/api/v1/__test/items/42', bearer(TOKEN));
    await app.request('/api/v1/__test/items/43', bearer(TOKEN));
    await app.request('/nowhere/at/all');
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('# TYPE bflow_http_request_duration_seconds histogram');
    expect(text).toMatch(
      /bflow_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/__test\/items\/:id",status="200"\} 2/,
    );
    expect(text).toMatch(/bflow_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).not.toContain('items/42');
  });

  it('gateway app - /openapi.json is an OpenAPI document with a bearer scheme and the registered operations', async () => {
    const res = await testApp({ version: '9.9.9' }).app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, any>;
    expect(doc['openapi']).toBe('3.1.0');
    expect(doc['info']).toMatchObject({ title: 'bflow', version: '9.9.9' });
    expect(doc['components'].securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(doc['security']).toEqual([{ bearerAuth: [] }]);
    expect(doc['paths']['/api/v1/__test/echo'].post.summary).toBe('echo a body');
  });

  it('gateway app - /docs is Swagger UI served from the package (no external URL), reading /openapi.json', async () => {
    const app = testApp().app;
    const res = await app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("script-src 'self';"); // no inline or remote script
    expect(csp).not.toMatch(/https?:/);
    const html = await res.text();
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html).not.toContain('innerHTML');
    expect(html).not.toMatch(/<script>/); // every script is a file
    const assets = [...html.matchAll(/(?:src|href)="(docs\/assets\/[^"]+)"/g)].map((m) => `/${m[1]}`);
    expect(assets.map((a) => a.replace(/\?.*/, '')).sort()).toEqual([
      '/docs/assets/docs-init.js',
      '/docs/assets/favicon-32x32.png',
      '/docs/assets/swagger-ui-bundle.js',
      '/docs/assets/swagger-ui.css',
    ]);
    const types: Record<string, RegExp> = { js: /^text\/javascript/, css: /^text\/css/, png: /^image\/png$/ };
    for (const asset of assets) {
      const served = await app.request(asset);
      expect(served.status, asset).toBe(200);
      expect(served.headers.get('content-type'), asset).toMatch(types[asset.replace(/\?.*/, '').split('.').pop()!]!);
      expect((await served.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    const init = await (await app.request('/docs/assets/docs-init.js')).text();
    expect(init).toContain("url: 'openapi.json'");
    expect(init).toContain('SwaggerUIBundle(');
    const bundle = await (await app.request('/docs/assets/swagger-ui-bundle.js')).text();
    expect(bundle).toContain('SwaggerUIBundle');
  });

  it('gateway app - /docs/assets serves only its own files: anything else of the package, or a path, is a 404 problem', async () => {
    const app = testApp().app;
    for (const path of [
      '/docs/assets/index.html',
      '/docs/assets/package.json',
      '/docs/assets/..%2Fpackage.json',
      '/docs/assets/__proto__',
      '/docs/assets/swagger-ui-bundle.js.map',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect((await problemOf(res)).code, path).toBe('not_found');
    }
  });
});
