/**
 * The organization at a glance: lead counts, what is paused (each with what its engine last decided, in the shape
 * of the entity reads, ./entities.ts), whose automation an escalation loop stopped, and what needs a person's
 * attention.
 */
import { quarantinedSources } from './sources';
import type { Tx } from '../tenant';
import {
  engineColumns,
  engineOf,
  escalationColumns,
  holdsOf,
  type CampaignHold,
  type EngineRow,
  type EntityRecord,
  type MonitoredEntityType,
} from './entities';

/** What a paused entity shows, whatever its kind. */
export type PausedEntity = Omit<EntityRecord, 'key'>;

export interface AutomationStopped {
  entityType: MonitoredEntityType;
  /** Lower-case email, lower-case domain name or Smartlead campaign id. */
  entityId: string;
  at: Date;
  reason: string;
}

export interface Overview {
  leads: { held: number; active: number; paused: number; completed: number };
  unrouted: number;
  /** Why held leads wait: the most common reasons, per campaign (null: unrouted), most leads first (at most 20). */
  heldReasons: { campaignId: string | null; reason: string; leads: number }[];
  /** Sources (routing rules) quarantined for list quality: their new leads are held until a person releases them. */
  quarantinedSources: { source: string; reason: string; since: Date }[];
  pausedDomains: (PausedEntity & { domain: string; degradedMailboxes: string[] })[];
  pausedMailboxes: (PausedEntity & { email: string })[];
  /** Paused by Drason, or paused in Smartlead (status PAUSED) whatever Drason's state. */
  pausedCampaigns: (PausedEntity & { campaignId: string; name: string; status: string; degradedMailboxes: string[]; holds: CampaignHold[] })[];
  /** Mailboxes, campaigns and domains an escalation loop stopped automation of, most recent first. */
  automationStopped: AutomationStopped[];
  integrations: { smartlead: { status: 'configured' | 'broken' | 'not_configured'; brokenReason: string | null } };
  /** Plain-English problems a person should act on. */
  attention: string[];
}

