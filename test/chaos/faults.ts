import type { NodeProcess } from '../cluster/cluster-harness.ts';
import { waitReady } from '../e2e/stack.ts';
import { waitFor } from '../harness/wait.ts';
import type { ChaosStack } from './chaos-stack.ts';
import type { FaultMark, LoadRecord } from './load-record.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Records a fault that starts now; `heal` undoes it (and may set `healedAt` earlier than its own end). */
async function inject(
  record: LoadRecord,
  kind: string,
  detail: string,
  apply: () => Promise<void> | void,
  heal: (mark: FaultMark) => Promise<void>,
): Promise<FaultMark> {
  const mark: FaultMark = { kind, detail, at: Date.now(), healedAt: 0 };
  record.faults.push(mark);
  await apply();
  await heal(mark);
  mark.healedAt ||= Date.now();
  return mark;
}

let replacements = 0;

/**
 * SIGKILLs `victim` and starts a replacement node at once (as a supervisor
 * would, with a new process identity); the dead node's shards move after the
 * lease TTL. The fault counts as undone at the kill: the rest is the system's job.
 */
export async function killNode(stack: ChaosStack, record: LoadRecord, victim: NodeProcess): Promise<NodeProcess> {
  let replacement: NodeProcess | undefined;
  await inject(
    record,
    'node SIGKILL',
    victim.id,
    () => victim.signal('SIGKILL'),
    async (mark) => {
      mark.healedAt = Date.now();
      await waitFor(() => victim.exited, { deadlineMs: 5000, what: `${victim.id} exits after SIGKILL` });
      replacement = stack.startNode(`${victim.id.split('-')[0]}-r${++replacements}`);
    },
  );
  return replacement!;
}

/** SIGKILLs a node every `everyMs` for `forMs` (round-robin over the live ones), each replaced at once; waits until every shard is held again. */
export async function killNodesRepeatedly(
  stack: ChaosStack,
  record: LoadRecord,
  everyMs: number,
  forMs: number,
): Promise<number> {
  const end = Date.now() + forMs;
  let kills = 0;
  while (Date.now() < end) {
    const live = stack.live().sort((a, b) => b.held.size - a.held.size);
    const victim = live.find((n) => n.held.size > 0) ?? live[0];
    if (victim) {
      await killNode(stack, record, victim);
      kills++;
    }
    await sleep(Math.max(0, Math.min(everyMs, end - Date.now())));
  }
  await stack.waitAllShardsHeld();
  return kills;
}

/**
 * SIGSTOPs `victim` until the other nodes have taken every shard it held
 * (its leases expired: it is past its TTL), then SIGCONTs it. The resumed node
 * must notice its leases are gone and stop serving them; the per-runtime
 * revision check fences anything it still tries.
 */
export async function freezeNode(stack: ChaosStack, record: LoadRecord, victim: NodeProcess): Promise<void> {
  const had = [...victim.held];
  await inject(
    record,
    'node SIGSTOP past its lease',
    `${victim.id} (${had.length} shards)`,
    () => victim.signal('SIGSTOP'),
    async () => {
      const others = (): NodeProcess[] => stack.live().filter((n) => n !== victim);
      await waitFor(() => had.every((s) => others().some((n) => n.held.has(s))), {
        deadlineMs: stack.options.leaseTtlMs + 20_000,
        intervalMs: 50,
        what: `${victim.id}'s shards taken over while it is stopped`,
      });
      victim.signal('SIGCONT');
    },
  );
  await waitFor(() => had.every((s) => !victim.held.has(s)), {
    deadlineMs: 15_000,
    what: `${victim.id} drops the shards it lost`,
  });
}

/**
 * Takes a private service out for `ms`: `stop` shuts it down (SIGTERM; connections refused) and starts it again
 * on the same port and directory; `freeze` SIGSTOPs it (it hangs: connections stay open, nothing answers), then SIGCONTs it.
 */
export async function serviceOutage(
  stack: ChaosStack,
  record: LoadRecord,
  service: 'mysql' | 'redis' | 'nats',
  how: 'stop' | 'freeze',
  ms: number,
): Promise<FaultMark> {
  const server = stack.services[service];
  return inject(
    record,
    how === 'stop' ? `${service} stopped` : `${service} SIGSTOP`,
    `${Math.round(ms / 1000)} s`,
    () => (how === 'stop' ? server.stop() : server.kill('SIGSTOP')),
    async () => {
      await sleep(ms);
      if (how === 'stop') await server.start();
      else server.kill('SIGCONT');
    },
  );
}

/** SIGKILLs the gateway while requests are in flight and starts a new one on the same port; returns once it is ready. */
export async function killGateway(stack: ChaosStack, record: LoadRecord): Promise<FaultMark> {
  return inject(
    record,
    'gateway SIGKILL',
    'mid-request',
    () => void stack.gateway.child.kill('SIGKILL'),
    async (mark) => {
      await stack.gateway.exited;
      mark.healedAt = Date.now();
      await waitReady(stack.url, stack.startGateway());
    },
  );
}
