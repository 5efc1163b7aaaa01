import { describe, expect, it } from 'vitest';
import { percentile, stageStatistics, type StageFacts } from './analytics.ts';

const closed = (
  node: string,
  enteredAt: number,
  exitedAt: number,
  exitAction: string,
  breached = false,
): StageFacts => ({
  node,
  status: 'closed',
  enteredAt,
  exitedAt,
  exitAction,
  ...(breached ? { breached: true as const } : {}),
});
const open = (node: string, enteredAt: number, breached = false): StageFacts => ({
  node,
  status: 'open',
  enteredAt,
  ...(breached ? { breached: true as const } : {}),
});

describe('analytics - percentile', () => {
  it('percentile - nearest rank over an ascending array', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 90)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 90)).toBe(4);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 90)).toBe(90);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
  });
});

describe('analytics - stageStatistics', () => {
  it('stageStatistics - counts visits, exits by action, open visits and breaches per node', () => {
    const stats = stageStatistics([
      [closed('start', 0, 10, 'submit'), closed('mgr', 10, 110, 'approve', true), open('fin', 110)],
      [
        closed('start', 0, 20, 'submit'),
        closed('mgr', 20, 320, 'return'),
        closed('start', 320, 330, 'resubmit'),
        open('mgr', 330, true),
      ],
      [closed('start', 0, 5, 'submit'), closed('mgr', 5, 25, 'reject')],
    ]);
    expect(stats.map((s) => s.node)).toEqual(['start', 'mgr', 'fin']);
    const [start, mgr, fin] = stats;
    expect(start).toEqual({
      node: 'start',
      entered: 4,
      open: 0,
      exited: { submit: 3, resubmit: 1 },
      timeInStage: { samples: 4, p50Ms: 10, p90Ms: 20 },
      slaBreaches: 0,
    });
    expect(mgr).toEqual({
      node: 'mgr',
      entered: 4,
      open: 1,
      exited: { approve: 1, return: 1, reject: 1 },
      timeInStage: { samples: 3, p50Ms: 100, p90Ms: 300 },
      slaBreaches: 2,
    });
    expect(fin).toEqual({
      node: 'fin',
      entered: 1,
      open: 1,
      exited: {},
      timeInStage: { samples: 0, p50Ms: null, p90Ms: null },
      slaBreaches: 0,
    });
  });

  it('stageStatistics - nodes of the given order come first and are listed even when never visited', () => {
    const stats = stageStatistics(
      [[closed('x', 0, 1, 'approve'), closed('start', 1, 2, 'submit')]],
      ['start', 'mgr', 'end'],
    );
    expect(stats.map((s) => [s.node, s.entered])).toEqual([
      ['start', 1],
      ['mgr', 0],
      ['end', 0],
      ['x', 1],
    ]);
  });

  it('stageStatistics - a closed stage without exit action or exit time is counted, not timed', () => {
    const [s] = stageStatistics([[{ node: 'a', status: 'closed', enteredAt: 5 }]]);
    expect(s).toMatchObject({ entered: 1, open: 0, exited: { unknown: 1 }, timeInStage: { samples: 0, p50Ms: null } });
  });

  it('stageStatistics - no runtimes gives no nodes (or the given order with zeros)', () => {
    expect(stageStatistics([])).toEqual([]);
    expect(stageStatistics([], ['a'])).toEqual([
      {
        node: 'a',
        entered: 0,
        open: 0,
        exited: {},
        timeInStage: { samples: 0, p50Ms: null, p90Ms: null },
        slaBreaches: 0,
      },
    ]);
  });
});
