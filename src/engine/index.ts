// The engine's public surface. Pure: no I/O, no clock, no randomness.
export * from './ids.ts';
export * from './definition-schema.ts';
export * from './directory.ts';
export * from './errors.ts';
export * from './runtime-state.ts';
export * from './commands.ts';
export * from './effects.ts';
export { compileWorkflow, type CompiledWorkflow } from './compile.ts';
export { step, start, type StepResult } from './step.ts';
export { SYSTEM_ACTOR } from './timers.ts';
export { allowedActions, editableFields, hiddenFields, redactDocument, openTaskOf, type Viewer } from './access.ts';
export { durationMs } from './duration.ts';
export { manager1, upperManager, groupLevelManager, resolveAssignees, beneficiaryOf } from './assignees.ts';
export { validateDefinition, type DefinitionValidation } from './validate-definition.ts';
export { stageStatistics, percentile, type NodeStatistics, type StageFacts } from './analytics.ts';
export { MAX_DOCUMENT_BYTES } from './document-patch.ts';
export {
  applyStateChange,
  diffState,
  replayStateChanges,
  StateChangeError,
  type StateChange,
  type StateDiff,
} from './state-change.ts';
export { migrate, type MigrateCommand, type MigrationResult } from './migrate.ts';
export {
  MIGRATION_BLOCKS,
  targetNode,
  validateMigration,
  type MigrationBlock,
  type MigrationMapping,
} from './migration-rules.ts';
export { diffVersions, type DiffEntry, type VersionDiff } from './version-diff.ts';
