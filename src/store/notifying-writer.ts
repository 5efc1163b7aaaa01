import type { CommitOutcome, TransitionRecord, TransitionWriter } from './ports.ts';

/** A writer that calls `onCommitted(shard)` after each successful commit (to wake the outbox relay). */
export function notifyingWriter(inner: TransitionWriter, onCommitted: (shard: number) => void): TransitionWriter {
  return {
    async commit(record: TransitionRecord): Promise<CommitOutcome> {
      const outcome = await inner.commit(record);
      if (outcome.ok && record.effects.events.length > 0) onCommitted(record.shard);
      return outcome;
    },
    flush: () => inner.flush(),
    close: () => inner.close(),
  };
}
