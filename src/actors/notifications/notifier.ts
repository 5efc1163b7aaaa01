import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { pino } from 'pino';
import {
  compileWorkflow,
  redactDocument,
  type CompiledWorkflow,
  type DomainEvent,
  type Employee,
  type RuntimeState,
} from '../../engine/index.ts';
import type { DirectoryStore, RuntimeStore, WorkflowStore } from '../../store/ports.ts';
import {
  DEFAULT_NOTIFICATION_SETTINGS,
  type DeliveryClaim,
  type DeliveryOutcome,
  type ExternalChannel,
  type NewNotification,
  type NotificationPreferences,
  type NotificationSettings,
  type NotificationStore,
} from '../../store/notification-ports.ts';
import { TenantTtlCache } from '../tenant-ttl-cache.ts';
import type { NotificationMetrics } from './notification-metrics.ts';
import { NOTIFYING_EVENT_TYPES, planStep, stepOf, type PlannedNotification } from './notification-plan.ts';
import type { NotificationSignal } from './notification-signal.ts';
import { renderNotification, type RenderedNotification, type TemplateView } from './notification-templates.ts';
import type { ProviderChannel, RoundOutcome } from './provider-channel.ts';
import type { OutgoingMessage } from './provider-senders.ts';

/** Options of {@link Notifier}. */
export interface NotifierOptions {
  store: NotificationStore;
  /**
   * The runtime as it stands (creator, document, stages): read once per runtime and batch, from the write
   * side's store (the runtime row and the log after it), since the runtime row may not be projected yet.
   */
  runtimes: Pick<RuntimeStore, 'loadRuntime'>;
  /** A runtime's pinned version, for its hidden zones (cached: versions never change). */
  workflows: Pick<WorkflowStore, 'getVersion'>;
  /** Names, email addresses and phone numbers (cached per tenant). */
  directory: Pick<DirectoryStore, 'loadDirectory'>;
  /** The providers configured; a channel without one is skipped. */
  channels?: Partial<Record<ExternalChannel, ProviderChannel>>;
  /** Wakes the live streams after in-app notifications are stored. */
  signal?: NotificationSignal;
  /** This notifier's claim owner id (its node id). */
  owner: string;
  /** Links point at `<linkBase>/runtimes/<id>`. @default 'http://localhost:8080/api/v1' */
  linkBase?: string;
  /** How long a claimed delivery is this notifier's before another may take it over. @default 60_000 */
  claimMs?: number;
  /** How long a tenant's directory and settings are reused. @default 30_000 */
  cacheMs?: number;
  /** An event with a delivery left to retry comes back after this, doubled per attempt made (max 60 s). @default 2_000 */
  retryBaseMs?: number;
  /** Deliveries sent at once. @default 16 */
  concurrency?: number;
  metrics?: NotificationMetrics;
  logger?: Logger;
  now?: () => number;
}

/** What a batch's events need next: the ids to hand back later, with the delay. */
export interface BatchResult {
  retry: Map<string, number>;
}

interface Context {
  state: RuntimeState | undefined;
  workflow: CompiledWorkflow | undefined;
  employees: Map<string, Employee>;
  settings: NotificationSettings;
}

/** One delivery of this batch outside bflow. */
interface External {
  claim: DeliveryClaim;
  message: OutgoingMessage;
  eventAt: number;
}

/**
 * Turns committed domain events into notifications (docs/api.md#notifications):
 * per batch, it reads each runtime once, plans who hears of what, renders the
 * tenant's templates with only the fields each recipient may see, stores the
 * in-app ones in one statement, claims the outside deliveries in one
 * statement, sends them, and records their outcomes in one statement. Every
 * notification has a dedupe key `<event id>|<recipient>|<channel>`, so a
 * redelivered batch stores and sends nothing twice.
 */
export class Notifier {
  readonly #o: Required<Omit<NotifierOptions, 'metrics' | 'signal' | 'channels'>> &
    Pick<NotifierOptions, 'metrics' | 'signal'>;
  readonly #channels: Partial<Record<ExternalChannel, ProviderChannel>>;
  readonly #directories: TenantTtlCache<Map<string, Employee>>;
  readonly #settings: TenantTtlCache<NotificationSettings>;
  readonly #versions: TenantTtlCache<CompiledWorkflow | undefined>;
  readonly #outcomes: OutcomeWriter;

