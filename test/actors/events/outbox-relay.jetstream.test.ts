import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../../src/actors/nats/connection.ts';
import { JetStreamEventPublisher } from '../../../src/actors/events/jetstream-event-publisher.ts';
import { eventMsgId } from '../../../src/actors/events/event-subject.ts';
import { OutboxRelay } from '../../../src/actors/events/outbox-relay.ts';
import type { DomainEvent } from '../../../src/engine/index.ts';
import { MySqlRuntimeStore } from '../../../src/store/mysql/runtime-store.ts';
import { stepEvents, type StepBody } from '../../../src/store/step-log.ts';
import { MySqlTransitionWriter } from '../../../src/store/mysql/transition-writer.ts';
import { reapChildren, spawnTsx } from '../../harness/child.ts';
import { useTestDatabase, type TestDatabase } from '../../harness/mysql.ts';
import { waitFor } from '../../harness/wait.ts';
import { step, uniqueShard, uniqueTenant } from '../../store/fixtures.ts';
import { countUnpublished } from '../../fixtures/unpublished-steps.ts';

const NATS_URL = process.env.BFLOW_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const suffix = randomBytes(4).toString('hex');
const STREAM = `BFLOW_T_RELAY_${suffix}`;
const PREFIX = `bflowt_relay_${suffix}`;
const BATCH = 20;

let db: TestDatabase | undefined;
let nc: NatsConnection | undefined;
afterAll(async () => {
  reapChildren();
  if (nc) {
    await (await jetstreamManager(nc)).streams.delete(STREAM).catch(() => undefined);
    await nc.close();
  }
  await db?.drop();
});

interface Child {
  process: ChildProcess;
  stdout: () => string;
  exited: Promise<void>;
}

/** Starts a relay child; `pauseAt` = the markPublished call it hangs in (0 = never). */
function startRelayChild(shard: number, pauseAt: number): Child {
  const saved = process.env.BFLOW_TEST_PAUSE_BEFORE_MARK;
  process.env.BFLOW_TEST_PAUSE_BEFORE_MARK = String(pauseAt); // spawn copies the environment synchronously
  const child = spawnTsx('test/fixtures/relay-child.ts', [
    db!.url,
    NATS_URL,
    STREAM,
    PREFIX,
    String(shard),
    String(BATCH),
  ]);
  if (saved === undefined) delete process.env.BFLOW_TEST_PAUSE_BEFORE_MARK;
  else process.env.BFLOW_TEST_PAUSE_BEFORE_MARK = saved;
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    if (child.signalCode !== 'SIGKILL') console.error(`relay child exited by itself (${child.exitCode}): ${stderr}`);
  });
  return { process: child, stdout: () => stdout, exited };
}

const lines = (out: string, kind: string) => out.split('\n').filter((l) => l.startsWith(`${kind} `));

