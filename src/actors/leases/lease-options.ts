import type { NatsConnection } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock.ts';

export interface NatsLeaseManagerOptions {
  nc: NatsConnection;
  /** Unique per running process (BFLOW_NODE_ID, default host name + pid). */
  nodeId: string;
  /** Fixed per cluster; recorded at the first start. @default 64 */
  shardCount?: number;
  /** Prefix of the bucket names `<cluster>_shards`, `<cluster>_nodes`, `<cluster>_meta`. @default 'bflow' */
  cluster?: string;
  /** Lease TTL, also the bucket TTL of the shard and node buckets. @default 10000 */
  ttlMs?: number;
  /** Renewal period of every held lease. @default ttlMs / 3 */
  renewMs?: number;
  /** Node registry heartbeat period. @default renewMs */
  heartbeatMs?: number;
  /** Timeout of every NATS call. @default min(2000, renewMs) */
  timeoutMs?: number;
  /** Pause between registering and the first claim, so nodes starting together see each other. @default heartbeatMs */
  settleMs?: number;
  /** @default systemClock */
  clock?: Clock;
  /** Receives bflow_shards_held, bflow_lease_renew_failures_total, bflow_lease_changes_total{type}. */
  registry?: Registry;
  logger?: Logger;
  /** Shuffles claim order (tests may fix it). @default Math.random */
  random?: () => number;
}

export type NormalizedLeaseOptions = Required<Omit<NatsLeaseManagerOptions, 'registry' | 'nc' | 'nodeId'>> & {
  marginMs: number;
  tickMs: number;
};

/** Validates and fills in defaults; throws a plain Error naming the bad option. */
export function normalizeLeaseOptions(o: NatsLeaseManagerOptions): NormalizedLeaseOptions {
  const ttlMs = o.ttlMs ?? 10_000;
  const renewMs = o.renewMs ?? Math.floor(ttlMs / 3);
  const heartbeatMs = o.heartbeatMs ?? renewMs;
  const timeoutMs = o.timeoutMs ?? Math.min(2000, renewMs);
  // Held leases count as lost a tenth of the TTL early: the server expires them at (write time + TTL) at the soonest.
  const marginMs = Math.floor(ttlMs / 10);
  if (renewMs + timeoutMs > ttlMs - marginMs) {
    throw new Error(
      `lease options: renewMs (${renewMs}) + timeoutMs (${timeoutMs}) must stay within 90% of ttlMs (${ttlMs})`,
    );
  }
  const shardCount = o.shardCount ?? 64;
  if (!Number.isInteger(shardCount) || shardCount < 1)
    throw new Error(`lease options: shardCount must be a positive integer, got ${shardCount}`);
  return {
    shardCount,
    cluster: o.cluster ?? 'bflow',
    ttlMs,
    renewMs,
    heartbeatMs,
    timeoutMs,
    settleMs: o.settleMs ?? heartbeatMs,
    clock: o.clock ?? systemClock,
    logger: o.logger ?? pino({ level: 'silent' }),
    random: o.random ?? Math.random,
    marginMs,
    tickMs: Math.max(20, Math.floor(Math.min(renewMs, heartbeatMs) / 4)),
  };
}
