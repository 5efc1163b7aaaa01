import type { Registry } from 'prom-client';
import { leaseMetrics, type LeaseMetrics } from './lease-metrics.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { ClusterView, HeldShard, LeaseChange, LeaseManager, ShardDrainer } from './ports.ts';
import { checkOptions, integer, resolveOptions, type OptionDefaults } from '../../shared/options.ts';

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
}

export const DEFAULT_MEMORY_LEASE_MANAGER_OPTIONS = Object.freeze({
  nodeId: 'local',
  shardCount: 64,
  clock: systemClock,
} satisfies OptionDefaults<MemoryLeaseManagerOptions>);

/**
 * The in-process twin for the embedded mode (`bflow all` without NATS): one
 * node holds every shard from start to stop, with epoch 1 per tenure (a new
 * start after stop gets the next epoch, as a new KV revision would).
 */
export class MemoryLeaseManager implements LeaseManager {
  readonly nodeId: string;
  readonly shardCount: number;
  readonly #clock: Clock;
  readonly #metrics: LeaseMetrics;
  readonly #held = new Map<number, number>();
  readonly #listeners = new Set<(change: LeaseChange) => void>();
  #drainer: ShardDrainer | undefined;
  #nextEpoch = 1;
  #startedAt = 0;

  constructor(options: MemoryLeaseManagerOptions = {}) {
    const resolved = resolveOptions(DEFAULT_MEMORY_LEASE_MANAGER_OPTIONS, options);
    checkOptions('MemoryLeaseManager', resolved, { shardCount: integer(1) });
    this.nodeId = resolved.nodeId;
    this.shardCount = resolved.shardCount;
    this.#clock = resolved.clock;
    this.#metrics = leaseMetrics(resolved.registry);
  }

  async start(drainer: ShardDrainer): Promise<void> {
    if (this.#drainer) throw new Error('lease manager already started');
    this.#drainer = drainer;
    this.#startedAt = this.#clock.now();
    for (let shard = 0; shard < this.shardCount; shard++) {
      const epoch = this.#nextEpoch++;
      this.#held.set(shard, epoch);
      this.#emit({ type: 'acquired', shard, epoch });
    }
  }

  async stop(): Promise<void> {
    const drainer = this.#drainer;
    if (!drainer) return;
    await Promise.all(
      [...this.#held.keys()].map(async (shard) => {
        await drainer.drain(shard).catch(() => undefined); // stopping releases regardless, as the NATS manager does
        this.#held.delete(shard);
        this.#emit({ type: 'released', shard });
      }),
    );
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
    const running = this.#drainer !== undefined;
    return {
      shardCount: this.shardCount,
      nodes: running ? [{ id: this.nodeId, lastSeen: this.#startedAt, shards: this.#held.size }] : [],
      shards: Array.from({ length: this.shardCount }, (_, shard) => {
        const epoch = this.#held.get(shard);
        return { shard, node: epoch === undefined ? null : this.nodeId, epoch: epoch ?? null };
      }),
    };
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
