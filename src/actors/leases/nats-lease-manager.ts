import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { withTimeout } from './lease-errors.ts';
import { leaseMetrics, type LeaseMetrics } from './lease-metrics.ts';
import { planLeases } from './lease-plan.ts';
import type { ClusterView, HeldShard, LeaseChange, LeaseManager, ShardDrainer } from './ports.ts';
import { resolveLeaseOptions, type NatsLeaseManagerOptions, type ResolvedLeaseOptions } from './lease-options.ts';
export type { NatsLeaseManagerOptions } from './lease-options.ts';
import {
  checkShardCount,
  isWrongRevision,
  nodeKey,
  openLeaseBuckets,
  parseLease,
  shardKey,
  shardOfKey,
  type LeaseBuckets,
} from './lease-buckets.ts';

interface Lease {
  shard: number;
  /** Revision of the claim: the fencing token, stable while this node holds the shard. */
  epoch: number;
  /** Latest revision written (compare-and-set of the next renewal). */
  revision: number;
  renewedAt: number;
  validUntil: number;
  renewing: Promise<void> | null;
  handingOver: boolean;
  /** Set once the hand-over is past its drain: no more renewals. */
  final: boolean;
  /** The live node the shard is being passed to, and what to call when it has claimed it. */
  handoff?: { to: string; claimed: () => void };
}

interface Seen {
  node: string;
  revision: number;
  epoch: number;
  /** Local time this value arrived; stale after ttlMs (the server drops expired keys silently). */
  seenAt: number;
  at: number;
  /** A shard key's hand-off target. */
  handoff?: string;
  /** A heartbeat's draining flag. */
  draining?: boolean;
}

/**
 * Shard ownership over JetStream KV (see docs/architecture.md#leases). One reconcile
 * loop: count overdue leases as lost, renew, heartbeat, then claim or hand over
 * toward the fair share. Claims and renewals are compare-and-set, so two nodes
 * never hold one revision; a lease counts as lost the moment a renewal fails.
 *
 * A hand-over (surplus or stop) passes the shard to a live node: after the drain the
 * holder rewrites its key with `handoff: <node>` (the serving node with the fewest
 * shards; a draining node's heartbeat says `draining` and it is never chosen); that
 * node claims it at once by compare-and-set on that revision, and the holder
 * reports `released` once it sees the claim. Nobody claiming within `handoffWaitMs`
 * (or no live peer) falls back to deleting the key.
 */
export class NatsLeaseManager implements LeaseManager {
  readonly nodeId: string;
  readonly shardCount: number;
  readonly #nc: NatsConnection;
  readonly #options: ResolvedLeaseOptions;
  readonly #metrics: LeaseMetrics;
  readonly #leases = new Map<number, Lease>();
  readonly #shards = new Map<number, Seen>();
  readonly #nodes = new Map<string, Seen>();
  readonly #freeSince = new Map<number, number>();
  readonly #claiming = new Set<number>();
  readonly #orphansTried = new Map<number, number>();
  /** Shards being passed to each node right now (spreads one drain's shards over the live nodes). */
  readonly #passing = new Map<string, number>();
  readonly #listeners = new Set<(change: LeaseChange) => void>();
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #watchers = new Set<{ stop(): void }>();
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #buckets: LeaseBuckets | undefined;
  #drainer: ShardDrainer | undefined;
  #timer: NodeJS.Timeout | undefined;
  #settleUntil = 0;
  #lastHeartbeat = -Infinity;
  #heartbeating: Promise<void> | undefined;
  #rebalancing = false;

  constructor(options: NatsLeaseManagerOptions) {
    this.#options = resolveLeaseOptions(options);
    this.#nc = options.nc;
    this.nodeId = options.nodeId;
    this.shardCount = this.#options.shardCount;
    this.#metrics = leaseMetrics(options.registry);
  }

