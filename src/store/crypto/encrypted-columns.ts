/**
 * Every encrypted column (docs/security.md lists them): the name its associated data carries
 * (`table.column`) and how its row id is spelled. Plaintext stays where a query needs it: ids, status,
 * node, times, keys.
 */
export const ENCRYPTED = {
  runtimeState: 'runtimes.state',
  stepBody: 'runtime_steps.body',
  logChanges: 'runtime_log.changes',
  logCommand: 'runtime_log.command',
  logComment: 'runtime_log.comment',
  idempotencyResponse: 'idempotency_keys.response',
  outboxEvents: 'outbox.events',
  webhookSecret: 'webhooks.secret',
  workflowDraft: 'workflows.draft',
  versionDefinition: 'workflow_versions.definition',
  notificationTitle: 'notifications.title',
  notificationBody: 'notifications.body',
  /** The Redis snapshot of a runtime's state (`<prefix>:rt:<tenant>:<id>`). */
  snapshot: 'redis.snapshot',
} as const;

/** A step's row id: `<runtime id>/<revision>`; a log entry's: `<runtime id>/<seq>`; a version's: `<workflow id>/<version>`. */
export const pairId = (id: string, n: number | string): string => `${id}/${n}`;
