import { Hono } from 'hono';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp, type RunningServer } from '../../src/app/gateway-server.ts';
import { fixedHeaders } from '../../src/gateway/middleware/fixed-headers.ts';
import { SECURITY_HEADERS } from '../security/security-checks.ts';
import { securityGateway, type SecurityGateway } from '../security/security-fixture.ts';

/** A tiny app: two fixed headers, a route that sets one of them itself, a route that fails. */
function miniApp(): Hono {
  const app = new Hono();
  app.use(
    fixedHeaders([
      ['X-Fixed-A', 'fixed'],
      ['X-Fixed-B', 'fixed'],
    ]),
  );
  app.get('/plain', (c) => c.json({ ok: true }));
  app.get('/own', (c) => c.json({ ok: true }, 200, { 'X-Fixed-B': 'own' }));
  app.get('/boom', () => {
    throw new Error('boom');
  });
  app.onError((_err, c) => c.json({ error: true }, 500));
  return app;
}

describe('fixed headers - on every response, a handler’s own value kept', () => {
  let mini: RunningServer;
  let gw: SecurityGateway;
  let gateway: RunningServer;
  beforeAll(async () => {
    mini = await serveHttp(miniApp().fetch, 0, pino({ level: 'silent' }));
    gw = await securityGateway();
    gateway = await serveHttp(gw.app.fetch, 0, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await mini?.close(1_000);
    await gateway?.close(1_000);
  });

  for (const where of ['over HTTP (Node)', 'through app.request'] as const) {
    it(`fixed headers - ${where}: added to a response and an error, not over the handler's own`, async () => {
      const get = (path: string) =>
        where === 'over HTTP (Node)' ? fetch(`${mini.url}${path}`) : miniApp().request(path);
      for (const path of ['/plain', '/boom']) {
        const res = await get(path);
        expect(res.headers.get('x-fixed-a'), path).toBe('fixed');
        expect(res.headers.get('x-fixed-b'), path).toBe('fixed');
      }
      const own = await get('/own');
      expect(own.headers.get('x-fixed-a')).toBe('fixed');
      expect(own.headers.get('x-fixed-b')).toBe('own'); // once: a duplicate would read "fixed, own"
    });
  }

  it('fixed headers - the gateway over HTTP: security headers and one X-Request-Id on a success, a 404, a 401; /docs keeps its CSP', async () => {
    for (const [path, status] of [
      ['/health', 200],
      ['/nowhere', 404],
      ['/api/v1/tasks', 401],
    ] as const) {
      const res = await fetch(`${gateway.url}${path}`, { headers: { 'X-Request-Id': `req-${status}` } });
      expect(res.status, path).toBe(status);
      for (const [name, value] of Object.entries(SECURITY_HEADERS))
        expect(res.headers.get(name), `${name} on ${path}`).toMatch(value);
      expect(res.headers.get('x-request-id')).toBe(`req-${status}`);
    }
    const docs = await fetch(`${gateway.url}/docs`);
    expect(docs.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(docs.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
