import { start, type CompiledWorkflow, type StartInput } from '../../engine/index.ts';
import type { AppConfig } from '../../store/ports.ts';
import { remember, type OkReply } from './actor.ts';
import type { HostContext, Placement } from './host-context.ts';
import type { ShardReply, ShardRequest } from '../bus/ports.ts';
import { problem, refused, storeUnavailable, type ProblemReply } from './problems.ts';
import { replayStored, storedResponse } from './replies.ts';

export type StartRequest = Extract<ShardRequest, { kind: 'start' }>;

const configHint = (app: string): string => `PUT /api/v1/apps/${app}/config`;

/**
 * The start path: app config (the company's, else the tenant default), the
 * bound workflow's latest version, one active runtime per document, then the
 * engine's start committed at revision 0. Config and workflow record come from
 * the host's StartDefinitionCache (no MySQL read per start on a warm cache).
 *
 * Mode `pending` refuses new runtimes (`app_pending`) like `unapply` does, with
 * its own code: the app's workflow is being set up or changed, and a runtime
 * started now would be pinned to a version the admin has not confirmed.
 */
export class RuntimeStarts {
  constructor(private readonly ctx: HostContext) {}

  async start(req: StartRequest, at: Placement): Promise<ShardReply> {
    const runtimes = this.ctx.deps.runtimes;
    // No look-ups of the idempotency key or of the document's active runtime before the commit: the
    // database enforces both (unique keys), and the rare losers below read what won.
    const config = await this.appConfig(req);
    if ('ok' in config) return config;
    const wf = await this.latestVersion(req.tenant, config);
    if ('ok' in wf) return wf;
    const dir = await this.ctx.directories.get(req.tenant);
    const input = startInput(req, wf);
    const { tenant, runtimeId } = req;
    const traced = {
      tenant,
      runtimeId,
      workflowId: wf.workflowId,
      version: wf.version,
      action: 'start',
      shard: at.shard,
    };
    const inTrace = this.ctx.deps.traceScope(req);
    const result = inTrace(() => this.ctx.deps.traceStep(traced, () => start(wf, input, dir, this.ctx.now())));
    if (!result.ok) return refused(result.error);
    const reply: OkReply = { ok: true, state: result.state, created: true };
    const idempotency = { key: req.idempotencyKey, response: storedResponse(reply) };
    const outcome = await inTrace(() =>
      this.ctx.deps.writer.commit({
        tenant: req.tenant,
        shard: at.shard,
        baseRevision: 0,
        state: result.state,
        effects: result.effects,
        change: { init: result.state },
        idempotency,
        cause: { start: input },
      }),
    );
    if (outcome.ok) {
      this.ctx.committed(req.tenant, at.shard, result.state, result.effects, outcome.outboxPosition);
      const actor = await this.ctx.actorFor(result.state, at, true);
      remember(actor, req.idempotencyKey, reply, this.ctx.options.recentKeysPerActor);
      return reply;
    }
    this.ctx.commitFailed(at.shard, outcome.code);
    switch (outcome.code) {
      case 'duplicate_runtime':
        return this.concurrentStart(req);
      case 'conflict':
        return this.runtimeIdTaken(req);
      case 'duplicate_idempotency_key': {
        const first = await runtimes.findIdempotency(req.tenant, req.idempotencyKey);
        return first ? replayStored(first, undefined) : problem('version_conflict', outcome.message, true);
      }
      case 'store_unavailable':
        this.ctx
          .logFor(req.tenant, req.runtimeId, req.idempotencyKey)
          .warn({ reason: outcome.message }, 'start failed: store unavailable');
        return storeUnavailable(outcome.message);
    }
  }

  /** The company's config, else the tenant-wide default (companyId ''); refuses unless mode is `apply`. */
  private async appConfig(req: StartRequest): Promise<AppConfig | ProblemReply> {
    const workflows = this.ctx.startDefinitions;
    const company = req.companyId ?? '';
    const config =
      (await workflows.getAppConfig(req.tenant, req.app, company)) ??
      (company === '' ? undefined : await workflows.getAppConfig(req.tenant, req.app, ''));
    if (!config) {
      return problem(
        'app_not_configured',
        `app ${req.app} has no workflow configured: bind one with ${configHint(req.app)}`,
      );
    }
    if (config.mode === 'unapply') {
      return problem(
        'app_not_applied',
        `app ${req.app} does not apply a workflow (mode unapply): documents of this app need no approval`,
      );
    }
    if (config.mode === 'pending') {
      return problem(
        'app_pending',
        `app ${req.app}'s workflow configuration is pending: set mode apply with ${configHint(req.app)} to start runtimes`,
      );
    }
    return config;
  }

  private async latestVersion(tenant: string, config: AppConfig): Promise<CompiledWorkflow | ProblemReply> {
    const record = await this.ctx.startDefinitions.getWorkflow(tenant, config.workflowId);
    const version = record?.latestVersion ?? null;
    const wf = version === null ? undefined : await this.ctx.workflows.get(tenant, config.workflowId, version);
    return (
      wf ??
      problem(
        'workflow_not_published',
        `workflow ${config.workflowId} bound to app ${config.app} has no published version`,
      )
    );
  }

  /** The document has an active runtime: a retry of this very start (answer as the first time), or another one. */
  private async concurrentStart(req: StartRequest): Promise<ShardReply> {
    const first = await this.ctx.deps.runtimes.findIdempotency(req.tenant, req.idempotencyKey);
    if (first) return replayStored(first, undefined);
    const active = await this.ctx.deps.runtimes.findActiveRuntime(req.tenant, req.app, req.docId);
    if (active) return { ok: true, state: active, created: false };
    return problem('version_conflict', `document ${req.app}/${req.docId} changed concurrently; retry`, true);
  }

  /** The runtime id exists already: the same document's runtime (a retried start under a new key), or a clash. */
  private async runtimeIdTaken(req: StartRequest): Promise<ShardReply> {
    const existing = await this.ctx.deps.runtimes.loadRuntime(req.tenant, req.runtimeId);
    if (existing && existing.runtime.app === req.app && existing.runtime.docId === req.docId) {
      return { ok: true, state: existing, created: false };
    }
    return problem('runtime_exists', `runtime id ${req.runtimeId} belongs to another document`);
  }
}

function startInput(req: StartRequest, wf: CompiledWorkflow): StartInput {
  const input: StartInput = {
    id: req.runtimeId,
    tenant: req.tenant,
    app: req.app,
    docId: req.docId,
    workflowId: wf.workflowId,
    version: wf.version,
    creator: req.creator,
    doc: req.doc,
  };
  if (req.companyId !== undefined) input.companyId = req.companyId;
  return input;
}
