/** Retention: the job that prunes old idempotency keys, published events, finished runtimes and audit logs, under a lease. */
export {
  DEFAULT_RETENTION_OPTIONS,
  registerRetentionMetrics,
  RETENTION_LEASE_SHARD,
  RetentionJob,
  type RetentionJobOptions,
  type RetentionMetrics,
  type RetentionRun,
  type RetentionSettings,
} from './retention-job.ts';
