import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Four projects, by what a test file needs (test/README.md):
 * - unit: nothing but Node (in-process twins, local HTTP servers, the CLI's offline verbs): `npm run test:unit`,
 *   the fast loop. It runs with the services pointed nowhere and the harness refusing to reach for one.
 * - integration: MariaDB/MySQL, Redis and/or NATS, in the test process (plus at most a child it crashes).
 * - cluster: bflow processes (`bflow node`, `gateway`, `all`, lease nodes) spawned and talking to each other;
 *   the console's browser tests (chromium driving a spawned `bflow all` or cluster).
 * - chaos: the short chaos scenarios on a private stack they break on purpose.
 * Every src/ test is a unit test; a test/ file is an integration test unless listed below. `npm test` runs all
 * four, one after the other (sequence.groupOrder), so the heavy ones never overlap.
 */
const UNIT = [
  'src/**/*.test.ts',
  'test/architecture/**/*.test.ts',
  'test/actors/bus/colocated-routing.test.ts',
  'test/actors/bus/shard-bus.memory.contract.test.ts',
  'test/actors/events/outbox-relay.test.ts',
  'test/actors/leases/lease-manager.memory.contract.test.ts',
  'test/actors/retention/retention-job.test.ts',
  'test/actors/runtime-host/runtime-host.test.ts',
  'test/actors/runtime-host/runtime-host-reads.test.ts',
  'test/actors/runtime-host/runtime-host-snapshots.test.ts',
  'test/actors/runtime-host/start-definition-cache.test.ts',
  'test/actors/runtime-host/workflow-cache.test.ts',
  'test/actors/timers/timer-service.test.ts',
  'test/actors/notifications/providers.test.ts',
  'test/actors/webhooks/webhook-deliverer.test.ts',
  'test/bench/http-load.test.ts',
  'test/cli-token.test.ts',
  'test/cli-validate.test.ts',
  'test/deploy/audit.test.ts',
  'test/deploy/compose.test.ts',
  'test/deploy/dashboard.test.ts',
  'test/deploy/docker.test.ts',
  'test/deploy/k8s.test.ts',
  'test/e2e/notifications-embedded.e2e.test.ts',
  'test/e2e/webhooks-embedded.e2e.test.ts',
  'test/gateway/app.test.ts',
  'test/gateway/auth.test.ts',
  'test/gateway/body-limit.test.ts',
  'test/gateway/command-log.test.ts',
  'test/gateway/console-routes.test.ts',
  'test/gateway/fixed-headers.test.ts',
  'test/gateway/live-reads.test.ts',
  'test/security/definition-escape.test.ts',
  'test/security/raw-http.test.ts',
  'test/security/secrets-in-errors.test.ts',
  'test/security/security-checks.test.ts',
  'test/store/snapshot-cache.memory.contract.test.ts',
  'test/store/retention.memory.contract.test.ts',
  'test/store/store.memory.contract.test.ts',
];

const CLUSTER = [
  'test/cluster/**/*.test.ts',
  'test/e2e/cluster.e2e.test.ts',
  'test/e2e/embedded.e2e.test.ts',
  'test/e2e/webhooks-cluster.e2e.test.ts',
  'test/actors/leases/leases.process.test.ts',
  'test/app/roles-config.test.ts',
  'test/app/failed-start.test.ts',
  'test/deploy/prometheus-live.test.ts',
  'test/ops/**/*.test.ts',
  // The web console in chromium, against `bflow all` (embedded) and a real cluster.
  'test/console/**/*.test.ts',
];

const CHAOS = ['test/chaos/chaos.test.ts'];

/** Nowhere: a unit test that opens a connection of its own fails instead of finding the shared server. */
const NO_SERVICES = {
  BFLOW_TEST_NO_SERVICES: '1',
  BFLOW_TEST_MYSQL_URL: 'mysql://root@127.0.0.1:1',
  BFLOW_TEST_REDIS_URL: 'redis://127.0.0.1:1',
  BFLOW_TEST_NATS_URL: 'nats://127.0.0.1:1',
};

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // `npm run coverage`: V8 coverage of src/ over the whole suite, failing under 80% of lines. Processes the
    // tests spawn (bflow node, gateway) are not measured: only what runs in the test processes counts.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
      reporter: ['text-summary', 'html', 'json-summary'],
      thresholds: { lines: 80 },
      // A failed test still fails the run, but the coverage it measured is reported (and kept in coverage/).
      reportOnFailure: true,
    },
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT, env: NO_SERVICES, sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...UNIT, ...CLUSTER, ...CHAOS],
          sequence: { groupOrder: 1 },
        },
      },
      { extends: true, test: { name: 'cluster', include: CLUSTER, sequence: { groupOrder: 2 } } },
      { extends: true, test: { name: 'chaos', include: CHAOS, sequence: { groupOrder: 3 } } },
    ],
  },
});
