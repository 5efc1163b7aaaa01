/**
 * bench/mysql-probe — preloaded into a bflow process by the benchmarks
 * (`node --import tsx --import ./bench/mysql-probe.ts bin/bflow.js node`):
 * serves the process's MySQL statement counts (src/store/mysql/pool.ts
 * registerMySqlStatementMetrics) as Prometheus text on BENCH_MYSQL_PROBE_PORT,
 * until the node and gateway register them on their own metrics endpoints.
 * The server is unref'd: it never keeps the process alive (a graceful stop
 * still exits, and writes its --cpu-prof profile).
 */
import { createServer } from 'node:http';
import { Registry } from 'prom-client';
import { registerMySqlStatementMetrics } from '../src/store/mysql/pool.ts';

const port = Number(process.env.BENCH_MYSQL_PROBE_PORT);
if (Number.isInteger(port) && port > 0) {
  const registry = new Registry();
  registerMySqlStatementMetrics(registry);
  const server = createServer((_req, res) => {
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType, connection: 'close' }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  server.listen(port, '127.0.0.1');
  server.unref();
}
