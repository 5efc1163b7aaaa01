import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { withTimeout } from './lease-errors.ts';
import type { ClusterView } from './ports.ts';
import { bucketNames, parseLease, shardKey } from './lease-buckets.ts';
import { checkOptions, positive, resolveOptions, type OptionDefaults } from '../../shared/options.ts';

/** Options of {@link LeaseBucketReader}. */
export interface LeaseBucketReaderOptions {
  /** The cluster name, prefix of the bucket names. */
  cluster: string;
  /** Timeout of each KV call. @default 2000 */
  timeoutMs?: number;
}

export const DEFAULT_LEASE_BUCKET_READER_OPTIONS = Object.freeze({
  timeoutMs: 2000,
} satisfies OptionDefaults<LeaseBucketReaderOptions>);

interface Buckets {
  shards: KV;
  nodes: KV;
  meta: KV;
}

/**
 * A read-only view of a cluster's shard ownership, read straight from the
 * lease buckets the nodes write (`<cluster>_shards`, `_nodes`, `_meta`). For
 * the gateway: it never creates a bucket nor writes a key, so it can start
 * before any node (the buckets are bound again on the next read until they exist).
 */
export class LeaseBucketReader {
  readonly #nc: NatsConnection;
  readonly #cluster: string;
  readonly #timeoutMs: number;
  #buckets: Promise<Buckets> | undefined;

  constructor(nc: NatsConnection, options: LeaseBucketReaderOptions) {
    this.#nc = nc;
    const resolved = resolveOptions(DEFAULT_LEASE_BUCKET_READER_OPTIONS, options);
    checkOptions('LeaseBucketReader', resolved, { timeoutMs: positive });
    this.#cluster = resolved.cluster;
    this.#timeoutMs = resolved.timeoutMs;
  }

  /** The shard count recorded at the cluster's first start, or undefined while no node has started. */
  async shardCount(): Promise<number | undefined> {
    const { meta } = await this.#open();
    const entry = await this.#call(meta.get('shard_count'), 'read shard count');
    const n = Number(entry?.string());
    return entry && entry.operation === 'PUT' && Number.isInteger(n) && n > 0 ? n : undefined;
  }

  /** Nodes (live heartbeats) and the owner and epoch of each shard. */
  async view(shardCount: number): Promise<ClusterView> {
    const { shards, nodes } = await this.#open();
    const [shardEntries, nodeEntries] = await Promise.all([
      Promise.all(
        Array.from({ length: shardCount }, (_, shard) =>
          this.#call(shards.get(shardKey(shard)), `read shard ${shard}`),
        ),
      ),
      this.#values(nodes),
    ]);
    const owners = shardEntries.map((e, shard) => {
      const v = e ? parseLease(e) : undefined;
      return { shard, node: v?.node ?? null, epoch: v ? (v.epoch ?? e!.revision) : null };
    });
    const counts = new Map<string, number>();
    for (const o of owners) if (o.node !== null) counts.set(o.node, (counts.get(o.node) ?? 0) + 1);
    const live = nodeEntries.flatMap((e) => {
      const v = parseLease(e);
      return v ? [{ id: v.node, lastSeen: v.at, shards: counts.get(v.node) ?? 0 }] : [];
    });
    return { shardCount, nodes: live.sort((a, b) => a.id.localeCompare(b.id)), shards: owners };
  }

  async #values(kv: KV): Promise<KvEntry[]> {
    // The whole listing is bounded, not only its start: the key iterator ends only when its consumer says so.
    const list = async (): Promise<string[]> => {
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      return keys;
    };
    const keys = await this.#call(list(), 'list keys').catch(() => this.#call(list(), 'list keys (again)'));
    const entries = await Promise.all(keys.map((k) => this.#call(kv.get(k), `read ${k}`)));
    return entries.filter((e): e is KvEntry => e !== null);
  }

  #open(): Promise<Buckets> {
    const opening = (this.#buckets ??= (async () => {
      const kvm = new Kvm(jetstream(this.#nc, { timeout: this.#timeoutMs }));
      const names = bucketNames(this.#cluster);
      const [shards, nodes, meta] = await Promise.all(
        [names.shards, names.nodes, names.meta].map((name) => this.#call(kvm.open(name), `bind KV bucket ${name}`)),
      );
      return { shards: shards!, nodes: nodes!, meta: meta! };
    })());
    // A failed bind (no node has created the buckets yet) is tried again on the next read.
    opening.catch(() => {
      if (this.#buckets === opening) this.#buckets = undefined;
    });
    return opening;
  }

  #call<T>(promise: Promise<T>, what: string): Promise<T> {
    return withTimeout(promise, this.#timeoutMs, `cluster view: ${what}`);
  }
}
