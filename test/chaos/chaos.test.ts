import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChaosStack } from './chaos-stack.ts';
import { runScenario } from './run-scenario.ts';
import { SCENARIOS } from './scenarios.ts';
import { RESULTS_DIR } from './summary.ts';

// The short chaos scenarios (a few seconds of load per fault) on one private
// stack: mariadbd, redis-server and nats-server of their own, a `bflow gateway`
// and three `bflow node` processes. The long ones run from `npm run chaos`.
let stack: ChaosStack | undefined;

beforeAll(async () => {
  stack = await ChaosStack.start({ nodes: 3, logDir: join(RESULTS_DIR, 'logs', 'npm-test') });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe('chaos - short scenarios under steady load, each ended by the invariant check', () => {
  for (const scenario of SCENARIOS.filter((s) => s.length === 'short')) {
    it(`chaos - ${scenario.name}: ${scenario.summary}`, async () => {
      const outcome = await runScenario(scenario, { stack: stack!, settleAcks: 60 });
      expect(outcome.violations).toEqual([]);
      expect(outcome.result.lost).toBe(0);
      expect(outcome.result.duplicates).toBe(0);
      expect(outcome.result.faults.length).toBeGreaterThan(0);
    }, 150_000);
  }
});
