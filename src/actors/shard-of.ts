/**
 * The shard of a runtime: FNV-1a (32 bit) of its id, modulo the cluster's
 * fixed shard count. Stable across processes and versions: never change it.
 */
export function shardOf(runtimeId: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < runtimeId.length; i++) {
    hash ^= runtimeId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shardCount;
}
