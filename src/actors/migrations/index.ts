export {
  DEFAULT_MIGRATION_EXECUTOR_OPTIONS,
  MigrationExecutor,
  type MigrationExecutorOptions,
  type MigrationRouter,
} from './migration-executor.ts';
export { registerMigrationMetrics, type MigrationMetrics } from './migration-metrics.ts';
