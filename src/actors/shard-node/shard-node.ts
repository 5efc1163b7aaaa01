import type { Logger } from 'pino';
import type { OutboxRelay } from '../events/outbox-relay.ts';
import type { LeaseChange, LeaseManager } from '../leases/ports.ts';
import type { ShardBus } from '../bus/ports.ts';
import type { RuntimeHost } from '../runtime-host/runtime-host.ts';
import type { TimerService } from '../timers/timer-service.ts';

export interface ShardNodeParts {
  leases: LeaseManager;
  bus: ShardBus;
  host: RuntimeHost;
  timers: TimerService;
  relay: OutboxRelay;
  logger: Logger;
  /**
   * Projections that follow the commit (a writer with projectionDelayMs > 0): a shard's timers are served only
   * after every step committed on it (by a previous owner too) is projected, so a timer set by a committed
   * step fires even if its node died before projecting it.
   */
  projections?: { catchUp(shard: number): Promise<void> };
}

/**
 * A shard host node: follows its leases. An acquired shard is opened in the
 * host, served on the bus, and its timers and outbox are worked; a lost shard
 * is closed at once; a shard handed over is drained first (the lease manager
 * deletes its key only after `drain` resolves).
 */
export class ShardNode {
  private readonly unserve = new Map<number, () => Promise<void>>();
  /** Lease changes of one shard are applied in order. */
  private readonly chains = new Map<number, Promise<void>>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly parts: ShardNodeParts) {}

  async start(): Promise<void> {
    this.unsubscribe = this.parts.leases.onChange((change) => {
      // enqueue never rejects: a failed change is logged there.
      void this.enqueue(change.shard, () => this.apply(change));
    });
    await this.parts.leases.start({ drain: (shard) => this.enqueue(shard, () => this.drain(shard)) });
  }

  /** Graceful stop (SIGTERM): every shard is drained and released, then the loops stop. */
  async stop(): Promise<void> {
    await this.parts.leases.stop();
    this.unsubscribe?.();
    await Promise.all([...this.chains.values()]);
    for (const shard of [...this.unserve.keys()]) await this.close(shard);
    await Promise.all([this.parts.timers.stop(), this.parts.relay.stop()]);
    this.parts.host.close();
  }

  served(): number[] {
    return [...this.unserve.keys()].sort((a, b) => a - b);
  }

  private enqueue(shard: number, task: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(shard) ?? Promise.resolve()).then(task).catch((error: unknown) => {
      this.parts.logger.error({ err: error, shard }, 'shard change failed');
    });
    this.chains.set(shard, next);
    return next;
  }

  private async apply(change: LeaseChange): Promise<void> {
    if (change.type === 'acquired') await this.open(change.shard, change.epoch);
    else await this.close(change.shard);
    const level = change.type === 'lost' ? 'warn' : 'info';
    this.parts.logger[level](
      { shard: change.shard, change: change.type, served: this.unserve.size },
      `shard ${change.type}`,
    );
  }

  private async open(shard: number, epoch: number): Promise<void> {
    const { host, bus, timers, relay } = this.parts;
    host.openShard(shard, epoch);
    if (!this.unserve.has(shard)) this.unserve.set(shard, await bus.serve(shard, (request) => host.handle(request)));
    relay.openShard(shard);
    const projections = this.parts.projections;
    if (!projections) {
      timers.openShard(shard);
      return;
    }
    // Not awaited: the shard's lease changes must not wait on MySQL; its timers start once it is caught up.
    void projections.catchUp(shard).then(
      () => {
        if (this.unserve.has(shard)) timers.openShard(shard);
      },
      (error: unknown) =>
        this.parts.logger.error({ err: error, shard }, 'projection catch-up failed; timers not served'),
    );
  }

  /** Stops at once: no draining (the lease is gone; the MySQL revision check fences anything in flight). */
  private async close(shard: number): Promise<void> {
    this.parts.host.closeShard(shard);
    await this.stopServing(shard);
  }

  private async drain(shard: number): Promise<void> {
    await this.parts.host.drain(shard);
    await this.stopServing(shard);
  }

  private async stopServing(shard: number): Promise<void> {
    const unserve = this.unserve.get(shard);
    this.unserve.delete(shard);
    await Promise.all([unserve?.(), this.parts.timers.closeShard(shard), this.parts.relay.closeShard(shard)]);
  }
}
