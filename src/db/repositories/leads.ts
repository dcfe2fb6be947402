/**
 * Leads from Clay (API.md "Ingestion" and "Entities"). One accepted Clay row is one transaction: the raw
 * LeadIngested event first (the event store, source `clay`, keyed like the lead), then the lead, held and healthy,
 * then its routing with the organization's ordered rules (src/domain/routing.ts) and the audit rows.
 *
 * Idempotency per (organization, external_id, else normalized email) rests on the unique indexes of
 * migrations/002_tenancy.ts: the event insert and the lead insert are both `on conflict do nothing`, so concurrent
 * copies of one row wait on the first one's uncommitted index entry and then find it; the repeat is answered with
 * the first one's lead id and adds nothing (no event, no audit row, no change to the lead).
 */
import type { Tx } from '../tenant';
import { appendAudit } from './audit';
import { storeEvents } from './events';
import { leadIdempotencyKey, type ClayLead } from '../../domain/clayLead';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { route, type RoutingRule } from '../../domain/routing';

export const LEAD_STATUSES = ['held', 'active', 'paused', 'completed'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/** The hold reason of a routed lead until the execution gate decides. */
export const AWAITING_GATE = 'awaiting the execution gate';

export interface LeadRecord {
  id: string;
  email: string;
  persona: string;
  leadScore: number;
  status: LeadStatus;
  healthState: string;
  assignedCampaignId: string | null;
  holdReason: string | null;
  createdAt: Date;
  /** created_at as PostgreSQL prints it (microseconds and offset): the exact keyset position. */
  position: string;
}

interface LeadRow {
  id: string;
  email: string;
  persona: string;
  lead_score: number;
  status: LeadStatus;
  health_state: string;
  assigned_campaign_id: string | null;
  hold_reason: string | null;
  created_at: Date;
  position: string;
}

const COLUMNS = ['id', 'email', 'persona', 'lead_score', 'status', 'health_state', 'assigned_campaign_id', 'hold_reason', 'created_at'];

const toRecord = (r: LeadRow): LeadRecord => ({
  id: r.id,
  email: r.email,
  persona: r.persona,
  leadScore: r.lead_score,
  status: r.status,
  healthState: r.health_state,
  assignedCampaignId: r.assigned_campaign_id,
  holdReason: r.hold_reason,
  createdAt: r.created_at,
  position: r.position,
});

/** The organization's routing rules in order (the rows PUT /v1/routing-rules writes). */
export async function readRoutingRules(tx: Tx): Promise<RoutingRule[]> {
  const rows = (await tx('routing_rules').orderBy('position').select('name', 'when', 'campaign_id')) as { name: string; when: RoutingRule['when']; campaign_id: string }[];
  return rows.map((r) => ({ name: r.name, when: r.when, campaignId: r.campaign_id }));
}

export interface ClayIngestion {
  organizationId: string;
  lead: ClayLead;
  /** The body exactly as received (every Clay column). */
  raw: Record<string, unknown>;
  /** How the audit log names the caller. */
  actor: string;
  receivedAt: Date;
}

export interface IngestedLead {
  leadId: string;
  status: LeadStatus;
  duplicate: boolean;
}

const isUniqueViolation = (error: unknown, constraint: string): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505' && (error as { constraint?: unknown }).constraint === constraint;

/** Stores, creates and routes one accepted Clay row; a repeat of its key answers with the existing lead. Run inside withTenant. */
export async function ingestClayLead(tx: Tx, input: ClayIngestion): Promise<IngestedLead> {
  const { organizationId, lead, raw, actor } = input;
  const identity = leadIdempotencyKey(lead);
  // The raw event, before any processing.
  await storeEvents(tx, organizationId, [
    { idempotencyKey: identity.key, type: 'LeadIngested', source: 'clay', occurredAt: input.receivedAt, leadEmail: lead.normalizedEmail, detail: raw },
  ]);

  const inserted = (await tx.raw<{ rows: { id: string }[] }>(
    `insert into leads (organization_id, email, external_id, persona, lead_score, source, status, health_state, hold_reason, raw)
     values (?, ?, ?, ?, ?, 'clay', 'held', 'healthy', 'routing', ?::jsonb)
     on conflict do nothing
     returning id`,
    [organizationId, lead.normalizedEmail, lead.externalId ?? null, lead.persona, lead.leadScore, JSON.stringify(raw)],
  )).rows[0];
  if (inserted === undefined) {
    const existing = (await (lead.externalId === undefined
      ? tx('leads').where({ email: lead.normalizedEmail }).whereNull('external_id')
      : tx('leads').where({ external_id: lead.externalId })
    ).first('id', 'status')) as { id: string; status: LeadStatus } | undefined;
    // Unreachable while the unique indexes stand: a conflict means the row exists and is visible once its writer committed.
    if (existing === undefined) throw new Error(`lead ${identity.key} conflicted but cannot be read back`);
    return { leadId: existing.id, status: existing.status, duplicate: true };
  }

  const leadId = inserted.id;
  const who = `Lead ${lead.normalizedEmail} (persona ${lead.persona}, score ${lead.leadScore}${lead.externalId === undefined ? '' : `, external_id ${lead.externalId}`})`;
  const routed = route(lead, await readRoutingRules(tx));
  let holdReason: string;
  let routedTo: string | undefined;
  if (routed.matched) {
    try {
      // A savepoint: the same address already in this campaign (another external_id) must not abort the transaction.
      await tx.transaction((sp) => sp('leads').where({ id: leadId }).update({ assigned_campaign_id: routed.campaignId, hold_reason: AWAITING_GATE }));
      holdReason = AWAITING_GATE;
      routedTo = routed.campaignId;
    } catch (error) {
      if (!isUniqueViolation(error, 'leads_one_per_campaign')) throw error;
      holdReason = `${routed.explanation}, but ${lead.normalizedEmail} is already a lead of campaign ${routed.campaignId} (one lead per campaign); fix the Clay row's external_id or the routing rules`;
      await tx('leads').where({ id: leadId }).update({ hold_reason: holdReason });
    }
  } else {
    holdReason = routed.reason;
    await tx('leads').where({ id: leadId }).update({ hold_reason: holdReason });
  }

  const base = { organizationId, entityType: 'lead' as const, entityId: leadId, actor, engineVersion: ENGINE_VERSION };
  await appendAudit(tx, {
    ...base,
    action: 'lead_ingested',
    trigger: { signals: ['clay'], metric: 'idempotencyKey', observed: identity.key },
    message:
      routedTo === undefined
        ? `${who} was received from Clay and is held: ${holdReason}.`
        : `${who} was received from Clay and is held for campaign ${routedTo} (${routed.matched ? routed.explanation : ''}), ${AWAITING_GATE}.`,
  });
  if (routedTo === undefined) {
    await appendAudit(tx, {
      ...base,
      action: 'lead_unrouted',
      trigger: { signals: routed.matched ? ['one_lead_per_campaign'] : routed.misses },
      message: `${who} matches no campaign it can join and stays held: ${holdReason}.`,
    });
  }
  return { leadId, status: 'held', duplicate: false };
}

export interface LeadFilter {
  status?: LeadStatus | undefined;
  campaignId?: string | undefined;
  /** Exclusive keyset position (newest first). */
  after?: { position: string; id: string } | undefined;
  limit: number;
}

/** Newest first, keyset-paged on (created_at, id). */
export async function listLeads(tx: Tx, filter: LeadFilter): Promise<LeadRecord[]> {
  const q = tx('leads')
    .select(...COLUMNS, tx.raw('created_at::text as position'))
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(filter.limit);
  if (filter.status !== undefined) q.where({ status: filter.status });
  if (filter.campaignId !== undefined) q.where({ assigned_campaign_id: filter.campaignId });
  if (filter.after !== undefined) q.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [filter.after.position, filter.after.id]);
  return ((await q) as LeadRow[]).map(toRecord);
}

/** One lead of the current organization (row-level security hides the others'). */
export async function getLead(tx: Tx, id: string): Promise<LeadRecord | undefined> {
  const row = (await tx('leads').where({ id }).first(...COLUMNS, tx.raw('created_at::text as position'))) as LeadRow | undefined;
  return row === undefined ? undefined : toRecord(row);
}