  async start(drainer: ShardDrainer): Promise<void> {
    if (this.#state !== 'new') throw new Error('lease manager already started');
    this.#drainer = drainer;
    const o = this.#options;
    this.#buckets = await openLeaseBuckets(this.#nc, { cluster: o.cluster, ttlMs: o.ttlMs, timeoutMs: o.timeoutMs });
    await checkShardCount(this.#buckets.meta, o.cluster, o.shardCount, o.timeoutMs);
    this.#state = 'running';
    await this.#heartbeat();
    void this.#follow(this.#buckets.shards, (e) => this.#applyShard(e));
    void this.#follow(this.#buckets.nodes, (e) => this.#applyNode(e));
    this.#settleUntil = o.clock.now() + o.settleMs;
    this.#timer = setInterval(() => this.#tick(), o.tickMs);
    o.logger.info(
      { node: this.nodeId, cluster: o.cluster, shards: o.shardCount, ttlMs: o.ttlMs },
      'lease manager started',
    );
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') {
      if (this.#state === 'new') this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping'; // renewals and heartbeats go on while shards drain; no more claims
    // The heartbeat now says `draining`: peers neither plan shards for this node nor pass it any.
    await this.#heartbeat().catch((err: unknown) => this.#options.logger.warn({ err }, 'heartbeat failed'));
    await this.#settle();
    for (let round = 0; round < 3 && this.#leases.size > 0; round++) {
      await Promise.all([...this.#leases.values()].map((l) => (l.handingOver ? undefined : this.#handOver(l, true))));
      await this.#settle();
    }
    clearInterval(this.#timer);
    await this.#heartbeating?.catch(() => undefined); // one still in flight would write the key again after the delete
    this.#state = 'stopped';
    for (const w of this.#watchers) w.stop();
    await this.#call(this.#buckets!.nodes.delete(nodeKey(this.nodeId)), 'deregister node').catch((err: unknown) =>
      this.#options.logger.warn({ err }, 'node key not deleted; it expires with the TTL'),
    );
  }

  held(): readonly HeldShard[] {
    const now = this.#options.clock.now();
    return [...this.#leases.values()]
      .filter((l) => now <= l.validUntil)
      .map((l) => ({ shard: l.shard, epoch: l.epoch }));
  }

  holds(shard: number, epoch?: number): boolean {
    const l = this.#leases.get(shard);
    return l !== undefined && this.#options.clock.now() <= l.validUntil && (epoch === undefined || l.epoch === epoch);
  }

  onChange(listener: (change: LeaseChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async view(): Promise<ClusterView> {
    const now = this.#options.clock.now();
    const shards: ClusterView['shards'] = [];
    const counts = new Map<string, number>();
    for (let shard = 0; shard < this.shardCount; shard++) {
      const mine = this.#leases.get(shard);
      const seen = this.#shards.get(shard);
      const owner = mine
        ? { node: this.nodeId, epoch: mine.epoch }
        : this.#fresh(seen, now)
          ? { node: seen.node, epoch: seen.epoch }
          : null;
      shards.push({ shard, node: owner?.node ?? null, epoch: owner?.epoch ?? null });
      if (owner) counts.set(owner.node, (counts.get(owner.node) ?? 0) + 1);
    }
    const nodes = this.#liveNodes(now).map((n) => ({ id: n.node, lastSeen: n.at, shards: counts.get(n.node) ?? 0 }));
    return { shardCount: this.shardCount, nodes, shards };
  }

  #tick(): void {
    const now = this.#options.clock.now();
    this.#expire(now);
    for (const l of this.#leases.values()) {
      if (!l.renewing && !l.final && now - l.renewedAt >= this.#options.renewMs) this.#renew(l);
    }
    if (!this.#heartbeating && now - this.#lastHeartbeat >= this.#options.heartbeatMs) {
      this.#track(this.#heartbeat().catch((err: unknown) => this.#options.logger.warn({ err }, 'heartbeat failed')));
    }
    if (this.#state === 'running' && !this.#rebalancing && now >= this.#settleUntil) this.#track(this.#rebalance());
  }

  /** Fencing: a lease past its local deadline is lost, even when no renewal could run (paused process, starved loop). */
  #expire(now: number): void {
    for (const l of [...this.#leases.values()]) if (now > l.validUntil) this.#lose(l, 'lease deadline passed');
  }

  #renew(l: Lease): void {
    const sent = this.#options.clock.now();
    const body = JSON.stringify({ node: this.nodeId, at: sent, epoch: l.epoch });
    l.renewing = (async () => {
      try {
        const revision = await this.#call(
          this.#buckets!.shards.update(shardKey(l.shard), body, l.revision, this.#options.timeoutMs),
          'renew',
        );
        if (this.#leases.get(l.shard) !== l) return;
        l.revision = revision;
        l.renewedAt = sent;
        l.validUntil = sent + this.#options.ttlMs - this.#options.marginMs;
        this.#expire(this.#options.clock.now()); // an answer that arrives after the deadline does not revive the lease
      } catch (err) {
        if (this.#leases.get(l.shard) !== l) return;
        this.#metrics.renewFailed();
        this.#options.logger.warn({ err, shard: l.shard, epoch: l.epoch }, 'lease renewal failed');
        this.#lose(l, 'renewal failed');
      } finally {
        l.renewing = null;
      }
    })();
    this.#track(l.renewing);
  }

  /** Writes the heartbeat (one at a time: a call while one is in flight joins it). */
  #heartbeat(): Promise<void> {
    this.#heartbeating ??= (async () => {
      const sent = this.#options.clock.now();
      try {
        const draining = this.#state === 'stopping' ? { draining: true } : {};
        const body = JSON.stringify({ node: this.nodeId, at: sent, shards: this.#leases.size, ...draining });
        await this.#call(this.#buckets!.nodes.put(nodeKey(this.nodeId), body), 'heartbeat');
        this.#lastHeartbeat = sent;
      } finally {
        this.#heartbeating = undefined;
      }
    })();
    return this.#heartbeating;
  }

  async #rebalance(): Promise<void> {
    this.#rebalancing = true;
    try {
      const now = this.#options.clock.now();
      this.#cleanOrphans(now);
      const owners = new Map<number, string>();
      for (const [shard, seen] of this.#shards)
        if (!this.#leases.has(shard) && this.#fresh(seen, now)) owners.set(shard, seen.node);
      const mine = [...this.#leases.values()].filter((l) => !l.handingOver).map((l) => l.shard);
      const busy = new Set([
        ...this.#claiming,
        ...[...this.#leases.values()].filter((l) => l.handingOver).map((l) => l.shard),
      ]);
      this.#trackFree(now, owners);
      const live = this.#liveNodes(now)
        .filter((n) => !n.draining)
        .map((n) => n.node);
      const plan = planLeases({
        ...this.#options,
        self: this.nodeId,
        live,
        mine,
        owners,
        busy,
        freeSince: this.#freeSince,
        now,
        graceMs: this.#options.renewMs,
      });
      for (const shard of plan.release) {
        const l = this.#leases.get(shard);
        if (l) this.#track(this.#handOver(l, false));
      }
      await Promise.all(plan.claim.map((shard) => this.#claim(shard)));
    } catch (err) {
      this.#options.logger.warn({ err }, 'rebalance failed');
    } finally {
      this.#rebalancing = false;
    }
  }

  /** Claims a free shard (create), or one handed to this node (compare-and-set on the hand-off's revision). */
  async #claim(shard: number, handoffRevision?: number): Promise<void> {
    this.#claiming.add(shard);
    const sent = this.#options.clock.now();
    try {
      const body = JSON.stringify({ node: this.nodeId, at: sent });
      const { shards } = this.#buckets!;
      const epoch = await this.#call(
        handoffRevision === undefined
          ? shards.create(shardKey(shard), body)
          : shards.update(shardKey(shard), body, handoffRevision, this.#options.timeoutMs),
        'claim',
      );
      const validUntil = sent + this.#options.ttlMs - this.#options.marginMs;
      if (this.#options.clock.now() > validUntil) return; // answered too late to serve; the orphan sweep deletes it
      const l: Lease = {
        shard,
        epoch,
        revision: epoch,
        renewedAt: sent,
        validUntil,
        renewing: null,
        handingOver: false,
        final: false,
      };
      this.#leases.set(shard, l);
      this.#freeSince.delete(shard);
      this.#emit({ type: 'acquired', shard, epoch });
    } catch (err) {
      if (!isWrongRevision(err)) this.#options.logger.debug({ err, shard }, 'claim failed');
    } finally {
      this.#claiming.delete(shard);
    }
  }

  /**
   * Drain, then pass the shard to a live node (or, failing that, delete the key at the held revision).
   * A failed drain keeps the shard unless the node is stopping.
   */
  async #handOver(l: Lease, force: boolean): Promise<void> {
    l.handingOver = true;
    try {
      await this.#drainer!.drain(l.shard);
    } catch (err) {
      this.#options.logger.warn({ err, shard: l.shard }, 'drain failed');
      if (!force) return void (l.handingOver = false);
    }
    if (this.#leases.get(l.shard) !== l) return; // lost while draining (already reported)
    l.final = true;
    await l.renewing; // a renewal in flight changes the revision the delete must name
    if (this.#leases.get(l.shard) !== l) return;
    const to = this.#pickTarget();
    if (to !== undefined && (await this.#passTo(l, to))) {
      if (this.#leases.get(l.shard) !== l) return; // counted as lost meanwhile (already reported)
      this.#leases.delete(l.shard);
      return void this.#emit({ type: 'released', shard: l.shard });
    }
    if (this.#leases.get(l.shard) !== l) return;
    this.#leases.delete(l.shard);
    await this.#call(this.#buckets!.shards.delete(shardKey(l.shard), { previousSeq: l.revision }), 'release').catch(
      (err: unknown) =>
        this.#options.logger.warn({ err, shard: l.shard }, 'lease delete failed; it expires with the TTL'),
    );
    this.#emit({ type: 'released', shard: l.shard });
  }

  /** The serving peer (fresh heartbeat, not draining) with the fewest shards, counting those being passed to it. */
  #pickTarget(): string | undefined {
    const now = this.#options.clock.now();
    const load = new Map<string, number>();
    for (const n of this.#liveNodes(now))
      if (n.node !== this.nodeId && !n.draining) load.set(n.node, this.#passing.get(n.node) ?? 0);
    for (const seen of this.#shards.values()) {
      const count = load.get(seen.node);
      if (count !== undefined && this.#fresh(seen, now)) load.set(seen.node, count + 1);
    }
    let best: [string, number] | undefined;
    for (const [node, count] of load)
      if (!best || count < best[1] || (count === best[1] && node < best[0])) best = [node, count];
    return best?.[0];
  }

  /** Names `to` in the shard's key and waits (at most handoffWaitMs) for it to claim; false if it did not. */
  async #passTo(l: Lease, to: string): Promise<boolean> {
    const o = this.#options;
    const sent = o.clock.now();
    let timer: NodeJS.Timeout | undefined;
    const claimed = new Promise<boolean>((resolve) => {
      l.handoff = { to, claimed: () => resolve(true) };
      timer = setTimeout(() => resolve(false), o.handoffWaitMs);
    });
    this.#passing.set(to, (this.#passing.get(to) ?? 0) + 1);
    try {
      const body = JSON.stringify({ node: this.nodeId, at: sent, epoch: l.epoch, handoff: to });
      l.revision = await this.#call(
        this.#buckets!.shards.update(shardKey(l.shard), body, l.revision, o.timeoutMs),
        'hand off',
      );
      l.validUntil = sent + o.ttlMs - o.marginMs;
      const ok = await claimed;
      if (ok) o.logger.info({ shard: l.shard, to, ms: o.clock.now() - sent }, 'shard handed over');
      else o.logger.warn({ shard: l.shard, to, waitMs: o.handoffWaitMs }, 'hand-off not claimed in time; releasing');
      return ok;
    } catch (err) {
      o.logger.warn({ err, shard: l.shard, to }, 'hand-off not written; releasing');
      return false;
    } finally {
      clearTimeout(timer);
      l.handoff = undefined;
      const left = (this.#passing.get(to) ?? 1) - 1;
      if (left > 0) this.#passing.set(to, left);
      else this.#passing.delete(to);
    }
  }

  /** Keys naming this node that it does not hold (a claim or renewal answered too late) are freed at once. */
  #cleanOrphans(now: number): void {
    for (const [shard, seen] of this.#shards) {
      if (seen.node !== this.nodeId || this.#leases.has(shard) || this.#claiming.has(shard) || !this.#fresh(seen, now))
        continue;
      if (this.#orphansTried.get(shard) === seen.revision) continue;
      this.#orphansTried.set(shard, seen.revision);
      const deleting = this.#call(
        this.#buckets!.shards.delete(shardKey(shard), { previousSeq: seen.revision }),
        'delete orphan',
      );
      this.#track(deleting.catch(() => undefined));
    }
  }

  #trackFree(now: number, owners: ReadonlyMap<number, string>): void {
    for (let shard = 0; shard < this.shardCount; shard++) {
      if (owners.has(shard) || this.#leases.has(shard)) this.#freeSince.delete(shard);
      else if (!this.#freeSince.has(shard)) this.#freeSince.set(shard, now);
    }
  }

  #lose(l: Lease, why: string): void {
    if (this.#leases.get(l.shard) !== l) return;
    this.#leases.delete(l.shard);
    this.#options.logger.warn({ shard: l.shard, epoch: l.epoch, why }, 'lease lost');
    this.#emit({ type: 'lost', shard: l.shard });
  }

  #applyShard(e: KvWatchEntry): void {
    const shard = shardOfKey(e.key);
    if (shard === undefined || shard >= this.shardCount) return;
    const value = e.operation === 'PUT' ? parseLease(e) : undefined;
    if (!value) return void this.#shards.delete(shard);
    const seen: Seen = {
      node: value.node,
      at: value.at,
      revision: e.revision,
      epoch: value.epoch ?? e.revision,
      seenAt: this.#options.clock.now(),
      ...(value.handoff === undefined ? {} : { handoff: value.handoff }),
    };
    this.#shards.set(shard, seen);
    const l = this.#leases.get(shard);
    if (l && seen.node !== this.nodeId) {
      if (l.handoff?.to === seen.node) l.handoff.claimed();
      else this.#lose(l, `taken by ${seen.node}`);
    } else if (!l && seen.handoff === this.nodeId && this.#state === 'running' && !this.#claiming.has(shard)) {
      this.#track(this.#claim(shard, e.revision));
    }
  }

  #applyNode(e: KvWatchEntry): void {
    const value = e.operation === 'PUT' ? parseLease(e) : undefined;
    if (!value) return void this.#nodes.delete(e.key);
    this.#nodes.set(e.key, {
      node: value.node,
      at: value.at,
      revision: e.revision,
      epoch: 0,
      seenAt: this.#options.clock.now(),
      ...(value.draining ? { draining: true } : {}),
    });
  }

  #liveNodes(now: number): Seen[] {
    const live = [...this.#nodes.values()].filter((n) => this.#fresh(n, now));
    if (!live.some((n) => n.node === this.nodeId))
      live.push({ node: this.nodeId, at: now, revision: 0, epoch: 0, seenAt: now });
    return live;
  }

  #fresh(seen: Seen | undefined, now: number): seen is Seen {
    return seen !== undefined && now - seen.seenAt <= this.#options.ttlMs;
  }

  /** Follows a bucket for as long as the manager runs; a watch that ends (connection lost) is reopened with backoff. */
  async #follow(kv: KV, apply: (e: KvWatchEntry) => void): Promise<void> {
    let delay = 100;
    while (this.#following()) {
      const opening = kv.watch();
      try {
        const iter = await this.#call(opening, 'watch');
        this.#watchers.add(iter);
        if (!this.#following()) iter.stop();
        for await (const e of iter) {
          apply(e);
          delay = 100;
        }
        this.#watchers.delete(iter);
      } catch (err) {
        opening.then(
          (it) => {
            it.stop();
            this.#watchers.delete(it);
          },
          () => undefined,
        );
        this.#options.logger.debug({ err }, 'watch failed');
      }
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, 5000);
    }
  }

  #following(): boolean {
    return this.#state === 'running' || this.#state === 'stopping';
  }

  #emit(change: LeaseChange): void {
    this.#metrics.changed(change.type);
    this.#metrics.held(this.#leases.size);
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#options.logger.error({ err, change }, 'lease listener threw');
      }
    }
  }

  #call<T>(promise: Promise<T>, what: string): Promise<T> {
    return withTimeout(promise, this.#options.timeoutMs, `lease ${what}`);
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task)).catch(() => undefined);
  }

  /** Waits for the tasks in flight and those they started (not for renewals the loop keeps adding). */
  async #settle(): Promise<void> {
    await Promise.allSettled([...this.#tasks]);
    await Promise.allSettled([...this.#tasks]);
  }
}