async function kill(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

/** Every message of the stream, in stream order: its Nats-Msg-Id and the event id of its payload. */
async function streamContents(conn: NatsConnection): Promise<{ msgId: string | undefined; eventId: string }[]> {
  const total = (await (await jetstreamManager(conn)).streams.info(STREAM)).state.messages;
  const out: { msgId: string | undefined; eventId: string }[] = [];
  if (total === 0) return out;
  const consumer = await jetstream(conn).consumers.get(STREAM);
  const messages = await consumer.fetch({ max_messages: total, expires: 10_000 });
  for await (const m of messages) {
    out.push({ msgId: m.headers?.get('Nats-Msg-Id'), eventId: m.json<DomainEvent>().id });
    if (out.length === total) break;
  }
  return out;
}

async function query(pool: mysql.Pool, sql: string, values: unknown[] = []): Promise<mysql.RowDataPacket[]> {
  return (await pool.query<mysql.RowDataPacket[]>(sql, values))[0];
}

describe('outbox relay on MySQL and JetStream', () => {
  beforeAll(async () => {
    db = await useTestDatabase('outbox_relay_js');
    nc = await connectNats({ url: NATS_URL, name: 'bflow-test-outbox-relay' });
  });

  it('outbox relay - relays killed between publish and mark leave each event in the stream exactly once', async () => {
    const { pool } = db!;
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const writer = new MySqlTransitionWriter(pool);
    const outcomes = await Promise.all(
      Array.from({ length: 150 }, (_, i) => writer.commit(step({ tenant, id: `r${i}`, shard, events: 2 }))),
    );
    await writer.close();
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const rows = await query(pool, 'SELECT runtime_id, body FROM runtime_steps WHERE shard = ? ORDER BY position', [
      shard,
    ]);
    const expected = rows.flatMap((r) =>
      stepEvents(tenant, String(r.runtime_id), JSON.parse(String(r.body)) as StepBody).map((e) => e.id),
    );
    expect(expected).toHaveLength(300);

    // 1st relay: marks two batches, publishes the third, and dies before marking it.
    const first = startRelayChild(shard, 3);
    await waitFor(() => lines(first.stdout(), 'PAUSED').length === 1 || first.process.exitCode !== null, {
      deadlineMs: 30_000,
      what: 'the 1st pause',
    });
    await kill(first);
    expect(lines(first.stdout(), 'MARKED')).toHaveLength(2);
    expect(lines(first.stdout(), 'ACK')).toHaveLength(3 * BATCH * 2);

    // 2nd relay: re-publishes that third batch (duplicates), marks it, publishes the fourth and dies.
    const second = startRelayChild(shard, 2);
    await waitFor(() => lines(second.stdout(), 'PAUSED').length === 1 || second.process.exitCode !== null, {
      deadlineMs: 30_000,
      what: 'the 2nd pause',
    });
    await kill(second);
    expect(lines(second.stdout(), 'ACK').slice(0, BATCH * 2)).toEqual(
      lines(first.stdout(), 'ACK').slice(2 * BATCH * 2),
    );

    // 3rd relay: killed at a random point, wherever it is (publishing, marking or polling).
    const third = startRelayChild(shard, 0);
    const acksBefore = randomInt(1, 4 * BATCH * 2);
    await waitFor(() => lines(third.stdout(), 'ACK').length >= acksBefore || third.process.exitCode !== null, {
      deadlineMs: 30_000,
      what: `${acksBefore} acks`,
    });
    await kill(third);

    // A last relay, in process, finishes the outbox.
    const relay = new OutboxRelay({
      store: new MySqlRuntimeStore(pool),
      publisher: await JetStreamEventPublisher.create(nc!, { prefix: PREFIX, stream: STREAM }),
      prefix: PREFIX,
      batch: BATCH,
      pollMs: 50,
    });
    try {
      relay.openShard(shard);
      await waitFor(async () => (await countUnpublished(pool, { shard })) === 0, {
        deadlineMs: 30_000,
        what: "the shard's published watermark past its last step",
      });
    } finally {
      await relay.stop();
    }

    const contents = await streamContents(nc!);
    expect(contents.map((c) => c.eventId)).toEqual(expected); // each once, in log order
    const [mark] = await query(pool, 'SELECT published_position FROM shard_watermarks WHERE shard = ?', [shard]);
    const [last] = await query(pool, 'SELECT MAX(position) AS p FROM runtime_steps WHERE shard = ?', [shard]);
    expect(Number(mark?.published_position)).toBe(Number(last?.p));
    expect(contents.every((c) => c.msgId === eventMsgId({ tenant, id: c.eventId }))).toBe(true);
  }, 120_000);

  it('outbox relay - a node dead between the log commit and the publish: the next owner resumes from the watermark, each event once', async () => {
    const { pool } = db!;
    const [tenant, shard] = [uniqueTenant(), uniqueShard()];
    const store = new MySqlRuntimeStore(pool);
    const publisher = await JetStreamEventPublisher.create(nc!, { prefix: PREFIX, stream: STREAM });
    const writer = new MySqlTransitionWriter(pool);
    // The old owner: its relay publishes the first commits from memory and advances the watermark...
    const oldRelay = new OutboxRelay({ store, publisher, prefix: PREFIX, pollMs: 50, markDelayMs: 0 });
    oldRelay.openShard(shard);
    await waitFor(async () => (await countUnpublished(pool, { shard })) === 0, { what: 'the old relay caught up' });
    const first = await Promise.all(
      Array.from({ length: 5 }, (_, i) => writer.commit(step({ tenant, id: `w${i}`, shard, events: 2 }))),
    );
    first.forEach((o, i) => {
      if (o.ok)
        oldRelay.committed(shard, step({ tenant, id: `w${i}`, shard, events: 2 }).effects.events, o.outboxPosition);
    });
    await waitFor(async () => (await countUnpublished(pool, { shard })) === 0, { what: 'the first commits published' });
    await oldRelay.stop();
    // ...then it commits more and dies before its relay hears of them: nothing published, the watermark behind.
    const unheard = await Promise.all(
      Array.from({ length: 5 }, (_, i) => writer.commit(step({ tenant, id: `u${i}`, shard, events: 2 }))),
    );
    await writer.close();
    expect(unheard.every((o) => o.ok)).toBe(true);
    expect(await countUnpublished(pool, { shard })).toBe(5);
    // The new owner reads the log after the watermark and publishes what was left, once.
    const newRelay = new OutboxRelay({ store, publisher, prefix: PREFIX, pollMs: 50 });
    try {
      newRelay.openShard(shard);
      await waitFor(async () => (await countUnpublished(pool, { shard })) === 0, { what: 'the new owner caught up' });
    } finally {
      await newRelay.stop();
    }
    const mine = (await streamContents(nc!)).filter((c) => c.eventId.startsWith('w') || c.eventId.startsWith('u'));
    const ids = [...Array.from({ length: 5 }, (_, i) => `w${i}`), ...Array.from({ length: 5 }, (_, i) => `u${i}`)];
    expect(mine.map((c) => c.eventId).sort()).toEqual(ids.flatMap((id) => [`${id}:1:0`, `${id}:1:1`]).sort());
  }, 60_000);
});
