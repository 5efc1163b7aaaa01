import type { Actor } from './actor.ts';
import type { HostMetrics, PassivationReason } from './host-metrics.ts';

export interface ActorRegistryOptions {
  idleMs: number;
  maxLiveActors: number;
  /** True while the actor has requests queued or running: such an actor is never passivated. */
  busy(key: string): boolean;
  metrics: Pick<HostMetrics, 'actorsLive' | 'passivations'>;
  /** Told when an actor leaves memory (its last state may go to the snapshot cache). @default nothing */
  onLeave?: (actor: Actor, reason: PassivationReason) => void;
}

/**
 * The live actors, in least-recently-used order (a Map re-inserted on every
 * touch), so both passivation rules stop at the first actor they must keep:
 * idle ones sit at the front, and the capacity rule drops from the front.
 */
export class ActorRegistry {
  private readonly actors = new Map<string, Actor>();

  constructor(private readonly options: ActorRegistryOptions) {}

  get size(): number {
    return this.actors.size;
  }

  get(key: string): Actor | undefined {
    return this.actors.get(key);
  }

  /** Marks the actor used now and moves it to the back of the LRU order. */
  touch(actor: Actor, now: number): void {
    actor.lastUsed = now;
    if (this.actors.get(actor.key) !== actor) return;
    this.actors.delete(actor.key);
    this.actors.set(actor.key, actor);
  }

  /** Adds (or replaces) an actor, then passivates least recently used idle actors beyond the bound. */
  add(actor: Actor, now: number): void {
    actor.lastUsed = now;
    if (this.actors.has(actor.key)) this.actors.delete(actor.key);
    else this.options.metrics.actorsLive.inc();
    this.actors.set(actor.key, actor);
    this.evictOverflow();
  }

  drop(key: string, reason: PassivationReason): void {
    const actor = this.actors.get(key);
    if (!actor || !this.actors.delete(key)) return;
    this.options.onLeave?.(actor, reason);
    this.options.metrics.actorsLive.dec();
    this.options.metrics.passivations.inc({ reason });
  }

  /** Drops every actor of `shard` (lease lost, drained or moved to a new epoch). */
  dropShard(shard: number): void {
    for (const [key, actor] of this.actors) if (actor.shard === shard) this.drop(key, 'shard');
  }

  /** Passivates actors idle for `idleMs` or more; returns how many were dropped. */
  passivateIdle(now: number): number {
    let dropped = 0;
    for (const [key, actor] of this.actors) {
      if (now - actor.lastUsed < this.options.idleMs) break;
      if (this.options.busy(key)) continue;
      this.drop(key, 'idle');
      dropped += 1;
    }
    return dropped;
  }

  private evictOverflow(): void {
    if (this.actors.size <= this.options.maxLiveActors) return;
    for (const key of this.actors.keys()) {
      if (this.actors.size <= this.options.maxLiveActors) return;
      if (!this.options.busy(key)) this.drop(key, 'capacity');
    }
  }
}
