import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { eventMsgId, eventSubject } from '../../src/actors/events/event-subject.ts';
import { checkInvariants, type AcknowledgedCommand, type InvariantReport } from '../../src/check/index.ts';
import type { DomainEvent, RuntimeState } from '../../src/engine/index.ts';
import { uniquePrefix } from '../actors/nats-fixture.ts';
import { main } from '../../src/cli/main.ts';
import { MySqlReadModel } from '../../src/store/mysql/read-model.ts';
import { testNatsUrl } from '../harness/nats-server.ts';
import { useCheckerStack } from './checker-fixture.ts';
import { stepEvents, type StepBody } from '../../src/store/step-log.ts';

const PREFIX = uniquePrefix('check');
const checker = useCheckerStack('checker', 'bflow-test-checker', PREFIX);
const STREAM = checker.stream;

const pool = (): mysql.Pool => checker.db().pool;
const rows = async (sql: string, values: unknown[]): Promise<mysql.RowDataPacket[]> =>
  (await pool().query<mysql.RowDataPacket[]>(sql, values))[0];
const run = (sql: string, values: unknown[]): Promise<unknown> => pool().query(sql, values);

function check(tenant: string, acknowledged: readonly AcknowledgedCommand[]): Promise<InvariantReport> {
  return checkInvariants({
    pool: pool(),
    tenant,
    nats: { connection: checker.nc(), stream: STREAM },
    acknowledged,
    pageSize: 2,
  });
}

/** The report's violation counts by kind, without the empty ones. */
function violations(r: InvariantReport): Record<string, number> {
  const e = r.events;
  const all: Record<string, number> = {
    lost: r.lost.length,
    duplicated: r.duplicated.length,
    idempotencyMismatches: r.idempotencyMismatches.length,
    replayMismatches: r.replayMismatches.length,
    tasksClosedTwice: r.tasksClosedTwice.length,
    taskMismatches: r.taskMismatches.length,
    missing: e.missing.length,
    streamDuplicated: e.duplicated.length,
    notCommitted: e.notCommitted.length,
    msgIdMismatches: e.msgIdMismatches.length,
    unpublished: e.unpublished.length,
    outboxMismatches: e.outboxMismatches.length,
  };
  return Object.fromEntries(Object.entries(all).filter(([, n]) => n > 0));
}

/** A log entry as runtime_log holds it (what the duplicate test copies into a row of its own). */
interface LogRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  from_node: string;
  to_node: string | null;
  comment: string | null;
  changes: string | null;
  /** The step's cause, JSON, on its first entry. */
  command: string | null;
}

/** The last log entry with `action` in a runtime's history (its step's body: audit-log.ts), as runtime_log columns. */
async function logRow(tenant: string, runtimeId: string, action: string): Promise<LogRow> {
  const steps = await rows(
    'SELECT revision, body FROM runtime_steps WHERE tenant = ? AND runtime_id = ? ORDER BY revision DESC',
    [tenant, runtimeId],
  );
  for (const step of steps) {
    const body = JSON.parse(String(step.body)) as StepBody;
    const entries = body.log ?? [];
    const i = entries.map((e) => e.action).lastIndexOf(action);
    if (i === -1) continue;
    const e = entries[i]!;
    const command = i === 0 ? body.cause : undefined;
    return {
      seq: e.seq,
      at: e.at,
      actor: e.actor,
      action: e.action,
      from_node: e.fromNode,
      to_node: e.toNode ?? null,
      comment: e.comment ?? null,
      changes: e.changes === undefined ? null : JSON.stringify(e.changes),
      command: command === undefined ? null : JSON.stringify(command),
    };
  }
  throw new Error(`no ${action} in the log of ${runtimeId}`);
}

/** Loses a history entry: takes it out of its step's body (with the step's cause when it carried it). */
async function dropLogEntry(tenant: string, runtimeId: string, seq: number): Promise<void> {
  for (const step of await rows('SELECT revision, body FROM runtime_steps WHERE tenant = ? AND runtime_id = ?', [
    tenant,
    runtimeId,
  ])) {
    const body = JSON.parse(String(step.body)) as StepBody;
    const i = (body.log ?? []).findIndex((e) => e.seq === seq);
    if (i === -1) continue;
    body.log!.splice(i, 1);
    if (i === 0) delete body.cause;
    await run('UPDATE runtime_steps SET body = ? WHERE tenant = ? AND runtime_id = ? AND revision = ?', [
      JSON.stringify(body),
      tenant,
      runtimeId,
      step.revision,
    ]);
    return;
  }
  throw new Error(`no entry ${seq} in the log of ${runtimeId}`);
}

