/**
 * The fair-share arithmetic of shard leases, pure so it can be tested alone.
 *
 * Every node aims at ceil(shards / live nodes). Ceil alone can settle at
 * 22/22/20 for 64 shards on 3 nodes, so the ceil is granted only to the first
 * `shards mod nodes` live nodes in id order and the others aim at the floor:
 * the targets add up to the shard count and the spread converges to ±1.
 */

export interface ShareInput {
  self: string;
  shardCount: number;
  /** Live node ids, self included. */
  live: readonly string[];
}

/** This node's target and the ceil every node may grow to when shards stay free. */
export function fairShare(input: ShareInput): { target: number; ceil: number } {
  return { target: targetOf(input.self, input), ceil: Math.ceil(input.shardCount / Math.max(1, input.live.length)) };
}

function targetOf(node: string, input: ShareInput): number {
  const live = [...new Set([...input.live, input.self])].sort();
  const base = Math.floor(input.shardCount / live.length);
  const rank = live.indexOf(node);
  return base + (rank >= 0 && rank < input.shardCount % live.length ? 1 : 0);
}

export interface PlanInput extends ShareInput {
  /** Shards this node holds and is not handing over. */
  mine: readonly number[];
  /** Current owner of every other shard known to be held (fresh entries only). */
  owners: ReadonlyMap<number, string>;
  /** Shards with a claim or hand-over in flight: never planned again. */
  busy: ReadonlySet<number>;
  /** For free shards: since when they have been seen free. */
  freeSince: ReadonlyMap<number, number>;
  now: number;
  /** A free shard left alone this long may be claimed above the target (up to the ceil). */
  graceMs: number;
  random: () => number;
}

export interface Plan {
  claim: number[];
  release: number[];
}

/** What to claim and what to hand over on this tick. */
export function planLeases(input: PlanInput): Plan {
  const { target, ceil } = fairShare(input);
  const have = input.mine.length;
  if (have > target) return { claim: [], release: surplus(input, have, target, ceil) };
  const free = shuffle(freeShards(input), input.random);
  const claim = free.slice(0, target - have);
  // Shards nobody took within the grace period (views disagree, a node is slow) are claimed up to the ceil.
  const stale = free
    .slice(claim.length)
    .filter((s) => input.now - (input.freeSince.get(s) ?? input.now) >= input.graceMs);
  claim.push(...stale.slice(0, Math.max(0, ceil - have - claim.length)));
  return { claim, release: [] };
}

/** Above the ceil: give the excess back. Above the target: give back what under-target nodes miss. */
function surplus(input: PlanInput, have: number, target: number, ceil: number): number[] {
  let count = Math.max(0, have - ceil);
  if (count === 0) {
    const held = new Map<string, number>();
    for (const node of input.owners.values()) held.set(node, (held.get(node) ?? 0) + 1);
    let deficit = 0;
    for (const node of input.live) {
      if (node !== input.self) deficit += Math.max(0, targetOf(node, input) - (held.get(node) ?? 0));
    }
    count = Math.min(have - target, deficit);
  }
  return shuffle([...input.mine], input.random).slice(0, count);
}

function freeShards(input: PlanInput): number[] {
  const mine = new Set(input.mine);
  const free: number[] = [];
  for (let s = 0; s < input.shardCount; s++) {
    if (!mine.has(s) && !input.owners.has(s) && !input.busy.has(s)) free.push(s);
  }
  return free;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
