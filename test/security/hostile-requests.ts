import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { sign } from 'hono/jwt';
import type { TokenClaims } from '../../src/app/dev-token.ts';
import {
  BODY_POISONS,
  TRAVERSALS,
  badContentType,
  badIdSegment,
  badIdempotencyKey,
  hostileHeader,
  hostileObject,
  malformedJson,
  nastyString,
  nonObjectJson,
  type BodyKind,
} from './hostile-arbitraries.ts';
import { DEMO_TENANT, SECRET, demoAdmin, demoDesigner, demoMember, poDoc } from './security-fixture.ts';

/**
 * The HTTP surface the fuzz test walks: callers (tokens that pass and tokens
 * that must not), every write route with the poisons that must refuse it, and
 * every read route. A poisoned write is refused whatever else it carries.
 */

/** Tenant ids a token may carry (valid ids) that are hostile to a store keyed by them: each is its own, empty tenant. */
export const HOSTILE_TENANTS = [
  '__proto__',
  'constructor',
  'prototype',
  'DEMO',
  'demo.',
  '..',
  'toString',
  'demo:x',
  '@',
  't'.repeat(64),
];
/** Tenant and employee ids no token may carry (not ids, or longer than the store's columns): 401 whatever the signature. */
export const INVALID_TENANTS = [
  "demo' OR 1=1 --",
  '../demo',
  'demo\u0000',
  ' demo',
  'demo ',
  '${tid}',
  '😀',
  '\u202edemo',
  'd'.repeat(65),
  'demo/..',
];
const INVALID_SUBS = ["alice' OR 1=1 --", 'alice\u0000', '../alice', 'alice ', 'a'.repeat(101)];
export const WORKFLOW_IDS = ['wf-purchase-order', 'wf-leave-request', 'wf-expense-claim', 'wf-contract-review'];

/** What the surface learns at start: the seeded runtimes and the signed tokens (Authorization values, by caller name). */
export const surface = {
  runtimeIds: [] as string[],
  webhookIds: [] as string[],
  auths: {} as Record<string, string>,
  badAuths: [] as string[],
};

// ---------------------------------------------------------------- tokens

export type Auth = string | undefined;

async function bearer(
  claims: TokenClaims | Record<string, unknown>,
  secret = SECRET,
  alg: 'HS256' | 'HS512' = 'HS256',
  ttlSec = 3600,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return `Bearer ${await sign({ iat, exp: iat + ttlSec, ...claims }, secret, alg)}`;
}

