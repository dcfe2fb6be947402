/** The organization at a glance: lead counts, what is paused, and what needs a person's attention. */
import type { Tx } from '../tenant';

export interface Overview {
  leads: { held: number; active: number; paused: number; completed: number };
  unrouted: number;
  pausedDomains: { domain: string; pauseReason: string | null }[];
  pausedMailboxes: { email: string; pauseReason: string | null }[];
  pausedCampaigns: { campaignId: string; name: string; pauseReason: string | null }[];
  integrations: { smartlead: { status: 'configured' | 'broken' | 'not_configured'; brokenReason: string | null } };
  /** Plain-English problems a person should act on. */
  attention: string[];
}

export async function readOverview(tx: Tx): Promise<Overview> {
  const counts = (await tx('leads').select('status').count<{ status: string; count: number }[]>('* as count').groupBy('status')) as { status: string; count: number }[];
  const leads = { held: 0, active: 0, paused: 0, completed: 0 };
  for (const c of counts) if (c.status in leads) leads[c.status as keyof typeof leads] = Number(c.count);
  const unrouted = Number(((await tx('leads').where({ status: 'held' }).whereNull('assigned_campaign_id').count('* as n').first()) as { n: number }).n);
  const pausedDomains = (await tx('domains').where({ state: 'paused' }).orderBy('name').select('name as domain', 'pause_reason as pauseReason')) as Overview['pausedDomains'];
  const pausedMailboxes = (await tx('mailboxes').where({ state: 'paused' }).orderBy('email').select('email', 'pause_reason as pauseReason')) as Overview['pausedMailboxes'];
  const pausedCampaigns = (await tx('campaigns')
    .where((q) => q.where({ state: 'paused' }).orWhere({ status: 'PAUSED' }))
    .whereNull('deleted_externally_at')
    .orderBy('campaign_id')
    .select('campaign_id as campaignId', 'name', 'pause_reason as pauseReason')) as Overview['pausedCampaigns'];

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

  return { leads, unrouted, pausedDomains, pausedMailboxes, pausedCampaigns, integrations: { smartlead }, attention };
}
