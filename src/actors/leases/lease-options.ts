import type { NatsConnection } from '@nats-io/transport-node';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock.ts';
import {
  checkOptions,
  integer,
  InvalidOptionError,
  nonNegative,
  positive,
  resolveOptions,
  type OptionDefaults,
  type Resolved,
} from '../../shared/options.ts';

/** Options of {@link NatsLeaseManager}; every field but `nc` and `nodeId` has a default. */
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
  /**
   * How long a draining node waits for the live node it hands a shard to to claim it, before it
   * deletes the key instead (the shard is then claimed as any free one). @default renewMs
   */
  handoffWaitMs?: number;
  /** @default systemClock */
  clock?: Clock;
  /** Receives bflow_shards_held, bflow_lease_renew_failures_total, bflow_lease_changes_total{type}. @default none (no metrics) */
  registry?: Registry;
  /** @default a silent logger */
  logger?: Logger;
  /** Shuffles claim order (tests may fix it). @default Math.random */
  random?: () => number;
}

export const DEFAULT_LEASE_OPTIONS = Object.freeze({
  shardCount: 64,
  cluster: 'bflow',
  ttlMs: 10_000,
  clock: systemClock,
  logger: pino({ level: 'silent' }),
  random: Math.random,
} satisfies OptionDefaults<NatsLeaseManagerOptions>);

export type ResolvedLeaseOptions = Resolved<NatsLeaseManagerOptions, typeof DEFAULT_LEASE_OPTIONS> & {
  renewMs: number;
  heartbeatMs: number;
  timeoutMs: number;
  settleMs: number;
  handoffWaitMs: number;
  /** Held leases count as lost this long before their TTL runs out. */
  marginMs: number;
  /** Period of the reconcile loop. */
  tickMs: number;
};

/** Fills in the defaults (the timings derive from `ttlMs`); throws InvalidOptionError naming a bad option. */
export function resolveLeaseOptions(given: NatsLeaseManagerOptions): ResolvedLeaseOptions {
  const options = resolveOptions(DEFAULT_LEASE_OPTIONS, given);
  const renewMs = given.renewMs ?? Math.floor(options.ttlMs / 3);
  const heartbeatMs = given.heartbeatMs ?? renewMs;
  const timeoutMs = given.timeoutMs ?? Math.min(2000, renewMs);
  const resolved: ResolvedLeaseOptions = {
    ...options,
    renewMs,
    heartbeatMs,
    timeoutMs,
    settleMs: given.settleMs ?? heartbeatMs,
    handoffWaitMs: given.handoffWaitMs ?? renewMs,
    // Held leases count as lost a tenth of the TTL early: the server expires them at (write time + TTL) at the soonest.
    marginMs: Math.floor(options.ttlMs / 10),
    tickMs: Math.max(20, Math.floor(Math.min(renewMs, heartbeatMs) / 4)),
  };
  checkOptions('NatsLeaseManager', resolved, {
    shardCount: integer(1),
    ttlMs: positive,
    renewMs: positive,
    heartbeatMs: positive,
    timeoutMs: positive,
    settleMs: nonNegative,
    handoffWaitMs: nonNegative,
  });
  if (renewMs + timeoutMs > options.ttlMs - resolved.marginMs) {
    throw new InvalidOptionError(
      'NatsLeaseManager',
      'renewMs',
      `(${renewMs}) + timeoutMs (${timeoutMs}) must stay within 90% of ttlMs (${options.ttlMs})`,
    );
  }
  return resolved;
}
