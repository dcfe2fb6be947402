/** The monitored event vocabulary shared by the API, workflows and activities. */
export const MONITORED_EVENT_TYPES = ['EmailSent', 'HardBounce', 'DeliveryFailure'] as const;
export type MonitoredEventType = (typeof MONITORED_EVENT_TYPES)[number];

/** An event as it reaches an entity workflow: small, already stored, identified by its idempotency key. */
export interface MonitoredEvent {
  /** Idempotency key (the sender's event id). */
  id: string;
  type: MonitoredEventType;
  /** Epoch milliseconds. */
  occurredAt: number;
  campaignId?: string;
}

/**
 * What a bounce or delivery failure says about the mailbox (src/domain/bounceClass.ts has the table):
 * - list_quality: the recipient address is bad (5.1.x, "user unknown") — the list's fault, not the sender's;
 * - reputation: the receiver refuses this sender (5.7.x, "blocked", "spam", "policy", blocklist names) — the
 *   strongest signal about a mailbox and its domain, with its own, lower thresholds;
 * - transient: try again later (4.x.x, deferral, mailbox full, timeout);
 * - account: the sender's own account cannot send (EMAIL_ACCOUNT_DISCONNECTED, SMTP auth or connection errors);
 * - unknown: none of the above — counted as a failure, never dropped.
 */
export const BOUNCE_CLASSES = ['list_quality', 'reputation', 'transient', 'account', 'unknown'] as const;
export type BounceClass = (typeof BOUNCE_CLASSES)[number];

/**
 * A bounce or delivery failure as the relay delivers it to its mailbox's workflow: identified by the event store's
 * own sequence number (events.id), which the workflow deduplicates by (src/domain/delivery.ts).
 */
export interface DeliveredEvent {
  seq: number;
  type: Extract<MonitoredEventType, 'HardBounce' | 'DeliveryFailure'>;
  /** Epoch milliseconds. */
  occurredAt: number;
  campaignId?: string;
  /** Absent for events stored before migration 006 classed them. */
  bounceClass?: BounceClass;
}
