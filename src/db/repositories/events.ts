/**
 * The event store. Ingestion is one call of `drason_ingest_events` (migrations/005_event_pipeline.ts): mailboxes
 * and domains first seen, the events, and their relay-queue rows, in one round trip and one transaction. Nothing
 * here talks to Temporal; the relay (src/services/eventRelay.ts) does, later.
 */
import type { Db } from '../knex';
import type { Tx } from '../tenant';
import { domainOf, normalizeEmail } from '../../workflows/ids';
import type { BounceClass, MonitoredEventType } from '../../domain/events';

/** Where an event came from. Idempotency keys are unique per (organization, source): sources cannot suppress each other. */
export type EventSource = 'api' | 'smartlead' | 'clay';

export interface NewEvent {
  idempotencyKey: string;
  type: MonitoredEventType | string;
  source: EventSource;
  occurredAt: Date;
  mailbox?: string;
  /**
   * Smartlead's email account id, when a webhook names the account instead of its address (`email_account_id`
   * without `from_email`): storage resolves it to the mailbox synced with that id.
   */
  mailboxAccountId?: string;
  campaignId?: string;
  leadEmail?: string;
  /** For HardBounce and DeliveryFailure: what the bounce says about the mailbox (src/domain/bounceClass.ts). */
  bounceClass?: BounceClass;
  detail?: Record<string, unknown>;
  /** Notes on the stored row, e.g. `stale`, `future_clamped` (src/domain/eventTiming). A `stale` event is not counted. */
  flags?: string[];
}

export interface IngestResult {
  /** Newly stored events. */
  accepted: number;
  /** Events whose (source, key) was already stored: acknowledged, changed nothing. */
  duplicates: number;
  /** Accepted events that count toward windows (queued for the relay). */
  queued: number;
}

/** What one call stored: `source` + NUL + `key` of each new event → whether it was queued for counting. */
export type StoredKeys = Map<string, boolean>;

const storedKey = (source: string, key: string): string => `${source}\u0000${key}`;

/**
 * Stores events in one round trip (one call of `drason_ingest_events`, one transaction), idempotent on
 * (organization, source, idempotency key). Returns what was new.
 *
 * A HardBounce or DeliveryFailure without a `bounceClass` is stored with its type's default (list_quality, unknown);
 * a `mailboxAccountId` with no `mailbox` names the mailbox synced with that Smartlead id, and one that names none
 * still stores the event, flagged `unresolved_account` (migrations/006_mailbox_engine.ts).
 */
export async function storeEvents(db: Db | Tx, organizationId: string, events: NewEvent[]): Promise<StoredKeys> {
  const payload = events.map((e) => {
    const mailbox = e.mailbox === undefined ? undefined : normalizeEmail(e.mailbox);
    return {
      key: e.idempotencyKey,
      type: e.type,
      source: e.source,
      occurredAt: e.occurredAt.toISOString(),
      mailbox,
      domain: mailbox === undefined ? undefined : domainOf(mailbox),
      mailboxAccountId: e.mailboxAccountId,
      campaignId: e.campaignId,
      leadEmail: e.leadEmail,
      bounceClass: e.bounceClass,
      detail: e.detail ?? {},
      flags: e.flags ?? [],
    };
  });
  const { rows } = await db.raw<{ rows: { source: string; key: string; queued: boolean }[] }>('select * from drason_ingest_events(?, ?::jsonb)', [
    organizationId,
    JSON.stringify(payload),
  ]);
  return new Map(rows.map((r) => [storedKey(r.source, r.key), r.queued]));
}

/**
 * What each of several requests, stored together in one call, added: a stored (source, key) is credited to the first
 * request (and the first event in it) that carries it; every other copy is a duplicate, as a repeat is.
 */
export function creditRequests(requests: NewEvent[][], stored: StoredKeys): IngestResult[] {
  const credited = new Set<string>();
  return requests.map((events) => {
    const result: IngestResult = { accepted: 0, duplicates: 0, queued: 0 };
    for (const e of events) {
      const k = storedKey(e.source, e.idempotencyKey);
      const queued = stored.get(k);
      if (queued === undefined || credited.has(k)) {
        result.duplicates += 1;
        continue;
      }
      credited.add(k);
      result.accepted += 1;
      if (queued) result.queued += 1;
    }
    return result;
  });
}

/** Stores one request's events (see storeEvents). */
export async function ingestEvents(db: Db | Tx, organizationId: string, events: NewEvent[]): Promise<IngestResult> {
  return creditRequests([events], await storeEvents(db, organizationId, events))[0]!;
}

/** Returns mailbox id by normalised email, creating domain and mailbox rows as needed (used by the Smartlead sync). */
export async function ensureMailboxes(tx: Tx, organizationId: string, emails: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(emails.map(normalizeEmail))];
  const ids = new Map<string, string>();
  if (unique.length === 0) return ids;
  const domains = [...new Set(unique.map(domainOf))];
  await tx('domains')
    .insert(domains.map((name) => ({ organization_id: organizationId, name })))
    .onConflict(['organization_id', 'name'])
    .ignore();
  const domainRows = (await tx('domains').whereIn('name', domains).select('id', 'name')) as { id: string; name: string }[];
  const domainIds = new Map(domainRows.map((d) => [d.name.toLowerCase(), d.id]));
  await tx('mailboxes')
    .insert(unique.map((email) => ({ organization_id: organizationId, email, domain_id: domainIds.get(domainOf(email)) })))
    .onConflict(['organization_id', 'email'])
    .ignore();
  const rows = (await tx('mailboxes').whereIn('email', unique).select('id', 'email')) as { id: string; email: string }[];
  for (const row of rows) ids.set(row.email.toLowerCase(), row.id);
  return ids;
}
