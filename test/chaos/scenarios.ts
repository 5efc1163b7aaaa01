import type { ChaosStack } from './chaos-stack.ts';
import { freezeNode, killGateway, killNode, killNodesRepeatedly, serviceOutage } from './faults.ts';
import type { LoadRecord } from './load-record.ts';
import { outageAnswers } from './outage-answers.ts';

/** One chaos scenario: a fault plan run under steady load, ended by the invariant check. */
export interface Scenario {
  name: string;
  /** What it does, one sentence (docs/operations.md#reliability). */
  summary: string;
  /** `short` runs in `npm test`; `long` in `npm run chaos`. */
  length: 'short' | 'long';
  /** `bflow node` processes. @default 2 */
  nodes?: number;
  /** Purchase orders in flight. @default 8 (short), 16 (long) */
  workers?: number;
  /** More environment for its bflow processes (it then needs a stack of its own: a `long` scenario). */
  env?: Record<string, string>;
  /** Injects the faults (after the warm-up) and returns what the summary should also show. */
  inject(stack: ChaosStack, record: LoadRecord): Promise<Record<string, unknown>>;
  /** Scenario-specific violations found in the record (empty = pass). */
  verify?(record: LoadRecord): string[];
}

/** A node SIGKILLed, replaced at once. */
const nodeKill = (name: string, length: Scenario['length'], everyMs: number, forMs: number): Scenario => ({
  name,
  summary:
    forMs === 0
      ? 'SIGKILL one `bflow node` under load and start a replacement; its shards move after the lease TTL (3 s).'
      : `SIGKILL a \`bflow node\` every ${everyMs / 1000} s for ${forMs / 1000} s (each replaced at once, as a supervisor would).`,
  length,
  nodes: 3,
  async inject(stack, record) {
    if (forMs === 0) {
      const victim = stack.live().sort((a, b) => b.held.size - a.held.size)[0]!;
      await killNode(stack, record, victim);
      await stack.waitAllShardsHeld();
      return { kills: 1 };
    }
    return { kills: await killNodesRepeatedly(stack, record, everyMs, forMs) };
  },
});

/** A service stopped for `downMs`; for MySQL, commands must fail fast with 503 store_unavailable meanwhile. */
const serviceStop = (
  name: string,
  service: 'mysql' | 'redis' | 'nats',
  downMs: number,
  length: Scenario['length'],
): Scenario => ({
  name,
  summary: {
    mysql: `Stop MySQL for ${downMs / 1000} s: commands fail fast with 503 \`store_unavailable\` (never a hang or a 500), and recover by themselves once it is back.`,
    redis: `Stop Redis for ${downMs / 1000} s: commands go on from MySQL (the snapshot cache is only a cache); rate limits fail open.`,
    nats: `Restart NATS (stopped ${downMs / 1000} s, same port and data directory): commands fail fast with 503 \`shard_unavailable\` meanwhile; nodes re-claim their shards on reconnect.`,
  }[service],
  length,
  async inject(stack, record) {
    const mark = await serviceOutage(stack, record, service, 'stop', downMs);
    await stack.waitAllShardsHeld(60_000);
    return { outage: outageAnswers(record, mark, service === 'mysql' ? 'store_unavailable' : 'shard_unavailable') };
  },
  // MySQL down: the nodes answer store_unavailable; NATS down: the gateway cannot reach them (shard_unavailable). Either at once.
  verify:
    service === 'redis'
      ? undefined
      : (record) => failsFast(record, service === 'mysql' ? 'store_unavailable' : 'shard_unavailable', service),
});

/** MySQL hung (SIGSTOP): nothing answers, connections stay open; tries must still get a 503 rather than hang. */
const mysqlFreeze = (name: string, frozenMs: number, length: Scenario['length']): Scenario => ({
  name,
  summary: `Freeze MySQL (SIGSTOP) for ${frozenMs / 1000} s, then SIGCONT: a hung database, not a refused connection; commands answer 503 rather than hang, and recover.`,
  length,
  async inject(stack, record) {
    const mark = await serviceOutage(stack, record, 'mysql', 'freeze', frozenMs);
    await stack.waitAllShardsHeld(60_000);
    return { outage: outageAnswers(record, mark, 'store_unavailable') };
  },
  verify: (record) => {
    const answers = outageAnswers(record, record.faults[0]!, 'store_unavailable');
    return answers.hung > 0 ? [`${answers.hung} tries got no answer within the client timeout while MySQL hung`] : [];
  },
});

