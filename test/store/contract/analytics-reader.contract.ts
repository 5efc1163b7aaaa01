import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Stage } from '../../../src/engine/index.ts';
import type { AnalyticsReader } from '../../../src/store/analytics-ports.ts';
import { StoreError } from '../../../src/store/errors.ts';
import type { TransitionWriter } from '../../../src/store/ports.ts';
import { commitOk, step, T0, uniqueTenant } from '../fixtures.ts';

export interface AnalyticsSubject {
  writer: TransitionWriter;
  analytics: AnalyticsReader;
  cleanup(): Promise<void>;
}

const stages: Stage[] = [
  { node: 'start', status: 'closed', enteredAt: T0, exitedAt: T0 + 10, exitAction: 'submit', tasks: [] },
  {
    node: 'manager',
    status: 'open',
    enteredAt: T0 + 10,
    dueAt: T0 + 100,
    breached: true,
    tasks: [{ assignee: 'm', status: 'open' }],
  },
];

/** The AnalyticsReader contract: a workflow's newest runtimes (by creation, then id), filtered by version and creation time, bounded. */
export function analyticsReaderContract(name: string, makeSubject: () => Promise<AnalyticsSubject>): void {
  describe(`${name} - analytics reader`, () => {
    let s: AnalyticsSubject;
    let tenant: string;
    beforeEach(async () => {
      s = await makeSubject();
      tenant = uniqueTenant('an');
    });
    afterEach(async () => {
      await s.cleanup();
    });

    async function seed(
      id: string,
      createdAt: number,
      o: { workflowId?: string; version?: number; tenant?: string } = {},
    ): Promise<void> {
      const record = step({ tenant: o.tenant ?? tenant, id });
      record.state.runtime.createdAt = createdAt;
      record.state.runtime.workflowId = o.workflowId ?? 'wf-an';
      record.state.runtime.version = o.version ?? 1;
      record.state.stages = structuredClone(stages);
      await commitOk(s.writer, record);
    }

    it('analytics - the newest runtimes of the workflow with their stages, newest first', async () => {
      await seed('rt-a', T0 + 1);
      await seed('rt-b', T0 + 3);
      await seed('rt-c', T0 + 2);
      await seed('rt-d', T0 + 3);
      await seed('rt-x', T0 + 5, { workflowId: 'wf-other' });
      const got = await s.analytics.stageSamples(tenant, 'wf-an', {}, 10);
      expect(got.truncated).toBe(false);
      expect(got.runtimes.map((r) => r.runtimeId)).toEqual(['rt-d', 'rt-b', 'rt-c', 'rt-a']);
      expect(got.runtimes[0]).toEqual({ runtimeId: 'rt-d', version: 1, createdAt: T0 + 3, stages });
    });

    it('analytics - the limit keeps the newest and reports truncation; filters by version and since', async () => {
      await seed('rt-a', T0 + 1, { version: 1 });
      await seed('rt-b', T0 + 2, { version: 2 });
      await seed('rt-c', T0 + 3, { version: 2 });
      expect(await s.analytics.stageSamples(tenant, 'wf-an', {}, 2)).toMatchObject({
        truncated: true,
        runtimes: [{ runtimeId: 'rt-c' }, { runtimeId: 'rt-b' }],
      });
      expect((await s.analytics.stageSamples(tenant, 'wf-an', {}, 3)).truncated).toBe(false);
      expect(
        (await s.analytics.stageSamples(tenant, 'wf-an', { version: 1 }, 10)).runtimes.map((r) => r.runtimeId),
      ).toEqual(['rt-a']);
      expect(
        (await s.analytics.stageSamples(tenant, 'wf-an', { since: T0 + 2 }, 10)).runtimes.map((r) => r.runtimeId),
      ).toEqual(['rt-c', 'rt-b']);
      expect(
        (await s.analytics.stageSamples(tenant, 'wf-an', { since: T0 + 2, version: 2 }, 1)).runtimes.map(
          (r) => r.runtimeId,
        ),
      ).toEqual(['rt-c']);
      expect(await s.analytics.stageSamples(tenant, 'wf-nope', {}, 10)).toEqual({ runtimes: [], truncated: false });
    });

    it('analytics - a limit outside 1..10000 is refused', async () => {
      await expect(s.analytics.stageSamples(tenant, 'wf-an', {}, 0)).rejects.toBeInstanceOf(StoreError);
      await expect(s.analytics.stageSamples(tenant, 'wf-an', {}, 10_001)).rejects.toBeInstanceOf(StoreError);
    });

    it("tenants - another tenant's runtimes of a same-named workflow are never counted", async () => {
      const other = uniqueTenant('an-b');
      await seed('rt-a', T0 + 1);
      await seed('rt-b', T0 + 1, { tenant: other });
      expect((await s.analytics.stageSamples(tenant, 'wf-an', {}, 10)).runtimes.map((r) => r.runtimeId)).toEqual([
        'rt-a',
      ]);
      expect((await s.analytics.stageSamples(other, 'wf-an', {}, 10)).runtimes.map((r) => r.runtimeId)).toEqual([
        'rt-b',
      ]);
    });
  });
}
