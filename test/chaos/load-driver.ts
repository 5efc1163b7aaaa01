import { signToken } from '../../src/app/dev-token.ts';
import { poDoc } from '../actors/runtime-host/runtime-host-fixture.ts';
import { Tenant } from '../e2e/api-client.ts';
import type { Stack } from '../e2e/stack.ts';
import { sendBadInput } from './bad-inputs.ts';
import { LoadRecord } from './load-record.ts';
import { RetryingClient, type Command, type RetryingClientOptions } from './retrying-client.ts';

/** Options of {@link startLoad}. */
export interface LoadOptions extends RetryingClientOptions {
  /** Purchase orders driven at once (one per worker), i.e. commands in flight. @default 12 */
  workers?: number;
  /** One malformed request mixed in every this many commands of a worker (0 = none). @default 25 */
  badInputEvery?: number;
  /** Label of document ids and idempotency keys (unique per run). */
  label: string;
}

/** The people of the demo org chart who act on a purchase order (API tokens per tenant). */
const PEOPLE = ['alice', 'bob', 'pur-mgr', 'fin-1', 'fin-2', 'fin-3', 'fin-head'] as const;
type Person = (typeof PEOPLE)[number];
const FINANCE: Person[] = ['fin-1', 'fin-2', 'fin-3', 'fin-head'];

/** A seeded tenant and a token for each person acting in it. */
export interface LoadTenant {
  id: string;
  tokens: Record<Person, string>;
}

/**
 * Seeds `count` tenants through the API (org chart, workflows). The gateway's
 * rate limit is per (tenant, caller), so the load spreads over tenants as
 * many ERP customers would.
 */
export async function seedTenants(stack: Stack, count: number, label: string): Promise<LoadTenant[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const tenant = await Tenant.create(stack, `${label}${i}`);
      const tokens = Object.fromEntries(
        await Promise.all(
          PEOPLE.map(
            async (p) =>
              [p, await signToken(stack.secret, { sub: p, tid: tenant.id, roles: ['member'] }, 4 * 3600)] as const,
          ),
        ),
      ) as Record<Person, string>;
      return { id: tenant.id, tokens };
    }),
  );
}

export interface RunningLoad {
  record: LoadRecord;
  /** Stops starting new commands, lets those in flight finish (no more retries), and returns the record. */
  stop(): Promise<LoadRecord>;
}

/**
 * Steady load over HTTP: each worker starts a purchase order and drives it to
 * its end (submit, the manager's approval, and for a mid-size order two of the
 * finance committee), then the next. Every command carries an Idempotency-Key
 * and is retried with it (RetryingClient); a few malformed requests are mixed
 * in. Workers take tenants round-robin.
 */
export function startLoad(stack: Stack, tenants: readonly LoadTenant[], options: LoadOptions): RunningLoad {
  const record = new LoadRecord();
  const client = new RetryingClient(stack.url, record, options);
  const badEvery = options.badInputEvery ?? 25;
  let running = true;
  const wanted = (): boolean => running;
  let sent = 0;

  /** Sends one command (and now and then a malformed request first); its answer's body, or undefined when it failed or the load stopped. */
  const send = async (command: Command): Promise<any | undefined> => {
    if (!running) return undefined;
    if (badEvery > 0 && ++sent % badEvery === 0) await sendBadInput(stack, tenants[sent % tenants.length]!, record);
    const result = await client.send(command, wanted);
    return result.ok ? result.body : undefined;
  };

  const loops = Array.from({ length: options.workers ?? 12 }, async (_, worker) => {
    const tenant = tenants[worker % tenants.length]!;
    for (let order = 0; running; order++) await driveOrder(send, tenant, orderPlan(options.label, worker, order));
  });

  return {
    record,
    async stop() {
      running = false;
      record.stoppedAt = Date.now();
      await Promise.all(loops);
      return record;
    },
  };
}

/** One purchase order of a worker: who starts it, the document, and the actions after the start, in order. */
interface OrderPlan {
  keyPrefix: string;
  requester: Person;
  doc: Record<string, unknown>;
  actions: { actor: Person; action: string; step: string; extra?: Record<string, unknown> }[];
}

/** Alternating requesters; one order in three is mid-size (20M) and needs two of the finance committee after the manager. */
function orderPlan(label: string, worker: number, order: number): OrderPlan {
  const requester: Person = order % 2 === 0 ? 'alice' : 'bob';
  const mid = order % 3 === 1;
  const actions: OrderPlan['actions'] = [
    { actor: requester, action: 'submit', step: 'submit' },
    { actor: 'pur-mgr', action: 'approve', step: 'mgr', extra: { comment: 'ok' } },
  ];
  if (mid)
    actions.push(
      { actor: FINANCE[order % 4]!, action: 'approve', step: 'fin1' },
      { actor: FINANCE[(order + 1) % 4]!, action: 'approve', step: 'fin2' },
    );
  return {
    keyPrefix: `${label}-w${worker}-o${order}`,
    requester,
    doc: poDoc(mid ? 20_000_000 : 5_000_000, { requester }),
    actions,
  };
}

/** Starts the order's runtime, then sends its actions one after the other; stops at the first that fails. */
async function driveOrder(
  send: (command: Command) => Promise<any | undefined>,
  tenant: LoadTenant,
  plan: OrderPlan,
): Promise<void> {
  const started = await send({
    tenant: tenant.id,
    token: tenant.tokens[plan.requester],
    path: '/api/v1/runtimes',
    body: { app: 'purchase.order', docId: plan.keyPrefix, doc: plan.doc },
    idempotencyKey: `${plan.keyPrefix}-start`,
    action: 'start',
    actor: plan.requester,
  });
  if (started === undefined) return;
  const id = String(started.id);
  for (const a of plan.actions) {
    const answer = await send({
      tenant: tenant.id,
      token: tenant.tokens[a.actor],
      path: `/api/v1/runtimes/${encodeURIComponent(id)}/actions`,
      body: { action: a.action, ...a.extra },
      idempotencyKey: `${plan.keyPrefix}-${a.step}`,
      action: a.action,
      actor: a.actor,
      runtimeId: id,
    });
    if (answer === undefined) return;
  }
}
