import { join } from 'node:path';
import { ChaosStack } from './chaos-stack.ts';
import type { LoadRecord } from './load-record.ts';
import { checkInvariants } from './invariants.ts';
import { seedTenants, startLoad, type LoadTenant } from './load-driver.ts';
import { waitForAcks, type Scenario } from './scenarios.ts';
import { RESULTS_DIR, scenarioResult, summaryLine, writeResult, type ScenarioResult } from './summary.ts';

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** A running stack to use (the short scenarios share one); otherwise one is started and stopped. */
  stack?: ChaosStack;
  /** Acknowledged commands before the first fault, and again after the last one (the load flows again). @default 100 (short), 300 (long) */
  settleAcks?: number;
  /** Receives progress lines. @default console.log */
  log?: (line: string) => void;
}

/** What a run returns: the result (also written as JSON) and its violations (empty = pass). */
export interface ScenarioOutcome {
  result: ScenarioResult;
  line: string;
  violations: string[];
  /** Violations of a known, reported bug (KNOWN_ISSUES): printed, not counted as failures. */
  knownIssues: string[];
  resultFile: string;
}

let runs = 0;

/**
 * Runs one scenario: steady load over HTTP, warm-up, the faults, load again
 * until the system served `settleAcks` more commands, then the invariant
 * check on the whole database once every shard is held again.
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<ScenarioOutcome> {
  const log = options.log ?? ((line: string) => console.log(line));
  const settle = options.settleAcks ?? (scenario.length === 'long' ? 300 : 100);
  const label = `${scenario.name.replace(/[^a-z0-9]/g, '')}${Date.now().toString(36)}${++runs}`;
  const stack =
    options.stack ??
    (await ChaosStack.start({
      nodes: scenario.nodes ?? 2,
      logDir: join(RESULTS_DIR, 'logs', scenario.name),
      ...(scenario.env && { env: scenario.env }),
    }));
  try {
    const workers = scenario.workers ?? (scenario.length === 'long' ? 16 : 8);
    const tenants: LoadTenant[] = await seedTenants(stack, workers, label);
    const load = startLoad(stack, tenants, { workers, label });
    let notes: Record<string, unknown>;
    try {
      await waitForAcks(load.record, settle);
      log(`${scenario.name}: load running (${load.record.acks.length} acknowledged), injecting`);
      notes = await scenario.inject(stack, load.record);
      await waitForAcks(load.record, settle);
    } finally {
      await load.stop();
    }
    await stack.waitAllShardsHeld(60_000);
    const invariants = await checkInvariants(
      stack,
      tenants.map((t) => t.id),
      load.record.acks,
    );
    return report(scenario, scenarioResult(scenario.name, load.record, workers, invariants, notes), load.record, log);
  } finally {
    if (!options.stack) await stack.stop();
  }
}

/** Sorts what the run broke into violations and known issues, prints the summary line, writes the JSON. */
function report(
  scenario: Scenario,
  result: ScenarioResult,
  record: LoadRecord,
  log: (line: string) => void,
): ScenarioOutcome {
  const found = [
    ...result.invariants.problems.slice(0, 20),
    ...result.badInputs.mishandled.map((m) => `bad input not refused with a 4xx: ${m}`),
    ...(result.abandoned.deadline
      ? [`${result.abandoned.deadline} commands were still failing at their deadline (no recovery)`]
      : []),
    ...refusals(record),
    ...serverErrors(result),
    ...(scenario.verify?.(record) ?? []),
  ];
  const knownIssue = (v: string) => KNOWN_ISSUES.find((k) => k.pattern.test(v));
  const violations = found.filter((v) => !knownIssue(v));
  const known = found.filter((v) => knownIssue(v));
  const knownIssues = known.map((v) => `${v} — known issue: ${knownIssue(v)!.reason}`);
  const line = summaryLine(result) + (known.length > 0 ? `; KNOWN ISSUE: ${known.join('; ')}` : '');
  const refused = record.abandoned.filter((a) => a.reason === 'refused');
  const resultFile = writeResult({ ...result, notes: { ...result.notes, violations, knownIssues, refused } });
  log(line);
  for (const k of knownIssues) log(`  ${k}`);
  return { result, line, violations, knownIssues, resultFile };
}

/** Answers 5xx other than 503 (a retry may have hidden them from the client, not from the record): must be none. */
function serverErrors(result: ScenarioResult): string[] {
  return Object.entries(result.outcomes)
    .filter(([outcome]) => /^5\d\d/.test(outcome) && !outcome.startsWith('503'))
    .map(([outcome, n]) => `server error answered (retried by the client): ${outcome} ×${n}`);
}

/** One line per kind of refusal (action → status code) of a command a retry could not fix: must be none. */
function refusals(record: LoadRecord): string[] {
  const counts = new Map<string, number>();
  for (const a of record.abandoned.filter((x) => x.reason === 'refused')) {
    const key = `${a.action} → ${a.last.status} ${a.last.code ?? ''}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `command refused with a 4xx: ${k} ×${n}`);
}

/**
 * Bugs a scenario exposed that are reported to the owner of the code and not
 * fixed yet: a violation matching one is reported as known, not as a failure.
 * Each has a deterministic test marked `it.fails`; remove the entry with the fix.
 */
export const KNOWN_ISSUES: { pattern: RegExp; reason: string }[] = [];
