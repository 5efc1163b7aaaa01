import type { Stack } from '../e2e/stack.ts';
import type { LoadTenant } from './load-driver.ts';
import type { LoadRecord } from './load-record.ts';
import { tryRequest } from './retrying-client.ts';

interface BadInput {
  what: string;
  path: string;
  /** Sent as is. */
  body: string;
  /** Bearer token; undefined sends none. */
  token?: (t: LoadTenant) => string;
}

const alice = (t: LoadTenant): string => t.tokens.alice;

/**
 * Malformed requests an ERP integration might send by mistake (or an attacker
 * on purpose); each must be refused with a 4xx, whatever is failing at the
 * time, and change nothing. The hostile-input fuzz (test/security) covers the
 * space; these few only prove the refusals hold under faults.
 */
const BAD_INPUTS: BadInput[] = [
  { what: 'malformed JSON', path: '/api/v1/runtimes', body: '{"app": "purchase.order", "docId": ', token: alice },
  {
    what: 'wrongly typed start',
    path: '/api/v1/runtimes',
    body: JSON.stringify({ app: 7, docId: ['x'], doc: 'no' }),
    token: alice,
  },
  {
    what: 'unknown action',
    path: '/api/v1/runtimes/00000000-0000-4000-8000-000000000000/actions',
    body: JSON.stringify({ action: 'explode' }),
    token: alice,
  },
  { what: 'no token', path: '/api/v1/runtimes', body: JSON.stringify({ app: 'purchase.order', docId: 'x', doc: {} }) },
  {
    what: 'forged token',
    path: '/api/v1/runtimes',
    body: JSON.stringify({ app: 'purchase.order', docId: 'x', doc: {} }),
    token: (t) => forge(t.tokens.alice),
  },
  {
    what: 'prototype keys',
    path: '/api/v1/runtimes',
    body: '{"__proto__": {"admin": true}, "constructor": {"prototype": 1}}',
    token: alice,
  },
];

/** The token with its signature's last characters changed. */
function forge(token: string): string {
  return `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
}

/** Sends the next malformed request (round-robin) and records what came back. */
let next = 0;
export async function sendBadInput(stack: Stack, tenant: LoadTenant, record: LoadRecord): Promise<void> {
  const input = BAD_INPUTS[next++ % BAD_INPUTS.length]!;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': `bad-${next}-${Date.now()}`,
  };
  if (input.token) headers.authorization = `Bearer ${input.token(tenant)}`;
  const { attempt } = await tryRequest(`${stack.url}${input.path}`, {
    method: 'POST',
    headers,
    body: input.body,
    timeoutMs: 10_000,
  });
  record.badInputs.push({ ...attempt, code: `${input.what}: ${attempt.code ?? attempt.status}` });
}

/** Bad inputs answered with anything but a 4xx (a 2xx accepted garbage, a 5xx broke): must be none. No answer (gateway down) counts as neither. */
export function mishandledBadInputs(record: LoadRecord): string[] {
  return record.badInputs
    .filter((a) => a.status !== undefined && (a.status < 400 || a.status >= 500))
    .map((a) => `${a.status} ${a.code}`);
}
