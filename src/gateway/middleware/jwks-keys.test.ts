import { afterEach, describe, expect, it, vi } from 'vitest';
import { JwksKeys, JwksUnavailableError } from './jwks-keys.ts';

afterEach(() => vi.unstubAllGlobals());

function fakeJwks(): { serve: (kids: string[] | 'down') => void; calls: () => number } {
  let current: string[] | 'down' = [];
  let calls = 0;
  vi.stubGlobal('fetch', async () => {
    calls++;
    if (current === 'down') throw new Error('ECONNREFUSED');
    return new Response(JSON.stringify({ keys: current.map((kid) => ({ kty: 'RSA', kid })) }), { status: 200 });
  });
  return { serve: (kids) => void (current = kids), calls: () => calls };
}

describe('jwks keys - cache and rotation', () => {
  it('jwks keys - cached for cacheMs; an unknown kid refetches at most every minRefreshMs', async () => {
    let now = 0;
    const jwks = fakeJwks();
    jwks.serve(['k1']);
    const keys = new JwksKeys({
      url: 'http://idp/jwks',
      timeoutMs: 100,
      cacheMs: 60_000,
      minRefreshMs: 10_000,
      now: () => now,
    });
    expect((await keys.find('k1'))?.kid).toBe('k1');
    expect(await keys.find('k1')).toBeDefined();
    expect(jwks.calls()).toBe(1);
    jwks.serve(['k1', 'k2']); // the IdP rotates
    expect(await keys.find('k2')).toBeUndefined(); // too soon after the last fetch
    now = 10_000;
    expect((await keys.find('k2'))?.kid).toBe('k2');
    expect(jwks.calls()).toBe(2);
    now = 70_000;
    await keys.find('k1');
    expect(jwks.calls()).toBe(3);
  });

  it('jwks keys - an unreachable JWKS: stale keys keep serving; with none cached → JwksUnavailableError', async () => {
    let now = 0;
    const jwks = fakeJwks();
    jwks.serve('down');
    const keys = new JwksKeys({
      url: 'http://idp/jwks',
      timeoutMs: 100,
      cacheMs: 60_000,
      minRefreshMs: 10_000,
      now: () => now,
    });
    await expect(keys.find('k1')).rejects.toBeInstanceOf(JwksUnavailableError);
    now = 5_000;
    jwks.serve(['k1']);
    expect(await keys.find('k1')).toBeDefined();
    jwks.serve('down');
    now = 200_000;
    expect(await keys.find('k1')).toBeDefined();
    const calls = jwks.calls();
    now = 201_000;
    expect(await keys.find('k1')).toBeDefined();
    expect(jwks.calls()).toBe(calls); // no refetch on every request while the IdP is down
  });
});
