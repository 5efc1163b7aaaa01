import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEPLOY, readYaml } from './deploy-files.ts';

/**
 * deploy/grafana: the dashboard has the panels the issue lists, each on the provisioned Prometheus data
 * source. Whether each panel's query returns data from real bflow processes is test/deploy/prometheus-live.test.ts.
 */
const dashboard = JSON.parse(readFileSync(`${DEPLOY}grafana/dashboards/bflow.json`, 'utf8'));
const panels: any[] = dashboard.panels.filter((p: any) => p.type !== 'row');
const queries = panels.flatMap((p) => p.targets.map((t: any) => t.expr as string));

describe('deploy - grafana dashboard', () => {
  it('has a panel for each of the figures operators watch', () => {
    const wanted: [string, RegExp][] = [
      ['commands/s by outcome', /sum by \(outcome\) \(rate\(bflow_command_duration_seconds_count/],
      ['p50', /histogram_quantile\(0\.5, .*bflow_command_duration_seconds_bucket/],
      ['p99', /histogram_quantile\(0\.99, .*bflow_command_duration_seconds_bucket/],
      ['shards per node', /sum by \(instance\) \(bflow_shards_held\)/],
      ['shard moves', /bflow_lease_changes_total/],
      ['live actors', /bflow_actors_live/],
      ['mailbox depth', /bflow_mailbox_depth/],
      ['commit batch size', /bflow_store_writer_batch_size_sum/],
      ['statements per command', /bflow_mysql_statements_total.*\/.*bflow_command_duration_seconds_count/],
      ['outbox lag', /bflow_outbox_lag_seconds_bucket/],
      ['projection lag', /bflow_store_writer_projection_lag_seconds_bucket/],
      ['webhook deliveries', /bflow_webhook_deliveries_total/],
      ['SLA breaches', /bflow_timer_deliveries_total\{result="fired",kind="sla_due"\}/],
      ['429s', /bflow_rate_limited_total/],
      ['event-loop lag', /nodejs_eventloop_lag_p99_seconds/],
      ['RSS', /process_resident_memory_bytes/],
    ];
    for (const [what, pattern] of wanted)
      expect(
        queries.some((q) => pattern.test(q)),
        what,
      ).toBe(true);
  });

  it('every panel and query uses the data source variable, and panels do not overlap', () => {
    const datasource = dashboard.templating.list.find((v: any) => v.type === 'datasource');
    expect(datasource.query).toBe('prometheus');
    for (const p of panels) {
      expect(p.datasource.uid, p.title).toBe(`\${${datasource.name}}`);
      for (const t of p.targets) expect(t.datasource.uid).toBe(p.datasource.uid);
    }
    const cells = new Set<string>();
    for (const { gridPos: g, title } of dashboard.panels)
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
  });

  it('the provisioning points Grafana at the Prometheus of the compose stack and at the dashboard folder', () => {
    const ds = readYaml<any>('grafana/provisioning/datasources/prometheus.yml').datasources[0];
    expect(ds.type).toBe('prometheus');
    expect(ds.url).toBe('http://prometheus:9090');
    const provider = readYaml<any>('grafana/provisioning/dashboards/bflow.yml').providers[0];
    const compose = readYaml<any>('compose/compose.yaml');
    expect(compose.services.grafana.volumes).toContain(`../grafana/dashboards:${provider.options.path}:ro`);
  });
});
