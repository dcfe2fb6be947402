/**
 * The event store: accepted events are appended here, with a dispatch-outbox row, in the same transaction, before
 * the API answers. Mailboxes and domains first seen in an event are created on the fly.
 */
import type { Tx } from '../tenant';
import { domainOf, normalizeEmail } from '../../workflows/ids';
import type { MonitoredEvent, MonitoredEventType } from '../../domain/events';

export interface NewEvent {
  idempotencyKey: string;
  type: MonitoredEventType | string;
  source: 'api' | 'smartlead' | 'clay';
  occurredAt: Date;
  mailbox?: string;
  campaignId?: string;
  leadEmail?: string;
  detail?: Record<string, unknown>;
  /** Notes on the stored row, e.g. `stale`, `future_clamped` (src/domain/eventTiming). */
  flags?: string[];
  /** False: stored as history but never signalled or counted (e.g. older than the longest window). Default true. */
  counted?: boolean;
}

export interface StoredEvents {
  accepted: number;
  duplicates: number;
  /** Newly stored monitored events per mailbox, ready to signal. */
  byMailbox: Map<string, { eventIds: number[]; events: MonitoredEvent[] }>;
}

/** Returns mailbox id by normalised email, creating domain and mailbox rows as needed. */
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

const MONITORED = new Set(['EmailSent', 'HardBounce', 'DeliveryFailure']);

/** Appends events (idempotent on the organization's idempotency key) and queues monitored ones for dispatch. */
export async function storeEvents(tx: Tx, organizationId: string, events: NewEvent[]): Promise<StoredEvents> {
  const mailboxIds = await ensureMailboxes(
    tx,
    organizationId,
    events.flatMap((e) => (e.mailbox === undefined ? [] : [e.mailbox])),
  );
  const rows = events.map((e) => ({
    organization_id: organizationId,
    idempotency_key: e.idempotencyKey,
    type: e.type,
    source: e.source,
    occurred_at: e.occurredAt,
    mailbox_id: e.mailbox === undefined ? null : mailboxIds.get(normalizeEmail(e.mailbox)),
    campaign_id: e.campaignId ?? null,
    lead_email: e.leadEmail ?? null,
    detail: JSON.stringify(e.detail ?? {}),
    flags: e.flags ?? [],
  }));
  const inserted: { id: number; idempotency_key: string }[] = [];
  for (let i = 0; i < rows.length; i += 500) {
    inserted.push(
      ...((await tx('events')
        .insert(rows.slice(i, i + 500))
        .onConflict(['organization_id', 'idempotency_key'])
        .ignore()
        .returning(['id', 'idempotency_key'])) as { id: number; idempotency_key: string }[]),
    );
  }
  const idByKey = new Map(inserted.map((r) => [r.idempotency_key, r.id]));
  const byMailbox: StoredEvents['byMailbox'] = new Map();
  const outbox: { organization_id: string; event_id: number; mailbox_email: string }[] = [];
  const seenInRequest = new Set<string>();
  for (const e of events) {
    const id = idByKey.get(e.idempotencyKey);
    if (id === undefined || seenInRequest.has(e.idempotencyKey)) continue;
    seenInRequest.add(e.idempotencyKey);
    if (e.mailbox === undefined || !MONITORED.has(e.type) || e.counted === false) continue;
    const mailbox = normalizeEmail(e.mailbox);
    const entry = byMailbox.get(mailbox) ?? { eventIds: [], events: [] };
    entry.eventIds.push(id);
    entry.events.push({
      id: e.idempotencyKey,
      type: e.type as MonitoredEventType,
      occurredAt: e.occurredAt.getTime(),
      ...(e.campaignId === undefined ? {} : { campaignId: e.campaignId }),
    });
    byMailbox.set(mailbox, entry);
    outbox.push({ organization_id: organizationId, event_id: id, mailbox_email: mailbox });
  }
  for (let i = 0; i < outbox.length; i += 1000) await tx('event_dispatch_outbox').insert(outbox.slice(i, i + 1000));
  return { accepted: inserted.length, duplicates: events.length - inserted.length, byMailbox };
}

/** Pending dispatch rows for the current tenant, grouped by mailbox, oldest first. */
export async function pendingDispatch(
  tx: Tx,
  limit: number,
): Promise<Map<string, { eventIds: number[]; events: MonitoredEvent[] }>> {
  const rows = (await tx('event_dispatch_outbox as o')
    .join('events as e', function joinEvents() {
      this.on('e.id', '=', 'o.event_id').andOn('e.organization_id', '=', 'o.organization_id');
    })
    .where('o.next_attempt_at', '<=', tx.fn.now())
    .orderBy('o.event_id')
    .limit(limit)
    .select('o.event_id', 'o.mailbox_email', 'e.idempotency_key', 'e.type', 'e.occurred_at', 'e.campaign_id')) as {
    event_id: number;
    mailbox_email: string;
    idempotency_key: string;
    type: MonitoredEventType;
    occurred_at: Date;
    campaign_id: string | null;
  }[];
  const byMailbox = new Map<string, { eventIds: number[]; events: MonitoredEvent[] }>();
  for (const r of rows) {
    const entry = byMailbox.get(r.mailbox_email) ?? { eventIds: [], events: [] };
    entry.eventIds.push(r.event_id);
    entry.events.push({
      id: r.idempotency_key,
      type: r.type,
      occurredAt: r.occurred_at.getTime(),
      ...(r.campaign_id === null ? {} : { campaignId: r.campaign_id }),
    });
    byMailbox.set(r.mailbox_email.toLowerCase(), entry);
  }
  return byMailbox;
}

export async function markDispatched(tx: Tx, eventIds: number[]): Promise<void> {
  if (eventIds.length > 0) await tx('event_dispatch_outbox').whereIn('event_id', eventIds).delete();
}

export async function markDispatchFailed(tx: Tx, eventIds: number[]): Promise<void> {
  if (eventIds.length === 0) return;
  await tx('event_dispatch_outbox')
    .whereIn('event_id', eventIds)
    .update({
      attempts: tx.raw('attempts + 1'),
      next_attempt_at: tx.raw(`now() + least(interval '5 minutes', interval '5 seconds' * power(2, attempts))`),
    });
}
