/**
 * bench/http-load — the HTTP load generator of the benchmarks, run as its own
 * process: `--concurrency` workers over one keep-alive agent, a warm-up, then a
 * measured window. Every request carries a bearer token (minted here with the
 * gateway's secret) and every write an Idempotency-Key, as an ERP client sends them.
 *
 * Modes:
 * - `approve`: each worker starts a purchase order (20 M VND: manager, then 2 of
 *   the finance committee) and drives it to `approved`: start, submit (alice),
 *   approve (pur-mgr), approve, approve (two of fin-1, fin-2, fin-3, fin-head in
 *   turn) — five durable commands, each answered after its commit. Tenants are
 *   taken in turn so no (tenant, user) exceeds the gateway's rate limit. The
 *   plain baseline (bench/baseline) answers the same requests. With
 *   `--lag-observers K`, workers 0 … K-1 measure the read model's lag: after
 *   each submit they read the manager's inbox every 20 ms until the task shows,
 *   then approve (as a user who waits for the task to show up).
 * - `mixed`: per worker, 1 command (the next step of its purchase order) : 2
 *   runtime views : 3 inbox reads (of the order's next approver, or alice).
 * - `batch`: each worker starts 100 purchase orders in its own tenant before the
 *   clock starts, then sends POST /api/v1/actions/batch with 100 comments (one per
 *   order, as an admin) again and again; throughput counts the items answered 200.
 * - `inbox`: GET /api/v1/tasks?status=open&limit=50 as random users of `--inbox-tenant`.
 * - `hello`: POST /hello with a command-sized body (bench/hello-server.ts): the HTTP ceiling.
 * - `start`: `--total` purchase orders started (5 M VND: the manager's approval
 *   only) and left open, tenants in turn; {"event":"progress","done":N} on
 *   stdout every `--progress-every` starts answered (bench/memory). The window
 *   does not end it: give it a long `--seconds`.
 *
 *   node --import tsx bench/http-load.ts --url URL --mode approve --secret S
 *     [--tenant-prefix t-b --tenants 200] [--concurrency 64] [--warmup 3] [--seconds 10]
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { signToken } from '../src/app/dev-token.ts';
import { poDoc } from '../test/fixtures/purchase-order-doc.ts';
import {
  announceMeasuring,
  argOf,
  cpuSeconds,
  exitWithParent,
  numberArg,
  reportAndExit,
  spawnReporting,
  summarise,
  type LatencySummary,
  type LoadEvent,
  type ReportingChild,
  type WindowReport,
} from './load-process.ts';
import { TIMELINE_BUCKET_MS } from './warm-up.ts';

export type HttpMode = 'approve' | 'mixed' | 'batch' | 'inbox' | 'hello' | 'start';

export interface HttpLoadOptions {
  /** The server, or several separated by commas (requests go to each in turn). */
  url: string;
  mode: HttpMode;
  /** HS256 secret of the gateway (tokens are minted with it; the baseline and hello ignore them). */
  secret: string;
  /** Tenants `${tenantPrefix}-0` … `-${tenants - 1}`, each seeded with the purchase-order workflow and org chart. */
  tenantPrefix: string;
  tenants: number;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  /** `inbox` mode: the tenant and the number of users `u-0` … whose inboxes are read. */
  inboxTenant?: string;
  inboxUsers?: number;
  /** `approve` mode: how many of the workers measure the inbox's lag after each submit (0: none). */
  lagObservers?: number;
  /** `start` mode: how many purchase orders to start, and how often to report progress. */
  total?: number;
  progressEvery?: number;
}

/** The read model's lag as the lag observers saw it. */
export interface InboxLagReport {
  /** Submit answered → the first inbox read (its answer) that lists the task, for submits answered in the window, ms. */
  lagMs: LatencySummary;
  /** Submits in the window whose task did not show within INBOX_DEADLINE_MS. */
  timeouts: number;
  /** Inbox reads the observers sent over the whole run, and those that did not answer 200. */
  reads: number;
  failedReads: number;
}

