/**
 * bench/notifications — the notifier (issue 17): notifications/s from the
 * event stream, and what email notifications add to the approve path.
 *
 *   node --import tsx bench/notifications.ts [--seconds 10] [--warmup 3] [--concurrency 32] [--tenants 20]
 *
 * One `bflow node` and one `bflow gateway` on this machine's MariaDB, Redis
 * and NATS, every employee with an email address. The approve load
 * (bench/http-load.ts) runs twice in the same run: first with no notifier
 * (email off), then with a `bflow notifier` sending every "task assigned" and
 * "approved" notification by email to an in-process SMTP server and in-app
 * (email on), then without it again while the events pile up in the stream,
 * which a new notifier then drains. Reported: commands/s and latency of the
 * three windows, the added cost per command ((off − on) / off, off the mean of
 * the two off windows; target ≤ 10%), the emails delivered per second in the
 * "on" window, and the notifier's ceiling: the backlog drained per second.
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startBenchStack } from './bflow-stack.ts';
import { lat, measureStack, passFail, rate, usageLine, type Measured } from './measure.ts';
import { cleanUpOnInterrupt, reapAll, reaped } from './reaper.ts';
import { intArg, printTable, secondsArg, writeResult } from './report.ts';
import { SmtpSink } from '../test/actors/notifications/smtp-sink.ts';
import { BflowProcess } from '../test/e2e/stack.ts';
import { waitFor } from '../test/harness/wait.ts';
import { TEST_MASTER_KEYS } from '../test/harness/master-keys.ts';

const TARGET_ADDED_COST = 0.1;
const ROOT = fileURLToPath(new URL('../', import.meta.url));

async function main(): Promise<void> {
  const seconds = secondsArg(10);
  const warmupSeconds = intArg('warmup', 3);
  const concurrency = intArg('concurrency', 32);
  const tenants = intArg('tenants', 20);
  const smtp = await SmtpSink.start({ countOnly: true });
  const stack = await startBenchStack({
    name: 'notify',
    nodes: 1,
    tenants,
    prepare: async (db) => void (await db.pool.query("UPDATE employees SET email = CONCAT(id, '@example.com')")),
  });
  const unregister = cleanUpOnInterrupt(() => stack.stop());
  let notifier: BflowProcess | undefined;
  try {
    const load = { mode: 'approve' as const, tenants, concurrency, warmupSeconds, seconds };
    console.log(`approve, email off (${seconds} s, concurrency ${concurrency})…`);
    const off = await measureStack(stack, load);

    notifier = await startNotifier(stack, smtp);
    const before = smtp.received.length;
    console.log('approve, email on (a bflow notifier sending to an in-process SMTP server)…');
    const sentAtStart = { n: 0 };
    const on = await measureStackCounting(stack, load, smtp, sentAtStart, before);
    const sent = smtp.received.length - sentAtStart.n;
    await waitFor(() => notifier?.running, { deadlineMs: 1000, what: 'the notifier still running' });

    // The notifier's own pace: events pile up in the stream while it is stopped, then it drains them.
    await notifier.stop(10_000);
    console.log('approve, email off again (the notifier stopped: its events pile up in the stream)…');
    const offAgain = await measureStack(stack, load);
    const backlogStart = smtp.received.length;
    notifier = await startNotifier(stack, smtp);
    // From the first email of the backlog to its last (the process's start-up left out).
    let first: number | undefined;
    let last = { n: backlogStart, at: Date.now() };
    await waitFor(
      () => {
        if (smtp.received.length !== last.n) {
          last = { n: smtp.received.length, at: Date.now() };
          first ??= last.at;
        }
        return Date.now() - last.at > 3_000 && last.n > backlogStart;
      },
      { deadlineMs: 300_000, intervalMs: 50, what: 'the backlog drained' },
    );
    const drained = last.n - backlogStart;
    const drainPerSecond = (drained - 1) / Math.max(0.001, (last.at - (first ?? last.at)) / 1000);

    // On against the mean of the off windows before and after it, so a drift of the machine's load cancels out.
    const offRate = (off.load.commandsPerSecond + offAgain.load.commandsPerSecond) / 2;
    const added = (offRate - on.load.commandsPerSecond) / offRate;
    const emailsPerSecond = sent / seconds;
    printTable('approve path: email off vs on (same run)', [
      ['', 'commands/s', 'latency'],
      ['email off', rate(off.load.commandsPerSecond), lat(off.load.latencyMs)],
      ['email on', rate(on.load.commandsPerSecond), lat(on.load.latencyMs)],
      ['email off again', rate(offAgain.load.commandsPerSecond), lat(offAgain.load.latencyMs)],
    ]);
    console.log(`  off: ${usageLine(off.usage)}`);
    console.log(`  on:  ${usageLine(on.usage)}`);
    console.log(
      `  machine load average (1, 5, 15 min): ${loadavg()
        .map((x) => x.toFixed(1))
        .join(', ')} on ${cpus().length} cores`,
    );
    console.log(
      `  MySQL per command: off ${off.mysql.perCommand.statements.toFixed(2)} statements, on ${on.mysql.perCommand.statements.toFixed(2)} (node and gateway; the notifier's own are not on the command path)`,
    );
    console.log(
      `notifications: ${rate(emailsPerSecond)} emails/s delivered from the event stream during the "on" window (${sent} emails, each also in-app)`,
    );
    console.log(
      `notifier ceiling: drained a backlog of ${drained} emails (each also in-app) at ${rate(drainPerSecond)} emails/s`,
    );
    console.log(
      `${passFail(added <= TARGET_ADDED_COST)} added cost per command with email on: ${(added * 100).toFixed(1)}% (target ≤ ${TARGET_ADDED_COST * 100}%)`,
    );
    writeResult('notifications', {
      seconds,
      concurrency,
      off: summary(off),
      on: summary(on),
      offAgain: summary(offAgain),
      addedCost: added,
      emailsPerSecond,
      backlog: { emails: drained, perSecond: drainPerSecond },
      pass: added <= TARGET_ADDED_COST,
    });
  } finally {
    await notifier?.stop(10_000);
    await stack.stop();
    unregister();
    await smtp.close();
  }
}

/** A `bflow notifier` sending to `smtp`; resolves once it consumes the stream. */
async function startNotifier(stack: Parameters<typeof measureStack>[0], smtp: SmtpSink): Promise<BflowProcess> {
  const started = new BflowProcess(
    reaped(
      spawn(process.execPath, ['--import', 'tsx', 'bin/bflow.js', 'notifier'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          BFLOW_FROM_SOURCE: '1',
          BFLOW_MYSQL_URL: stack.mysqlUrl,
          BFLOW_MASTER_KEYS: TEST_MASTER_KEYS,
          BFLOW_NATS_URL: 'nats://127.0.0.1:4222',
          BFLOW_CLUSTER: stack.cluster,
          BFLOW_SHARDS: '64',
          BFLOW_NODE_ID: `${stack.cluster}-notifier`,
          BFLOW_SMTP_URL: smtp.url,
          BFLOW_LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ),
  );
  await waitFor(
    () => {
      if (!started.running) throw new Error(`the notifier exited:\n${started.stderr}`);
      return started.stderr.includes('"msg":"notifier started"');
    },
    { deadlineMs: 60_000, what: 'the notifier consuming' },
  );
  return started;
}

/** The approve load with the notifier running; records how many emails had arrived when the window began. */
async function measureStackCounting(
  stack: Parameters<typeof measureStack>[0],
  load: Parameters<typeof measureStack>[1],
  smtp: SmtpSink,
  atStart: { n: number },
  before: number,
): Promise<Measured> {
  // The warm-up both warms the notifier up and proves it is consuming.
  const timer = setTimeout(() => (atStart.n = smtp.received.length), load.warmupSeconds * 1000);
  try {
    const m = await measureStack(stack, load);
    if (smtp.received.length <= before) throw new Error('the notifier sent nothing');
    return m;
  } finally {
    clearTimeout(timer);
  }
}

const summary = (m: Measured) => ({
  commandsPerSecond: m.load.commandsPerSecond,
  latencyMs: m.load.latencyMs,
  statementsPerCommand: m.mysql.perCommand.statements,
});

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => reapAll());
