import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPLOY, ROOT, readYaml } from './deploy-files.ts';

/**
 * deploy/prometheus with Debian's promtool (package `prometheus`; .ci/run installs it): the scrape config
 * and the rules are valid, every alert has a promtool unit test that fires it, and docs/operations.md
 * explains every alert under a heading of its name.
 */
const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: `${DEPLOY}prometheus`, encoding: 'utf8' });
const alerts: string[] = readYaml<any>('prometheus/rules/bflow-alerts.yml').groups.flatMap((g: any) =>
  g.rules.map((r: any) => r.alert),
);

describe('deploy - prometheus rules', () => {
  it('promtool accepts the scrape config and both rule files', () => {
    const config = promtool('check', 'config', 'prometheus.yml');
    expect(config.status, config.stdout + config.stderr).toBe(0);
    const rules = promtool('check', 'rules', 'rules/bflow-recording.yml', 'rules/bflow-alerts.yml');
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
  });

  it("has the seed's three alerts and the operational ones", () => {
    expect(alerts).toEqual(
      expect.arrayContaining([
        'workflow_sla_breach',
        'high_error_rate',
        'database_slow_queries',
        'shard_without_owner',
        'lease_churn',
        'outbox_lag',
        'projection_lag',
        'webhook_deliveries_failing',
        'node_down',
        'high_p99_latency',
        'mysql_unavailable',
        'event_loop_lag',
      ]),
    );
  });

  it('promtool test rules passes, with a test for every alert', () => {
    const tests = readYaml<any>('prometheus/tests/bflow-alerts.test.yml').tests;
    const tested = new Set(tests.flatMap((t: any) => t.alert_rule_test.map((a: any) => a.alertname)));
    for (const alert of alerts) expect(tested, alert).toContain(alert);
    const run = promtool('test', 'rules', 'tests/bflow-alerts.test.yml');
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it("every alert's runbook link is a heading of docs/operations.md", () => {
    const doc = readFileSync(`${ROOT}docs/operations.md`, 'utf8');
    const headings = new Set([...doc.matchAll(/^#{2,5} `?([a-z0-9_]+)`?\s*$/gm)].map((m) => m[1]));
    for (const group of readYaml<any>('prometheus/rules/bflow-alerts.yml').groups)
      for (const rule of group.rules) {
        expect(rule.annotations.runbook).toBe(`docs/operations.md#${rule.alert}`);
        expect(headings, `docs/operations.md: a heading "${rule.alert}"`).toContain(rule.alert);
      }
  });
});
