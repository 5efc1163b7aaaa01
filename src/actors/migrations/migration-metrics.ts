import { Counter, type Registry } from 'prom-client';

export interface MigrationMetrics {
  /** Runtimes a plan's executor handled, by outcome: migrated, replayed (migrated before a resume), blocked, retried. */
  runtimes: Counter<'outcome'>;
  /** Plans an executor stopped running, by outcome: completed, cancelled, lost (its lease taken), failed (to resume). */
  plans: Counter<'outcome'>;
}

/** Creates the migration executor's metrics on `registry` (once per registry). */
export function registerMigrationMetrics(registry: Registry): MigrationMetrics {
  const registers = [registry];
  return {
    runtimes: new Counter({
      name: 'bflow_migration_runtimes_total',
      help: 'Runtimes handled by migration plans, by outcome (migrated, replayed, blocked, retried)',
      labelNames: ['outcome'],
      registers,
    }),
    plans: new Counter({
      name: 'bflow_migration_plans_total',
      help: 'Migration plan runs ended by an executor, by outcome (completed, cancelled, lost, failed)',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
