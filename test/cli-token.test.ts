import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { mint } from '../src/cli/token.ts';
import type { CliIo } from '../src/cli/io.ts';
import { NOW_MS, SECRET, testApp } from './gateway/gateway-fixture.ts';

vi.mock('../src/gateway/routes/index.ts', () => ({ registerApiRoutes: () => undefined }));

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENV = { BFLOW_JWT_SECRET: SECRET };

function io(): CliIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { outLines, errLines, out: (l) => outLines.push(l), err: (l) => errLines.push(l) };
}

describe('cli token - minting', () => {
  it('cli token - the token round-trips through the auth middleware', async () => {
    const out = io();
    const code = await mint(
      ['--tenant', 'acme', '--sub', 'emp-7', '--roles', 'designer,member', '--company', 'c1', '--ttl', '15m'],
      out,
      ENV,
      NOW_MS,
    );
    expect(code).toBe(0);
    expect(out.outLines).toHaveLength(1);
    const res = await testApp().app.request('/api/v1/__test/whoami', {
      headers: { Authorization: `Bearer ${out.outLines[0]}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      employee: 'emp-7',
      tenant: 'acme',
      roles: ['designer', 'member'],
      companyId: 'c1',
    });
  });

  it('cli token - the default ttl is 1 h: the token is refused after it', async () => {
    const out = io();
    await mint(['--tenant', 'acme', '--sub', 'e', '--roles', 'admin'], out, ENV, NOW_MS - 3_700_000);
    const res = await testApp().app.request('/api/v1/__test/whoami', {
      headers: { Authorization: `Bearer ${out.outLines[0]}` },
    });
    expect(res.status).toBe(401);
  });
});

describe('cli token - bad values exit 2 naming them', () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['a bad role', ['--tenant', 't', '--sub', 'e', '--roles', 'member,root'], ENV, /"root" is not a role/],
    ['a bad ttl', ['--tenant', 't', '--sub', 'e', '--roles', 'member', '--ttl', '1y'], ENV, /--ttl "1y"/],
    ['a zero ttl', ['--tenant', 't', '--sub', 'e', '--roles', 'member', '--ttl', '0s'], ENV, /--ttl "0s"/],
    ['a missing tenant', ['--sub', 'e', '--roles', 'member'], ENV, /--tenant is required/],
    ['an unknown option', ['--tenant', 't', '--sub', 'e', '--roles', 'member', '--admin'], ENV, /--admin/],
    ['a missing secret', ['--tenant', 't', '--sub', 'e', '--roles', 'member'], {}, /BFLOW_JWT_SECRET is not set/],
    [
      'a tenant the gateway would refuse (a space)',
      ['--tenant', 'acme ', '--sub', 'e', '--roles', 'member'],
      ENV,
      /--tenant "acme " is not an id/,
    ],
    [
      'a tenant longer than 64',
      ['--tenant', 't'.repeat(65), '--sub', 'e', '--roles', 'member'],
      ENV,
      /--tenant "t{65}" is not an id: at most 64/,
    ],
    ['a sub with a slash', ['--tenant', 't', '--sub', 'a/b', '--roles', 'member'], ENV, /--sub "a\/b" is not an id/],
    [
      'a company longer than 64',
      ['--tenant', 't', '--sub', 'e', '--roles', 'member', '--company', 'c'.repeat(65)],
      ENV,
      /--company "c{65}" is not an id/,
    ],
  ];
  it.each(cases)('cli token - %s', async (_name, args, env, message) => {
    const out = io();
    expect(await mint(args, out, env, NOW_MS)).toBe(2);
    expect(out.outLines).toEqual([]);
    expect(out.errLines.join('\n')).toMatch(message);
  });

  it('cli token - through bin/bflow.js: prints only the token; a short secret exits 2 naming BFLOW_JWT_SECRET', async () => {
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
        execFile(
          process.execPath,
          ['bin/bflow.js', 'token', '--tenant', 't', '--sub', 'e', '--roles', 'member'],
          { cwd: ROOT, timeout: 20_000, env: { PATH: process.env['PATH'] ?? '', BFLOW_FROM_SOURCE: '1', ...env } },
          (error, stdout, stderr) => {
            if (error === null) resolve({ code: 0, stdout, stderr });
            else if (typeof error.code === 'number') resolve({ code: error.code, stdout, stderr });
            else reject(error);
          },
        );
      });
    const ok = await run(ENV);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const short = await run({ BFLOW_JWT_SECRET: 'short' });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('BFLOW_JWT_SECRET');
  });
});
