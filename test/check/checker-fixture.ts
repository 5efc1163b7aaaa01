import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type mysql from 'mysql2/promise';
import { Registry } from 'prom-client';
import { afterAll, beforeAll } from 'vitest';
import { JetStreamEventPublisher } from '../../src/actors/events/jetstream-event-publisher.ts';
import { OutboxRelay } from '../../src/actors/events/outbox-relay.ts';
import type { ShardRequest } from '../../src/actors/bus/ports.ts';
import { RuntimeHost } from '../../src/actors/runtime-host/runtime-host.ts';
import { shardOf } from '../../src/actors/shard-of.ts';
import type { AcknowledgedCommand } from '../../src/check/index.ts';
import { CachedRuntimeStore } from '../../src/store/cached-runtime-store.ts';
import { MemorySnapshotCache } from '../../src/store/memory/snapshot-cache.ts';
import { MySqlDirectoryStore } from '../../src/store/mysql/directory-store.ts';
import { MySqlRuntimeStore } from '../../src/store/mysql/runtime-store.ts';
import { MySqlTransitionWriter } from '../../src/store/mysql/transition-writer.ts';
import { MySqlWorkflowStore } from '../../src/store/mysql/workflow-store.ts';
import {
  TestClock,
  commandRequest as cmd,
  ok,
  poDoc,
  seedTenant,
  startRequest,
} from '../actors/runtime-host/runtime-host-fixture.ts';
import { connectTestNats } from '../actors/nats-fixture.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { waitFor } from '../harness/wait.ts';
import { countUnpublished } from '../fixtures/unpublished-steps.ts';
import { uniqueTenant } from '../store/fixtures.ts';

const SHARDS = 4;

/**
 * A test file's checker world, made before its tests and removed after them: a database of its own (`database`),
 * a NATS connection named `client`, and a CheckerStack relaying to the stream `<prefix>_EVENTS`.
 */
