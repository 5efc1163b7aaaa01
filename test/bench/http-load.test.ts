import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnHttpLoad } from '../../bench/http-load.ts';
import type { LoadEvent } from '../../bench/load-process.ts';

/** A task shows in the fake inbox this long after its submit was answered. */
const READ_MODEL_LAG_MS = 150;

/**
 * The bench's HTTP load process against a fake API whose read model lags by READ_MODEL_LAG_MS: what the
 * lag observers measure, and the `start` mode's progress lines.
 */
describe('bench/http-load', () => {
  let server: ServerType;
  let url: string;
  const visibleAt = new Map<string, number>();
  let started = 0;

  beforeAll(async () => {
    const app = new Hono();
    app.post('/api/v1/runtimes', (c) => c.json({ id: `rt-${++started}` }, 201));
    app.post('/api/v1/runtimes/:id/actions', async (c) => {
      const { action } = await c.req.json<{ action: string }>();
      if (action === 'submit') visibleAt.set(c.req.param('id'), Date.now() + READ_MODEL_LAG_MS);
      else visibleAt.delete(c.req.param('id'));
      return c.json({ ok: true });
    });
    app.get('/api/v1/tasks', (c) =>
      c.json({
        items: [...visibleAt].filter(([, at]) => at <= Date.now()).map(([runtimeId]) => ({ runtimeId })),
      }),
    );
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
        url = `http://127.0.0.1:${info.port}`;
        resolve();
      });
    });
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const load = { secret: 'x'.repeat(32), tenantPrefix: 't', tenants: 4 };

  it('the lag observers time a submit until the inbox shows its task; the timeline counts every command', async () => {
    const p = spawnHttpLoad({
      ...load,
      url,
      mode: 'approve',
      concurrency: 4,
      lagObservers: 2,
      warmupSeconds: 0.5,
      seconds: 2,
    });
    const report = await p.result;
    const lag = report.inboxLag!;
    expect(lag.lagMs.count).toBeGreaterThanOrEqual(2);
    expect(lag.timeouts).toBe(0);
    expect(lag.failedReads).toBe(0);
    // The read model's lag, plus at most one 20 ms poll interval and the reads' own latency (generous: a busy machine).
    expect(lag.lagMs.p50).toBeGreaterThanOrEqual(READ_MODEL_LAG_MS - 5);
    expect(lag.lagMs.p50).toBeLessThan(READ_MODEL_LAG_MS + 300);
    expect(report.errors).toBe(0);
    const counted = report.timeline.reduce((a, b) => a + b, 0);
    expect(counted).toBeGreaterThanOrEqual(report.commandsPerSecond * 2);
    expect(report.timeline.length).toBeGreaterThanOrEqual(20); // 100 ms buckets over ≥ 2.5 s
  });

  it('`start` mode starts exactly --total runtimes and reports its progress', async () => {
    const events: LoadEvent[] = [];
    const before = started;
    const p = spawnHttpLoad(
      {
        ...load,
        url,
        mode: 'start',
        concurrency: 8,
        warmupSeconds: 0,
        seconds: 1_000_000,
        total: 50,
        progressEvery: 10,
      },
      (e) => events.push(e),
    );
    const report = await p.result;
    expect(report.ok).toBe(50);
    expect(started - before).toBe(50);
    expect(events).toEqual([10, 20, 30, 40, 50].map((done) => ({ event: 'progress', done })));
  });
});
