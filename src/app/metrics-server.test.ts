import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startMetricsServer } from './metrics-server.ts';

describe('metrics server - operations port', () => {
  it('serves /metrics and /health, 404 elsewhere', async () => {
    const registry = new Registry();
    new Counter({ name: 'bflow_test_total', help: 'test', registers: [registry] }).inc(3);
    const server = await startMetricsServer(registry, 0, '127.0.0.1');
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('bflow_test_total 3');
      expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
