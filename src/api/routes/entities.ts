/**
 * GET /v1/mailboxes, /v1/domains, /v1/campaigns and their details (viewer): each entity's stored state with its
 * rolling 1h / 24h / 7d windows and velocity. A page's windows are read with one counters query for the whole page
 * (src/db/repositories/counters.ts) and summarised by src/domain/rollingWindows.ts.
 *
 * All three show what their engine last decided (decisions 011 and 012): risk score, pause reason, cooldown, when
 * the state changed, whether an escalation loop stopped automation, and their workflow. Campaigns and domains also
 * name the mailboxes behind the last decision, and campaigns who holds them paused in Smartlead.
 */
import { z } from 'zod';
import { readBuckets, type CounterEntityType } from '../../db/repositories/counters';
import {
  ENTITY_STATES,
  getCampaign,
  getDomain,
  getMailbox,
  listCampaigns,
  listDomains,
  listMailboxes,
  MEMBERS_PER_LIST_ITEM,
  type AutomationStop,
  type CampaignHold,
  type CampaignRecord,
  type DomainRecord,
  type EntityRecord,
  type EscalationRecord,
  type MailboxRecord,
  type PageRequest,
} from '../../db/repositories/entities';
import { withTenant, type Tx } from '../../db/tenant';
import { summarizeWindows, type WindowCounts, type WindowSummary } from '../../domain/rollingWindows';
import { NotFoundError } from '../../lib/errors';
import { campaignWorkflowId, domainWorkflowId, mailboxWorkflowId } from '../../workflows/ids';
import { authOf } from '../auth';
import type { ApiDeps } from '../deps';
import { decodeCursor, limitSchema, pageOf } from '../pagination';
import type { Routes } from '../route';

// ---- Schemas ----

const WindowCountsSchema = z
  .object({
    sent: z.number().int(),
    hardBounces: z.number().int(),
    failures: z.number().int(),
    reputationBlocks: z.number().int().describe('Of the failures, those where the receiver refused this sender (5.7.x, "blocked", blocklists).'),
  })
  .openapi('WindowCounts');
const hardBounceRate = z.number().describe('Hard bounces per send (0 when nothing was sent).');
const failureRate = z.number().describe('Delivery failures per send.');
const RatesSchema = z
  .object({ hardBounceRate, failureRate, reputationRate: z.number().describe('Reputation blocks per send.') })
  .openapi('Rates');
const VelocitySchema = z.object({ hardBounceRate, failureRate }).openapi('Velocity');
const byWindow = <T extends z.ZodType>(schema: T) => z.object({ '1h': schema, '24h': schema, '7d': schema });

const isoOrNull = (description: string) => z.string().nullable().describe(description);

export const AutomationStoppedSchema = z
  .object({
    at: z.string().describe('When an escalation loop stopped automation (ISO-8601).'),
    reason: z.string().describe('Why, in words: the loop it detected.'),
  })
  .openapi('AutomationStopped');

/** What the engine last decided about an entity: the same fields on mailboxes, campaigns and domains. */
export const engineFields = {
  state: z.enum(ENTITY_STATES).describe("Drason's health state (stored; healthy until the monitoring engine judges otherwise)."),
  riskScore: z.number().int().min(0).max(100).describe('ExecutionRiskScore 0–100 (not a spam probability); 0 until the engine first judges the entity.'),
  pauseReason: z.string().nullable().describe('Why it is paused or warned, in words; null when healthy.'),
  cooldownUntil: isoOrNull('When the current cooldown ends (ISO-8601); null when none is running.'),
  stateChangedAt: isoOrNull('When the engine last changed the state (ISO-8601); null before its first change.'),
  automationStopped: AutomationStoppedSchema.nullable().describe(
    'Set when an escalation loop made Drason stop acting on this entity on its own: it stays as it is until a person overrides it. Null otherwise.',
  ),
};
/** Campaigns and domains: the mailboxes their engine judged. */
export const degradedMailboxes = z
  .array(z.string())
  .describe('The mailboxes (lower-case emails) behind the last decision: those degraded when it paused, warned or resumed; empty before any.');

