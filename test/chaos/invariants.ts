import { checkInvariants as checkTenant, violationLines } from '../../src/check/index.ts';
import { waitFor } from '../harness/wait.ts';
import { countUnpublished, untilProjected } from '../fixtures/unpublished-steps.ts';
import type { ChaosStack } from './chaos-stack.ts';
import type { Ack } from './load-record.ts';
import { testKeyRing } from '../harness/master-keys.ts';

/** What the invariant checker found over every tenant of a run. */
export interface InvariantReport {
  /** Tenants checked. */
  tenants: number;
  /** Acknowledged commands not in their runtime's log. */
  lost: number;
  /** Commands in a log more than once. */
  duplicates: number;
  /** Every violation (src/check's `violationLines`), lost and duplicated commands included; empty when all hold. */
  problems: string[];
  /** Each tenant's one-line summary. */
  summaries: string[];
}

/**
 * Runs the invariant checker (src/check) on each tenant of the run once the
 * load has stopped and the outbox relay has caught up: each acknowledged
 * command in its runtime's log exactly once, each runtime's state equal to
 * the replay of its log, no task closed twice, every committed event in the
 * cluster's JetStream stream exactly once.
 */
export async function checkInvariants(
  stack: ChaosStack,
  tenants: readonly string[],
  acks: readonly Ack[],
): Promise<InvariantReport> {
  const pool = stack.pool();
  try {
    await waitFor(async () => (await countUnpublished(pool)) === 0, {
      deadlineMs: 60_000,
      intervalMs: 200,
      what: 'the outbox relay caught up (every shard watermark past its events)',
    });
    await untilProjected(pool);
    const report: InvariantReport = { tenants: tenants.length, lost: 0, duplicates: 0, problems: [], summaries: [] };
    for (const tenant of tenants) {
      const r = await checkTenant({
        pool,
        tenant,
        nats: { url: stack.services.nats.url, stream: stack.eventStream },
        acknowledged: acks.filter((a) => a.tenant === tenant),
        keyRing: testKeyRing(),
      });
      report.lost += r.lost.length;
      report.duplicates += r.duplicated.length;
      report.problems.push(...violationLines(r).map((line) => `${tenant}: ${line}`));
      report.summaries.push(r.summary);
    }
    return report;
  } finally {
    await pool.end();
  }
}
