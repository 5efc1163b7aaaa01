import type { MigrationBlock, NodeId, RuntimeState, RuntimeStatus } from '../engine/index.ts';

/**
 * The port of migration plans (docs/architecture.md#migration-plans): the plans themselves, the lease an
 * executor holds on a running plan, and the reads a plan needs over the runtimes (its candidates, the nodes
 * they are open at). The MySQL adapter and its in-process twin implement it; one contract suite runs on both.
 */

export type MigrationPlanStatus = 'running' | 'completed' | 'cancelled';

/** Which runtimes of the source version a plan takes (all active ones by default). */
export interface MigrationFilter {
  status?: Extract<RuntimeStatus, 'created' | 'in_progress'>;
  node?: NodeId;
}

/** What a plan migrates: from one version of a workflow to another, with its node mapping. */
export interface MigrationSpec {
  workflowId: string;
  fromVersion: number;
  toVersion: number;
  nodeMap: Record<NodeId, NodeId>;
  allowEndNodes?: boolean;
  filter?: MigrationFilter;
}

/** One runtime named as an example of an outcome. */
export interface MigrationSample {
  runtimeId: string;
  node: NodeId;
  message?: string;
}

/**
 * A plan's counts. `migrated` counts the runtimes whose `migrate` entry of this plan is in their log (read
 * from the log, so a runtime migrated before a crash is counted once); `blocked` those that cannot move, by
 * reason; `samples` holds up to a few runtimes per outcome.
 */
export interface MigrationProgress {
  migrated: number;
  blocked: Partial<Record<MigrationBlock, number>>;
  samples: Partial<Record<MigrationBlock | 'migrated', MigrationSample[]>>;
}

export interface MigrationPlan extends MigrationSpec {
  id: string;
  tenant: string;
  status: MigrationPlanStatus;
  /** Created by autoMigrate on publish (identity mapping). */
  auto: boolean;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  /** The last runtime id done (candidates are taken in id order after it). */
  cursor: string;
  progress: MigrationProgress;
  /** The executor holding the plan, while `leaseUntil` is ahead. */
  owner?: string;
  leaseUntil: number;
}

export type NewMigrationPlan = Omit<
  MigrationPlan,
  'status' | 'updatedAt' | 'finishedAt' | 'cursor' | 'progress' | 'owner' | 'leaseUntil'
>;

/** A runtime a plan may migrate, with its state as the read model has it. */
export interface MigrationCandidate {
  runtimeId: string;
  state: RuntimeState;
}

/** Samples kept per outcome. */
export const SAMPLES_PER_OUTCOME = 5;

export const emptyProgress = (): MigrationProgress => ({ migrated: 0, blocked: {}, samples: {} });

/** Counts one blocked runtime (no reason: one migrated, counted elsewhere) and keeps it as a sample while there is room. */
export function recordOutcome(
  into: Pick<MigrationProgress, 'blocked' | 'samples'>,
  reason: MigrationBlock | undefined,
  sample: MigrationSample,
): void {
  if (reason !== undefined) into.blocked[reason] = (into.blocked[reason] ?? 0) + 1;
  const list = (into.samples[reason ?? 'migrated'] ??= []);
  if (list.length < SAMPLES_PER_OUTCOME) list.push(sample);
}

/** The idempotency key of a runtime's `migrate` entry under a plan (a runtime is migrated once per plan). */
export const migrationKey = (planId: string, runtimeId: string): string => `migrate:${planId}:${runtimeId}`;

export interface MigrationPlanStore {
  /** Stores a new running plan; a plan of that id stored already is returned as it stands (`created: false`). */
  createPlan(plan: NewMigrationPlan): Promise<{ created: boolean; plan: MigrationPlan }>;
  getPlan(tenant: string, id: string): Promise<MigrationPlan | undefined>;
  /** The workflow's plans, newest first. */
  listPlans(tenant: string, workflowId: string): Promise<MigrationPlan[]>;
  /**
   * Takes a running plan whose lease has run out (or is `owner`'s already) for `leaseMs`: the oldest such
   * plan of any tenant, or undefined. Two executors never hold one plan at once.
   */
  claimPlan(owner: string, now: number, leaseMs: number): Promise<MigrationPlan | undefined>;
  /**
   * Saves the cursor and progress and renews the lease, only while `owner` holds the running plan: false
   * means stop (cancelled, or its lease ran out and another executor took it).
   */
  saveProgress(
    plan: Pick<MigrationPlan, 'tenant' | 'id'>,
    owner: string,
    cursor: string,
    progress: MigrationProgress,
    now: number,
    leaseMs: number,
  ): Promise<boolean>;
  /** Marks the plan completed (only `owner`'s running plan); false when it is not. */
  finishPlan(
    plan: Pick<MigrationPlan, 'tenant' | 'id'>,
    owner: string,
    progress: MigrationProgress,
    now: number,
  ): Promise<boolean>;
  /** Cancels a running plan (its executor stops at its next save); the plan as it stands, or undefined when absent. */
  cancelPlan(tenant: string, id: string, now: number): Promise<MigrationPlan | undefined>;
  /** Active runtimes (created, in progress) of the version after `afterId`, in id order, with their states. */
  candidates(
    tenant: string,
    spec: Pick<MigrationSpec, 'workflowId' | 'fromVersion' | 'filter'>,
    afterId: string,
    limit: number,
  ): Promise<MigrationCandidate[]>;
  /** How many active runtimes of the version are open at each node. */
  occupiedNodes(tenant: string, workflowId: string, version: number): Promise<Map<NodeId, number>>;
  /** How many runtimes the plan migrated: their `migrate` entries (by idempotency key) in the log. */
  countMigrated(tenant: string, planId: string): Promise<number>;
}