/** What every monitored entity shows: Drason's health state and its windows. */
const healthFields = {
  ...engineFields,
  windows: byWindow(WindowCountsSchema).describe('Sends, hard bounces, delivery failures and reputation blocks in the rolling windows ending now.').openapi('Windows'),
  rates: byWindow(RatesSchema).describe('The rates of each window.'),
  velocity: VelocitySchema.describe('The 1h rate minus the 24h rate: positive means getting worse.'),
};
export const workflowFields = {
  workflowId: z.string().describe("The id of the entity's Temporal workflow."),
  temporalUrl: z.string().nullable().describe('A link to that workflow in the Temporal Web UI; null when no Web UI address is configured.'),
};
const members = {
  mailboxes: z.array(z.string()).describe(`Mailbox emails in order; on list pages only the first ${MEMBERS_PER_LIST_ITEM} (see mailboxCount).`),
  mailboxCount: z.number().int().describe('How many mailboxes there are in all.'),
};
const CampaignHoldSchema = z
  .object({
    holder: z
      .string()
      .describe(
        "Who holds it: `campaign` (its own engine), `domain:<name>` (that domain's engine), `manual` (an operator) or `external` (already paused in Smartlead when Drason first paused it: Drason never starts it).",
      ),
    reason: z.string().describe('Why, in words.'),
    since: z.string().describe('When the hold was taken (ISO-8601).'),
    applied: z.boolean().describe('Smartlead confirmed the pause this hold asked for.'),
  })
  .openapi('CampaignHold');
export const campaignHolds = z
  .array(CampaignHoldSchema)
  .describe('Who holds the campaign paused in Smartlead, oldest first: it runs again only when the last hold is released. Empty when none.');

const MailboxSchema = z
  .object({
    email: z.string(),
    domain: z.string(),
    ...healthFields,
    deletedExternally: z.boolean().describe('Removed from Smartlead: no longer counts as a sender.'),
    ...workflowFields,
  })
  .openapi('Mailbox');
const DomainSchema = z.object({ domain: z.string(), ...healthFields, degradedMailboxes, ...members, ...workflowFields }).openapi('Domain');
const CampaignSchema = z
  .object({
    campaignId: z.string().describe("Smartlead's campaign id."),
    name: z.string(),
    status: z.string().describe("Smartlead's status, verbatim (ACTIVE, PAUSED, …)."),
    ...healthFields,
    degradedMailboxes,
    holds: campaignHolds,
    ...members,
    deletedExternally: z.boolean().describe('Deleted in Smartlead: leads routed to it stay held.'),
    ...workflowFields,
  })
  .openapi('Campaign');
const pageSchema = (item: z.ZodType, name: string) => z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);

const ListQuery = z.object({
  limit: limitSchema,
  cursor: z.string().max(1000).optional().describe('nextCursor of the previous page.'),
  state: z.enum(ENTITY_STATES).optional().describe('Only entities in this state.'),
});

// ---- Reading ----

type Summarized<R> = R & WindowSummary;

interface EntityReader<R extends EntityRecord> {
  counters: CounterEntityType;
  list(tx: Tx, page: PageRequest): Promise<R[]>;
}

/** One page of entities with their windows: the page, then one counters read for all of its keys. */
async function readPage<R extends EntityRecord>(
  deps: ApiDeps,
  organizationId: string,
  reader: EntityReader<R>,
  query: z.infer<typeof ListQuery>,
): Promise<{ items: Summarized<R>[]; nextCursor: string | null }> {
  // A cursor names the list it came from, so another list's cursor is refused rather than misread.
  const cursor = decodeCursor(query.cursor, z.object({ of: z.literal(reader.counters), after: z.string().min(1).max(400) }));
  const now = Date.now();
  const { rows, buckets } = await withTenant(deps.db, organizationId, async (tx) => {
    const rows = await reader.list(tx, { limit: query.limit + 1, after: cursor?.after, state: query.state });
    const keys = rows.slice(0, query.limit).map((r) => r.key);
    return { rows, buckets: await readBuckets(tx, reader.counters, keys, now) };
  });
  const page = pageOf(rows, query.limit, (last) => ({ of: reader.counters, after: last.key }));
  return { items: page.items.map((r) => ({ ...r, ...summarizeWindows({ buckets: buckets.get(r.key) ?? [] }, now) })), nextCursor: page.nextCursor };
}