async function storedState(tenant: string, runtimeId: string): Promise<RuntimeState> {
  const [row] = await rows('SELECT state FROM runtimes WHERE tenant = ? AND id = ?', [tenant, runtimeId]);
  return JSON.parse(String(row!.state)) as RuntimeState;
}

/** The tenant's messages in the stream: stream seq and event. */
async function streamEvents(tenant: string): Promise<{ seq: number; event: DomainEvent }[]> {
  const jsm = await jetstreamManager(checker.nc());
  const last = (await jsm.streams.info(STREAM)).state.last_seq;
  const out: { seq: number; event: DomainEvent }[] = [];
  for (let seq = 1; seq <= last; seq++) {
    const m = await jsm.streams.getMessage(STREAM, { seq }).catch(() => null);
    const event = m?.json<DomainEvent>();
    if (event?.tenant === tenant) out.push({ seq, event });
  }
  return out;
}

describe('invariant checker on MariaDB and JetStream', () => {
  it('check - a clean run is ok: every runtime replays, every acknowledged command logged once, every event in the stream once', async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    const report = await check(tenant, acknowledged);
    expect(violations(report), report.summary).toEqual({});
    expect(report.ok).toBe(true);
    expect(report.counts).toMatchObject({
      runtimes: 4,
      acknowledged: acknowledged.length - 1,
      taskRows: expect.any(Number),
    });
    expect(report.counts.logEntries).toBe(acknowledged.length - 1 + 1); // the retried comment once, plus the SLA timer's step
    expect(report.counts.eventsInStream).toBe(report.counts.eventsCommitted);
    expect(report.counts.eventsCommitted).toBeGreaterThan(report.counts.logEntries);
    expect(report.summary).toMatch(/^check chk-\S+: OK — 4 runtimes, \d+ log entries/);
    // The test clock runs in January 2026, the directory was written at the real time: after the first step.
    expect(report.warnings).toEqual([
      expect.stringMatching(/^the directory changed at .*, after the first checked step \(2026-01-05T09:00:00.000Z\)/),
    ]);
    const timer = (await new MySqlReadModel(pool()).runtimeLog(tenant, ids.c)).find((e) => e.actor === 'system');
    expect(timer?.command).toEqual({
      command: { type: 'timer', timerId: expect.any(String), kind: 'sla_due', stage: 1 },
    });
  }, 60_000);

  it('check - a lost log entry of an acknowledged command is reported lost, and its runtime no longer replays to its state', async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    const row = await logRow(tenant, ids.a, 'approve');
    await dropLogEntry(tenant, ids.a, row.seq);
    const key = (JSON.parse(String(row.command)) as { idempotencyKey: string }).idempotencyKey;
    const report = await check(tenant, acknowledged);
    expect(report.ok).toBe(false);
    expect(report.lost).toEqual([{ runtimeId: ids.a, idempotencyKey: key, foundIn: [] }]);
    expect(report.idempotencyMismatches).toEqual([{ idempotencyKey: key, problem: 'not logged', runtimeId: ids.a }]);
    expect(report.replayMismatches).toEqual([expect.objectContaining({ runtimeId: ids.a, reason: 'state differs' })]);
    expect(report.duplicated).toEqual([]);
  }, 60_000);

  it('check - an acknowledged key logged by a second step is reported duplicated with both positions', async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    const row = await logRow(tenant, ids.b, 'comment');
    const seq = Math.max(...(await new MySqlReadModel(pool()).runtimeLog(tenant, ids.b)).map((e) => e.seq)) + 1;
    await run(
      'INSERT INTO runtime_log (tenant, runtime_id, seq, at, actor, action, from_node, to_node, comment, changes, command) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        tenant,
        ids.b,
        seq,
        row.at,
        row.actor,
        row.action,
        row.from_node,
        row.to_node,
        row.comment,
        row.changes,
        row.command,
      ],
    );
    const key = (JSON.parse(String(row.command)) as { idempotencyKey: string }).idempotencyKey;
    const report = await check(tenant, acknowledged);
    expect(report.duplicated).toEqual([
      {
        idempotencyKey: key,
        occurrences: [
          { runtimeId: ids.b, seq: row.seq },
          { runtimeId: ids.b, seq },
        ],
        acknowledged: true,
      },
    ]);
    expect(report.lost).toEqual([]);
    // The copied comment replays as a third comment: the state and the log both run one step past the stored ones.
    expect(report.replayMismatches.map((m) => [m.runtimeId, m.reason])).toEqual([
      [ids.b, 'state differs'],
      [ids.b, 'log differs'],
    ]);
  }, 60_000);

  it("check - a logged key without its idempotency record (a retry would run again) or with another runtime's record is an idempotency mismatch", async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    const keyOf = async (runtimeId: string, action: string): Promise<string> =>
      (JSON.parse(String((await logRow(tenant, runtimeId, action)).command)) as { idempotencyKey: string })
        .idempotencyKey;
    const [gone, moved] = [await keyOf(ids.a, 'submit'), await keyOf(ids.b, 'submit')];
    // Keys live on their steps: one taken off its step; one moved to another runtime's record in the pre-004 table.
    await run('UPDATE runtime_steps SET idem_key = NULL WHERE tenant = ? AND idem_key IN (?, ?)', [
      tenant,
      gone,
      moved,
    ]);
    await run(
      "INSERT INTO idempotency_keys (tenant, idem_key, runtime_id, response, created_at) VALUES (?, ?, ?, '{}', 0)",
      [tenant, moved, ids.c],
    );
    const report = await check(tenant, acknowledged);
    expect(violations(report)).toEqual({ idempotencyMismatches: 2 });
    expect(report.idempotencyMismatches).toEqual([
      { idempotencyKey: moved, problem: 'other runtime', runtimeId: ids.b, recordRuntimeId: ids.c },
      { idempotencyKey: gone, problem: 'no record', runtimeId: ids.a },
    ]);
  }, 60_000);

  it('check - a changed stored state is a replay mismatch naming the first differing path', async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    const state = await storedState(tenant, ids.d);
    state.doc['amount'] = 1;
    await run('UPDATE runtimes SET state = ? WHERE tenant = ? AND id = ?', [JSON.stringify(state), tenant, ids.d]);
    const report = await check(tenant, acknowledged);
    // Both replays see it: the commands through the engine, and runtime_steps through the store's replay.
    expect(violations(report)).toEqual({ replayMismatches: 2 });
    expect(report.replayMismatches).toEqual(
      ['state differs', 'runtime_steps replay differs'].map((reason) => ({
        runtimeId: ids.d,
        reason,
        path: 'state.doc.amount',
        expected: 19_000_000,
        actual: 1,
      })),
    );
  }, 60_000);

  it('check - a runtime row gone while its log, tasks and outbox remain (half-written) is reported with its stray tasks', async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    const [tasks] = await rows('SELECT COUNT(*) AS n FROM tasks WHERE tenant = ? AND runtime_id = ?', [tenant, ids.c]);
    await run('DELETE FROM runtimes WHERE tenant = ? AND id = ?', [tenant, ids.c]);
    const report = await check(tenant, acknowledged);
    expect(violations(report)).toEqual({ replayMismatches: 1, taskMismatches: Number(tasks!.n) });
    expect(report.replayMismatches).toEqual([
      { runtimeId: ids.c, reason: 'log or task rows of a runtime that does not exist', path: 'runtime' },
    ]);
    expect(report.taskMismatches.every((t) => t.runtimeId === ids.c && t.problem === 'stray')).toBe(true);
    expect(report.counts.runtimes).toBe(3);
  }, 60_000);

  it('check - a document slot held by a finished runtime, or an active runtime without its slot, is reported', async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    const finished = await storedState(tenant, ids.a);
    await run("INSERT INTO active_documents (tenant, app, doc_id, runtime_id) VALUES (?, 'purchase.order', ?, ?)", [
      tenant,
      finished.runtime.docId,
      ids.a,
    ]);
    const report = await check(tenant, acknowledged);
    expect(violations(report)).toEqual({ replayMismatches: 1 });
    expect(report.replayMismatches).toEqual([
      {
        runtimeId: ids.a,
        reason: 'document slot held by a runtime that is not active',
        path: `active_documents[purchase.order/${finished.runtime.docId}]`,
      },
    ]);
  }, 60_000);

  it('check - a stream that does not exist is a CheckError stream_not_found', async () => {
    const { tenant, acknowledged } = await checker.stack().scenario();
    await expect(
      checkInvariants({
        pool: pool(),
        tenant,
        nats: { connection: checker.nc(), stream: `${STREAM}_NONE` },
        acknowledged,
      }),
    ).rejects.toMatchObject({
      name: 'CheckError',
      code: 'stream_not_found',
    });
  }, 60_000);

  it('check - a task voted twice in the stored state is reported closed twice; a stray closed task row and a changed row are task mismatches', async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    const state = await storedState(tenant, ids.a);
    const stage = state.stages[1]!;
    stage.tasks.push({ ...stage.tasks.find((t) => t.assignee === 'pur-mgr')! });
    await run('UPDATE runtimes SET state = ? WHERE tenant = ? AND id = ?', [JSON.stringify(state), tenant, ids.a]);
    await run(
      "INSERT INTO tasks (tenant, runtime_id, stage, assignee, node, app, doc_id, status, action, assigned_at, closed_at) VALUES (?, ?, 1, 'bob', 'manager', 'purchase.order', 'doc-b', 'done', 'approve', 1, 2)",
      [tenant, ids.b],
    );
    await run(
      "UPDATE tasks SET closed_at = closed_at + 1 WHERE tenant = ? AND runtime_id = ? AND assignee = 'pur-mgr'",
      [tenant, ids.c],
    );
    const report = await check(tenant, acknowledged);
    expect(report.tasksClosedTwice).toEqual([
      { runtimeId: ids.a, stage: 1, assignee: 'pur-mgr', source: 'state', detail: ['approve', 'approve'] },
    ]);
    expect(report.replayMismatches.map((m) => [m.runtimeId, m.path])).toEqual([
      [ids.a, 'state.stages[1].tasks[1]'],
      [ids.a, 'state.stages[1].tasks[1]'],
    ]);
    expect(
      report.taskMismatches.map(({ runtimeId, stage, assignee, problem, field }) => ({
        runtimeId,
        stage,
        assignee,
        problem,
        field,
      })),
    ).toEqual([
      { runtimeId: ids.b, stage: 1, assignee: 'bob', problem: 'stray', field: undefined },
      { runtimeId: ids.c, stage: 1, assignee: 'pur-mgr', problem: 'differs', field: 'closedAt' },
    ]);
  }, 60_000);

  it('check - an event deleted from the stream is missing; one published again under another msg id is duplicated and its msg id named', async () => {
    const { tenant, acknowledged } = await checker.stack().scenario();
    const [first, second] = await streamEvents(tenant);
    await (await jetstreamManager(checker.nc())).streams.deleteMessage(STREAM, first!.seq);
    const ack = await jetstream(checker.nc()).publish(
      eventSubject(PREFIX, second!.event),
      JSON.stringify(second!.event),
      {
        msgID: 'not-the-event-id',
      },
    );
    const report = await check(tenant, acknowledged);
    expect(violations(report)).toEqual({ missing: 1, streamDuplicated: 1, msgIdMismatches: 1 });
    expect(report.events.missing).toEqual([
      { eventId: first!.event.id, runtimeId: first!.event.runtimeId, position: expect.any(Number) },
    ]);
    expect(report.events.duplicated).toEqual([
      { eventId: second!.event.id, count: 2, streamSeqs: [second!.seq, ack.seq] },
    ]);
    expect(report.events.msgIdMismatches).toEqual([
      { streamSeq: ack.seq, msgId: 'not-the-event-id', eventId: second!.event.id },
    ]);
  }, 60_000);

  it('check - an outbox row left unpublished is reported; an event in the stream that no outbox row holds is not committed', async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    // The tenant's last step with events: its shard's published watermark set back to just before it.
    const [row] = await rows(
      'SELECT position, shard, body FROM runtime_steps WHERE tenant = ? AND runtime_id = ? AND events > 0 ORDER BY position DESC LIMIT 1',
      [tenant, ids.c],
    );
    await run('UPDATE shard_watermarks SET published_position = ? WHERE shard = ?', [
      Number(row!.position) - 1,
      row!.shard,
    ]);
    const body = JSON.parse(String(row!.body)) as StepBody;
    row!.seq = body.seq;
    const stray = { ...stepEvents(tenant, ids.c, body)[0]!, id: `${ids.c}:999:0` };
    const ack = await jetstream(checker.nc()).publish(eventSubject(PREFIX, stray), JSON.stringify(stray), {
      msgID: eventMsgId(stray),
    });
    const report = await check(tenant, acknowledged);
    expect(violations(report)).toEqual({ unpublished: 1, notCommitted: 1 });
    expect(report.events.unpublished).toEqual([
      { position: Number(row!.position), runtimeId: ids.c, seq: Number(row!.seq), events: expect.any(Number) },
    ]);
    expect(report.events.notCommitted).toEqual([{ eventId: `${ids.c}:999:0`, streamSeq: ack.seq }]);
  }, 60_000);
});

