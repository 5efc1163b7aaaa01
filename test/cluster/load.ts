import type { ClusterHarness } from './cluster-harness.ts';
import { TENANT } from './cluster-harness.ts';
import { commandRequest, startRequest } from '../actors/runtime-host/runtime-host-fixture.ts';
import { expect } from 'vitest';
import { ENCRYPTED, pairId } from '../../src/store/crypto/encrypted-columns.ts';
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
  // Comments are encrypted at rest (docs/security.md): each row's is opened, then counted.
  const rows = await h.query(
    "SELECT runtime_id, seq, comment FROM runtime_log WHERE tenant = ? AND action = 'comment'",
    [TENANT],
  );
  const { cipher } = testCipher(h.db.pool);
  const counts = new Map<string, number>();
  for (const r of rows) {
    const comment = await cipher.open(
      TENANT,
      ENCRYPTED.logComment,
      pairId(String(r.runtime_id), Number(r.seq)),
      String(r.comment),
    );
    counts.set(comment, (counts.get(comment) ?? 0) + 1);
  }
  const missing = load.acked.filter((a) => counts.get(a.comment) !== 1);
  const duplicated = [...counts].filter(([, n]) => n > 1);
  expect(missing, 'acknowledged commands not logged exactly once').toEqual([]);
  expect(duplicated, 'commands logged more than once').toEqual([]);
}
