import type { NatsConnection, Subscription } from '@nats-io/transport-node';

/**
 * Tells the live SSE streams that recipients have new in-app notifications
 * (a hint: the streams read the store; a lost hint costs at most one poll
 * interval). In a cluster a core NATS subject, in process a listener set.
 */
export interface NotificationSignal {
  notify(tenant: string, recipients: readonly string[]): void;
  /** Calls `listener` for every (tenant, recipient) told from now on; returns the unsubscribe. */
  subscribe(listener: (tenant: string, recipient: string) => void): () => void;
}

/** The in-process twin. */
export class MemoryNotificationSignal implements NotificationSignal {
  readonly #listeners = new Set<(tenant: string, recipient: string) => void>();

  notify(tenant: string, recipients: readonly string[]): void {
    for (const l of this.#listeners) for (const r of recipients) l(tenant, r);
  }

  subscribe(listener: (tenant: string, recipient: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** `<prefix>.notifications.changed`, JSON `{tenant, recipients}`. */
export class NatsNotificationSignal implements NotificationSignal {
  readonly #subject: string;
  readonly #local = new MemoryNotificationSignal();
  #subscription: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    prefix: string,
  ) {
    this.#subject = `${prefix}.notifications.changed`;
  }

  notify(tenant: string, recipients: readonly string[]): void {
    if (recipients.length === 0) return;
    try {
      this.nc.publish(this.#subject, JSON.stringify({ tenant, recipients }));
    } catch {
      // Disconnected: the streams' poll picks the notifications up.
    }
  }

  subscribe(listener: (tenant: string, recipient: string) => void): () => void {
    this.#subscription ??= this.nc.subscribe(this.#subject, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const { tenant, recipients } = msg.json<{ tenant: unknown; recipients: unknown }>();
          if (typeof tenant !== 'string' || !Array.isArray(recipients)) return;
          this.#local.notify(
            tenant,
            recipients.filter((r): r is string => typeof r === 'string'),
          );
        } catch {
          // not ours
        }
      },
    });
    return this.#local.subscribe(listener);
  }

  close(): void {
    this.#subscription?.unsubscribe();
  }
}
