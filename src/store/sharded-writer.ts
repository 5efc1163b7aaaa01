import type { CommitOutcome, TransitionRecord, TransitionWriter } from './ports.ts';

/**
 * Several group-commit writers side by side, a record going to the one of its
 * shard. One writer has one batch in flight at a time, so a node's throughput
 * would be capped at batch size / commit latency; writers keyed by shard commit
 * in parallel, while the commands of one runtime (one shard) stay in order.
 */
export function shardedWriter(writers: readonly TransitionWriter[]): TransitionWriter {
  if (writers.length === 0) throw new RangeError('shardedWriter needs at least one writer');
  return {
    commit: (record: TransitionRecord): Promise<CommitOutcome> =>
      writers[record.shard % writers.length]!.commit(record),
    flush: async () => {
      await Promise.all(writers.map((w) => w.flush()));
    },
    close: async () => {
      await Promise.all(writers.map((w) => w.close()));
    },
    catchUp: async (shard: number) => {
      await writers[shard % writers.length]!.catchUp?.(shard);
    },
  };
}
