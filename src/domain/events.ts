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
 * A bounce or delivery failure as the relay delivers it to its mailbox's workflow: identified by the event store's
 * own sequence number (events.id), which the workflow deduplicates by (src/domain/delivery.ts).
 */
export interface DeliveredEvent {
  seq: number;
  type: Extract<MonitoredEventType, 'HardBounce' | 'DeliveryFailure'>;
  /** Epoch milliseconds. */
  occurredAt: number;
  campaignId?: string;
}