export interface HttpLoadReport extends WindowReport<HttpMode> {
  /** Requests answered 2xx per second of the window (`commandsPerSecond`: the durable commands among them; batch: items answered 200). */
  requestsPerSecond: number;
  /** Commands answered 2xx per TIMELINE_BUCKET_MS from the first request on, warm-up included (bench/warm-up.ts). */
  timeline: number[];
  /** With lag observers. */
  inboxLag?: InboxLagReport;
}

export const PO_APP = 'purchase.order';
const FINANCE = ['fin-1', 'fin-2', 'fin-3', 'fin-head'] as const;
const BATCH_SIZE = 100;
const INBOX_POLL_MS = 20;
const INBOX_DEADLINE_MS = 10_000;

/** 20 M VND of office supplies: manager, then 2 of the finance committee, then approved. */
export function approvalDoc(n: number): Record<string, unknown> {
  return benchDoc(20_000_000, n);
}

/** The benchmarks' purchase order number `n` of `amount` VND. */
export function benchDoc(amount: number, n: number): Record<string, unknown> {
  return poDoc(amount, { note: `restock ${n}`, supplier: 'ACME Trading Co.' });
}

interface Answer {
  status: number;
  text: string;
}

/**
 * Keep-alive HTTP to one server, or to several (`url` a comma-separated list): then each request goes to the
 * next one in turn, as a load balancer in front of co-located processes would spread them.
 */
class HttpClient {
  private readonly servers: { base: URL; agent: Agent }[];
  private next = 0;

  constructor(url: string, sockets: number) {
    const urls = url.split(',');
    const each = Math.max(1, Math.ceil(sockets / urls.length));
    this.servers = urls.map((u) => ({
      base: new URL(u),
      agent: new Agent({ keepAlive: true, maxSockets: each, maxFreeSockets: each }),
    }));
  }

  send(
    method: string,
    path: string,
    token: string | undefined,
    body?: unknown,
    idempotencyKey?: string,
  ): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> = {};
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    const server = this.servers[this.next++ % this.servers.length]!;
    return new Promise((resolve, reject) => {
      const req = request(
        { host: server.base.hostname, port: server.base.port, method, path, headers, agent: server.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error('request timed out after 30 s')));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    for (const server of this.servers) server.agent.destroy();
  }
}

/** Bearer tokens per (tenant, user), minted once. */
class Tokens {
  private readonly cache = new Map<string, Promise<string>>();
  constructor(private readonly secret: string) {}