export function useCheckerStack(database: string, client: string, prefix: string) {
  const stream = `${prefix}_EVENTS`;
  let db: TestDatabase | undefined;
  let nc: NatsConnection | undefined;
  let stack: CheckerStack | undefined;
  beforeAll(async () => {
    db = await useTestDatabase(database);
    nc = await connectTestNats(client);
    stack = await CheckerStack.create(db.pool, nc, prefix, stream);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    if (nc) {
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
    await db?.drop();
  });
  return {
    stream,
    db: (): TestDatabase => db!,
    nc: (): NatsConnection => nc!,
    stack: (): CheckerStack => stack!,
  };
}

/** A driven tenant: what was acknowledged, and its runtimes' ids. */
export interface Scenario {
  tenant: string;
  acknowledged: AcknowledgedCommand[];
  ids: { a: string; b: string; c: string; d: string };
}

/** A node over one test database and stream: a runtime host, its group-commit writer and an outbox relay to JetStream. */
export class CheckerStack {
  readonly clock = new TestClock();
  readonly host: RuntimeHost;
  private readonly writer: MySqlTransitionWriter;
  private readonly store: MySqlRuntimeStore;
  private readonly workflows: MySqlWorkflowStore;
  private readonly directory: MySqlDirectoryStore;

  private constructor(
    readonly pool: mysql.Pool,
    readonly nc: NatsConnection,
    readonly prefix: string,
    readonly stream: string,
    private readonly publisher: JetStreamEventPublisher,
  ) {
    this.writer = new MySqlTransitionWriter(pool);
    this.store = new MySqlRuntimeStore(pool);
    this.workflows = new MySqlWorkflowStore(pool);
    this.directory = new MySqlDirectoryStore(pool);
    const cache = new MemorySnapshotCache();
    const runtimes = new CachedRuntimeStore(this.store, cache, { registry: new Registry() });
    this.host = new RuntimeHost(
      { runtimes, writer: this.writer, cache, workflows: this.workflows, directory: this.directory, clock: this.clock },
      { shardCount: SHARDS, sweepIntervalMs: 0 },
    );
    for (let s = 0; s < SHARDS; s++) this.host.openShard(s, 1);
  }

  static async create(pool: mysql.Pool, nc: NatsConnection, prefix: string, stream: string): Promise<CheckerStack> {
    return new CheckerStack(pool, nc, prefix, stream, await JetStreamEventPublisher.create(nc, { prefix, stream }));
  }

  async close(): Promise<void> {
    this.host.close();
    await this.writer.close();
  }

  /**
   * A fresh tenant with four purchase orders driven through the host (start, submit, approve, comment retried with
   * its key, an SLA timer fired, update, return to an earlier stage, reassign, reject), every acknowledged command
   * recorded, then every event relayed to the stream.
   */
  async scenario(): Promise<Scenario> {
    const tenant = uniqueTenant('chk');
    // Runtime ids unique across tenants, as the gateway makes them: event ids (<runtime>:<seq>:<i>) are the stream's msg ids.
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => `${tenant}-${x}`) as [string, string, string, string];
    await seedTenant({ workflows: this.workflows, directory: this.directory }, tenant);
    const acknowledged: AcknowledgedCommand[] = [];
    const send = async (request: ShardRequest): Promise<void> => {
      const reply = ok(await this.host.handle(request));
      acknowledged.push({ tenant, runtimeId: reply.state.runtime.id, idempotencyKey: request.idempotencyKey });
    };
    await send(startRequest(tenant, a, 'doc-a'));
    await send(cmd(tenant, a, 'alice', 'submit'));
    await send(cmd(tenant, a, 'pur-mgr', 'approve', { comment: 'fine' }));

    await send(startRequest(tenant, b, 'doc-b', { doc: poDoc(20_000_000) }));
    await send(cmd(tenant, b, 'alice', 'submit'));
    const retried = cmd(tenant, b, 'alice', 'comment', { comment: 'sent twice' });
    await send(retried);
    await send(retried);
    await send(cmd(tenant, b, 'pur-mgr', 'approve'));

    await send(startRequest(tenant, c, 'doc-c'));
    await send(cmd(tenant, c, 'alice', 'submit'));
    await this.fireSla(tenant, c);
    await send(cmd(tenant, c, 'pur-mgr', 'reject', { comment: 'no' }));

    await send(startRequest(tenant, d, 'doc-d', { doc: poDoc(20_000_000) }));
    await send(cmd(tenant, d, 'alice', 'submit'));
    await send(cmd(tenant, d, 'pur-mgr', 'approve'));
    await send(cmd(tenant, d, 'fin-1', 'update', { patch: { amount: 19_000_000 } }));
    await send(cmd(tenant, d, 'fin-1', 'return', { toNode: 'manager' }));
    await send(cmd(tenant, d, 'alice', 'reassign', { admin: true, fromEmployee: 'pur-mgr', toEmployee: 'ops-head' }));
    await send(cmd(tenant, d, 'ops-head', 'approve'));
    await this.relayAll(tenant);
    return { tenant, acknowledged, ids: { a, b, c, d } };
  }

  /** Fires the runtime's SLA timer a day later, through the host as the timer service would. */
  private async fireSla(tenant: string, runtimeId: string): Promise<void> {
    const due = await this.store.dueTimers(shardOf(runtimeId, SHARDS), this.clock.now() + 86_400_000, 500);
    const sla = due.find((t) => t.tenant === tenant && t.runtimeId === runtimeId && t.kind === 'sla_due');
    if (!sla) throw new Error(`no SLA timer for ${runtimeId}`);
    this.clock.advance(86_400_000);
    if ((await this.host.deliverTimer(tenant, runtimeId, sla)) !== 'fired')
      throw new Error(`SLA timer of ${runtimeId} did not fire`);
    await this.store.deleteTimer(tenant, sla.id, sla.dueAt);
  }

  /** Runs an outbox relay until every step of the tenant with events is published (its shard's watermark past it). */
  async relayAll(tenant: string): Promise<void> {
    const relay = new OutboxRelay({ store: this.store, publisher: this.publisher, prefix: this.prefix, pollMs: 50 });
    try {
      for (let s = 0; s < SHARDS; s++) relay.openShard(s);
      await waitFor(async () => (await countUnpublished(this.pool, { tenant })) === 0, {
        deadlineMs: 30_000,
        what: `every event of ${tenant} published`,
      });
    } finally {
      await relay.stop();
    }
  }
}
