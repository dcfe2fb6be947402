/**
 * Mailboxes, domains and campaigns as the read endpoints show them (GET /v1/mailboxes, /v1/domains, /v1/campaigns):
 * plain objects, a page or one entity at a time. Their windows come from the counters (./counters.ts), keyed by
 * the `key` each record carries.
 *
 * Pages are keyset pages in key order: the lower-case email or domain name (the generated `email_key` / `name_key`
 * columns, migrations/004_entity_keys.ts, which row-level security lets the planner use as index conditions, unlike
 * citext comparisons) or Smartlead's campaign id (text order: "10" comes before "9").
 */
import type { Knex } from 'knex';
import type { Tx } from '../tenant';

export const ENTITY_STATES = ['healthy', 'warning', 'paused', 'recovering'] as const;
export type EntityState = (typeof ENTITY_STATES)[number];

/** Most member mailboxes shown per domain or campaign on a list page (the detail shows them all). */
export const MEMBERS_PER_LIST_ITEM = 100;

export interface PageRequest {
  limit: number;
  /** The key of the last entity of the previous page. */
  after?: string | undefined;
  state?: EntityState | undefined;
}

/** An escalation loop stopped the entity's automation (decision 012): only a person resumes it. */
export interface AutomationStop {
  at: Date;
  reason: string;
}

/**
 * What every monitored entity has: its counter key and Drason's health state, as its engine last wrote it
 * (mailboxes: migration 006; campaigns and domains: migration 007).
 */
export interface EntityRecord {
  /** The entity's key in the window counters and the page order. */
  key: string;
  state: EntityState;
  pauseReason: string | null;
  /** ExecutionRiskScore 0–100, as the engine last computed it (0 before its first decision). */
  riskScore: number;
  cooldownUntil: Date | null;
  stateChangedAt: Date | null;
  automationStopped: AutomationStop | null;
}

/** Campaigns and domains also name the mailboxes behind their last decision. */
export interface EscalationRecord extends EntityRecord {
  degradedMailboxes: string[];
}

export interface MailboxRecord extends EntityRecord {
  email: string;
  domain: string;
  deletedExternally: boolean;
}

/** Mailbox emails of a domain or campaign, in key order; `mailboxes` may stop short of `mailboxCount`. */
export interface Members {
  mailboxes: string[];
  mailboxCount: number;
}

export interface DomainRecord extends EscalationRecord, Members {
  domain: string;
}

/** Who holds a campaign paused in Smartlead (campaign_holds, migration 007). */
export interface CampaignHold {
  /** `campaign` (its own engine), `domain:<name>` (a domain's engine), `manual` or `external`. */
  holder: string;
  reason: string;
  since: Date;
  /** The Smartlead pause this hold asked for was confirmed. */
  applied: boolean;
}

export interface CampaignRecord extends EscalationRecord, Members {
  campaignId: string;
  name: string;
  /** Smartlead's status, verbatim. */
  status: string;
  deletedExternally: boolean;
  /** Oldest first; empty when nothing holds it paused. */
  holds: CampaignHold[];
}

/** `q` as one keyset page in `keyColumn` order, optionally of one state. */
function paged(q: Knex.QueryBuilder, keyColumn: string, stateColumn: string, page: PageRequest): Knex.QueryBuilder {
  q.orderBy(keyColumn).limit(page.limit);
  if (page.after !== undefined) q.where(keyColumn, '>', page.after);
  if (page.state !== undefined) q.where(stateColumn, page.state);
  return q;
}

// ---- The engine's columns, the same on mailboxes, campaigns and domains ----

/** The engine's columns of a row (written only by the engines' activities, decisions 011 and 012). */
export interface EngineRow {
  state: EntityState;
  pause_reason: string | null;
  risk_score: number;
  cooldown_until: Date | null;
  state_changed_at: Date | null;
  automation_stopped_at: Date | null;
  automation_stopped_reason: string | null;
}

/** The engine's columns of table (alias) `t`, for a select. */
export const engineColumns = (t: string): string[] =>
  ['state', 'pause_reason', 'risk_score', 'cooldown_until', 'state_changed_at', 'automation_stopped_at', 'automation_stopped_reason'].map((c) => `${t}.${c}`);

/** Campaigns and domains: the engine's columns and the mailboxes behind the last decision. */
export const escalationColumns = (t: string): string[] => [...engineColumns(t), `${t}.degraded_mailboxes`];

