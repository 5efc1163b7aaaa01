import { signToken } from '../../src/dev-token.ts';
import { poDoc } from '../actors/runtime-host-fixture.ts';
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
        await Promise.all(PEOPLE.map(async (p) => [p, await signToken(stack.secret, { sub: p, tid: tenant.id, roles: ['member'] }, 4 * 3600)] as const)),
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

  const send = async (command: Command): Promise<any | undefined> => {
    if (badEvery > 0 && ++sent % badEvery === 0) await sendBadInput(stack, tenants[sent % tenants.length]!, record);
    const result = await client.send(command, wanted);
    return result.ok ? result.body : undefined;
  };

  const drive = async (worker: number, order: number): Promise<void> => {
    const tenant = tenants[worker % tenants.length]!;
    const requester: Person = order % 2 === 0 ? 'alice' : 'bob';
    const mid = order % 3 === 1; // one order in three needs the finance committee
    const key = (step: string): string => `${options.label}-w${worker}-o${order}-${step}`;
    const docId = `${options.label}-w${worker}-o${order}`;
    const base = { tenant: tenant.id };
    const started = await send({
      ...base,
      token: tenant.tokens[requester],
      path: '/api/v1/runtimes',
      body: { app: 'purchase.order', docId, doc: poDoc(mid ? 20_000_000 : 5_000_000, { requester }) },
      idempotencyKey: key('start'),
      action: 'start',
      actor: requester,
    });
    if (started === undefined) return;
    const id = String(started.id);
    const act = (actor: Person, action: string, step: string, extra: Record<string, unknown> = {}): Promise<any | undefined> =>
      send({
        ...base,
        token: tenant.tokens[actor],
        path: `/api/v1/runtimes/${encodeURIComponent(id)}/actions`,
        body: { action, ...extra },
        idempotencyKey: key(step),
        action,
        actor,
        runtimeId: id,
      });
    if ((await act(requester, 'submit', 'submit')) === undefined || !running) return;
    if ((await act('pur-mgr', 'approve', 'mgr', { comment: 'ok' })) === undefined || !mid || !running) return;
    const [first, second] = [FINANCE[order % 4]!, FINANCE[(order + 1) % 4]!];
    if ((await act(first, 'approve', 'fin1')) === undefined || !running) return;
    await act(second, 'approve', 'fin2');
  };

  const loops = Array.from({ length: options.workers ?? 12 }, async (_, worker) => {
    for (let order = 0; running; order++) await drive(worker, order);
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
