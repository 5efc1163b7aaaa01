import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { reapChildren, spawnTsx } from '../harness/child.ts';
import { useTestDatabase, type TestDatabase } from '../harness/mysql.ts';
import { waitFor } from '../harness/wait.ts';
import { stepEvents, type StepBody } from '../../src/store/step-log.ts';

let db: TestDatabase | undefined;
afterAll(async () => {
  reapChildren();
  await db?.drop();
});

interface ChildLog {
  groups: Map<string, number>;
  acks: { id: string; revision: number }[];
}

function parse(stdout: string): ChildLog {
  const groups = new Map<string, number>();
  const acks: ChildLog['acks'] = [];
  for (const line of stdout.split('\n')) {
    const [kind, a, b] = line.split(' ');
    if (kind === 'GROUP' && a && b) groups.set(a, Number(b));
    if (kind === 'ACK' && a && b) acks.push({ id: a, revision: Number(b) });
  }
  return { groups, acks };
}

describe('transition writer crash', () => {
  it('transition writer crash - after SIGKILL every acknowledged record is stored and every batch is all or nothing', async () => {
    db = await useTestDatabase('crash');
    await db.pool.end(); // only the child may hold connections to this database while we watch for them to go
    const child = spawnTsx('test/fixtures/writer-crash-child.ts', [db.url]);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    await waitFor(() => parse(stdout).acks.length >= 400 || child.exitCode !== null, {
      deadlineMs: 30_000,
      what: '400 acks',
    });
    expect(child.exitCode, stderr).toBeNull();
    child.kill('SIGKILL');
    await exited;
    const log = parse(stdout.slice(0, stdout.lastIndexOf('\n') + 1));

    const conn = await mysql.createConnection({ uri: db.url });
    try {
      const q = async (sql: string, values: unknown[] = []) =>
        (await conn.query<mysql.RowDataPacket[]>(sql, values))[0];
      const dbName = db.url.slice(db.url.lastIndexOf('/') + 1);
      // The server rolls back (or finishes committing) the killed client's transaction once it sees the disconnect.
      await waitFor(
        async () =>
          Number(
            (
              await q(
                'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
                [dbName],
              )
            )[0]?.n,
          ) === 0,
        { deadlineMs: 10_000, what: "the child's connections to close" },
      );
      const revs = new Map(
        (await q('SELECT id, revision FROM runtimes')).map((r) => [String(r.id), Number(r.revision)]),
      );
      // The history is the log's: each step's entries (audit-log.ts), each with its marker as the comment.
      const logged = new Set<string>();
      const perMarker = new Map<string, number>();
      const eventsPerMarker = new Map<string, number>();
      for (const row of await q('SELECT tenant, runtime_id, body FROM runtime_steps')) {
        const body = JSON.parse(String(row.body)) as StepBody;
        for (const entry of body.log ?? []) {
          logged.add(`${row.runtime_id}:${entry.seq}`);
          perMarker.set(String(entry.comment), (perMarker.get(String(entry.comment)) ?? 0) + 1);
        }
        for (const e of stepEvents(String(row.tenant), String(row.runtime_id), body)) {
          const m = String(e.data.marker);
          eventsPerMarker.set(m, (eventsPerMarker.get(m) ?? 0) + 1);
        }
      }
      for (const ack of log.acks) {
        expect(revs.get(ack.id) ?? 0, `acked ${ack.id}@${ack.revision}`).toBeGreaterThanOrEqual(ack.revision);
        expect(logged.has(`${ack.id}:${ack.revision}`), `log of ${ack.id}@${ack.revision}`).toBe(true);
      }
      let partial = 0;
      for (const [marker, n] of perMarker) {
        const size = log.groups.get(marker);
        expect(size, `marker ${marker} was announced`).toBeDefined();
        if (n !== size || eventsPerMarker.get(marker) !== 2 * n) partial += 1;
      }
      expect(partial).toBe(0);
      expect(perMarker.size).toBeGreaterThan(10);
    } finally {
      await conn.end();
    }
  }, 60_000);
});
