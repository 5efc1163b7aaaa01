import type { Logger } from 'pino';
import { loadExample } from '../fixtures/engine-driver.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import {
  act,
  member,
  startPo,
  T0,
  TENANT_A,
  TENANT_B,
  testGateway,
  type TestGateway,
} from '../gateway/test-backend.ts';
import { tenantState } from './security-checks.ts';

/**
 * Two tenants on one gateway (the real app over the in-process store, or over
 * the MySQL repositories a cluster uses): tenant A holds objects tenant B
 * has no twin of, each carrying a marker string nobody but A ever sends, and
 * a digest of everything a client could observe of a tenant.
 */

export { TENANT_A, TENANT_B };
export type Backend = 'memory' | 'mysql';

/** Strings only tenant A's stored data contains: no response to anyone else may carry one. */
export const A_MARKERS = [
  'A-ONLY-NOTE-7f3c',
  'A-Only Person 7f3c',
  'A-Only Group 7f3c',
  'A-Only workflow 7f3c',
  'a-only-7f3c.example.com',
] as const;

/** Tenant A's webhook secret: no response, not even to A, and no log line may carry it. */
export const A_WEBHOOK_SECRET = 'A-webhook-secret-7f3c-0123456789';

/** Tenant A's objects (ids); tenant B has none of them. */
export interface TenantAObjects {
  /** A created runtime (alice's draft), a submitted one (pur-mgr's inbox), an approved one. */
  runtimeIds: string[];
  docIds: string[];
  workflowId: string;
  app: string;
  employeeId: string;
  groupId: string;
  webhookId: string;
  /** A running migration plan of A's workflow (no executor runs it here). */
  planId: string;
}

export const A_ONLY = {
  workflowId: 'wf-only-a',
  app: 'only.a.app',
  employeeId: 'only-a-emp',
  groupId: 'only-a-group',
  webhookId: 'wh-only-a',
  planId: 'plan-only-a',
} as const;

/** Employees whose inboxes the digest reads (the org chart's approvers and the A-only employee). */
const INBOX_USERS = ['alice', 'bob', 'pur-mgr', 'ops-head', 'fin-head', 'ceo', 'erp', 'dee', A_ONLY.employeeId];
const APPS = ['purchase.order', A_ONLY.app];

export interface TwoTenants {
  gw: TestGateway;
  backend: Backend;
  a: TenantAObjects;
  /** Everything a client could observe of `tenant`, as one JSON string. */
  digest(tenant: string): Promise<string>;
  close(): Promise<void>;
}

/** A gateway with tenants A and B seeded alike (org chart, purchase-order workflow) and A's own objects. */
export async function twoTenants(backend: Backend, label: string, logger?: Logger): Promise<TwoTenants> {
  let db: TestDatabase | undefined;
  if (backend === 'mysql') db = await useTestDatabase(label);
  const gw = await testGateway({ ...(db && { mysql: db.pool }), ...(logger && { logger }) });
  const { workflows, directory } = gw.store;
  const definition = {
    ...(loadExample('purchase-order') as Record<string, unknown>),
    app: A_ONLY.app,
    name: A_MARKERS[3],
  };
  await workflows.createWorkflow(TENANT_A, A_ONLY.workflowId, definition as never, T0);
  await workflows.publish(TENANT_A, A_ONLY.workflowId, T0);
  await workflows.setAppConfig({
    tenant: TENANT_A,
    companyId: '',
    app: A_ONLY.app,
    mode: 'apply',
    workflowId: A_ONLY.workflowId,
  });
  await directory.upsertGroups(TENANT_A, [{ id: A_ONLY.groupId, name: A_MARKERS[2], managerId: 'ceo' }]);
  await directory.upsertEmployees(TENANT_A, [
    { id: A_ONLY.employeeId, name: A_MARKERS[1], groupId: A_ONLY.groupId, active: true },
  ]);
  await gw.store.webhooks.create({
    id: A_ONLY.webhookId,
    tenant: TENANT_A,
    url: `https://${A_MARKERS[4]}/hook`,
    events: ['*'],
    secret: A_WEBHOOK_SECRET,
    createdAt: T0,
  });

  await gw.store.migrations.createPlan({
    id: A_ONLY.planId,
    tenant: TENANT_A,
    workflowId: A_ONLY.workflowId,
    fromVersion: 1,
    toVersion: 1,
    nodeMap: {},
    auto: false,
    createdBy: 'dee',
    createdAt: T0,
  });
  const docIds = ['A-PO-1', 'A-PO-2', 'A-PO-3'];
  const runtimeIds: string[] = [];
  for (const docId of docIds) runtimeIds.push((await startPo(gw, docId)).id as string);
  const note = { action: 'update', patch: { note: A_MARKERS[0] } };
  for (const id of runtimeIds) expectOk(await act(gw, member('alice'), id, note), 'update');
  for (const id of runtimeIds.slice(1)) expectOk(await act(gw, member('alice'), id, { action: 'submit' }), 'submit');
  expectOk(
    await act(gw, member('pur-mgr'), runtimeIds[2] ?? '', { action: 'approve', comment: A_MARKERS[0] }),
    'approve',
  );

  return {
    gw,
    backend,
    a: { runtimeIds, docIds, ...A_ONLY },
    digest: (tenant) => tenantState(gw.deps, tenant, INBOX_USERS, APPS),
    close: async () => {
      await gw.close();
      await db?.drop();
    },
  };
}

function expectOk(reply: { status: number; body: unknown }, what: string): void {
  if (reply.status !== 200) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
}

/** The first of tenant A's markers in `text`, or undefined. */
export const aMarkerIn = (text: string): string | undefined => A_MARKERS.find((m) => text.includes(m));
