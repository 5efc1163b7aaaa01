import type { Attributes } from '@opentelemetry/api';
import type { ShardMessage } from '../bus/ports.ts';

/** The span attributes bflow sets (docs/operations.md#tracing lists them). */
export const ATTR = Object.freeze({
  tenant: 'bflow.tenant',
  runtimeId: 'bflow.runtime_id',
  workflow: 'bflow.workflow',
  workflowVersion: 'bflow.workflow_version',
  action: 'bflow.action',
  shard: 'bflow.shard',
  node: 'bflow.node',
  problem: 'bflow.problem',
  outcome: 'bflow.outcome',
  batchSize: 'bflow.batch.size',
  batchTraced: 'bflow.batch.traced',
  revision: 'bflow.revision',
  app: 'bflow.app',
  eventType: 'bflow.event_type',
  /** `gateway`: the gateway drew the sampling ratio for this request already (the sampler then records it). */
  sampling: 'bflow.sampling',
});

/** The attributes of a shard message: its tenant, runtime and action (`start`, `read`, or the command's type). */
export function messageAttributes(message: ShardMessage, shard: number): Attributes {
  const action = message.kind === 'command' ? message.command.type : message.kind;
  return {
    [ATTR.tenant]: message.tenant,
    [ATTR.runtimeId]: message.runtimeId,
    [ATTR.action]: action,
    [ATTR.shard]: shard,
  };
}