/** Signs the callers' tokens into `surface.auths` and builds the refused ones into `surface.badAuths`. */
export async function mintTokens(): Promise<void> {
  const valid: Record<string, TokenClaims> = {
    admin: demoAdmin,
    designer: demoDesigner,
    alice: demoMember('alice'),
    bob: demoMember('bob'),
    integration: { sub: 'erp', tid: DEMO_TENANT, roles: ['integration'] },
    noRoles: { sub: 'alice', tid: DEMO_TENANT, roles: [] },
    unknownRole: { sub: 'alice', tid: DEMO_TENANT, roles: ['superuser', 'root'] },
  };
  HOSTILE_TENANTS.forEach((tid, i) => (valid[`tenant${i}`] = { sub: 'ceo', tid, roles: ['admin'] }));
  ['__proto__', 'ALICE', 'alice.', 'constructor', 'alice:x'].forEach(
    (sub, i) => (valid[`sub${i}`] = { sub, tid: DEMO_TENANT, roles: ['member', 'designer'] }),
  );
  for (const [name, claims] of Object.entries(valid)) surface.auths[name] = await bearer(claims);
  const admin = surface.auths['admin'] ?? '';
  const [head, , sig] = admin.slice('Bearer '.length).split('.');
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const future = Math.floor(Date.now() / 1000) + 3600;
  surface.badAuths = [
    await bearer(demoAdmin, SECRET, 'HS256', -3600),
    await bearer(demoAdmin, 'another-secret-0123456789-abcdefghijklmnop'),
    await bearer(demoAdmin, SECRET, 'HS512'),
    await bearer({ sub: 'ceo', roles: ['admin'] }),
    await bearer({ sub: 'c'.repeat(201), tid: DEMO_TENANT, roles: ['admin'] }),
    await bearer({ sub: 'ceo', tid: DEMO_TENANT, roles: 'admin' }),
    await bearer({ sub: '', tid: DEMO_TENANT, roles: ['admin'] }),
    await bearer({ ...demoAdmin, cid: '' }),
    await bearer({ ...demoAdmin, nbf: future + 3600 }),
    `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...demoAdmin, exp: future })}.`,
    `Bearer ${head}.${b64({ ...demoAdmin, roles: ['admin', 'x'], exp: future })}.${sig}`,
    `Bearer ${b64({ alg: 'HS256', typ: 'JWT', kid: '../../etc/passwd' })}.${b64({ ...demoAdmin, exp: future })}.${sig}`,
    `Bearer ${admin.slice('Bearer '.length)}x`,
    `Bearer ${admin.slice('Bearer '.length, -1)}`,
    `${admin} extra`,
    'Bearer',
    'Bearer ',
    'Basic dXNlcjpwYXNz',
    'Bearer a.b',
    'Bearer a.b.c.d',
    `Bearer ${'A'.repeat(20_000)}.${'B'.repeat(20_000)}.C`,
    ...(await Promise.all(INVALID_TENANTS.map((tid) => bearer({ sub: 'ceo', tid, roles: ['admin'] })))),
    ...(await Promise.all(INVALID_SUBS.map((sub) => bearer({ sub, tid: DEMO_TENANT, roles: ['admin'] })))),
  ];
}

export const garbageAuth = (): fc.Arbitrary<Auth> =>
  fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(...surface.badAuths),
    hostileHeader,
    hostileHeader.map((s) => `Bearer ${s}`),
    fc
      .tuple(fc.base64String(), fc.base64String(), fc.base64String())
      .map(([a, b, c]) => `Bearer ${a}.${b}.${c}`.replace(/[+/=]/g, '_')),
  );

/** One request as the fuzz builds it; `contentType` defaults to JSON when there is a body. */
export interface Sent {
  method: string;
  path: string;
  auth?: Auth;
  headers?: Record<string, string>;
  body?: string;
  contentType?: string;
}

// ---------------------------------------------------------------- endpoints

export type RoleGroup = 'runtime' | 'workflow' | 'directory' | 'admin' | 'self';
export type IdKind = 'runtime' | 'workflow' | 'employee' | 'group' | 'app' | 'webhook' | 'notification' | 'migration';

export interface Write {
  name: string;
  method: 'POST' | 'PUT' | 'DELETE';
  path: (id: string) => string;
  body: BodyKind | null;
  roles: RoleGroup;
  idem?: boolean;
  id?: IdKind;
  /** A well-formed id of nothing is refused (404), so it is a poison too. */
  canMiss?: boolean;
}

