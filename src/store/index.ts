// The store layer's public surface, by name. Append-only: add your exports below.

// Repositories over MySQL (pass a pool from createMySqlPool; every query carries a timeout).
/** RuntimeStore over MySQL: activation reads, idempotency lookups, timer and outbox polls. */
export { MySqlRuntimeStore } from './mysql/runtime-store.ts';
/** DirectoryStore over MySQL: multi-row upserts in chunks of 10,000. */
export { MySqlDirectoryStore, DIRECTORY_CHUNK } from './mysql/directory-store.ts';
/** WorkflowStore over MySQL: drafts, versions published under a row lock, app configs. */
export { MySqlWorkflowStore } from './mysql/workflow-store.ts';
/** ReadModel over MySQL (replica-safe): keyset-paginated lists and inbox. */
export { MySqlReadModel } from './mysql/read-model.ts';
export type { MySqlRepositoryOptions } from './mysql/sql.ts';

// The embedded mode's in-process store.
/** All store ports in process: `new MemoryStore()` is the writer, runtime store, directory, workflows and read model. */
export { MemoryStore } from './memory/memory-store.ts';
export type { MemoryStoreOptions } from './memory/tables.ts';

// Shared helpers.
/** sha256 of the canonical (sorted-keys) JSON: the content hash of a workflow version. */
export { canonicalJson, contentHash } from './content-hash.ts';
/** Page-size validation (1..500) and opaque keyset cursors. */
export { checkLimit, MAX_PAGE_LIMIT, MAX_POLL_LIMIT } from './pagination.ts';

// Webhook registrations and the analytics read (migration 003).
/** WebhookStore over MySQL (use the primary: a create is read back at once). */
export { MySqlWebhookStore } from './mysql/webhook-store.ts';
/** AnalyticsReader over MySQL (replica-safe): a workflow's newest runtimes' stages by `runtimes_by_workflow`. */
export { MySqlAnalyticsReader } from './mysql/analytics-reader.ts';
export { MAX_WEBHOOKS_PER_TENANT, type WebhookRecord, type WebhookStore } from './webhook-ports.ts';
export {
  MAX_ANALYTICS_RUNTIMES,
  type AnalyticsReader,
  type RuntimeStages,
  type StageSampleFilter,
  type StageSamples,
} from './analytics-ports.ts';
