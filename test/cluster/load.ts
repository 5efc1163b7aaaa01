import type { ClusterHarness } from './cluster-harness.ts';
import { TENANT } from './cluster-harness.ts';
import { commandRequest, startRequest } from '../actors/runtime-host/runtime-host-fixture.ts';
import { expect } from 'vitest';
import { openStepBody } from '../../src/store/mysql/sealed-columns.ts';
import { testCipher } from '../harness/master-keys.ts';
import { untilProjected } from '../fixtures/unpublished-steps.ts';

/** Starts `count` purchase-order runtimes and returns their ids. */
export async function createRuntimes(h: ClusterHarness, count: number, label: string): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${label}-${i}`);
  await Promise.all(
    ids.map(async (id) => {
      const reply = await h.send(startRequest(TENANT, id, `doc-${id}`));
      if (!reply.ok) throw new Error(`start ${id}: ${reply.problem.code} ${reply.problem.message}`);
    }),
  );
  return ids;
}

export interface LoadResult {
  acked: { runtimeId: string; comment: string }[];
  failed: { runtimeId: string; comment: string; error: string }[];
  sent: number;
}

/**
 * Steady command load: `workers` loops each sending creator comments (every one
 * a durable, logged state change) with a unique comment and idempotency key,
 * recording every acknowledgement.
 */
export function startLoad(h: ClusterHarness, runtimes: readonly string[], workers = 8) {
  const result: LoadResult = { acked: [], failed: [], sent: 0 };
  let running = true;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; running; i++) {
      const runtimeId = runtimes[(w * 7919 + i) % runtimes.length]!;
      const comment = `load-${w}-${i}`;
      result.sent++;
      try {
        const reply = await h.send(
          commandRequest(TENANT, runtimeId, 'alice', 'comment', { comment }, { idempotencyKey: `key-${comment}` }),
        );
        if (reply.ok) result.acked.push({ runtimeId, comment });
        else result.failed.push({ runtimeId, comment, error: `${reply.problem.code}: ${reply.problem.message}` });
      } catch (error) {
        result.failed.push({ runtimeId, comment, error: String(error) });
      }
    }
  });
  return {
    result,
    /** Stops sending and waits for the commands in flight. */
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

/** Every acknowledged command is in its runtime's log exactly once, and no command is there twice. */
export async function expectExactlyOnce(h: ClusterHarness, load: LoadResult): Promise<void> {
  await untilProjected(h.db.pool);
  // The history is the log's (audit-log.ts), encrypted at rest (docs/security.md): each step's body is opened.
  const steps = await h.query('SELECT runtime_id, revision, body FROM runtime_steps WHERE tenant = ?', [TENANT]);
  const { cipher } = testCipher(h.db.pool);
  await cipher.ready([TENANT]);
  const counts = new Map<string, number>();
  for (const r of steps) {
    const body = await openStepBody(cipher, TENANT, String(r.runtime_id), Number(r.revision), r.body);
    for (const e of body.log ?? []) {
      if (e.action === 'comment' && e.comment !== undefined) counts.set(e.comment, (counts.get(e.comment) ?? 0) + 1);
    }
  }
  const missing = load.acked.filter((a) => counts.get(a.comment) !== 1);
  const duplicated = [...counts].filter(([, n]) => n > 1);
  expect(missing, 'acknowledged commands not logged exactly once').toEqual([]);
  expect(duplicated, 'commands logged more than once').toEqual([]);
}
