import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { demoDevUsers } from '../../src/app/demo/dev-users.ts';
import { CONSOLE_CSP } from '../../src/gateway/routes/console.ts';
import { NOW_MS, SECRET, testApp } from './gateway-fixture.ts';

const CONSOLE_FILES = readdirSync(new URL('../../src/gateway/console/', import.meta.url));

describe('console routes - the page and its files, served by the gateway without a token', () => {
  const { app } = testApp();

  it('console routes - /console and /console/ are the page under a strict CSP, its files named relative to it', async () => {
    for (const [path, assets] of [
      ['/console', 'console/assets/'],
      ['/console/', 'assets/'],
    ] as const) {
      const page = await app.request(path);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      const html = await page.text();
      expect(html).toContain(`src="${assets}main.js"`);
      expect(html).toContain(`href="${assets}console.css"`);
      // No inline script or style: the CSP allows 'self' only.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|style="/);
    }
  });

  it('console routes - every console file and the vendored dagre are served with their type', async () => {
    for (const file of [...CONSOLE_FILES, 'dagre.js']) {
      const res = await app.request(`/console/assets/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type')).toMatch(file.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
    // Module imports resolve to served files: every relative import names one of them.
    for (const file of CONSOLE_FILES.filter((f) => f.endsWith('.js'))) {
      const source = await (await app.request(`/console/assets/${file}`)).text();
      for (const [, target] of source.matchAll(/from '\.\/([^']+)'/g))
        expect([...CONSOLE_FILES, 'dagre.js'], `${file} imports ${target}`).toContain(target);
    }
  });

  it('console routes - anything else under assets is a 404 problem, paths included', async () => {
    for (const file of ['nope.js', '..%2Fapp.ts', 'main.ts', '.hidden.js', 'console.css.map', 'MAIN.JS']) {
      const res = await app.request(`/console/assets/${file}`);
      expect(res.status, file).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });

  it('console routes - the dev sign-in is a 404 unless the embedded mode offers it', async () => {
    const res = await app.request('/console/dev-users');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});

describe('console routes - the dev sign-in of the embedded mode', () => {
  it('console routes - lists the demo users with tokens the gateway accepts', async () => {
    const { app } = testApp({ console: { devUsers: () => demoDevUsers(SECRET, NOW_MS) } });
    const res = await app.request('/console/dev-users');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { users } = (await res.json()) as { users: { sub: string; token: string }[] };
    expect(users.map((u) => u.sub)).toEqual(expect.arrayContaining(['alice', 'pur-mgr', 'fin-1']));
    const whoami = await app.request('/api/v1/__test/whoami', {
      headers: { authorization: `Bearer ${users.find((u) => u.sub === 'pur-mgr')!.token}` },
    });
    expect(whoami.status).toBe(200);
    expect(await whoami.json()).toMatchObject({ employee: 'pur-mgr', tenant: 'demo', roles: ['member'] });
  });
});