  constructor(options: NotifierOptions) {
    this.#o = {
      linkBase: 'http://localhost:8080/api/v1',
      claimMs: 60_000,
      cacheMs: 30_000,
      concurrency: 16,
      retryBaseMs: 2_000,
      logger: pino({ level: 'silent' }),
      now: Date.now,
      ...options,
    };
    this.#channels = options.channels ?? {};
    this.#directories = new TenantTtlCache(this.#o.cacheMs, this.#o.now, 10_000, true);
    this.#settings = new TenantTtlCache(this.#o.cacheMs, this.#o.now, 10_000, true);
    this.#versions = new TenantTtlCache(24 * 3600_000, this.#o.now, 10_000);
    this.#outcomes = new OutcomeWriter(this.#o.store);
  }

  /** The tenant's settings changed: its next batch reads them afresh. */
  invalidate(tenant: string): void {
    this.#settings.invalidate(tenant);
    this.#directories.invalidate(tenant);
  }

  /** Handles one batch of events (any tenants, stream order). Rejects when the store cannot be read or written. */
  async handle(events: readonly DomainEvent[]): Promise<BatchResult> {
    const steps = groupSteps(events.filter((e) => NOTIFYING_EVENT_TYPES.has(e.type)));
    const contexts = await this.#contexts(steps);
    const planned = steps.flatMap((step) => planStep(step, contexts.get(runtimeKey(step[0]!))?.state));
    if (planned.length === 0) return { retry: new Map() };
    const preferences = await this.#preferences(planned);
    const inApp: NewNotification[] = [];
    const external: External[] = [];
    for (const p of planned) {
      const ctx = contexts.get(runtimeKey(p.event))!;
      this.#build(p, ctx, preferences.get(`${p.event.tenant}\n${p.recipient}`), inApp, external);
    }
    if (inApp.length > 0) {
      // A redelivered event's rows are already there: only the new ones count.
      const added = await this.#o.store.addInApp(inApp);
      this.#o.metrics?.notifications.inc({ channel: 'in_app', result: 'sent' }, added);
      for (const n of inApp)
        this.#o.metrics?.lag.observe({ channel: 'in_app' }, lagSeconds(this.#o.now(), n.createdAt));
      for (const [tenant, recipients] of byTenant(inApp)) this.#o.signal?.notify(tenant, recipients);
    }
    return { retry: await this.#deliver(external) };
  }

  /** Stops the providers' retries (their deliveries are left for redelivery). */
  stop(): void {
    for (const c of Object.values(this.#channels)) c?.stop();
  }

  async #contexts(steps: DomainEvent[][]): Promise<Map<string, Context>> {
    const firsts = new Map<string, DomainEvent>();
    for (const step of steps) if (!firsts.has(runtimeKey(step[0]!))) firsts.set(runtimeKey(step[0]!), step[0]!);
    const loaded = await Promise.all([...firsts].map(async ([key, e]) => [key, await this.#context(e)] as const));
    return new Map(loaded);
  }

  async #context(e: DomainEvent): Promise<Context> {
    const [state, employees, settings, workflow] = await Promise.all([
      this.#o.runtimes.loadRuntime(e.tenant, e.runtimeId),
      this.#directories.get(e.tenant, 'directory', async () => {
        const dir = await this.#o.directory.loadDirectory(e.tenant);
        return new Map(dir.employees.map((x) => [x.id, x]));
      }),
      this.#settings.get(
        e.tenant,
        'settings',
        async () => (await this.#o.store.settings(e.tenant)) ?? DEFAULT_NOTIFICATION_SETTINGS,
      ),
      this.#versions.get(e.tenant, `${e.workflowId}@${e.version}`, async () => {
        const v = await this.#o.workflows.getVersion(e.tenant, e.workflowId, e.version);
        return v && compileWorkflow(v.definition, v.workflowId, v.version);
      }),
    ]);
    return { state, employees, settings, workflow };
  }

  /** Every recipient's preferences, one read per tenant. */
  async #preferences(planned: PlannedNotification[]): Promise<Map<string, NotificationPreferences>> {
    const recipients = new Map<string, Set<string>>();
    for (const p of planned) {
      let set = recipients.get(p.event.tenant);
      if (set === undefined) recipients.set(p.event.tenant, (set = new Set()));
      set.add(p.recipient);
    }
    const found = new Map<string, NotificationPreferences>();
    await Promise.all(
      [...recipients].map(async ([tenant, ids]) => {
        for (const [id, prefs] of await this.#o.store.preferences(tenant, [...ids]))
          found.set(`${tenant}\n${id}`, prefs);
      }),
    );
    return found;
  }

  #build(
    p: PlannedNotification,
    ctx: Context,
    prefs: NotificationPreferences | undefined,
    inApp: NewNotification[],
    external: External[],
  ): void {
    const { event: e, recipient, kind } = p;
    const wanted = (prefs?.channels[kind] ?? ctx.settings.defaultChannels).filter(
      (c) => !ctx.settings.disabledChannels.includes(c),
    );
    if (wanted.length === 0) return;
    const rendered = renderNotification(this.#view(p, ctx), ctx.settings);
    const link = `${this.#o.linkBase}/runtimes/${encodeURIComponent(e.runtimeId)}`;
    const employee = ctx.employees.get(recipient);
    for (const channel of new Set(wanted)) {
      const dedupeKey = `${e.id}|${recipient}|${channel}`;
      if (channel === 'in_app') {
        inApp.push({
          tenant: e.tenant,
          recipient,
          dedupeKey,
          kind,
          eventId: e.id,
          runtimeId: e.runtimeId,
          app: e.app,
          docId: e.docId,
          title: rendered.subject.slice(0, 500),
          body: rendered.push,
          link,
          createdAt: e.at,
        });
        continue;
      }
      if (this.#channels[channel] === undefined) {
        this.#o.metrics?.notifications.inc({ channel, result: 'skipped' });
        continue;
      }
      const addresses = addressesOf(channel, employee, prefs);
      for (const to of addresses) {
        // One push per device: each token has its own key.
        const key =
          channel === 'push' ? `${dedupeKey}|${createHash('sha256').update(to).digest('hex').slice(0, 16)}` : dedupeKey;
        external.push(this.#external(e, recipient, kind, channel, key, to, rendered, link));
      }
      if (addresses.length === 0) {
        // No address in the directory: counted and skipped, never retried.
        this.#o.metrics?.notifications.inc({ channel, result: 'skipped' });
        this.#o.logger.info(
          { tenant: e.tenant, recipient, channel, eventId: e.id },
          'notification skipped: the recipient has no address for this channel',
        );
      }
    }
  }

  #external(
    e: DomainEvent,
    recipient: string,
    kind: PlannedNotification['kind'],
    channel: ExternalChannel,
    dedupeKey: string,
    to: string,
    rendered: RenderedNotification,
    link: string,
  ): External {
    const now = this.#o.now();
    return {
      claim: {
        tenant: e.tenant,
        dedupeKey,
        channel,
        recipient,
        eventId: e.id,
        kind,
        owner: this.#o.owner,
        claimedUntil: now + this.#o.claimMs,
        now,
      },
      message: {
        dedupeKey,
        to,
        subject: rendered.subject,
        text: channel === 'email' ? rendered.text : channel === 'sms' ? rendered.sms : rendered.push,
        html: rendered.html,
        link,
      },
      eventAt: e.at,
    };
  }

  #view(p: PlannedNotification, ctx: Context): TemplateView {
    const { event: e, recipient, kind } = p;
    const nameOf = (id: string) => ctx.employees.get(id)?.name ?? id;
    const state = ctx.state;
    // Without the version we cannot tell the hidden fields: show none.
    const doc = state && ctx.workflow ? redactDocument(ctx.workflow, state, recipient) : {};
    const view: TemplateView = {
      kind,
      recipient: { id: recipient, name: nameOf(recipient) },
      actor: { id: e.actor, name: nameOf(e.actor) },
      runtime: {
        id: e.runtimeId,
        app: e.app,
        docId: e.docId,
        status: state?.status ?? '',
        node: typeof e.data.node === 'string' ? e.data.node : (state?.stages.at(-1)?.node ?? ''),
      },
      link: `${this.#o.linkBase}/runtimes/${encodeURIComponent(e.runtimeId)}`,
      fields: Object.entries(doc)
        .slice(0, 30)
        .map(([name, value]) => ({ name, value: textOf(value) })),
    };
    if (typeof e.data.comment === 'string') view.comment = e.data.comment;
    if (typeof e.data.dueAt === 'number') view.dueAt = new Date(e.data.dueAt).toISOString();
    if (typeof e.data.outcome === 'string') view.outcome = e.data.outcome;
    return view;
  }

  /** Claims, sends and records the outside deliveries; returns the events to hand back, with their delay. */
  async #deliver(external: External[]): Promise<Map<string, number>> {
    const retry = new Map<string, number>();
    if (external.length === 0) return retry;
    const { held, busy } = await this.#o.store.claim(external.map((x) => x.claim));
    // Another notifier holds these (or held them and died): look again once its claim may have lapsed.
    for (const x of external) if (busy.has(x.claim.dedupeKey)) retry.set(x.claim.eventId, this.#o.claimMs);
    const mine = external.filter((x) => held.has(x.claim.dedupeKey));
    const recorded: Promise<void>[] = [];
    await forEachLimited(mine, this.#o.concurrency, async (x) => {
      const outcome = await this.#channels[x.claim.channel]!.deliver(x.message, held.get(x.claim.dedupeKey) ?? 0);
      // Recorded as soon as it is known (not at the batch's end): a crash after a send repeats as little as possible.
      recorded.push(this.#outcomes.record(this.#outcome(x, outcome)));
      if (outcome.status === 'retry') {
        const delay = Math.min(60_000, this.#o.retryBaseMs * 2 ** Math.min(outcome.attempts, 5));
        retry.set(x.claim.eventId, Math.max(retry.get(x.claim.eventId) ?? 0, delay));
      }
    });
    await Promise.all(recorded);
    return retry;
  }

  #outcome(x: External, outcome: RoundOutcome): DeliveryOutcome {
    const { channel } = x.claim;
    const now = this.#o.now();
    if (outcome.status === 'sent') {
      this.#o.metrics?.notifications.inc({ channel, result: 'sent' });
      this.#o.metrics?.lag.observe({ channel }, lagSeconds(now, x.eventAt));
    } else if (outcome.status === 'dead') {
      this.#o.metrics?.notifications.inc({ channel, result: 'failed' });
      this.#o.logger.warn(
        {
          tenant: x.claim.tenant,
          recipient: x.claim.recipient,
          channel,
          eventId: x.claim.eventId,
          error: outcome.error,
        },
        'notification given up: a dead letter',
      );
    }
    const result: DeliveryOutcome = {
      tenant: x.claim.tenant,
      dedupeKey: x.claim.dedupeKey,
      owner: x.claim.owner,
      status: outcome.status,
      attempts: outcome.attempts,
      now,
    };
    if (outcome.status !== 'sent') result.error = outcome.error;
    return result;
  }
}