describe('bflow check', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bflow-check-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  async function bflowCheck(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['check', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  }

  function jsonl(name: string, lines: readonly unknown[]): string {
    const file = join(tmp, name);
    writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
    return file;
  }

  it('bflow check - bad arguments exit 2 with a message naming the bad value', async () => {
    const url = checker.db().url;
    const cases: [string[], string][] = [
      [['--mysql-url', url], '--tenant is required'],
      [['--tenant', 't', '--mysql-url', 'http://127.0.0.1/x'], '--mysql-url "http://127.0.0.1/x"'],
      [['--tenant', 't', '--mysql-url', url, '--nats-url', 'not a url'], '--nats-url "not a url"'],
      [['--tenant', 't', '--mysql-url', url, '--page-size', 'lots'], '--page-size "lots"'],
      [
        ['--tenant', 't', '--mysql-url', url, '--acknowledged', join(tmp, 'nope.jsonl')],
        `--acknowledged "${join(tmp, 'nope.jsonl')}" cannot be read`,
      ],
      [
        [
          '--tenant',
          't',
          '--mysql-url',
          url,
          '--acknowledged',
          jsonl('bad.jsonl', [{ runtimeId: 'r', idempotencyKey: 'k' }, '{"runtimeId": 1}']),
        ],
        'bad.jsonl:2: expected',
      ],
      [['--tenant', 't', '--mysql-url', url, '--colour'], "Unknown option '--colour'"],
      [
        ['--tenant', 't', '--mysql-url', url, '--nats-url', await testNatsUrl(), '--stream', 'NO_SUCH_STREAM'],
        '--stream "NO_SUCH_STREAM": stream NO_SUCH_STREAM does not exist',
      ],
    ];
    for (const [args, message] of cases) {
      const run = await bflowCheck(...args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.err[0]).toContain(message);
      if (!args.includes('--stream')) expect(run.err[1]).toMatch(/^usage: bflow check/);
    }
  });

  it('bflow check - a clean tenant exits 0 with its summary; a lost command exits 1 and names it', async () => {
    const { tenant, acknowledged, ids } = await checker.stack().scenario();
    const file = jsonl(
      `${tenant}.jsonl`,
      acknowledged.map(({ runtimeId, idempotencyKey }) => ({ runtimeId, idempotencyKey })),
    );
    const args = [
      '--tenant',
      tenant,
      '--mysql-url',
      checker.db().url,
      '--nats-url',
      await testNatsUrl(),
      '--stream',
      STREAM,
      '--acknowledged',
      file,
    ];
    const clean = await bflowCheck(...args);
    expect(clean.err).toEqual([]);
    expect(clean.code).toBe(0);
    expect(clean.out).toEqual([
      expect.stringMatching(
        new RegExp(
          `^check ${tenant}: OK — 4 runtimes, .* 0 lost, 0 duplicated, 0 idempotency mismatches, 0 replay mismatches.*; 1 warning$`,
        ),
      ),
      expect.stringMatching(/^warning: the directory changed at /),
    ]);

    const row = await logRow(tenant, ids.d, 'update');
    await dropLogEntry(tenant, ids.d, row.seq);
    const broken = await bflowCheck(...args);
    expect(broken.code).toBe(1);
    expect(broken.out[0]).toMatch(
      /VIOLATIONS — .* 1 lost, 0 duplicated, 1 idempotency mismatches, 2 replay mismatches, .* 0 unpublished outbox rows, 4 outbox mismatches; 1 warning$/,
    );
    const key = (JSON.parse(String(row.command)) as { idempotencyKey: string }).idempotencyKey;
    expect(broken.out).toContain(`lost: ${ids.d} key ${key}`);
    expect(broken.out.some((l) => l.startsWith(`replay mismatch: ${ids.d} state differs at state.`))).toBe(true);
    const json = await bflowCheck(...args, '--json');
    expect(JSON.parse(json.out.join('\n'))).toMatchObject({
      ok: false,
      lost: [{ runtimeId: ids.d, idempotencyKey: key }],
    });
  }, 60_000);
});
