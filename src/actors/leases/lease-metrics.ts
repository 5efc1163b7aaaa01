import { Counter, Gauge, type Registry } from 'prom-client';
import type { LeaseChange } from './ports.ts';

/** The lease metrics of one node; get-or-create, so several managers may share a registry. */
export interface LeaseMetrics {
  held(count: number): void;
  renewFailed(): void;
  changed(type: LeaseChange['type']): void;
}

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Registers `bflow_shards_held`, `bflow_lease_renew_failures_total`, `bflow_lease_changes_total{type}`. */
export function leaseMetrics(registry: Registry | undefined): LeaseMetrics {
  if (!registry) return { held: () => undefined, renewFailed: () => undefined, changed: () => undefined };
  const registers = [registry];
  const held = metric(
    registry,
    'bflow_shards_held',
    () => new Gauge({ name: 'bflow_shards_held', help: 'Shards whose lease this node holds', registers }),
  );
  const failures = metric(
    registry,
    'bflow_lease_renew_failures_total',
    () =>
      new Counter({
        name: 'bflow_lease_renew_failures_total',
        help: 'Lease renewals that failed (the shard was given up at once)',
        registers,
      }),
  );
  const changes = metric(
    registry,
    'bflow_lease_changes_total',
    () =>
      new Counter({
        name: 'bflow_lease_changes_total',
        help: 'Lease changes by type (acquired, lost, released)',
        labelNames: ['type'],
        registers,
      }),
  );
  return {
    held: (count) => held.set(count),
    renewFailed: () => failures.inc(),
    changed: (type) => changes.inc({ type }),
  };
}