/**
 * Writes delivery outcomes as they come: one statement when idle, and while
 * one is in flight the next ones gather for the following statement.
 */
class OutcomeWriter {
  #pending: { outcome: DeliveryOutcome; done: () => void; failed: (err: unknown) => void }[] = [];
  #writing = false;

  constructor(private readonly store: Pick<NotificationStore, 'finish'>) {}

  record(outcome: DeliveryOutcome): Promise<void> {
    return new Promise((done, failed) => {
      this.#pending.push({ outcome, done, failed });
      if (!this.#writing) void this.#write();
    });
  }

  async #write(): Promise<void> {
    this.#writing = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        await this.store.finish(batch.map((p) => p.outcome));
        for (const p of batch) p.done();
      } catch (err) {
        for (const p of batch) p.failed(err);
      }
    }
    this.#writing = false;
  }
}

function addressesOf(
  channel: ExternalChannel,
  employee: Employee | undefined,
  prefs: NotificationPreferences | undefined,
): string[] {
  if (channel === 'email') return employee?.email ? [employee.email] : [];
  if (channel === 'sms') return employee?.phone ? [employee.phone] : [];
  return prefs?.pushTokens ?? [];
}

const runtimeKey = (e: DomainEvent): string => `${e.tenant}\n${e.runtimeId}`;

/** The events of each step together, steps in order of first appearance. */
function groupSteps(events: readonly DomainEvent[]): DomainEvent[][] {
  const steps = new Map<string, DomainEvent[]>();
  for (const e of events) {
    const key = `${e.tenant}\n${stepOf(e)}`;
    const list = steps.get(key);
    if (list === undefined) steps.set(key, [e]);
    else list.push(e);
  }
  return [...steps.values()];
}

function byTenant(items: readonly NewNotification[]): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const n of items) {
    let set = out.get(n.tenant);
    if (set === undefined) out.set(n.tenant, (set = new Set()));
    set.add(n.recipient);
  }
  return new Map([...out].map(([t, s]) => [t, [...s]]));
}

function textOf(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

const lagSeconds = (now: number, at: number): number => Math.max(0, now - at) / 1000;

async function forEachLimited<T>(items: readonly T[], limit: number, body: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await body(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
