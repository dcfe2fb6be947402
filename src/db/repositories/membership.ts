/**
 * Which mailboxes send for which campaign: the links the Smartlead sync keeps (campaign_mailboxes) together with the
 * campaigns each mailbox sent for in the last 7 days (campaign_senders, kept by the relay's count stage from the events
 * it counts: a campaign not synced yet, or a link the sync has not seen, still counts). Read by the campaign and
 * domain engines (src/activities/escalation.ts) and the mailbox act activity (src/activities/mailboxEngine.ts).
 */
import type { Tx } from '../tenant';

/** Events older than this no longer make a mailbox a member of the campaign they were sent for. */
export const MEMBERSHIP_FROM_EVENTS_MS = 7 * 24 * 60 * 60 * 1000;

/** Per mailbox (lower-case email), the campaigns it sends for, sorted. Mailboxes sending for none are absent. */
export async function campaignsOfMailboxes(tx: Tx, emails: readonly string[], atMs: number): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (emails.length === 0) return out;
  const rows = (await tx.raw(
    `with m as (select id, email_key from mailboxes where email_key = any(?::text[]))
     select m.email_key as email, l.campaign_id from campaign_mailboxes l join m on m.id = l.mailbox_id
     union
     select m.email_key, s.campaign_id from m join campaign_senders s on s.mailbox_id = m.id
      where s.last_seen_at >= date_trunc('hour', ?::timestamptz)
     order by 1, 2`,
    [emails.map((e) => e.toLowerCase()), new Date(atMs - MEMBERSHIP_FROM_EVENTS_MS)],
  )) as { rows: { email: string; campaign_id: string }[] };
  for (const r of rows.rows) {
    const list = out.get(r.email);
    if (list === undefined) out.set(r.email, [r.campaign_id]);
    else list.push(r.campaign_id);
  }
  return out;
}

/** The campaigns any mailbox of the domain sends for, sorted. */
export async function campaignsOfDomain(tx: Tx, domain: string, atMs: number): Promise<string[]> {
  const rows = (await tx.raw(
    `with m as (select m.id from mailboxes m join domains d on d.organization_id = m.organization_id and d.id = m.domain_id where d.name_key = lower(?))
     select l.campaign_id from campaign_mailboxes l join m on m.id = l.mailbox_id
     union
     select s.campaign_id from m join campaign_senders s on s.mailbox_id = m.id where s.last_seen_at >= date_trunc('hour', ?::timestamptz)
     order by 1`,
    [domain, new Date(atMs - MEMBERSHIP_FROM_EVENTS_MS)],
  )) as { rows: { campaign_id: string }[] };
  return rows.rows.map((r) => r.campaign_id);
}

