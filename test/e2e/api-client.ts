import { randomBytes } from 'node:crypto';
import { signToken } from '../../src/app/dev-token.ts';
import { employees, groups } from '../../src/app/demo/org-chart.ts';
import { loadExample } from '../../src/app/demo/demo-seed.ts';
import { waitFor } from '../harness/wait.ts';
import type { Stack } from './stack.ts';

/** An HTTP answer, body parsed when it is JSON. */
export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Sent as is (for malformed JSON and oversize bodies); otherwise `body` is JSON-encoded. */
  raw?: string;
}

/**
 * One caller of the API: a bearer token (or none) against a stack. A 429
 * is waited out (Retry-After) within a deadline, as a well-behaved client would.
 */
export class Caller {
  constructor(
    readonly url: string,
    readonly token: string | undefined,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...o.headers };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const payload = o.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      if (res.status === 429 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
        continue;
      }
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, headers: res.headers, body: parsed as T, text };
    }
  }

  get<T = any>(path: string): Promise<Answer<T>> {
    return this.request<T>('GET', path);
  }

  post<T = any>(path: string, body?: unknown, o?: RequestOptions): Promise<Answer<T>> {
    return this.request<T>('POST', path, body, o);
  }

  put<T = any>(path: string, body?: unknown, o?: RequestOptions): Promise<Answer<T>> {
    return this.request<T>('PUT', path, body, o);
  }

  /** Starts a runtime; expects 201. */
  async start(app: string, docId: string, doc: Record<string, unknown>): Promise<RuntimeView> {
    return expectStatus(await this.post('/api/v1/runtimes', { app, docId, doc }), 201).body;
  }

  /** Acts on a runtime; returns the raw answer. */
  act(
    id: string,
    action: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    return this.post(`/api/v1/runtimes/${encodeURIComponent(id)}/actions`, { action, ...extra }, { headers });
  }

  /** Acts and expects 200; returns the view. */
  async do(id: string, action: string, extra: Record<string, unknown> = {}): Promise<RuntimeView> {
    return expectStatus(await this.act(id, action, extra), 200, `${action}`).body;
  }

  async view(id: string): Promise<RuntimeView> {
    return expectStatus(await this.get(`/api/v1/runtimes/${encodeURIComponent(id)}`), 200).body;
  }
}

/** The runtime view of docs/api.md#the-runtime-view (the fields the scenarios read). */
export interface RuntimeView {
  id: string;
  app: string;
  docId: string;
  status: string;
  failure?: { code: string; message: string; node: string };
  stages: {
    node: string;
    status: 'open' | 'closed';
    exitAction?: string;
    tasks: { assignee: string; status: string; action?: string }[];
  }[];
  doc: Record<string, unknown>;
  allowedActions: string[];
  editableFields: string[];
  revision: number;
}

export function expectStatus<T>(answer: Answer<T>, status: number, what = ''): Answer<T> {
  if (answer.status !== status)
    throw new Error(`${what} expected HTTP ${status}, got ${answer.status}: ${answer.text.slice(0, 2000)}`);
  return answer;
}

/** The current (last) stage's node and open assignees. */
export function current(view: RuntimeView): { node: string | undefined; open: string[] } {
  const stage = view.stages.at(-1);
  return {
    node: stage?.node,
    open: (stage?.tasks ?? [])
      .filter((t) => t.status === 'open')
      .map((t) => t.assignee)
      .sort(),
  };
}

export const ALL_ROLES = ['admin', 'designer', 'integration', 'member'] as const;

/** A 2-of-3 stage of a three-member group, for the simultaneous-approval scenario (test-only definition). */
export const TRIO_DEFINITION = {
  app: 'test.trio',
  name: 'Two of three',
  fields: { amount: 'number' },
  nodes: [
    { id: 'start', kind: 'initial', title: 'Requester' },
    {
      id: 'trio',
      kind: 'task',
      title: 'Two of the trio',
      actions: ['approve', 'reject'],
      collaborators: { type: 'in_workflow', members: [{ group: 'g-trio' }] },
      exit: { approve: 2, reject: 1 },
    },
    { id: 'approved', kind: 'approved', title: 'Approved' },
  ],
  associations: [
    { from: 'start', to: 'trio' },
    { from: 'trio', to: 'approved' },
  ],
};

/**
 * A fresh tenant seeded through the API, as an ERP integration would: the org
 * chart (plus a three-member group), the purchase-order, leave-request and trio
 * workflows created, published and applied. Each scenario gets its own tenant,
 * so scenarios never see each other's data (nor rate-limit buckets).
 */
export class Tenant {
  readonly workflows = new Map<string, string>();

  private constructor(
    readonly stack: Stack,
    readonly id: string,
  ) {}

  static async create(stack: Stack, label = 't'): Promise<Tenant> {
    const tenant = new Tenant(stack, `e2e-${label}-${randomBytes(4).toString('hex')}`);
    await tenant.seed();
    return tenant;
  }

  /** A caller of this tenant with a fresh token. */
  async as(sub: string, roles: readonly string[] = ['member'], ttlSec = 600): Promise<Caller> {
    return new Caller(this.stack.url, await signToken(this.stack.secret, { sub, tid: this.id, roles }, ttlSec));
  }

  admin(): Promise<Caller> {
    return this.as('admin-1', ALL_ROLES);
  }

  private async seed(): Promise<void> {
    const admin = await this.as('integration-1', ['admin', 'integration', 'designer']);
    const trio = ['t-1', 't-2', 't-3'].map((id) => ({ id, name: id.toUpperCase(), groupId: 'g-trio', active: true }));
    const directory = {
      groups: [...groups, { id: 'g-trio', name: 'Trio', parentId: 'g-root', level: 1 }],
      employees: [...employees, ...trio],
    };
    expectStatus(await admin.post('/api/v1/directory/import', directory), 200, 'directory import');
    const definitions = [await loadExample('purchase-order'), await loadExample('leave-request'), TRIO_DEFINITION];
    for (const definition of definitions) {
      const created = expectStatus(await admin.post('/api/v1/workflows', definition), 201, 'create workflow').body as {
        id: string;
      };
      expectStatus(await admin.post(`/api/v1/workflows/${created.id}/publish`), 201, 'publish');
      expectStatus(
        await admin.put(`/api/v1/apps/${definition.app}/config`, { workflowId: created.id, mode: 'apply' }),
        200,
        'app config',
      );
      this.workflows.set(definition.app, created.id);
    }
  }
}

/** Polls until `check` holds (e.g. the read side caught up), with a deadline. */
export function eventually<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  deadlineMs = 10_000,
): Promise<NonNullable<T>> {
  return waitFor(check, { deadlineMs, intervalMs: 20, what }) as Promise<NonNullable<T>>;
}
