import { describe, expect, it } from 'vitest';
import { fairShare, planLeases, type PlanInput } from './lease-plan.ts';

const base = (over: Partial<PlanInput>): PlanInput => ({
  self: 'a',
  shardCount: 64,
  live: ['a', 'b', 'c'],
  mine: [],
  owners: new Map(),
  busy: new Set(),
  freeSince: new Map(),
  now: 0,
  graceMs: 1000,
  random: () => 0.5,
  ...over,
});
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const owned = (entries: [string, number[]][]): Map<number, string> =>
  new Map(entries.flatMap(([n, s]) => s.map((x) => [x, n] as const)));

describe('lease plan', () => {
  it('lease plan - targets add up to the shard count, ±1 apart', () => {
    const live = ['c', 'a', 'b'];
    const targets = live.map((self) => fairShare({ self, shardCount: 64, live }).target);
    expect(targets).toEqual([21, 22, 21]);
    expect(fairShare({ self: 'a', shardCount: 64, live }).ceil).toBe(22);
  });

  it('lease plan - a lone node claims every free shard', () => {
    expect(planLeases(base({ live: ['a'] })).claim.sort((x, y) => x - y)).toEqual(range(0, 64));
  });

  it('lease plan - claims only up to the target, then up to the ceil once shards stay free past the grace', () => {
    const owners = owned([
      ['b', range(0, 21)],
      ['c', range(21, 42)],
    ]);
    expect(
      planLeases(base({ self: 'b', live: ['a', 'b', 'c'], mine: [], owners: owned([['c', range(21, 42)]]) })).claim,
    ).toHaveLength(21);
    const fresh = planLeases(base({ self: 'c', mine: range(21, 42), owners: owned([['b', range(0, 21)]]) }));
    expect(fresh.claim).toEqual([]);
    const stale = planLeases(
      base({
        self: 'c',
        mine: range(21, 42),
        owners: owned([['b', range(0, 21)]]),
        freeSince: new Map(range(42, 64).map((s) => [s, -5000])),
      }),
    );
    expect(stale.claim).toHaveLength(1);
    expect(owners.size).toBe(42);
  });

  it('lease plan - hands over only what under-target nodes miss (22/22/20 → one shard moves)', () => {
    const plan = planLeases(
      base({
        self: 'b',
        mine: range(22, 44),
        owners: owned([
          ['a', range(0, 22)],
          ['c', range(44, 64)],
        ]),
      }),
    );
    expect(plan.release).toHaveLength(1);
    const none = planLeases(
      base({
        self: 'a',
        mine: range(0, 22),
        owners: owned([
          ['b', range(22, 43)],
          ['c', range(43, 64)],
        ]),
      }),
    );
    expect(none).toEqual({ claim: [], release: [] });
  });

  it('lease plan - a joining node makes each holder release its surplus, and busy shards are left alone', () => {
    const live = ['a', 'b', 'c', 'd'];
    const plan = planLeases(
      base({
        live,
        mine: range(0, 22),
        owners: owned([
          ['b', range(22, 43)],
          ['c', range(43, 64)],
        ]),
      }),
    );
    expect(plan.release).toHaveLength(6);
    const claim = planLeases(
      base({ self: 'd', live, owners: owned([['a', range(0, 60)]]), busy: new Set([60, 61]) }),
    ).claim;
    expect(claim.sort()).toEqual([62, 63]);
  });
});
