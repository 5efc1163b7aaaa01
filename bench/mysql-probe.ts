/**
 * bench/mysql-probe — preloaded into a bflow process by the benchmarks
 * (`node --import tsx --import ./bench/mysql-probe.ts bin/bflow.js node`):
 * serves the process's MySQL statement counts (src/store/mysql/pool.ts
 * registerMySqlStatementMetrics) as Prometheus text on BENCH_MYSQL_PROBE_PORT,
 * until the node and gateway register them on their own metrics endpoints.
 */
import { Registry } from 'prom-client';
import { startMetricsServer } from '../src/metrics-server.ts';
import { registerMySqlStatementMetrics } from '../src/store/mysql/pool.ts';

const port = Number(process.env.BENCH_MYSQL_PROBE_PORT);
if (Number.isInteger(port) && port > 0) {
  const registry = new Registry();
  registerMySqlStatementMetrics(registry);
  const server = await startMetricsServer(registry, port, '127.0.0.1');
  process.once('exit', () => void server.close());
}
