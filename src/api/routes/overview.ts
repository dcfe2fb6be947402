/**
 * GET /v1/overview: the organization at a glance (viewer). Paused mailboxes, campaigns and domains carry what their
 * engine last decided in the fields the entity reads use (./entities.ts), plus their workflow; `automationStopped`
 * lists every entity whose automation an escalation loop stopped (only a person's override resumes it); `links`
 * names the OpenAPI document and the console.
 */
import { z } from 'zod';
import { readOverview, type Overview, type PausedEntity } from '../../db/repositories/overview';
import { currentSettings } from '../../db/repositories/settings';
import { withTenant } from '../../db/tenant';
import { campaignWorkflowId, domainWorkflowId, mailboxWorkflowId } from '../../workflows/ids';
import { authOf } from '../auth';
import type { ApiDeps } from '../deps';
import type { Routes } from '../route';
import { campaignHolds, degradedMailboxes, engineFields, engineView, holdsView, workflowFields, workflowLink } from './entities';

const paused = <F extends z.ZodRawShape>(fields: F) => z.object({ ...fields, ...engineFields, ...workflowFields });
const PausedMailbox = paused({ email: z.string() }).openapi('PausedMailbox');
const PausedDomain = paused({ domain: z.string(), degradedMailboxes }).openapi('PausedDomain');
const PausedCampaign = paused({
  campaignId: z.string().describe("Smartlead's campaign id."),
  name: z.string(),
  status: z.string().describe("Smartlead's status, verbatim: a campaign paused in Smartlead is listed whatever Drason's state."),
  degradedMailboxes,
  holds: campaignHolds,
}).openapi('PausedCampaign');
const AutomationStoppedItem = z
  .object({
    entityType: z.enum(['mailbox', 'campaign', 'domain']),
    entityId: z.string().describe('Mailbox email (lower-case), domain name (lower-case) or Smartlead campaign id.'),
    at: z.string().describe('When automation was stopped (ISO-8601).'),
    reason: z.string().describe('The escalation loop that stopped it, in words.'),
    ...workflowFields,
  })
  .openapi('AutomationStoppedEntity');

const OverviewSchema = z
  .object({
    leads: z.object({ held: z.number().int(), active: z.number().int(), paused: z.number().int(), completed: z.number().int() }),
    unrouted: z.number().int().describe('Held leads that no routing rule matches.'),
    heldReasons: z
      .array(z.object({ campaignId: z.string().nullable(), reason: z.string(), leads: z.number().int() }))
      .describe('Why held leads wait: the most common reasons per campaign (null: unrouted), most leads first, at most 20.'),
    quarantinedSources: z
      .array(z.object({ source: z.string(), reason: z.string(), since: z.string() }))
      .describe('Routing rules quarantined for list quality: their new leads are held until a person releases them.'),
    pausedDomains: z.array(PausedDomain).describe('Sending domains Drason judges paused, by name.'),
    pausedMailboxes: z.array(PausedMailbox).describe('Mailboxes Drason judges paused, by email.'),
    pausedCampaigns: z.array(PausedCampaign).describe('Campaigns Drason judges paused or Smartlead shows paused (not those deleted in Smartlead), by campaign id.'),
    automationStopped: z
      .array(AutomationStoppedItem)
      .describe('Every mailbox, campaign and domain whose automation an escalation loop stopped, most recent first: Drason leaves it as it is until a person overrides it.'),
    mode: z.enum(['observe', 'suggest', 'enforce']),
    integrations: z.object({
      smartlead: z.object({ status: z.enum(['configured', 'broken', 'not_configured']), brokenReason: z.string().nullable() }),
    }),
    attention: z.array(z.string()).describe('Plain-English problems a person should act on.'),
    links: z
      .object({
        openapi: z.literal('/v1/openapi.json').describe('The OpenAPI document of this API (every endpoint, with the role it needs).'),
        console: z.literal('/console/').describe('The operator console, served by this API.'),
      })
      .describe('Where to read more, relative to this API.'),
  })
  .openapi('Overview');

type OverviewBody = z.infer<typeof OverviewSchema>;

function overviewView(deps: ApiDeps, organizationId: string, o: Overview, mode: OverviewBody['mode']): OverviewBody {
  const entity = (e: PausedEntity, workflowId: string) => ({ ...engineView(e), ...workflowLink(deps, workflowId) });
  const workflowOf = { mailbox: mailboxWorkflowId, campaign: campaignWorkflowId, domain: domainWorkflowId } as const;
  return {
    leads: o.leads,
    unrouted: o.unrouted,
    heldReasons: o.heldReasons,
    quarantinedSources: o.quarantinedSources.map((q) => ({ ...q, since: q.since.toISOString() })),
    pausedDomains: o.pausedDomains.map((d) => ({ domain: d.domain, ...entity(d, domainWorkflowId(organizationId, d.domain)), degradedMailboxes: d.degradedMailboxes })),
    pausedMailboxes: o.pausedMailboxes.map((m) => ({ email: m.email, ...entity(m, mailboxWorkflowId(organizationId, m.email)) })),
    pausedCampaigns: o.pausedCampaigns.map((c) => ({
      campaignId: c.campaignId,
      name: c.name,
      status: c.status,
      ...entity(c, campaignWorkflowId(organizationId, c.campaignId)),
      degradedMailboxes: c.degradedMailboxes,
      holds: holdsView(c.holds),
    })),
    automationStopped: o.automationStopped.map((s) => ({
      entityType: s.entityType,
      entityId: s.entityId,
      at: s.at.toISOString(),
      reason: s.reason,
      ...workflowLink(deps, workflowOf[s.entityType](organizationId, s.entityId)),
    })),
    mode,
    integrations: o.integrations,
    attention: o.attention,
    links: { openapi: '/v1/openapi.json', console: '/console/' },
  };
}

export function mountOverview(routes: Routes): void {
  routes.add({
    method: 'get',
    path: '/v1/overview',
    summary: 'Lead counts, paused domains/mailboxes/campaigns (with reasons, cooldowns and workflows), stopped automation, mode, integration health and what needs attention.',
    tags: ['entities'],
    access: 'viewer',
    responses: { 200: { description: 'Overview', schema: OverviewSchema } },
    handler: async ({ res, deps }) => {
      const { organizationId } = authOf(res);
      const { overview, mode } = await withTenant(deps.db, organizationId, async (tx) => ({ overview: await readOverview(tx), mode: (await currentSettings(tx)).mode }));
      res.json(overviewView(deps, organizationId, overview, mode));
    },
  });
}
