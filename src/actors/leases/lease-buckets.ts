import { jetstream, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { LeaseError, withTimeout } from './lease-errors.ts';

/** The three KV buckets of a cluster's shard ownership. */
export interface LeaseBuckets {
  /**
   * `<cluster>_shards`: key `shard.<n>` = {node, at, epoch?, handoff?}, history 1, bucket TTL = lease TTL.
   * `handoff` names the live node a draining holder passes the shard to: that node claims it at once by
   * compare-and-set on this revision.
   */
  shards: KV;
  /** `<cluster>_nodes`: key `node.<id>` = {node, at, shards, draining?}, heartbeats, bucket TTL = lease TTL. */
  nodes: KV;
  /** `<cluster>_meta`: `shard_count`, recorded at the cluster's first start. */
  meta: KV;
}

export interface OpenBucketsOptions {
  cluster: string;
  ttlMs: number;
  timeoutMs: number;
}

/** Bucket names of a cluster (also used by tests to clean up). */
export function bucketNames(cluster: string): { shards: string; nodes: string; meta: string } {
  return { shards: `${cluster}_shards`, nodes: `${cluster}_nodes`, meta: `${cluster}_meta` };
}

/** Opens (creating when absent) the cluster's buckets; refuses buckets made with another TTL. */
export async function openLeaseBuckets(nc: NatsConnection, o: OpenBucketsOptions): Promise<LeaseBuckets> {
  const kvm = new Kvm(jetstream(nc, { timeout: o.timeoutMs }));
  const names = bucketNames(o.cluster);
  const open = (name: string, ttl: number): Promise<KV> =>
    withTimeout(kvm.create(name, { history: 1, ttl, timeout: o.timeoutMs }), o.timeoutMs * 2, `open KV bucket ${name}`);
  const [shards, nodes, meta] = await Promise.all([
    open(names.shards, o.ttlMs),
    open(names.nodes, o.ttlMs),
    open(names.meta, 0),
  ]);
  await checkTtl(shards, names.shards, o);
  await checkTtl(nodes, names.nodes, o);
  return { shards, nodes, meta };
}

async function checkTtl(kv: KV, name: string, o: OpenBucketsOptions): Promise<void> {
  const status = await withTimeout(kv.status(), o.timeoutMs, `status of ${name}`);
  if (status.ttl !== o.ttlMs) {
    throw new LeaseError(
      'lease_config_mismatch',
      `KV bucket ${name} has a TTL of ${status.ttl} ms but this node runs with a lease TTL of ${o.ttlMs} ms; ` +
        `start every node of cluster '${o.cluster}' with the same lease TTL (or delete the bucket while the cluster is down)`,
    );
  }
}

/**
 * Records the shard count at the cluster's first start (create-if-absent) and
 * refuses to run with another one: shardOf() would route runtimes elsewhere.
 */
export async function checkShardCount(meta: KV, cluster: string, shardCount: number, timeoutMs: number): Promise<void> {
  try {
    await withTimeout(meta.create('shard_count', String(shardCount)), timeoutMs, 'record shard count');
    return;
  } catch (err) {
    if (!isWrongRevision(err)) throw err;
  }
  const entry = await withTimeout(meta.get('shard_count'), timeoutMs, 'read shard count');
  const recorded = Number(entry?.string());
  if (recorded !== shardCount) {
    throw new LeaseError(
      'shard_count_mismatch',
      `cluster '${cluster}' was created with ${recorded} shards but this node was started with ${shardCount}; ` +
        `start it with BFLOW_SHARDS=${recorded} (a cluster's shard count is fixed at its first start)`,
    );
  }
}

/** True when a KV write failed its compare-and-set (the key changed, exists, or expired). */
export function isWrongRevision(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** `shard.<n>` */
export function shardKey(shard: number): string {
  return `shard.${shard}`;
}

/** The shard of a `shard.<n>` key, or undefined for anything else. */
export function shardOfKey(key: string): number | undefined {
  const m = /^shard\.(\d+)$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** `node.<id>` with characters KV keys cannot hold replaced (the value carries the real id). */
export function nodeKey(nodeId: string): string {
  return `node.${nodeId.replace(/[^-\w=/]/g, '_')}`;
}

/** A lease key's or heartbeat's value. */
export interface LeaseValue {
  node: string;
  at: number;
  epoch?: number;
  /** On a shard key: the node the holder hands the shard to. */
  handoff?: string;
  /** On a heartbeat: the node is draining (stopping); it is given no shard. */
  draining?: boolean;
}

/** A lease key's value `{node, at, epoch?, handoff?}` (or a heartbeat's); undefined for a delete/purge marker or a value that isn't one. */
export function parseLease(e: Pick<KvEntry, 'json'> & { operation?: string }): LeaseValue | undefined {
  if (e.operation !== undefined && e.operation !== 'PUT') return undefined;
  try {
    const v = e.json<{ node?: unknown; at?: unknown; epoch?: unknown; handoff?: unknown; draining?: unknown }>();
    if (typeof v.node !== 'string') return undefined;
    return {
      node: v.node,
      at: Number(v.at) || 0,
      ...(typeof v.epoch === 'number' ? { epoch: v.epoch } : {}),
      ...(typeof v.handoff === 'string' ? { handoff: v.handoff } : {}),
      ...(v.draining === true ? { draining: true } : {}),
    };
  } catch {
    return undefined;
  }
}
