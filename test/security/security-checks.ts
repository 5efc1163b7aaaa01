import type { GatewayDeps } from '../../src/gateway/gateway-deps.ts';

/**
 * Checks every security suite applies to what the gateway emits: the headers
 * of each response, the log lines of a run, and the state a tenant must keep.
 */

/** The stores {@link tenantState} reads (the gateway's own dependencies). */
export type StateStores = Pick<GatewayDeps, 'read' | 'workflows' | 'directory' | 'webhooks' | 'migrations'>;

/**
 * Everything a client could observe of `tenant`, as one JSON string: its
 * runtimes with their logs, the open and done inboxes of `users`, workflows
 * with every version and migration plan, the app configs of `apps`, webhooks and directory.
 * Two equal strings: nothing changed.
 */
export async function tenantState(
  stores: StateStores,
  tenant: string,
  users: readonly string[],
  apps: readonly string[],
): Promise<string> {
  const { read, workflows, directory, webhooks } = stores;
  const runtimes = (await read.listRuntimes(tenant, {}, 500)).items;
  const logs = await Promise.all(runtimes.map((s) => read.runtimeLog(tenant, s.runtime.id)));
  const inbox: unknown[] = [];
  for (const user of users)
    for (const status of ['open', 'done'] as const) inbox.push(await read.inbox(tenant, user, status, 500));
  const wfs = await workflows.listWorkflows(tenant);
  const versions = await Promise.all(
    wfs.flatMap((w) =>
      Array.from({ length: w.latestVersion ?? 0 }, (_, i) => workflows.getVersion(tenant, w.id, i + 1)),
    ),
  );
  const configs = await Promise.all(apps.map((app) => workflows.getAppConfig(tenant, app, '')));
  const hooks = await webhooks?.forTenant(tenant);
  const plans = await Promise.all(wfs.map((w) => stores.migrations?.listPlans(tenant, w.id)));
  return JSON.stringify({
    plans,
    runtimes,
    logs,
    inbox,
    wfs,
    versions,
    configs,
    webhooks: hooks,
    directory: await directory.loadDirectory(tenant),
  });
}

/** Headers every response carries (secureHeaders + request id). */
export const SECURITY_HEADERS: Readonly<Record<string, RegExp>> = {
  'x-content-type-options': /^nosniff$/,
  'x-frame-options': /^(DENY|SAMEORIGIN)$/,
  'strict-transport-security': /max-age=\d+/,
  'referrer-policy': /^no-referrer$/,
  'cross-origin-resource-policy': /^same-origin$/,
  'x-request-id': /.+/,
};

/** Messages of lines written while serving one request: each must carry its request id. */
export const REQUEST_MESSAGES = new Set(['request', 'request failed', 'batch item failed']);

const CREDENTIAL_URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@"]+:[^\s/@"]+@/i;
const STACK_FRAME = /\bat [^\s"]+ \(|\bat (file|node):|\\n\s+at /;

export interface LogSecrets {
  /** JWTs sent during the run (whole, or their signatures, must never be logged). */
  tokens: readonly string[];
  /** Signing secrets, passwords. */
  secrets: readonly string[];
}

/**
 * What is wrong with a run's pino lines (JSON, one per line): a token, a
 * signature, a secret, an Authorization header, a URL with a password, a
 * stack trace (nothing may fail unexpectedly), or a request's line without
 * its request id. Empty when the logs are clean.
 */
export function logProblems(lines: readonly string[], s: LogSecrets): string[] {
  const problems: string[] = [];
  const signatures = s.tokens.map((t) => t.split('.')[2] ?? '').filter((sig) => sig.length >= 16);
  for (const line of lines) {
    const short = line.slice(0, 300);
    const needles = [...s.tokens.filter((t) => t.length >= 16), ...signatures, ...s.secrets];
    const found = needles.find((n) => line.includes(n));
    if (found !== undefined) problems.push(`secret or token ${found.slice(0, 12)}… in ${short}`);
    if (/bearer /i.test(line) || /"authorization"/i.test(line)) problems.push(`Authorization in ${short}`);
    if (CREDENTIAL_URL.test(line)) problems.push(`URL with a password in ${short}`);
    if (STACK_FRAME.test(line)) problems.push(`stack trace in ${short}`);
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      problems.push(`not a JSON line: ${short}`);
      continue;
    }
    if (REQUEST_MESSAGES.has(String(entry['msg'])) && typeof entry['requestId'] !== 'string')
      problems.push(`request line without requestId: ${short}`);
  }
  return problems;
}
