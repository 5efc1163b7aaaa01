import type { Registry } from 'prom-client';
import { leaseMetrics, type LeaseMetrics } from './lease-metrics.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { ClusterView, HeldShard, LeaseChange, LeaseManager, ShardDrainer } from './ports.ts';
import { checkOptions, integer, resolveOptions, type OptionDefaults } from '../../shared/options.ts';

/** What a cluster asks of its members. */
interface Member {
  readonly nodeId: string;
  /** Started and not stopping: may be handed shards. */
  serving(): boolean;
  /** Takes over `shard` at `epoch` (a hand-over). */
  receive(shard: number, epoch: number): void;
  startedAt(): number;
}

/**
 * The shard map of in-process lease managers that share it (the hand-over twin of
 * the NATS buckets): who holds each shard, at which epoch, and the next epoch.
 * Each {@link MemoryLeaseManager} has a cluster of its own unless given one.
 */
export class MemoryLeaseCluster {
  readonly #owners = new Map<number, { node: string; epoch: number }>();
  readonly #members = new Map<string, Member>();
  #nextEpoch = 1;

  /** @internal */
  join(member: Member): void {
    if (this.#members.has(member.nodeId)) throw new Error(`node ${member.nodeId} is already in the cluster`);
    this.#members.set(member.nodeId, member);
  }

  /** @internal */
  leave(nodeId: string): void {
    this.#members.delete(nodeId);
  }

  /** @internal Claims every free shard below `shardCount` for `node`; their epochs. */
  claimFree(node: string, shardCount: number): HeldShard[] {
    const claimed: HeldShard[] = [];
    for (let shard = 0; shard < shardCount; shard++) {
      if (this.#owners.has(shard)) continue;
      const epoch = this.#nextEpoch++;
      this.#owners.set(shard, { node, epoch });
      claimed.push({ shard, epoch });
    }
    return claimed;
  }

  /** @internal Passes `shard` from `from` to the serving member with the fewest shards; false when there is none. */
  handOver(from: string, shard: number): boolean {
    let best: Member | undefined;
    let fewest = Infinity;
    for (const member of this.#members.values()) {
      if (member.nodeId === from || !member.serving()) continue;
      const count = this.count(member.nodeId);
      if (count < fewest) [best, fewest] = [member, count];
    }
    if (!best) return false;
    const epoch = this.#nextEpoch++;
    this.#owners.set(shard, { node: best.nodeId, epoch });
    best.receive(shard, epoch);
    return true;
  }

  /** @internal */
  release(node: string, shard: number): void {
    if (this.#owners.get(shard)?.node === node) this.#owners.delete(shard);
  }

  /** @internal */
  count(node: string): number {
    let n = 0;
    for (const owner of this.#owners.values()) if (owner.node === node) n++;
    return n;
  }

  /** @internal */
  view(shardCount: number): ClusterView {
    return {
      shardCount,
      nodes: [...this.#members.values()]
        .map((m) => ({ id: m.nodeId, lastSeen: m.startedAt(), shards: this.count(m.nodeId) }))
        .sort((a, b) => a.id.localeCompare(b.id)),
      shards: Array.from({ length: shardCount }, (_, shard) => {
        const owner = this.#owners.get(shard);
        return { shard, node: owner?.node ?? null, epoch: owner?.epoch ?? null };
      }),
    };
  }
}

/** Options of {@link MemoryLeaseManager}; every field has a default. */
export interface MemoryLeaseManagerOptions {
  /** @default 'local' */
  nodeId?: string;
  /** @default 64 */
  shardCount?: number;
  /** @default systemClock */
  clock?: Clock;
  /** Receives the lease metrics. @default none (no metrics) */
  registry?: Registry;
  /** Shared with other managers (in-process tests of the hand-over). @default a cluster of its own */
  cluster?: MemoryLeaseCluster;
}

export const DEFAULT_MEMORY_LEASE_MANAGER_OPTIONS = Object.freeze({
  nodeId: 'local',
  shardCount: 64,
  clock: systemClock,
} satisfies OptionDefaults<Omit<MemoryLeaseManagerOptions, 'cluster'>>);

/**
 * The in-process twin for the embedded mode (`bflow all` without NATS): a lone
 * node holds every shard from start to stop, each tenure at a new epoch (as a
 * new KV revision would be). Managers that share a {@link MemoryLeaseCluster}
 * hand over as the NATS manager does: a node that starts claims only free
 * shards, and a node that stops drains each shard and passes it to the serving
 * member with the fewest shards (`acquired` there before `released` here), or
 * frees it when there is none. There is no rebalancing while all run.
 */
export class MemoryLeaseManager implements LeaseManager {
  readonly nodeId: string;
  readonly shardCount: number;
  readonly #clock: Clock;
  readonly #metrics: LeaseMetrics;
  readonly #cluster: MemoryLeaseCluster;
  readonly #held = new Map<number, number>();
  readonly #listeners = new Set<(change: LeaseChange) => void>();
  #drainer: ShardDrainer | undefined;
  #stopping = false;
  #startedAt = 0;

  constructor(options: MemoryLeaseManagerOptions = {}) {
    const { cluster, ...rest } = options;
    const resolved = resolveOptions(DEFAULT_MEMORY_LEASE_MANAGER_OPTIONS, rest);
    checkOptions('MemoryLeaseManager', resolved, { shardCount: integer(1) });
    this.nodeId = resolved.nodeId;
    this.shardCount = resolved.shardCount;
    this.#clock = resolved.clock;
    this.#metrics = leaseMetrics(resolved.registry);
    this.#cluster = cluster ?? new MemoryLeaseCluster();
  }

  async start(drainer: ShardDrainer): Promise<void> {
    if (this.#drainer) throw new Error('lease manager already started');
    this.#cluster.join({
      nodeId: this.nodeId,
      serving: () => this.#drainer !== undefined && !this.#stopping,
      receive: (shard, epoch) => this.#acquire(shard, epoch),
      startedAt: () => this.#startedAt,
    });
    this.#drainer = drainer;
    this.#stopping = false;
    this.#startedAt = this.#clock.now();
    for (const { shard, epoch } of this.#cluster.claimFree(this.nodeId, this.shardCount)) this.#acquire(shard, epoch);
  }

  async stop(): Promise<void> {
    const drainer = this.#drainer;
    if (!drainer || this.#stopping) return;
    this.#stopping = true;
    await Promise.all(
      [...this.#held.keys()].map(async (shard) => {
        await drainer.drain(shard).catch(() => undefined); // stopping releases regardless, as the NATS manager does
        if (!this.#cluster.handOver(this.nodeId, shard)) this.#cluster.release(this.nodeId, shard);
        this.#held.delete(shard);
        this.#emit({ type: 'released', shard });
      }),
    );
    this.#cluster.leave(this.nodeId);
    this.#drainer = undefined;
  }

  held(): readonly HeldShard[] {
    return [...this.#held].map(([shard, epoch]) => ({ shard, epoch }));
  }

  holds(shard: number, epoch?: number): boolean {
    const held = this.#held.get(shard);
    return held !== undefined && (epoch === undefined || held === epoch);
  }

  onChange(listener: (change: LeaseChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async view(): Promise<ClusterView> {
    return this.#cluster.view(this.shardCount);
  }

  #acquire(shard: number, epoch: number): void {
    this.#held.set(shard, epoch);
    this.#emit({ type: 'acquired', shard, epoch });
  }

  #emit(change: LeaseChange): void {
    this.#metrics.changed(change.type);
    this.#metrics.held(this.#held.size);
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // a listener's failure is its own; the others still hear of the change
      }
    }
  }
}
