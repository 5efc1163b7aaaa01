import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ClusterView } from '../actors/leases/index.ts';
import type { ShardReply, ShardRequest } from '../actors/bus/index.ts';
import type { CompiledWorkflow, RuntimeState } from '../engine/index.ts';
import type { AnalyticsReader } from '../store/analytics-ports.ts';
import type { DirectoryStore, ReadModel, WorkflowStore } from '../store/ports.ts';
import type { WebhookStore } from '../store/webhook-ports.ts';
import type { NotificationStore } from '../store/notification-ports.ts';
import type { MigrationPlanStore } from '../store/migration-ports.ts';
import type { RetentionStore } from '../store/retention-ports.ts';
import type { RequestTrace } from '../shared/trace-scope.ts';
import type { NotificationSignal } from '../actors/notifications/index.ts';

/** Sends a command to the node that owns its runtime's shard (the RoutingClient, or the embedded twin's). */
export interface CommandRouter {
  send(request: ShardRequest, options?: { deadlineMs?: number }): Promise<ShardReply>;
  /**
   * The runtime's state from its owner's memory, when it is live there; undefined otherwise (the read model
   * answers). Without it, single-runtime reads go to the read model only.
   */
  readLive?(tenant: string, runtimeId: string): Promise<RuntimeState | undefined>;
}

/** A source of compiled workflow versions (the runtime host's `WorkflowCache`). */
export interface CompiledVersions {
  get(tenant: string, workflowId: string, version: number): Promise<CompiledWorkflow | undefined>;
}

/** What the gateway talks to; built by `bflow gateway` (cluster) or `bflow all` (embedded). */
export interface GatewayDeps {
  router: CommandRouter;
  /** CQRS read side (optionally a read replica): views, lists, history, inbox. */
  read: ReadModel;
  workflows: WorkflowStore;
  directory: DirectoryStore;
  /** Shard ownership for `GET /api/v1/cluster`. */
  cluster(): Promise<ClusterView>;
  /** Each dependency's reachability for `/ready` (e.g. {mysql: true, nats: true, redis: true, shardMap: true}). */
  readiness(): Promise<Record<string, boolean>>;
  /** Every layer's metrics, served on `/metrics`. */
  registry: Registry;
  logger: Logger;
  /** Webhook registrations (`/api/v1/webhooks`); without it those routes answer 503 `unavailable`. */
  webhooks?: WebhookStore;
  /** Whether a webhook may target a loopback, private or link-local address (BFLOW_WEBHOOK_ALLOW_PRIVATE). @default true */
  webhookAllowPrivate?: boolean;
  /** Notifications (`/api/v1/notifications`); without it those routes answer 503 `unavailable`. */
  notifications?: NotificationStore;
  /** Wakes the SSE streams when the notifier stored something (without it they poll every 15 s). */
  notificationSignal?: NotificationSignal;
  /** A tenant's notification settings were saved (the embedded notifier drops its copy). */
  onNotificationSettingsChanged?(tenant: string): void;
  /** Migration plans (`/api/v1/workflows/{id}/migrations`, autoMigrate); without it those routes answer 503 `unavailable`. */
  migrations?: MigrationPlanStore;
  /** Tenants' retention policies (`/api/v1/retention-policy`); without it those routes answer 503 `unavailable`. */
  retention?: RetentionStore;
  /** Stage statistics read side (`/api/v1/analytics`); without it those routes answer 503 `unavailable`. */
  analytics?: AnalyticsReader;
  /**
   * Compiled workflow versions for views (immutable, so any cache of them serves). `bflow all` passes its
   * runtime host's, so a process loads and compiles a version once. @default a cache of 1,000 on `workflows`
   */
  compiledVersions?: CompiledVersions;
  /** @default Date.now */
  now?: () => number;
  /** A fresh id (runtime ids, idempotency keys the gateway assigns). @default crypto.randomUUID */
  newId?: () => string;
  /** The trace of a request (tracing on, the request sampled), else undefined. @default none traced */
  traceOf?: (request: Request) => RequestTrace | undefined;
}