export async function readOverview(tx: Tx): Promise<Overview> {
  const counts = (await tx('leads').select('status').count<{ status: string; count: number }[]>('* as count').groupBy('status')) as { status: string; count: number }[];
  const leads = { held: 0, active: 0, paused: 0, completed: 0 };
  for (const c of counts) if (c.status in leads) leads[c.status as keyof typeof leads] = Number(c.count);
  const unrouted = Number(((await tx('leads').where({ status: 'held' }).whereNull('assigned_campaign_id').count('* as n').first()) as { n: number }).n);
  const heldReasons = (
    (await tx('leads')
      .where({ status: 'held' })
      .groupBy('assigned_campaign_id', 'hold_reason')
      .select('assigned_campaign_id', 'hold_reason')
      .count({ leads: '*' })
      .orderBy([{ column: 'leads', order: 'desc' }, { column: 'assigned_campaign_id' }])
      .limit(20)) as { assigned_campaign_id: string | null; hold_reason: string | null; leads: string | number }[]
  ).map((r) => ({ campaignId: r.assigned_campaign_id, reason: r.hold_reason ?? 'held', leads: Number(r.leads) }));
  const quarantined = [...(await quarantinedSources(tx))].map(([source, q]) => ({ source, ...q }));
  type Escalation = EngineRow & { degraded_mailboxes: string[] };
  const domainRows = (await tx('domains as d').where('d.state', 'paused').orderBy('d.name').select('d.name', ...escalationColumns('d'))) as (Escalation & { name: string })[];
  const pausedDomains = domainRows.map((r) => ({ domain: r.name, ...engineOf(r), degradedMailboxes: r.degraded_mailboxes }));
  const mailboxRows = (await tx('mailboxes as m').where('m.state', 'paused').orderBy('m.email').select('m.email', ...engineColumns('m'))) as (EngineRow & { email: string })[];
  const pausedMailboxes = mailboxRows.map((r) => ({ email: r.email, ...engineOf(r) }));
  const campaignRows = (await tx('campaigns as c')
    .where((q) => q.where('c.state', 'paused').orWhere('c.status', 'PAUSED'))
    .whereNull('c.deleted_externally_at')
    .orderBy('c.campaign_id')
    .select('c.campaign_id', 'c.name', 'c.status', ...escalationColumns('c'))) as (Escalation & { campaign_id: string; name: string; status: string })[];
  const holds = await holdsOf(tx, campaignRows.map((r) => r.campaign_id));
  const pausedCampaigns = campaignRows.map((r) => ({
    campaignId: r.campaign_id,
    name: r.name,
    status: r.status,
    ...engineOf(r),
    degradedMailboxes: r.degraded_mailboxes,
    holds: holds.get(r.campaign_id) ?? [],
  }));
  const automationStopped = await readAutomationStops(tx);

  const credentials = (await tx('integration_credentials').where({ provider: 'smartlead' }).first('status', 'broken_reason')) as
    | { status: 'configured' | 'broken'; broken_reason: string | null }
    | undefined;
  const smartlead = credentials === undefined ? { status: 'not_configured' as const, brokenReason: null } : { status: credentials.status, brokenReason: credentials.broken_reason };

  const attention: string[] = [];
  if (smartlead.status === 'broken') attention.push(`Smartlead integration is broken: ${smartlead.brokenReason ?? 'unknown reason'}`);
  if (smartlead.status === 'not_configured') attention.push('Smartlead is not configured yet: no lead can be pushed until an API key is saved.');
  const deletedCampaigns = (await tx('campaigns').whereNotNull('deleted_externally_at').orderBy('campaign_id').select('campaign_id', 'name')) as { campaign_id: string; name: string }[];
  for (const c of deletedCampaigns) attention.push(`Campaign "${c.name}" (${c.campaign_id}) was deleted in Smartlead; leads routed to it stay held.`);
  const removedMailboxes = (await tx('mailboxes').whereNotNull('deleted_externally_at').orderBy('email').select('email')) as { email: string }[];
  for (const m of removedMailboxes) attention.push(`Mailbox ${m.email} was removed from Smartlead and no longer counts as a sender.`);
  if (unrouted > 0) attention.push(`${unrouted} held lead${unrouted === 1 ? '' : 's'} match no routing rule.`);
  for (const q of quarantined) {
    attention.push(`Routing rule '${q.source}' is quarantined for list quality (${q.reason}): its new leads are held until a person releases it (POST /v1/sources/${encodeURIComponent(q.source)}/release).`);
  }
  for (const s of automationStopped) {
    attention.push(`Automation is stopped for ${s.entityType} ${s.entityId}: ${s.reason || 'an escalation loop was detected'}. Drason will not act on it again until a person overrides it.`);
  }

  return { leads, unrouted, heldReasons, quarantinedSources: quarantined, pausedDomains, pausedMailboxes, pausedCampaigns, automationStopped, integrations: { smartlead }, attention };
}

/** Every mailbox, campaign and domain whose automation an escalation loop stopped, most recent first. */
async function readAutomationStops(tx: Tx): Promise<AutomationStopped[]> {
  const { rows } = await tx.raw<{ rows: { entity_type: MonitoredEntityType; entity_id: string; automation_stopped_at: Date; automation_stopped_reason: string | null }[] }>(
    `select 'mailbox' as entity_type, email_key as entity_id, automation_stopped_at, automation_stopped_reason from mailboxes where automation_stopped_at is not null
     union all
     select 'campaign', campaign_id, automation_stopped_at, automation_stopped_reason from campaigns where automation_stopped_at is not null
     union all
     select 'domain', name_key, automation_stopped_at, automation_stopped_reason from domains where automation_stopped_at is not null
     order by automation_stopped_at desc, entity_type, entity_id`,
  );
  return rows.map((r) => ({ entityType: r.entity_type, entityId: r.entity_id, at: r.automation_stopped_at, reason: r.automation_stopped_reason ?? '' }));
}
