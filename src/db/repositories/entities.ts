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

/** What every monitored entity has: its counter key and Drason's health state. */
export interface EntityRecord {
  /** The entity's key in the window counters and the page order. */
  key: string;
  state: EntityState;
  pauseReason: string | null;
}

export interface MailboxRecord extends EntityRecord {
  email: string;
  domain: string;
  deletedExternally: boolean;
  /** ExecutionRiskScore 0–100, as the engine last computed it (0 before its first decision). */
  riskScore: number;
  cooldownUntil: Date | null;
}

/** Mailbox emails of a domain or campaign, in key order; `mailboxes` may stop short of `mailboxCount`. */
export interface Members {
  mailboxes: string[];
  mailboxCount: number;
}

export interface DomainRecord extends EntityRecord, Members {
  domain: string;
}

export interface CampaignRecord extends EntityRecord, Members {
  campaignId: string;
  name: string;
  /** Smartlead's status, verbatim. */
  status: string;
  deletedExternally: boolean;
}

/** `q` as one keyset page in `keyColumn` order, optionally of one state. */
function paged(q: Knex.QueryBuilder, keyColumn: string, stateColumn: string, page: PageRequest): Knex.QueryBuilder {
  q.orderBy(keyColumn).limit(page.limit);
  if (page.after !== undefined) q.where(keyColumn, '>', page.after);
  if (page.state !== undefined) q.where(stateColumn, page.state);
  return q;
}

// ---- Mailboxes ----

interface MailboxRow {
  key: string;
  email: string;
  domain: string;
  state: EntityState;
  pause_reason: string | null;
  deleted_externally_at: Date | null;
  risk_score: number;
  cooldown_until: Date | null;
}

// state, pause_reason, risk_score and cooldown_until are the engine's (written by its activity, decision 011).
const mailboxes = (tx: Tx) =>
  tx('mailboxes as m')
    .join('domains as d', (j) => j.on('d.organization_id', 'm.organization_id').andOn('d.id', 'm.domain_id'))
    .select('m.email_key as key', 'm.email', 'd.name as domain', 'm.state', 'm.pause_reason', 'm.deleted_externally_at', 'm.risk_score', 'm.cooldown_until');

const mailboxOf = (r: MailboxRow): MailboxRecord => ({
  key: r.key,
  email: r.email,
  domain: r.domain,
  state: r.state,
  pauseReason: r.pause_reason,
  deletedExternally: r.deleted_externally_at !== null,
  riskScore: r.risk_score,
  cooldownUntil: r.cooldown_until,
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

interface DomainRow {
  id: string;
  key: string;
  domain: string;
  state: EntityState;
  pause_reason: string | null;
}

const domains = (tx: Tx) => tx('domains').select('id', 'name_key as key', 'name as domain', 'state', 'pause_reason');

async function withDomainMembers(tx: Tx, rows: DomainRow[], limit: number | undefined): Promise<DomainRecord[]> {
  const members = await membersOf(tx, rows.map((r) => r.id), 'uuid', DOMAIN_MEMBERS, limit);
  return rows.map((r) => ({ key: r.key, domain: r.domain, state: r.state, pauseReason: r.pause_reason, ...(members.get(r.id) ?? NO_MEMBERS) }));
}

/** A page of domains, each with its first MEMBERS_PER_LIST_ITEM mailboxes. */
export async function listDomains(tx: Tx, page: PageRequest): Promise<DomainRecord[]> {
  return withDomainMembers(tx, (await paged(domains(tx), 'name_key', 'state', page)) as DomainRow[], MEMBERS_PER_LIST_ITEM);
}

/** The domain with this name (case-insensitive), with all its mailboxes. */
export async function getDomain(tx: Tx, name: string): Promise<DomainRecord | undefined> {
  const row = (await domains(tx).where('name_key', tx.raw('lower(?)', [name])).first()) as DomainRow | undefined;
  return row === undefined ? undefined : (await withDomainMembers(tx, [row], undefined))[0];
}

// ---- Campaigns ----

interface CampaignRow {
  campaign_id: string;
  name: string;
  status: string;
  state: EntityState;
  pause_reason: string | null;
  deleted_externally_at: Date | null;
}

const campaigns = (tx: Tx) => tx('campaigns').select('campaign_id', 'name', 'status', 'state', 'pause_reason', 'deleted_externally_at');

async function withCampaignMembers(tx: Tx, rows: CampaignRow[], limit: number | undefined): Promise<CampaignRecord[]> {
  const members = await membersOf(tx, rows.map((r) => r.campaign_id), 'text', CAMPAIGN_MEMBERS, limit);
  return rows.map((r) => ({
    key: r.campaign_id,
    campaignId: r.campaign_id,
    name: r.name,
    status: r.status,
    state: r.state,
    pauseReason: r.pause_reason,
    deletedExternally: r.deleted_externally_at !== null,
    ...(members.get(r.campaign_id) ?? NO_MEMBERS),
  }));
}

/** A page of campaigns (also those deleted in Smartlead, flagged), each with its first MEMBERS_PER_LIST_ITEM mailboxes. */
export async function listCampaigns(tx: Tx, page: PageRequest): Promise<CampaignRecord[]> {
  return withCampaignMembers(tx, (await paged(campaigns(tx), 'campaign_id', 'state', page)) as CampaignRow[], MEMBERS_PER_LIST_ITEM);
}

/** The campaign with this Smartlead campaign id, with all its mailboxes. */
export async function getCampaign(tx: Tx, campaignId: string): Promise<CampaignRecord | undefined> {
  const row = (await campaigns(tx).where('campaign_id', campaignId).first()) as CampaignRow | undefined;
  return row === undefined ? undefined : (await withCampaignMembers(tx, [row], undefined))[0];
}
