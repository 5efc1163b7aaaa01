import type { RuntimeState } from '../../engine/index.ts';
import type { Actor } from './actor.ts';

interface Entry {
  shard: number;
  state: RuntimeState;
  at: number;
}

/**
 * The last states of actors passivated here a moment ago (idle or over capacity), for live reads: a caller
 * reads its own write even when its runtime left memory right after the command and the read model is still
 * behind (a projection written after the commit). While this node holds the shard, nobody else commits to
 * the runtime, so the state stays the latest until the runtime is activated again (then the live actor
 * answers). Entries go when their shard is closed, drained or moves to a new epoch, after `ttlMs`, and
 * beyond `maxEntries` (oldest first).
 */
export class RecentlyPassivated {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  add(actor: Actor): void {
    if (this.ttlMs === 0) return;
    this.entries.delete(actor.key);
    this.entries.set(actor.key, { shard: actor.shard, state: actor.state, at: this.now() });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The state of `key` if it was passivated within `ttlMs`. */
  get(key: string): RuntimeState | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.at < this.ttlMs) return entry.state;
    this.entries.delete(key);
    return undefined;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  dropShard(shard: number): void {
    for (const [key, entry] of this.entries) if (entry.shard === shard) this.entries.delete(key);
  }
}