/** One entity with its windows, or a 404 (another organization's entity is invisible, so it is "not found" too). */
async function readOne<R extends EntityRecord>(
  deps: ApiDeps,
  organizationId: string,
  counters: CounterEntityType,
  find: (tx: Tx) => Promise<R | undefined>,
  notFound: string,
): Promise<Summarized<R>> {
  const now = Date.now();
  const found = await withTenant(deps.db, organizationId, async (tx) => {
    const record = await find(tx);
    return record === undefined ? undefined : { record, buckets: await readBuckets(tx, counters, [record.key], now) };
  });
  if (found === undefined) throw new NotFoundError(notFound);
  return { ...found.record, ...summarizeWindows({ buckets: found.buckets.get(found.record.key) ?? [] }, now) };
}

// ---- Responses ----

/** The workflow's page in the Temporal Web UI, or null when no Web UI address is known. */
function temporalUrlOf(deps: ApiDeps, workflowId: string): string | null {
  const base = deps.temporalUiUrl?.replace(/\/+$/, '');
  if (base === undefined || base === '') return null;
  return `${base}/namespaces/${encodeURIComponent(deps.temporal.options.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

const counts = (w: WindowCounts): z.infer<typeof WindowCountsSchema> => ({
  sent: w.sent,
  hardBounces: w.hardBounces,
  failures: w.failures,
  reputationBlocks: w.reputationBlocks ?? 0,
});

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

const automationStoppedView = (s: AutomationStop | null): z.infer<typeof AutomationStoppedSchema> | null =>
  s === null ? null : { at: s.at.toISOString(), reason: s.reason };

/** The engine's fields of any entity, as the API shows them (also in GET /v1/overview). */
export const engineView = (e: Omit<EntityRecord, 'key'>) => ({
  state: e.state,
  riskScore: e.riskScore,
  pauseReason: e.pauseReason,
  cooldownUntil: iso(e.cooldownUntil),
  stateChangedAt: iso(e.stateChangedAt),
  automationStopped: automationStoppedView(e.automationStopped),
});

export const holdsView = (holds: CampaignHold[]): z.infer<typeof campaignHolds> =>
  holds.map((h) => ({ holder: h.holder, reason: h.reason, since: h.since.toISOString(), applied: h.applied }));

const health = (e: Summarized<EntityRecord>) => ({
  ...engineView(e),
  windows: { '1h': counts(e.windows['1h']), '24h': counts(e.windows['24h']), '7d': counts(e.windows['7d']) },
  rates: e.rates,
  velocity: e.velocity,
});

/** An entity's workflow id and its link in the Temporal Web UI. */
export const workflowLink = (deps: ApiDeps, workflowId: string) => ({ workflowId, temporalUrl: temporalUrlOf(deps, workflowId) });

/** Campaigns and domains: the engine's fields, the mailboxes behind the last decision, and the workflow. */
const escalationView = (deps: ApiDeps, e: Summarized<EscalationRecord>, workflowId: string) => ({
  ...health(e),
  degradedMailboxes: e.degradedMailboxes,
  ...workflowLink(deps, workflowId),
});

const mailboxView = (deps: ApiDeps, organizationId: string, m: Summarized<MailboxRecord>): z.infer<typeof MailboxSchema> => ({
  email: m.email,
  domain: m.domain,
  ...health(m),
  deletedExternally: m.deletedExternally,
  ...workflowLink(deps, mailboxWorkflowId(organizationId, m.email)),
});

const domainView = (deps: ApiDeps, organizationId: string, d: Summarized<DomainRecord>): z.infer<typeof DomainSchema> => ({
  domain: d.domain,
  ...escalationView(deps, d, domainWorkflowId(organizationId, d.domain)),
  mailboxes: d.mailboxes,
  mailboxCount: d.mailboxCount,
});

const campaignView = (deps: ApiDeps, organizationId: string, c: Summarized<CampaignRecord>): z.infer<typeof CampaignSchema> => ({
  campaignId: c.campaignId,
  name: c.name,
  status: c.status,
  ...escalationView(deps, c, campaignWorkflowId(organizationId, c.campaignId)),
  holds: holdsView(c.holds),
  mailboxes: c.mailboxes,
  mailboxCount: c.mailboxCount,
  deletedExternally: c.deletedExternally,
});

// ---- Routes ----

/** Where one kind of entity lives in the API: shared by its reads and its override (./overrides.ts). */
export interface EntityPath {
  /** Collection path, e.g. /v1/mailboxes. */
  path: string;
  /** The path parameter naming one entity, and its schema. */
  param: string;
  paramSchema: z.ZodString;
  /** For messages: "mailbox". */
  noun: string;
}

export const ENTITY_PATHS = {
  mailbox: { path: '/v1/mailboxes', param: 'email', paramSchema: z.string().min(1).max(320).describe('The mailbox email (case-insensitive).'), noun: 'mailbox' },
  domain: { path: '/v1/domains', param: 'domain', paramSchema: z.string().min(1).max(253).describe('The sending domain (case-insensitive).'), noun: 'domain' },
  campaign: { path: '/v1/campaigns', param: 'campaignId', paramSchema: z.string().min(1).max(100).describe("Smartlead's campaign id."), noun: 'campaign' },
} satisfies Record<'mailbox' | 'domain' | 'campaign', EntityPath>;

/** One kind of entity: its list and its detail endpoint. */
interface EntityEndpoints<R extends EntityRecord> extends EntityReader<R>, EntityPath {
  schema: z.ZodType;
  pageName: string;
  listSummary: string;
  detailSummary: string;
  find(tx: Tx, id: string): Promise<R | undefined>;
  view(deps: ApiDeps, organizationId: string, record: Summarized<R>): unknown;
}

function mountEntity<R extends EntityRecord>(routes: Routes, e: EntityEndpoints<R>): void {
  routes.add({
    method: 'get',
    path: e.path,
    summary: `${e.listSummary} Keyset pages (limit 1–500, default 50; nextCursor), optionally of one state.`,
    tags: ['entities'],
    access: 'viewer',
    query: ListQuery,
    responses: { 200: { description: `A page of ${e.path.slice('/v1/'.length)}`, schema: pageSchema(e.schema, e.pageName) } },
    handler: async ({ query, res, deps }) => {
      const { organizationId } = authOf(res);
      const page = await readPage(deps, organizationId, e, query);
      res.json({ items: page.items.map((r) => e.view(deps, organizationId, r)), nextCursor: page.nextCursor });
    },
  });

  routes.add({
    method: 'get',
    path: `${e.path}/:${e.param}`,
    summary: e.detailSummary,
    tags: ['entities'],
    access: 'viewer',
    params: z.object({ [e.param]: e.paramSchema }),
    responses: { 200: { description: `The ${e.noun}`, schema: e.schema } },
    handler: async ({ params, res, deps }) => {
      const { organizationId } = authOf(res);
      const id = params[e.param] ?? '';
      const record = await readOne(deps, organizationId, e.counters, (tx) => e.find(tx, id), `There is no ${e.noun} ${id} in this organization.`);
      res.json(e.view(deps, organizationId, record));
    },
  });
}

export function mountEntities(routes: Routes): void {
  mountEntity(routes, {
    ...ENTITY_PATHS.mailbox,
    counters: 'mailbox',
    schema: MailboxSchema,
    pageName: 'MailboxPage',
    listSummary: 'Mailboxes with their state and 1h/24h/7d windows, ordered by email (lower-case).',
    detailSummary: 'One mailbox (email compared case-insensitively) with its state, windows and workflow.',
    list: listMailboxes,
    find: getMailbox,
    view: mailboxView,
  });
  mountEntity(routes, {
    ...ENTITY_PATHS.domain,
    counters: 'domain',
    schema: DomainSchema,
    pageName: 'DomainPage',
    listSummary: `Sending domains with their state, windows and first ${MEMBERS_PER_LIST_ITEM} mailboxes, ordered by name (lower-case).`,
    detailSummary: 'One sending domain (case-insensitive) with its state, windows, workflow and all its mailboxes.',
    list: listDomains,
    find: getDomain,
    view: domainView,
  });
  mountEntity(routes, {
    ...ENTITY_PATHS.campaign,
    counters: 'campaign',
    schema: CampaignSchema,
    pageName: 'CampaignPage',
    listSummary: `Smartlead campaigns with their state, windows, holds and first ${MEMBERS_PER_LIST_ITEM} mailboxes, ordered by campaign id (as text).`,
    detailSummary: "One campaign by Smartlead's campaign id, with its state, windows, holds, workflow and all its mailboxes.",
    list: listCampaigns,
    find: getCampaign,
    view: campaignView,
  });
}
