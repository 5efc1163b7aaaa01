import { describe, expect, it } from 'vitest';
import { logProblems } from './security-checks.ts';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
const line = (o: Record<string, unknown>) => JSON.stringify({ level: 30, ...o });

describe('security checks - logProblems', () => {
  it('security checks - clean lines pass; a token, its signature, a secret, Authorization, a DSN password, a stack or a request line without id are each reported', () => {
    const s = { tokens: [TOKEN], secrets: ['hunter2-secret'] };
    expect(logProblems([line({ msg: 'request', requestId: 'r1', route: '/x' }), line({ msg: 'started' })], s)).toEqual(
      [],
    );
    const bad = [
      line({ msg: 'x', t: TOKEN }),
      line({ msg: 'x', sig: 'c2lnbmF0dXJlLW9mLXRoZS10b2tlbg' }),
      line({ msg: 'x', s: 'hunter2-secret' }),
      line({ msg: 'x', headers: { authorization: 'x' } }),
      line({ msg: 'x', url: 'mysql://root:pw@db/bflow' }),
      line({ msg: 'x', err: { stack: 'Error: x\n    at fn (/a/b.ts:1:2)' } }),
      line({ msg: 'request failed' }),
      'not json',
    ];
    expect(bad.map((l) => logProblems([l], s).length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });
});
