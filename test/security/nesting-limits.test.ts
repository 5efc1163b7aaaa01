import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FIELDS_DEPTH } from '../../src/gateway/schemas/common.ts';
import { member, poDoc, SECRET } from '../gateway/test-backend.ts';
import { sign } from 'hono/jwt';
import { twoTenants, type TwoTenants } from './two-tenants.ts';

/**
 * Documents and patches nested deeper than MAX_FIELDS_DEPTH are refused (422
 * at the path where the nesting goes too deep) before any layer recurses on
 * them; a start with a doc 5,000 levels deep, or a patch carrying one, was a
 * 500. The deepest accepted nesting is stored and read back.
 */

/** `{"a":{"a":…1…}}` nested `n` levels, as JSON text (too deep for JSON.stringify to build). */
const nested = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const docWith = (extra: string) => `${JSON.stringify(poDoc(5)).slice(0, -1)},"extra":${extra}}`;

describe('nesting limits', () => {
  let t: TwoTenants;
  let auth = '';
  beforeAll(async () => {
    t = await twoTenants('memory', 'nesting');
    auth = `Bearer ${await sign({ sub: 'alice', tid: 'tenant-a', roles: ['member'], exp: Math.floor(t.gw.clock.now() / 1000) + 3600 }, SECRET, 'HS256')}`;
  });
  afterAll(() => t?.close());

  const post = async (path: string, body: string) => {
    const res = await t.gw.app.request(path, {
      method: 'POST',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body,
    });
    return { status: res.status, body: (await res.json()) as { code?: string; errors?: { path: string }[] } };
  };

  it.each([MAX_FIELDS_DEPTH + 1, 5_000, 100_000])(
    'nesting limits - a start whose doc nests %i levels below it is 422 at doc (was: 500 from 5,000 levels)',
    async (n) => {
      const res = await post(
        '/api/v1/runtimes',
        `{"app":"purchase.order","docId":"DEEP-${n}","doc":${docWith(nested(n))}}`,
      );
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors?.[0]?.path).toMatch(/^doc\.extra(\.a)+$/);
    },
  );

  it('nesting limits - a patch or a batch item patch nesting 5,000 levels is 422; nothing changes', async () => {
    const before = await t.digest('tenant-a');
    const id = t.a.runtimeIds[0];
    const patch = await post(
      `/api/v1/runtimes/${id}/actions`,
      `{"action":"comment","comment":"x","patch":{"extra":${nested(5_000)}}}`,
    );
    expect(patch.status).toBe(422);
    const batch = await post(
      '/api/v1/actions/batch',
      `{"items":[{"runtimeId":"${id}","action":"comment","comment":"x","patch":{"extra":${nested(5_000)}}}]}`,
    );
    expect(batch.status).toBe(422);
    expect(await t.digest('tenant-a')).toBe(before);
  });

  it(`nesting limits - a doc nesting ${MAX_FIELDS_DEPTH} levels below it (the limit) is stored and read back`, async () => {
    const res = await post(
      '/api/v1/runtimes',
      `{"app":"purchase.order","docId":"DEEP-OK","doc":${docWith(nested(MAX_FIELDS_DEPTH))}}`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const view = await t.gw.call(
      member('alice'),
      'GET',
      `/api/v1/runtimes/${(res.body as unknown as { id: string }).id}`,
    );
    expect(JSON.stringify(view.body.doc.extra)).toBe(nested(MAX_FIELDS_DEPTH));
  });
});