  of(tenant: string, sub: string, admin = false): Promise<string> {
    const key = `${tenant}\n${sub}\n${admin}`;
    let token = this.cache.get(key);
    if (!token) {
      token = signToken(this.secret, { sub, tid: tenant, roles: admin ? ['member', 'admin'] : ['member'] }, 24 * 3600);
      this.cache.set(key, token);
    }
    return token;
  }
}

function problemCode(a: Answer): string {
  try {
    return `${a.status}:${String((JSON.parse(a.text) as { code?: unknown }).code ?? '?')}`;
  } catch {
    return `${a.status}:?`;
  }
}

/** One step of a purchase order's approval: who acts, and how. */
interface Step {
  kind: 'start' | 'submit' | 'approve';
  actor: string;
}

function approvalSteps(n: number): Step[] {
  const a = FINANCE[n % FINANCE.length]!;
  const b = FINANCE[(n + 1) % FINANCE.length]!;
  return [
    { kind: 'start', actor: 'alice' },
    { kind: 'submit', actor: 'alice' },
    { kind: 'approve', actor: 'pur-mgr' },
    { kind: 'approve', actor: a },
    { kind: 'approve', actor: b },
  ];
}

async function runLoad(o: HttpLoadOptions): Promise<HttpLoadReport> {
  const http = new HttpClient(o.url, o.concurrency);
  const tokens = new Tokens(o.secret);
  const tenants = Array.from({ length: Math.max(1, o.tenants) }, (_, i) => `${o.tenantPrefix}-${i}`);
  const run = randomBytes(3).toString('hex');
  const latencies: number[] = [];
  const byKind = new Map<string, number[]>();
  const errorCodes: Record<string, number> = {};
  let errors = 0;
  let commands = 0;
  let seq = 0;
  let nextTenant = 0;
  let loadStart = Infinity;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  const inWindow = (t: number) => t >= windowStart && t < windowEnd;
  const timeline: number[] = [];
  let startsSent = 0;
  let startsAnswered = 0;
  const lags: number[] = [];
  const inboxLag = { timeouts: 0, reads: 0, failedReads: 0 };

  /** One request, timed and counted; returns the answer when 2xx. */
  const call = async (
    kind: string,
    method: string,
    path: string,
    token: string,
    body?: unknown,
    isCommand = false,
  ): Promise<Answer | undefined> => {
    const key = method === 'POST' ? `b-${run}-${++seq}` : undefined;
    const sentAt = performance.now();
    let answer: Answer | undefined;
    let code: string | undefined;
    try {
      answer = await http.send(method, path, token, body, key);
      if (answer.status >= 300) code = problemCode(answer);
    } catch (err) {
      code = err instanceof Error ? err.message.slice(0, 60) : 'unknown';
    }
    const done = performance.now();
    if (code !== undefined) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    if (code === undefined && isCommand && done >= loadStart) {
      const bucket = Math.floor((done - loadStart) / TIMELINE_BUCKET_MS);
      while (timeline.length <= bucket) timeline.push(0);
      timeline[bucket]!++;
    }
    if (inWindow(done)) {
      if (code === undefined) {
        latencies.push(done - sentAt);
        let list = byKind.get(kind);
        if (!list) byKind.set(kind, (list = []));
        list.push(done - sentAt);
        if (isCommand) commands++;
      } else errors++;
    }
    return code === undefined ? answer : undefined;
  };

  const running = () => performance.now() < windowEnd;

  /** Reads `approver`'s open tasks until `runtimeId`'s shows; records the lag from `since` (the submit's answer). */
  const watchInbox = async (tenant: string, approver: string, runtimeId: string, since: number): Promise<void> => {
    const token = await tokens.of(tenant, approver);
    // Past the window's end too (up to the deadline): cutting the last submits' watch short would drop the longest lags.
    for (;;) {
      let shown = false;
      inboxLag.reads++;
      try {
        const a = await http.send('GET', '/api/v1/tasks?status=open&limit=500', token);
        if (a.status === 200)
          shown = (JSON.parse(a.text) as { items: { runtimeId: string }[] }).items.some(
            (t) => t.runtimeId === runtimeId,
          );
        else inboxLag.failedReads++;
      } catch {
        inboxLag.failedReads++;
      }
      const now = performance.now();
      if (shown) {
        if (inWindow(since)) lags.push(now - since);
        return;
      }
      if (now - since > INBOX_DEADLINE_MS) {
        if (inWindow(since)) inboxLag.timeouts++;
        return;
      }
      await sleep(INBOX_POLL_MS);
    }
  };

  /** Drives one purchase order through `steps`; `between` runs after each command (mixed mode's reads). */
  const purchaseOrder = async (
    w: number,
    n: number,
    between?: (id: string, next: Step | undefined, tenant: string) => Promise<void>,
  ) => {
    const tenant = tenants[nextTenant++ % tenants.length]!;
    const steps = approvalSteps(n);
    let id: string | undefined;
    for (let i = 0; i < steps.length && running(); i++) {
      const step = steps[i]!;
      const token = await tokens.of(tenant, step.actor);
      const answer =
        step.kind === 'start'
          ? await call(
              'start',
              'POST',
              '/api/v1/runtimes',
              token,
              { app: PO_APP, docId: `po-${run}-${w}-${n}`, doc: approvalDoc(n) },
              true,
            )
          : await call(
              step.kind,
              'POST',
              `/api/v1/runtimes/${encodeURIComponent(id!)}/actions`,
              token,
              { action: step.kind, comment: 'ok' },
              true,
            );
      if (!answer) return; // state unknown: start another order
      if (step.kind === 'start') id = (JSON.parse(answer.text) as { id: string }).id;
      if (step.kind === 'submit' && w < (o.lagObservers ?? 0))
        await watchInbox(tenant, steps[i + 1]!.actor, id!, performance.now());
      if (between) await between(id!, steps[i + 1], tenant);
    }
  };

  const worker = async (w: number): Promise<void> => {
    switch (o.mode) {
      case 'approve':
        for (let n = 0; running(); n++) await purchaseOrder(w, n);
        return;
      case 'mixed':
        for (let n = 0; running(); n++) {
          await purchaseOrder(w, n, async (id, next, tenant) => {
            const viewer = await tokens.of(tenant, 'alice');
            const inboxOf = await tokens.of(tenant, next?.actor ?? 'pur-mgr');
            await call('view', 'GET', `/api/v1/runtimes/${encodeURIComponent(id)}`, viewer);
            await call('inbox', 'GET', '/api/v1/tasks?status=open', inboxOf);
            await call('view', 'GET', `/api/v1/runtimes/${encodeURIComponent(id)}`, viewer);
            await call('inbox', 'GET', '/api/v1/tasks?status=open', inboxOf);
            await call('inbox', 'GET', '/api/v1/tasks?status=open', inboxOf);
          });
        }
        return;
      case 'batch':
        return batchWorker(w);
      case 'inbox': {
        const tenant = o.inboxTenant ?? tenants[0]!;
        const users = Math.max(1, o.inboxUsers ?? 1);
        for (let n = w; running(); n += o.concurrency) {
          await call(
            'inbox',
            'GET',
            '/api/v1/tasks?status=open&limit=50',
            await tokens.of(tenant, `u-${(n * 7919) % users}`),
          );
        }
        return;
      }
      case 'start':
        for (let n = startsSent++; n < (o.total ?? 0); n = startsSent++) {
          const tenant = tenants[n % tenants.length]!;
          const answer = await call(
            'start',
            'POST',
            '/api/v1/runtimes',
            await tokens.of(tenant, 'alice'),
            { app: PO_APP, docId: `po-${run}-${n}`, doc: benchDoc(5_000_000, n) },
            true,
          );
          if (answer && ++startsAnswered % (o.progressEvery ?? 10_000) === 0)
            process.stdout.write(`${JSON.stringify({ event: 'progress', done: startsAnswered })}\n`);
        }
        return;
      case 'hello':
        while (running())
          await call(
            'hello',
            'POST',
            '/hello',
            await tokens.of(tenants[0]!, 'alice'),
            { action: 'approve', comment: 'ok' },
            true,
          );
        return;
    }
  };

  // Batch mode: 100 purchase orders per worker, started before the clock.
  const batchOrders: string[][] = [];
  const batchWorker = async (w: number): Promise<void> => {
    const tenant = tenants[w % tenants.length]!;
    const admin = await tokens.of(tenant, 'pur-mgr', true);
    for (let n = 0; running(); n++) {
      const items = batchOrders[w]!.map((runtimeId) => ({
        runtimeId,
        action: 'comment',
        comment: `batch ${n}`,
        idempotencyKey: `b-${run}-${w}-${n}-${runtimeId}`,
      }));
      const sentAt = performance.now();
      const answer = await call('batch', 'POST', '/api/v1/actions/batch', admin, { items });
      if (answer && inWindow(sentAt)) {
        const results = (JSON.parse(answer.text) as { results: { status: number; problem?: { code?: string } }[] })
          .results;
        for (const r of results) {
          if (r.status === 200) commands++;
          else {
            errors++;
            const code = `item ${r.status}:${r.problem?.code ?? '?'}`;
            errorCodes[code] = (errorCodes[code] ?? 0) + 1;
          }
        }
      }
    }
  };
  if (o.mode === 'batch') {
    await Promise.all(
      Array.from({ length: o.concurrency }, async (_, w) => {
        const tenant = tenants[w % tenants.length]!;
        const alice = await tokens.of(tenant, 'alice');
        const ids: string[] = [];
        for (let n = 0; n < BATCH_SIZE; n++) {
          const a = await http.send(
            'POST',
            '/api/v1/runtimes',
            alice,
            { app: PO_APP, docId: `po-${run}-${w}-${n}`, doc: approvalDoc(n) },
            `b-${run}-s${w}-${n}`,
          );
          if (a.status !== 201) throw new Error(`batch setup: start answered ${a.status}: ${a.text.slice(0, 300)}`);
          ids.push((JSON.parse(a.text) as { id: string }).id);
        }
        batchOrders[w] = ids;
      }),
    );
  }

  const started = performance.now();
  loadStart = started;
  windowStart = started + o.warmupSeconds * 1000;
  windowEnd = windowStart + o.seconds * 1000;
  let cpuAtStart = 0;
  const measuring = setTimeout(() => {
    cpuAtStart = cpuSeconds();
    announceMeasuring();
  }, o.warmupSeconds * 1000);
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  clearTimeout(measuring);
  const cpu = cpuSeconds() - cpuAtStart;
  http.close();
  return {
    mode: o.mode,
    concurrency: o.concurrency,
    windowMs: o.seconds * 1000,
    ok: latencies.length,
    errors,
    requestsPerSecond: latencies.length / o.seconds,
    commandsPerSecond: commands / o.seconds,
    latencyMs: summarise(latencies),
    byKind: Object.fromEntries([...byKind].map(([k, l]) => [k, summarise(l)])),
    errorCodes,
    loadCpuSeconds: cpu,
    timeline,
    ...(o.lagObservers ? { inboxLag: { lagMs: summarise(lags), ...inboxLag } } : {}),
  };
}

// ── parent side ──────────────────────────────────────────────────────────────

export type HttpLoadProcess = ReportingChild<HttpLoadReport>;

/** Starts the HTTP load generator as a child process. Kill `child` to stop it early. */
export function spawnHttpLoad(o: HttpLoadOptions, onEvent?: (event: LoadEvent) => void): HttpLoadProcess {
  return spawnReporting<HttpLoadReport>(fileURLToPath(import.meta.url), onEvent, [
    '--url',
    o.url,
    '--mode',
    o.mode,
    '--secret',
    o.secret,
    '--tenant-prefix',
    o.tenantPrefix,
    '--tenants',
    String(o.tenants),
    '--concurrency',
    String(o.concurrency),
    '--warmup',
    String(o.warmupSeconds),
    '--seconds',
    String(o.seconds),
    ...(o.inboxTenant ? ['--inbox-tenant', o.inboxTenant, '--inbox-users', String(o.inboxUsers ?? 1)] : []),
    ...(o.lagObservers ? ['--lag-observers', String(o.lagObservers)] : []),
    ...(o.total ? ['--total', String(o.total), '--progress-every', String(o.progressEvery ?? 10_000)] : []),
  ]);
}

// ── child side ───────────────────────────────────────────────────────────────

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  exitWithParent();
  const mode = argOf('mode') as HttpMode;
  if (!['approve', 'mixed', 'batch', 'inbox', 'hello', 'start'].includes(mode))
    throw new Error(`--mode must be approve, mixed, batch, inbox, hello or start, got ${mode}`);
  const options: HttpLoadOptions = {
    url: argOf('url'),
    mode,
    secret: argOf('secret'),
    tenantPrefix: argOf('tenant-prefix', 't-bench'),
    tenants: numberArg('tenants', 1),
    concurrency: numberArg('concurrency', 64),
    warmupSeconds: numberArg('warmup', 3),
    seconds: numberArg('seconds', 10),
    lagObservers: numberArg('lag-observers', 0),
    total: numberArg('total', 0),
    progressEvery: numberArg('progress-every', 10_000),
  };
  if (process.argv.includes('--inbox-tenant')) {
    options.inboxTenant = argOf('inbox-tenant');
    options.inboxUsers = numberArg('inbox-users', 1);
  }
  reportAndExit(await runLoad(options));
}
