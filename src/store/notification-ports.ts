import type { Page } from './ports.ts';

/**
 * Notifications (docs/api.md#notifications): the in-app inbox, the delivery
 * ledger of the channels outside bflow, employees' preferences and tenants'
 * settings. The notifier writes them in batches; the gateway reads the inbox
 * and writes preferences and settings. MySQL and the in-process twin implement
 * the port; one contract suite runs against both.
 */

export const NOTIFICATION_CHANNELS = ['in_app', 'email', 'sms', 'push'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];
/** The channels sent outside bflow, through the delivery ledger. */
export type ExternalChannel = Exclude<NotificationChannel, 'in_app'>;

export const NOTIFICATION_KINDS = [
  'task_assigned',
  'task_reassigned',
  'returned',
  'sla_reminder',
  'sla_breached',
  'runtime_approved',
  'runtime_rejected',
  'runtime_cancelled',
  'comment_added',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** One in-app notification as the notifier adds it. `dedupeKey` is `<event id>|<recipient>|in_app`. */
export interface NewNotification {
  tenant: string;
  recipient: string;
  dedupeKey: string;
  kind: NotificationKind;
  eventId: string;
  runtimeId: string;
  app: string;
  docId: string;
  title: string;
  body: string;
  link: string;
  createdAt: number;
}

/** A stored in-app notification; `seq` orders a recipient's notifications and is its id. */
export interface StoredNotification extends NewNotification {
  seq: number;
  readAt?: number;
}

/** One claim on an outside delivery: this notifier (`owner`) sends it, unless it was sent or another owner holds it. */
export interface DeliveryClaim {
  tenant: string;
  dedupeKey: string;
  channel: ExternalChannel;
  recipient: string;
  eventId: string;
  kind: NotificationKind;
  owner: string;
  /** The claim lapses then (epoch ms): another notifier may take it over. */
  claimedUntil: number;
  now: number;
}

export interface ClaimResult {
  held: Map<string, number>;
  busy: Set<string>;
}

/**
 * How one claimed delivery ended: `sent`; `dead` (given up: a dead letter); or `retry` (not yet: the claim is
 * released, the attempts so far kept, and the event comes back).
 */
export interface DeliveryOutcome {
  tenant: string;
  dedupeKey: string;
  owner: string;
  status: 'sent' | 'dead' | 'retry';
  /** Provider attempts so far, this one included. */
  attempts: number;
  error?: string;
  now: number;
}

export interface DeadLetter {
  tenant: string;
  dedupeKey: string;
  channel: ExternalChannel;
  recipient: string;
  eventId: string;
  kind: NotificationKind;
  attempts: number;
  error: string;
  at: number;
}

/** An employee's choices. A kind without an entry gets the tenant's default channels. */
export interface NotificationPreferences {
  /** Channels per kind (an empty list silences that kind). */
  channels: Partial<Record<NotificationKind, NotificationChannel[]>>;
  /** Push device tokens (FCM registration tokens). */
  pushTokens: string[];
}

/** A tenant's settings: the channels it uses and its templates, per kind and channel (defaults fill the rest). */
export interface NotificationSettings {
  /** Channels a kind goes to when the employee chose nothing. @default ['in_app', 'email'] */
  defaultChannels: NotificationChannel[];
  /** Channels this tenant turned off, whatever the preferences say. */
  disabledChannels: NotificationChannel[];
  /** Mustache templates: `templates[kind][part]`, part one of `subject`, `text`, `html`, `sms`, `push`. */
  templates: Partial<Record<NotificationKind, Partial<Record<TemplatePart, string>>>>;
}

export const TEMPLATE_PARTS = ['subject', 'text', 'html', 'sms', 'push'] as const;
export type TemplatePart = (typeof TEMPLATE_PARTS)[number];

export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = Object.freeze({
  defaultChannels: ['in_app', 'email'],
  disabledChannels: [],
  templates: {},
}) as NotificationSettings;

export interface NotificationStore {
  /** Adds in-app notifications in one statement; a dedupe key already stored adds nothing. Returns how many were added. */
  addInApp(items: readonly NewNotification[]): Promise<number>;
  /** A recipient's notifications, newest first (keyset on seq), with the unread count. */
  list(
    tenant: string,
    recipient: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<StoredNotification> & { unread: number }>;
  /** A recipient's notifications after `seq`, oldest first (the SSE stream's catch-up). */
  after(tenant: string, recipient: string, seq: number, limit: number): Promise<StoredNotification[]>;
  /** false when the recipient has no such notification. */
  markRead(tenant: string, recipient: string, seq: number, now: number): Promise<boolean>;
  /** Marks every unread one read; returns how many. */
  markAllRead(tenant: string, recipient: string, now: number): Promise<number>;

  /**
   * Claims deliveries in one batch. `held`: the dedupe keys this owner now holds, each with the provider attempts
   * made so far; `busy`: those another owner's live claim holds (it may still send them); the rest are finished.
   */
  claim(claims: readonly DeliveryClaim[]): Promise<ClaimResult>;
  /** Records how claimed deliveries ended (only rows the owner still holds change). */
  finish(outcomes: readonly DeliveryOutcome[]): Promise<void>;
  /** The tenant's dead letters, newest first. */
  deadLetters(tenant: string, limit: number, cursor?: string): Promise<Page<DeadLetter>>;

  /** Preferences of the given employees (one read); those without any are absent. */
  preferences(tenant: string, employees: readonly string[]): Promise<Map<string, NotificationPreferences>>;
  setPreferences(tenant: string, employee: string, preferences: NotificationPreferences, now: number): Promise<void>;
  /** The tenant's settings, or undefined when it saved none. */
  settings(tenant: string): Promise<NotificationSettings | undefined>;
  setSettings(tenant: string, settings: NotificationSettings, now: number): Promise<void>;
}