export const automationStopOf = (r: Pick<EngineRow, 'automation_stopped_at' | 'automation_stopped_reason'>): AutomationStop | null =>
  r.automation_stopped_at === null ? null : { at: r.automation_stopped_at, reason: r.automation_stopped_reason ?? '' };

export const engineOf = (r: EngineRow): Omit<EntityRecord, 'key'> => ({
  state: r.state,
  pauseReason: r.pause_reason,
  riskScore: r.risk_score,
  cooldownUntil: r.cooldown_until,
  stateChangedAt: r.state_changed_at,
  automationStopped: automationStopOf(r),
});

// ---- Mailboxes ----

interface MailboxRow extends EngineRow {
  key: string;
  email: string;
  domain: string;
  deleted_externally_at: Date | null;
}

const mailboxes = (tx: Tx) =>
  tx('mailboxes as m')
    .join('domains as d', (j) => j.on('d.organization_id', 'm.organization_id').andOn('d.id', 'm.domain_id'))
    .select('m.email_key as key', 'm.email', 'd.name as domain', 'm.deleted_externally_at', ...engineColumns('m'));

const mailboxOf = (r: MailboxRow): MailboxRecord => ({
  key: r.key,
  email: r.email,
  domain: r.domain,
  ...engineOf(r),
  deletedExternally: r.deleted_externally_at !== null,
});

export async function listMailboxes(tx: Tx, page: PageRequest): Promise<MailboxRecord[]> {
  return ((await paged(mailboxes(tx), 'm.email_key', 'm.state', page)) as MailboxRow[]).map(mailboxOf);
}

/** The mailbox with this email, compared case-insensitively. */
export async function getMailbox(tx: Tx, email: string): Promise<MailboxRecord | undefined> {
  const row = (await mailboxes(tx).where('m.email_key', tx.raw('lower(?)', [email])).first()) as MailboxRow | undefined;
  return row === undefined ? undefined : mailboxOf(row);
}

// ---- Members of domains and campaigns: one query for a whole page ----

/**
 * Per owner (domain id or campaign id), how many mailboxes it has and the emails of the first `limit` (all when
 * undefined), in one query. `members` selects (email, key) of one owner's mailboxes, bound to `p.id`.
 */
async function membersOf(tx: Tx, ownerIds: string[], ownerIdType: 'uuid' | 'text', members: string, limit: number | undefined): Promise<Map<string, Members>> {
  const result = new Map<string, Members>();
  if (ownerIds.length === 0) return result;
  const { rows } = await tx.raw<{ rows: { owner: string; count: number; emails: string[] }[] }>(
    `select p.id::text as owner, c.count, coalesce(x.emails, '{}') as emails
       from unnest(?::${ownerIdType}[]) as p(id)
       cross join lateral (select count(*)::int as count from (${members}) all_members) c
       cross join lateral (select array_agg(s.email order by s.key) as emails
                             from (select * from (${members}) some_members order by key limit ?) s) x`,
    [ownerIds, limit ?? null],
  );
  for (const r of rows) result.set(r.owner, { mailboxes: r.emails, mailboxCount: r.count });
  return result;
}

const DOMAIN_MEMBERS = `select m.email::text as email, m.email_key as key from mailboxes m where m.domain_id = p.id`;
const CAMPAIGN_MEMBERS = `select m.email::text as email, m.email_key as key
                            from campaign_mailboxes l join mailboxes m on m.organization_id = l.organization_id and m.id = l.mailbox_id
                           where l.campaign_id = p.id`;

const NO_MEMBERS: Members = { mailboxes: [], mailboxCount: 0 };

// ---- Domains ----

interface EscalationRow extends EngineRow {
  degraded_mailboxes: string[];
}

const escalationOf = (r: EscalationRow): Omit<EscalationRecord, 'key'> => ({ ...engineOf(r), degradedMailboxes: r.degraded_mailboxes });

interface DomainRow extends EscalationRow {
  id: string;
  key: string;
  domain: string;
}

const domains = (tx: Tx) => tx('domains as d').select('d.id', 'd.name_key as key', 'd.name as domain', ...escalationColumns('d'));

async function withDomainMembers(tx: Tx, rows: DomainRow[], limit: number | undefined): Promise<DomainRecord[]> {
  const members = await membersOf(tx, rows.map((r) => r.id), 'uuid', DOMAIN_MEMBERS, limit);
  return rows.map((r) => ({ key: r.key, domain: r.domain, ...escalationOf(r), ...(members.get(r.id) ?? NO_MEMBERS) }));
}