const gatewayKill = (name: string, kills: number, length: Scenario['length']): Scenario => ({
  name,
  summary: `SIGKILL the gateway mid-request${kills > 1 ? ` ${kills} times` : ''} and start a new one on the same port, while clients retry with the same Idempotency-Key.`,
  length,
  async inject(stack, record) {
    const gatewayStartMs: number[] = [];
    for (let i = 0; i < kills; i++) {
      if (i > 0) await waitForAcks(record, 50);
      const mark = await killGateway(stack, record);
      gatewayStartMs.push(Date.now() - mark.healedAt); // part of the recovery: a new process must start and connect
    }
    const cut = record.failedAttempts.filter((a) => a.status === undefined && a.code !== 'ECONNREFUSED').length;
    return { requestsCutMidway: cut, gatewayStartMs };
  },
  verify: (record) =>
    record.failedAttempts.some((a) => a.status === undefined) ? [] : ['no request was in flight when the gateway died'],
});

/**
 * Log-first commit with projections after it (BFLOW_PROJECTION_DELAY_MS): a node SIGKILLed under load dies
 * with steps committed to the log but not projected (the window is long, so every kill lands in one). The new
 * owners project them before firing the shards' timers; the invariant check then finds every acknowledged
 * command in the projections too.
 */
const nodeKillBeforeProjection = (name: string, delayMs: number): Scenario => ({
  name,
  summary: `With projections ${delayMs / 1000} s after the commit, SIGKILL a \`bflow node\` between the log commit and the projection write; the new owners project its steps before serving their timers.`,
  length: 'long',
  nodes: 3,
  env: { BFLOW_PROJECTION_DELAY_MS: String(delayMs) },
  async inject(stack, record) {
    const victim = stack.live().sort((a, b) => b.held.size - a.held.size)[0]!;
    await killNode(stack, record, victim);
    await stack.waitAllShardsHeld();
    return { kills: 1, projectionDelayMs: delayMs };
  },
});

const nodeFreeze = (name: string, length: Scenario['length']): Scenario => ({
  name,
  summary:
    'SIGSTOP a `bflow node` until its leases expire and the others take its shards, then SIGCONT it: it must drop them, and its stale work is fenced.',
  length,
  nodes: 3,
  async inject(stack, record) {
    const victim = stack.live().sort((a, b) => b.held.size - a.held.size)[0]!;
    await freezeNode(stack, record, victim);
    return { leasesLost: victim.lost };
  },
});

/** The tries sent while `service` was down were all answered 503 `code`, none left to the client's timeout. */
function failsFast(record: LoadRecord, code: string, service: string): string[] {
  const answers = outageAnswers(record, record.faults[0]!, code);
  const problems: string[] = [];
  if (answers.expected === 0) problems.push(`no command was answered 503 ${code} while ${service} was down`);
  if (answers.other.length > 0)
    problems.push(`answers other than 503 ${code} while ${service} was down: ${answers.other.join(', ')}`);
  if (answers.hung > 0)
    problems.push(
      `${answers.hung} tries got no answer within the client timeout while ${service} was down (not failing fast)`,
    );
  return problems;
}

/** Waits until `n` more commands were acknowledged (the load is flowing again). */
export async function waitForAcks(record: LoadRecord, n: number, deadlineMs = 60_000): Promise<void> {
  const target = record.acks.length + n;
  const deadline = Date.now() + deadlineMs;
  while (record.acks.length < target) {
    if (Date.now() > deadline)
      throw new Error(`only ${record.acks.length - target + n} of ${n} commands acknowledged within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const SCENARIOS: Scenario[] = [
  nodeKill('node-kill', 'short', 0, 0),
  serviceStop('redis-stop', 'redis', 5_000, 'short'),
  serviceStop('mysql-stop', 'mysql', 5_000, 'short'),
  gatewayKill('gateway-kill', 1, 'short'),
  nodeKill('node-kill-storm', 'long', 5_000, 60_000),
  nodeFreeze('node-freeze', 'long'),
  serviceStop('nats-restart', 'nats', 5_000, 'long'),
  serviceStop('redis-stop-20s', 'redis', 20_000, 'long'),
  serviceStop('mysql-stop-20s', 'mysql', 20_000, 'long'),
  gatewayKill('gateway-kill-3x', 3, 'long'),
  mysqlFreeze('mysql-freeze', 15_000, 'long'),
  nodeKillBeforeProjection('node-kill-before-projection', 2_000),
];

export function scenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) throw new Error(`no chaos scenario '${name}'; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return found;
}
