import { describe, expect, it } from 'vitest';
import type { CommitOutcome, TransitionRecord, TransitionWriter } from './ports.ts';
import { shardedWriter } from './sharded-writer.ts';

function recordingWriter(log: string[], name: string): TransitionWriter {
  return {
    commit: async (r: TransitionRecord): Promise<CommitOutcome> => (log.push(`${name}:${r.shard}`), { ok: true }),
    flush: async () => void log.push(`${name}:flush`),
    close: async () => void log.push(`${name}:close`),
  };
}

describe('sharded writer - parallel group commits', () => {
  it('sends each record to the writer of its shard; flush and close reach every writer', async () => {
    const log: string[] = [];
    const w = shardedWriter([recordingWriter(log, 'a'), recordingWriter(log, 'b')]);
    for (const shard of [0, 1, 2, 3, 7]) await w.commit({ shard } as TransitionRecord);
    await w.flush();
    await w.close();
    expect(log).toEqual(['a:0', 'b:1', 'a:2', 'b:3', 'b:7', 'a:flush', 'b:flush', 'a:close', 'b:close']);
  });

  it('refuses an empty list', () => {
    expect(() => shardedWriter([])).toThrow(RangeError);
  });
});
