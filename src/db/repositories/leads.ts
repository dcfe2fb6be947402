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
import { enqueueLeadsChanged } from './commands';
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
  /** The routing rule that routed it (its source). */
  routingRule: string | null;
  routingVersion: number | null;
  pushedAt: Date | null;
  pushStatus: string | null;
  /** Smartlead refused it for good: the gate no longer offers it. */
  pushRefusedAt: Date | null;
  /** Every mailbox, campaign or domain holding it paused (`mailbox:<email>`, …). */
  pausedBy: string[];
  completedAt: Date | null;
  completedReason: string | null;
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
  routing_rule: string | null;
  routing_version: number | null;
  pushed_at: Date | null;
  push_status: string | null;
  push_refused_at: Date | null;
  paused_by: string[];
  completed_at: Date | null;
  completed_reason: string | null;
  created_at: Date;
  position: string;
}

const COLUMNS = [
  'id',
  'email',
  'persona',
  'lead_score',
  'status',
  'health_state',
  'assigned_campaign_id',
  'hold_reason',
  'routing_rule',
  'routing_version',
  'pushed_at',
  'push_status',
  'push_refused_at',
  'paused_by',
  'completed_at',
  'completed_reason',
  'created_at',
];

const toRecord = (r: LeadRow): LeadRecord => ({
  id: r.id,
  email: r.email,
  persona: r.persona,
  leadScore: r.lead_score,
  status: r.status,
  healthState: r.health_state,
  assignedCampaignId: r.assigned_campaign_id,
  holdReason: r.hold_reason,
  routingRule: r.routing_rule,
  routingVersion: r.routing_version,
  pushedAt: r.pushed_at,
  pushStatus: r.push_status,
  pushRefusedAt: r.push_refused_at,
  pausedBy: r.paused_by,
  completedAt: r.completed_at,
  completedReason: r.completed_reason,
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
  const routing = await routeLead(tx, { leadId, email: lead.normalizedEmail, persona: lead.persona, leadScore: lead.leadScore }, await readVersionedRules(tx));
  const base = { organizationId, entityType: 'lead' as const, entityId: leadId, actor, engineVersion: ENGINE_VERSION };
  await appendAudit(tx, {
    ...base,
    action: 'lead_ingested',
    trigger: { signals: ['clay'], metric: 'idempotencyKey', observed: identity.key },
    message:
      routing.campaignId === undefined
        ? `${who} was received from Clay and is held: ${routing.holdReason}.`
        : `${who} was received from Clay and is held for campaign ${routing.campaignId} (${routing.explanation}), ${AWAITING_GATE}.`,
  });
  if (routing.campaignId === undefined) {
    await appendAudit(tx, {
      ...base,
      action: 'lead_unrouted',
      trigger: { signals: routing.misses },
      message: `${who} matches no campaign it can join and stays held: ${routing.holdReason}.`,
    });
  } else {
    // The campaign's lead push workflow takes it from here (delivered by the relay; the caller pokes it).
    await enqueueLeadsChanged(tx, organizationId, [routing.campaignId], 'leads_routed', actor);
  }
  return { leadId, status: 'held', duplicate: false };
}

/** The organization's routing rules with their version (0 before the first change). */
async function readVersionedRules(tx: Tx): Promise<{ version: number; rules: RoutingRule[] }> {
  const latest = (await tx('routing_rule_versions').max({ version: 'version' }).first()) as { version: number | null } | undefined;
  return { version: latest?.version ?? 0, rules: await readRoutingRules(tx) };
}

interface RoutingOutcome {
  /** Set when the lead was assigned to a campaign. */
  campaignId?: string;
  explanation: string;
  holdReason: string;
  /** Why each rule missed (audit trigger) when unrouted. */
  misses: string[];
}

/**
 * Routes one held, unassigned lead with the given rules: assigns its campaign and the rule (its source) and version,
 * or records why it stays held. The same address already in the matched campaign stays held with that reason.
 */
async function routeLead(
  tx: Tx,
  lead: { leadId: string; email: string; persona: string; leadScore: number },
  versioned: { version: number; rules: RoutingRule[] },
): Promise<RoutingOutcome> {
  const routed = route(lead, versioned.rules);
  if (!routed.matched) {
    await tx('leads').where({ id: lead.leadId }).update({ hold_reason: routed.reason, updated_at: tx.fn.now() });
    return { explanation: routed.reason, holdReason: routed.reason, misses: routed.misses };
  }
  try {
    // A savepoint: the same address already in this campaign (another external_id) must not abort the transaction.
    await tx.transaction((sp) =>
      sp('leads')
        .where({ id: lead.leadId })
        .update({ assigned_campaign_id: routed.campaignId, hold_reason: AWAITING_GATE, routing_rule: routed.rule.name, routing_version: versioned.version, updated_at: sp.fn.now() }),
    );
    return { campaignId: routed.campaignId, explanation: routed.explanation, holdReason: AWAITING_GATE, misses: [] };
  } catch (error) {
    if (!isUniqueViolation(error, 'leads_one_per_campaign')) throw error;
    const holdReason = `${routed.explanation}, but ${lead.email} is already a lead of campaign ${routed.campaignId} (one lead per campaign); fix the Clay row's external_id or the routing rules`;
    await tx('leads').where({ id: lead.leadId }).update({ hold_reason: holdReason, updated_at: tx.fn.now() });
    return { explanation: routed.explanation, holdReason, misses: ['one_lead_per_campaign'] };
  }
}

/** Leads re-routed per page of `rerouteHeldLeads`. */
const REROUTE_PAGE = 1000;

/**
 * After a routing change: every held lead no rule matched so far (no campaign, not refused for good) is routed again
 * with the new rules, oldest first, in the caller's transaction (so the change and its effect commit together).
 * Leads with a campaign — held for the gate, active, paused — never move. Each newly routed lead is audited, and its
 * campaign's lead push workflow told (`rule_added`). Returns how many were routed, per campaign.
 */
export async function rerouteHeldLeads(tx: Tx, organizationId: string, actor: string): Promise<{ routed: number; campaigns: string[] }> {
  const versioned = await readVersionedRules(tx);
  const campaigns = new Set<string>();
  let routed = 0;
  if (versioned.rules.length === 0) return { routed, campaigns: [] };
  let after: { created_at: Date; id: string } | undefined;
  for (;;) {
    const q = tx('leads')
      .where({ status: 'held' })
      .whereNull('assigned_campaign_id')
      .whereNull('push_refused_at')
      .orderBy([{ column: 'created_at' }, { column: 'id' }])
      .limit(REROUTE_PAGE)
      .select('id', 'email', 'persona', 'lead_score', 'created_at');
    if (after !== undefined) q.whereRaw('(created_at, id) > (?, ?::uuid)', [after.created_at, after.id]);
    const page = (await q) as { id: string; email: string; persona: string; lead_score: number; created_at: Date }[];
    for (const row of page) {
      const outcome = await routeLead(tx, { leadId: row.id, email: row.email, persona: row.persona, leadScore: row.lead_score }, versioned);
      if (outcome.campaignId === undefined) continue;
      routed += 1;
      campaigns.add(outcome.campaignId);
      await appendAudit(tx, {
        organizationId,
        entityType: 'lead',
        entityId: row.id,
        action: 'lead_routed',
        actor,
        engineVersion: ENGINE_VERSION,
        trigger: { signals: ['routing_rules'], observed: versioned.version },
        message: `Lead ${row.email} (persona ${row.persona}, score ${row.lead_score}), held because no rule matched, is now held for campaign ${outcome.campaignId} by routing rules version ${versioned.version} (${outcome.explanation}), ${AWAITING_GATE}.`,
      });
    }
    if (page.length < REROUTE_PAGE) break;
    const last = page[page.length - 1]!;
    after = { created_at: last.created_at, id: last.id };
  }
  await enqueueLeadsChanged(tx, organizationId, campaigns, 'rule_added', actor);
  return { routed, campaigns: [...campaigns] };
}

/** Every campaign with held leads waiting for the gate (told when something all of them depend on changes, e.g. the mode). */
export async function campaignsWithHeldLeads(tx: Tx): Promise<string[]> {
  const rows = (await tx('leads').where({ status: 'held' }).whereNotNull('assigned_campaign_id').whereNull('push_refused_at').distinct('assigned_campaign_id')) as {
    assigned_campaign_id: string;
  }[];
  return rows.map((r) => r.assigned_campaign_id);
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