export const WRITES: Write[] = [
  { name: 'start', method: 'POST', path: () => '/api/v1/runtimes', body: 'start', roles: 'runtime', idem: true },
  {
    name: 'action',
    method: 'POST',
    path: (id) => `/api/v1/runtimes/${id}/actions`,
    body: 'action',
    roles: 'runtime',
    idem: true,
    id: 'runtime',
    canMiss: true,
  },
  { name: 'batch', method: 'POST', path: () => '/api/v1/actions/batch', body: 'batch', roles: 'runtime', idem: true },
  { name: 'create workflow', method: 'POST', path: () => '/api/v1/workflows', body: 'definition', roles: 'workflow' },
  {
    name: 'put workflow',
    method: 'PUT',
    path: (id) => `/api/v1/workflows/${id}`,
    body: 'definition',
    roles: 'workflow',
    id: 'workflow',
    canMiss: true,
  },
  { name: 'validate', method: 'POST', path: () => '/api/v1/workflows/validate', body: 'definition', roles: 'workflow' },
  {
    name: 'publish',
    method: 'POST',
    path: (id) => `/api/v1/workflows/${id}/publish`,
    body: null,
    roles: 'workflow',
    id: 'workflow',
    canMiss: true,
  },
  {
    name: 'migration plan',
    method: 'POST',
    path: (id) => `/api/v1/workflows/${id}/migrations`,
    body: 'migration',
    roles: 'workflow',
    idem: true,
    id: 'workflow',
    canMiss: true,
  },
  {
    name: 'cancel migration plan',
    method: 'POST',
    path: (id) => `/api/v1/workflows/wf-purchase-order/migrations/${id}/cancel`,
    body: null,
    roles: 'workflow',
    id: 'migration',
    canMiss: true,
  },
  {
    name: 'employee',
    method: 'PUT',
    path: (id) => `/api/v1/directory/employees/${id}`,
    body: 'employee',
    roles: 'directory',
    id: 'employee',
  },
  {
    name: 'group',
    method: 'PUT',
    path: (id) => `/api/v1/directory/groups/${id}`,
    body: 'group',
    roles: 'directory',
    id: 'group',
  },
  { name: 'import', method: 'POST', path: () => '/api/v1/directory/import', body: 'import', roles: 'directory' },
  {
    name: 'app config',
    method: 'PUT',
    path: (id) => `/api/v1/apps/${id}/config`,
    body: 'appConfig',
    roles: 'workflow',
    id: 'app',
  },
  { name: 'webhook', method: 'POST', path: () => '/api/v1/webhooks', body: 'webhook', roles: 'directory', idem: true },
  {
    name: 'retention policy',
    method: 'PUT',
    path: () => '/api/v1/retention-policy',
    body: 'retentionPolicy',
    roles: 'admin',
  },
  {
    name: 'delete webhook',
    method: 'DELETE',
    path: (id) => `/api/v1/webhooks/${id}`,
    body: null,
    roles: 'directory',
    id: 'webhook',
    canMiss: true,
  },
  {
    name: 'notification preferences',
    method: 'PUT',
    path: () => '/api/v1/notifications/preferences',
    body: 'preferences',
    roles: 'self',
  },
  {
    name: 'notification settings',
    method: 'PUT',
    path: () => '/api/v1/notifications/settings',
    body: 'settings',
    roles: 'admin',
  },
  {
    name: 'read notification',
    method: 'POST',
    path: (id) => `/api/v1/notifications/${id}/read`,
    body: null,
    roles: 'self',
    id: 'notification',
    canMiss: true,
  },
  // Nothing can poison it (any caller, no body, no id): the bad-token fuzz and the closing round trip reach it.
  {
    name: 'read all notifications',
    method: 'POST',
    path: () => '/api/v1/notifications/read-all',
    body: null,
    roles: 'self',
  },
];

/** Callers a route group admits, and callers it refuses (403). */
export const ALLOWED: Record<RoleGroup, string[]> = {
  runtime: ['admin', 'alice', 'bob', 'integration', 'tenant0', 'tenant3', 'tenant5', 'sub0', 'sub1'],
  workflow: ['admin', 'designer', 'tenant1', 'tenant4', 'sub2'],
  directory: ['admin', 'integration', 'tenant2', 'tenant6'],
  admin: ['admin', 'tenant0', 'tenant7'],
  self: ['admin', 'alice', 'bob', 'designer', 'integration'],
};
export const REFUSED: Record<RoleGroup, string[]> = {
  runtime: ['designer', 'noRoles', 'unknownRole'],
  workflow: ['alice', 'integration', 'noRoles', 'unknownRole'],
  directory: ['alice', 'designer', 'noRoles', 'unknownRole'],
  admin: ['alice', 'designer', 'integration', 'noRoles', 'unknownRole'],
  self: [],
};

export const realId = (kind: IdKind): fc.Arbitrary<string> => once(`id:${kind}`, () => buildRealId(kind));

