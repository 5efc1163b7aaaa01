import type { EngineError } from '../../engine/index.ts';
import type { Problem, ShardReply } from '../bus/ports.ts';

/**
 * The problems the runtime host answers with (HTTP status for the gateway's
 * mapping in brackets). Engine refusals keep the engine's code
 * (validation_failed, action_not_allowed, not_assignee, fields_not_editable,
 * next_assignee_required, invalid_command, condition_error: 403/422).
 *
 * | code | status | retryable |
 * |---|---|---|
 * | shard_moved | 503 | yes: the routing client retries (the shard is moving or not held here) |
 * | not_live | — | no: a live read's "not in memory here"; the gateway reads the read model instead |
 * | runtime_not_found | 404 | no |
 * | version_conflict | 409 | only after a lost race without `expectedRevision` |
 * | store_unavailable | 503 | yes |
 * | app_not_configured, app_not_applied, app_pending | 422 | no |
 * | workflow_not_published | 422 | no |
 * | idempotency_key_reused | 422 | no: the key belongs to another runtime |
 * | document_has_active_runtime | 409 | no |
 * | runtime_exists | 409 | no: the runtime id is taken by another document |
 * | migration_blocked | 422 | no: the runtime cannot move to the plan's version (`reason`: a MigrationBlock) |
 * | workflow_version_not_found | 422 | no: a migration's target version does not exist |
 * | internal | 500 | no |
 */
export type HostProblemCode =
  | 'shard_moved'
  | 'not_live'
  | 'runtime_not_found'
  | 'version_conflict'
  | 'store_unavailable'
  | 'app_not_configured'
  | 'app_not_applied'
  | 'app_pending'
  | 'workflow_not_published'
  | 'idempotency_key_reused'
  | 'document_has_active_runtime'
  | 'runtime_exists'
  | 'migration_blocked'
  | 'workflow_version_not_found'
  | 'internal';

export type ProblemReply = Extract<ShardReply, { ok: false }>;

export function problem(code: HostProblemCode, message: string, retryable = false): ProblemReply {
  return { ok: false, problem: { code, message, retryable } };
}

/** An engine refusal: the engine's code and errors; never retryable (same input, same answer). */
export function refused(error: EngineError): ProblemReply {
  const p: Problem = { code: error.code, message: error.message, retryable: false };
  if (error.errors.length > 0) p.errors = error.errors;
  return { ok: false, problem: p };
}

export const shardMoved = (shard: number): ProblemReply =>
  problem('shard_moved', `shard ${shard} is not served by this node (moving or not held); retry`, true);

export const notLive = (runtimeId: string): ProblemReply =>
  problem('not_live', `runtime ${runtimeId} is not live in this node's memory; read the read model`);

export const runtimeNotFound = (runtimeId: string): ProblemReply =>
  problem('runtime_not_found', `runtime ${runtimeId} not found`);

export const storeUnavailable = (detail: string): ProblemReply =>
  problem('store_unavailable', `the store is unavailable: ${detail}`, true);

export const internal = (): ProblemReply => problem('internal', 'internal error');
