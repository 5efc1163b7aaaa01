/**
 * The unit project (vitest.config.ts) sets BFLOW_TEST_NO_SERVICES=1. A test there that reaches for
 * MariaDB, Redis or NATS through the harness fails at once, rather than using the shared server or
 * starting a private one, and says where the file belongs.
 */
export function assertServicesAllowed(what: string): void {
  if (process.env.BFLOW_TEST_NO_SERVICES === '1') {
    throw new Error(
      `${what}: the unit project runs without services; list this test file under integration or cluster (vitest.config.ts)`,
    );
  }
}