function buildRealId(kind: IdKind): fc.Arbitrary<string> {
  switch (kind) {
    case 'runtime':
      return fc.constantFrom(...surface.runtimeIds);
    case 'workflow':
      return fc.constantFrom(...WORKFLOW_IDS);
    case 'employee':
      return fc.constantFrom('alice', 'pur-mgr', 'fz-new-employee');
    case 'group':
      return fc.constantFrom('g-ops', 'g-finance', 'fz-new-group');
    case 'app':
      return fc.constantFrom('purchase.order', 'hr.leave');
    case 'webhook':
      return fc.constantFrom(...surface.webhookIds);
    case 'notification':
      return fc.constant('1');
    case 'migration':
      // No plan exists in the fuzzed tenants: a well-formed plan id is one of nothing (404).
      return fc.constantFrom('plan-1', 'fz-plan');
  }
}

export const PO_DEFINITION = JSON.parse(
  readFileSync(new URL('../../examples/purchase-order.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

// Built once: fc.stringMatching parses its regex on every call.
const FZ_DOC_ID = fc.stringMatching(/^FZ-[A-Za-z0-9]{1,12}$/);
const MISSING_ID = fc.stringMatching(/^fz-missing-[a-z0-9]{1,10}$/);
const FZ_KEY = fc.stringMatching(/^fz-[A-Za-z0-9]{8,20}$/);

/** Arbitraries by name, built once (after the runtimes they name exist). */
const memo = new Map<string, fc.Arbitrary<never>>();
function once<T>(key: string, build: () => fc.Arbitrary<T>): fc.Arbitrary<T> {
  if (!memo.has(key)) memo.set(key, build() as fc.Arbitrary<never>);
  return memo.get(key) as fc.Arbitrary<T>;
}

/** A body of each kind that is valid or nearly (random hostile extra keys). */
export const template = (kind: BodyKind): fc.Arbitrary<Record<string, unknown>> =>
  once(`template:${kind}`, () => buildTemplate(kind));

function buildTemplate(kind: BodyKind): fc.Arbitrary<Record<string, unknown>> {
  switch (kind) {
    case 'start':
      return fc.record({
        app: fc.constantFrom('purchase.order', 'hr.leave'),
        docId: FZ_DOC_ID,
        doc: fc.oneof(fc.constant(poDoc(1)), hostileObject),
      });
    case 'action':
      return fc.record(
        {
          action: fc.constantFrom(
            'update',
            'submit',
            'approve',
            'reject',
            'cancel',
            'withdraw',
            'comment',
            'return',
            'reassign',
          ),
          comment: nastyString,
          patch: hostileObject,
          toEmployee: fc.constantFrom('bob', 'ceo'),
        },
        { requiredKeys: ['action'] },
      );
    case 'batch':
      return fc.constant({
        items: [{ runtimeId: surface.runtimeIds[0] ?? 'x', action: 'update', patch: { note: 'fz' } }],
      });
    case 'definition':
      return fc.constant({ ...PO_DEFINITION, app: 'fz.app', name: 'Fuzz' });
    case 'employee':
      return fc.record(
        { name: fc.constantFrom('Fuzz', 'ALICE'), email: fc.constant('fz@example.com') },
        { requiredKeys: ['name'] },
      );
    case 'group':
      return fc.record(
        { name: fc.constant('Fuzz'), managerId: fc.constant('ceo'), level: fc.constant(1) },
        { requiredKeys: ['name'] },
      );
    case 'import':
      return fc.constant({ employees: [{ id: 'fz-e', name: 'Fuzz' }], groups: [{ id: 'fz-g', name: 'Fuzz' }] });
    case 'webhook':
      return fc.record({
        url: fc.constantFrom('https://hooks.example.com/fz', 'http://10.0.0.1/fz'),
        events: fc.constantFrom(['*'], ['runtime.started']),
        secret: fc.constant('fz-webhook-secret-0123456789'),
      });
    case 'appConfig':
      return fc.record({
        workflowId: fc.constantFrom(...WORKFLOW_IDS),
        mode: fc.constantFrom('apply', 'unapply', 'pending'),
      });
    case 'preferences':
      return fc.constant({ channels: { task_assigned: ['in_app', 'email'] }, pushTokens: [] });
    case 'settings':
      return fc.constant({ defaultChannels: ['in_app'], disabledChannels: ['sms'] });
    case 'migration':
      // A dry run: valid or nearly, and never a plan stored.
      return fc.record({
        fromVersion: fc.constant(1),
        toVersion: fc.constantFrom(1, 2),
        nodeMap: fc.constantFrom({}, { manager: 'manager' }),
        dryRun: fc.constant(true),
      });
    case 'retentionPolicy':
      return fc.record({ auditLogDays: fc.constantFrom(30, 3650, null) });
  }
}

/** The entry that makes a body of `kind` fail its schema. */
export const bodyPoison = (kind: BodyKind): fc.Arbitrary<[string, unknown]> =>
  kind === 'batch' ? once('poison:batch', batchPoison) : BODY_POISONS[kind];

function batchPoison(): fc.Arbitrary<[string, unknown]> {
  const item = fc
    .tuple(template('action'), BODY_POISONS.action)
    .map(([t, [k, v]]) => ({ ...t, runtimeId: surface.runtimeIds[0], [k]: v }));
  return fc.oneof(
    fc.tuple(fc.constant('items'), fc.oneof(fc.constant([]), fc.constant(null), nastyString, hostileObject)),
    fc.tuple(
      fc.constant('items'),
      fc.constant(
        Array.from({ length: 101 }, () => ({ runtimeId: surface.runtimeIds[0], action: 'comment', comment: 'x' })),
      ),
    ),
    fc.tuple(
      fc.constant('items'),
      item.map((i) => [i, { runtimeId: surface.runtimeIds[1], action: 'update', patch: { note: 'fz' } }]),
    ),
    fc.tuple(
      fc.constant('items'),
      badIdSegment.map((runtimeId) => [
        { runtimeId: `${decodeURIComponentSafe(runtimeId)}/`, action: 'update', patch: { note: 'fz' } },
      ]),
    ),
  );
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `base` with `extra` keys, then `entry` (set last so no extra key can undo it), as JSON text; a `__proto__` key stays an own key. */
export function bodyText(
  base: Record<string, unknown>,
  extra: Record<string, unknown>,
  entry?: [string, unknown],
): string {
  const o = Object.create(null) as Record<string, unknown>;
  Object.assign(o, base, extra);
  if (entry) o[entry[0]] = entry[1];
  return JSON.stringify(o);
}

export type Poison = 'body' | 'universal' | 'contentType' | 'idem' | 'id' | 'missing' | 'role';

export function poisonsOf(w: Write): Poison[] {
  const out: Poison[] = REFUSED[w.roles].length > 0 ? ['role'] : [];
  if (w.body !== null) out.push('body', 'universal', 'contentType');
  if (w.idem) out.push('idem');
  if (w.id) out.push('id');
  if (w.canMiss) out.push('missing');
  return out;
}

/** Status a poison must produce (other parts may be refused first, but never accepted). */
export const EXPECTED: Record<Poison, number[]> = {
  role: [403],
  body: [422],
  universal: [400, 422],
  contentType: [415],
  idem: [422],
  id: [422],
  missing: [404, 422],
};

/** A fuzzed write: one route, one poison that must refuse it, everything else random or valid. */
export const poisonedWrite = (): fc.Arbitrary<{ w: Write; poison: Poison; sent: Sent }> =>
  fc
    .constantFrom(...WRITES.filter((w) => poisonsOf(w).length > 0))
    .chain((w) => fc.constantFrom(...poisonsOf(w)).map((poison) => ({ w, poison })))
    .chain(({ w, poison }) =>
      fc
        .record({
          caller: fc.constantFrom(...(poison === 'role' ? REFUSED[w.roles] : ALLOWED[w.roles])),
          id:
            poison === 'id' ? badIdSegment : poison === 'missing' ? MISSING_ID : w.id ? realId(w.id) : fc.constant(''),
          base: w.body === null ? fc.constant({}) : template(w.body),
          extra: fc.oneof(fc.constant({}), hostileObject),
          entry: poison === 'body' && w.body !== null ? bodyPoison(w.body) : fc.constant(undefined),
          universal: poison === 'universal' ? fc.oneof(malformedJson, nonObjectJson) : fc.constant(''),
          contentType: poison === 'contentType' ? badContentType : fc.constant(''),
          idem: poison === 'idem' ? badIdempotencyKey : fc.option(FZ_KEY, { nil: undefined }),
          requestId: fc.option(hostileHeader, { nil: undefined }),
        })
        .map((r) => {
          const headers: Record<string, string> = {};
          if (r.idem !== undefined) headers['Idempotency-Key'] = r.idem;
          if (r.requestId !== undefined) headers['X-Request-Id'] = r.requestId;
          const sent: Sent = { method: w.method, path: w.path(r.id), auth: surface.auths[r.caller], headers };
          if (w.body !== null) {
            sent.body = poison === 'universal' ? r.universal : bodyText(r.base, r.extra, r.entry);
            if (poison === 'contentType') sent.contentType = r.contentType;
          }
          return { w, poison, sent };
        }),
    );

export interface Read {
  path: (id: string, id2: string, query: string) => string;
  /** The path names one runtime: another tenant must get a 404. */
  runtime?: boolean;
}

export const READS: Read[] = [
  { path: (_i, _j, q) => `/api/v1/runtimes${q}` },
  { path: (id) => `/api/v1/runtimes/${id}`, runtime: true },
  { path: (id) => `/api/v1/runtimes/${id}/history`, runtime: true },
  { path: (_i, _j, q) => `/api/v1/tasks${q}` },
  { path: (_i, _j, q) => `/api/v1/workflows${q}` },
  { path: (id) => `/api/v1/workflows/${id}` },
  { path: (id, v) => `/api/v1/workflows/${id}/versions/${v}` },
  { path: (id) => `/api/v1/workflows/${id}/versions` },
  { path: (id, v) => `/api/v1/workflows/${id}/versions/${v}/diff/${v}` },
  { path: (id) => `/api/v1/workflows/${id}/migrations` },
  { path: (id, v) => `/api/v1/workflows/${id}/migrations/${v}` },
  { path: () => '/api/v1/cluster' },
  { path: (_i, _j, q) => `/api/v1/webhooks${q}` },
  { path: (id) => `/api/v1/webhooks/${id}` },
  { path: (id, _j, q) => `/api/v1/analytics/workflows/${id}${q}` },
  { path: (_i, _j, q) => `/api/v1/notifications${q}` },
  // wait=0 first: the stream answers what it has and ends (a hostile query cannot make it wait).
  { path: (_i, _j, q) => `/api/v1/notifications/stream?wait=0${q.replace(/^\?/, '&')}` },
  { path: () => '/api/v1/notifications/preferences' },
  { path: () => '/api/v1/notifications/settings' },
  { path: (_i, _j, q) => `/api/v1/notifications/dead-letters${q}` },
  { path: (_i, _j, q) => `/api/v1/retention-policy${q}` },
  { path: () => '/health' },
  { path: () => '/ready' },
  { path: () => '/metrics' },
  { path: () => '/openapi.json' },
  { path: () => '/docs' },
  { path: (id, _j, q) => `/docs/assets/${id}${q}` },
  { path: (_i, _j, q) => `/console${q}` },
  { path: (_i, _j, q) => `/console/${q}` },
  { path: (id, _j, q) => `/console/assets/${id}${q}` },
  { path: (id, _j, q) => `/api/v1/${id}${q}` },
  { path: (id, id2) => `/${id}/${id2}` },
];

export const anyId = (): fc.Arbitrary<string> =>
  fc.oneof(
    badIdSegment,
    fc.constantFrom(...TRAVERSALS),
    fc.constantFrom(...surface.runtimeIds, ...WORKFLOW_IDS, '1', '0', '-1', '1e3', '999999999'),
    fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,20}$/),
  );