/** A page of domains, each with its first MEMBERS_PER_LIST_ITEM mailboxes. */
export async function listDomains(tx: Tx, page: PageRequest): Promise<DomainRecord[]> {
  return withDomainMembers(tx, (await paged(domains(tx), 'd.name_key', 'd.state', page)) as DomainRow[], MEMBERS_PER_LIST_ITEM);
}

/** The domain with this name (case-insensitive), with all its mailboxes. */
export async function getDomain(tx: Tx, name: string): Promise<DomainRecord | undefined> {
  const row = (await domains(tx).where('d.name_key', tx.raw('lower(?)', [name])).first()) as DomainRow | undefined;
  return row === undefined ? undefined : (await withDomainMembers(tx, [row], undefined))[0];
}

// ---- Campaigns ----

interface CampaignRow extends EscalationRow {
  campaign_id: string;
  name: string;
  status: string;
  deleted_externally_at: Date | null;
}

const campaigns = (tx: Tx) => tx('campaigns as c').select('c.campaign_id', 'c.name', 'c.status', 'c.deleted_externally_at', ...escalationColumns('c'));

/** The holds of these campaigns, oldest first per campaign, in one query. */
export async function holdsOf(tx: Tx, campaignIds: string[]): Promise<Map<string, CampaignHold[]>> {
  const result = new Map<string, CampaignHold[]>();
  if (campaignIds.length === 0) return result;
  const rows = (await tx('campaign_holds')
    .whereIn('campaign_id', campaignIds)
    .orderBy([{ column: 'created_at' }, { column: 'holder' }])
    .select('campaign_id', 'holder', 'reason', 'created_at', 'applied')) as { campaign_id: string; holder: string; reason: string; created_at: Date; applied: boolean }[];
  for (const r of rows) {
    const holds = result.get(r.campaign_id) ?? [];
    holds.push({ holder: r.holder, reason: r.reason, since: r.created_at, applied: r.applied });
    result.set(r.campaign_id, holds);
  }
  return result;
}

async function withCampaignMembers(tx: Tx, rows: CampaignRow[], limit: number | undefined): Promise<CampaignRecord[]> {
  const ids = rows.map((r) => r.campaign_id);
  const members = await membersOf(tx, ids, 'text', CAMPAIGN_MEMBERS, limit);
  const holds = await holdsOf(tx, ids);
  return rows.map((r) => ({
    key: r.campaign_id,
    campaignId: r.campaign_id,
    name: r.name,
    status: r.status,
    ...escalationOf(r),
    deletedExternally: r.deleted_externally_at !== null,
    holds: holds.get(r.campaign_id) ?? [],
    ...(members.get(r.campaign_id) ?? NO_MEMBERS),
  }));
}

/** A page of campaigns (also those deleted in Smartlead, flagged), each with its first MEMBERS_PER_LIST_ITEM mailboxes. */
export async function listCampaigns(tx: Tx, page: PageRequest): Promise<CampaignRecord[]> {
  return withCampaignMembers(tx, (await paged(campaigns(tx), 'c.campaign_id', 'c.state', page)) as CampaignRow[], MEMBERS_PER_LIST_ITEM);
}

/** The campaign with this Smartlead campaign id, with all its mailboxes. */
export async function getCampaign(tx: Tx, campaignId: string): Promise<CampaignRecord | undefined> {
  const row = (await campaigns(tx).where('c.campaign_id', campaignId).first()) as CampaignRow | undefined;
  return row === undefined ? undefined : (await withCampaignMembers(tx, [row], undefined))[0];
}

// ---- Keys ----

export type MonitoredEntityType = 'mailbox' | 'domain' | 'campaign';

/**
 * The key under which commands and counters name this entity (lower-case email, lower-case domain name, Smartlead
 * campaign id), or undefined when the organization has no such entity. Reads one indexed row, no members.
 */
export async function entityKeyOf(tx: Tx, entityType: MonitoredEntityType, id: string): Promise<string | undefined> {
  const row = (await (entityType === 'mailbox'
    ? tx('mailboxes').where('email_key', tx.raw('lower(?)', [id])).first('email_key as key')
    : entityType === 'domain'
      ? tx('domains').where('name_key', tx.raw('lower(?)', [id])).first('name_key as key')
      : tx('campaigns').where('campaign_id', id).first('campaign_id as key'))) as { key: string } | undefined;
  return row?.key;
}
