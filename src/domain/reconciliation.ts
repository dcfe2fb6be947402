/**
 * Reconciliation of Drason's view of Smartlead with what Smartlead reports now: campaigns and email accounts that
 * are new, renamed, paused or resumed, deleted (or back), and campaign↔mailbox links. Pure: the sync activity reads
 * both sides, asks this module what changed, applies it, and audits each change with `describeChange`.
 *
 * Fail-safe direction: anything missing from Smartlead is marked deleted externally (so the execution gate holds
 * leads for it) rather than assumed to still exist.
 */

export interface KnownCampaign {
  campaignId: string;
  name: string;
  status: string;
  deletedExternally: boolean;
}

export interface RemoteCampaign {
  campaignId: string;
  name: string;
  status: string;
}

export interface KnownMailbox {
  email: string;
  /** Null for mailboxes Drason only saw in events: Smartlead never listed them, so they cannot be "removed". */
  smartleadAccountId: string | null;
  deletedExternally: boolean;
}

export interface RemoteMailbox {
  email: string;
  accountId: string;
}

export interface Link {
  campaignId: string;
  email: string;
}

export type ReconciliationChange =
  | { kind: 'campaign_added'; campaignId: string; name: string; status: string }
  | { kind: 'campaign_renamed'; campaignId: string; from: string; to: string }
  | { kind: 'campaign_status_changed'; campaignId: string; name: string; from: string; to: string }
  | { kind: 'campaign_deleted'; campaignId: string; name: string }
  | { kind: 'campaign_reappeared'; campaignId: string; name: string; status: string }
  | { kind: 'mailbox_added'; email: string; accountId: string }
  | { kind: 'mailbox_removed'; email: string }
  | { kind: 'mailbox_reappeared'; email: string; accountId: string }
  | { kind: 'link_added'; campaignId: string; email: string }
  | { kind: 'link_removed'; campaignId: string; email: string };

export interface ReconciliationInput {
  known: { campaigns: KnownCampaign[]; mailboxes: KnownMailbox[]; links: Link[] };
  remote: { campaigns: RemoteCampaign[]; mailboxes: RemoteMailbox[]; links: Link[] };
}

const lower = (s: string): string => s.trim().toLowerCase();
const linkKey = (l: Link): string => `${l.campaignId}\u0000${lower(l.email)}`;

export function reconcile({ known, remote }: ReconciliationInput): ReconciliationChange[] {
  const changes: ReconciliationChange[] = [];

  const knownCampaigns = new Map(known.campaigns.map((c) => [c.campaignId, c]));
  const remoteCampaigns = new Map(remote.campaigns.map((c) => [c.campaignId, c]));
  for (const r of remote.campaigns) {
    const k = knownCampaigns.get(r.campaignId);
    if (k === undefined) {
      changes.push({ kind: 'campaign_added', campaignId: r.campaignId, name: r.name, status: r.status });
      continue;
    }
    if (k.deletedExternally) {
      changes.push({ kind: 'campaign_reappeared', campaignId: r.campaignId, name: r.name, status: r.status });
      continue;
    }
    if (k.name !== r.name) changes.push({ kind: 'campaign_renamed', campaignId: r.campaignId, from: k.name, to: r.name });
    if (k.status !== r.status) {
      changes.push({ kind: 'campaign_status_changed', campaignId: r.campaignId, name: r.name, from: k.status, to: r.status });
    }
  }
  for (const k of known.campaigns) {
    if (!k.deletedExternally && !remoteCampaigns.has(k.campaignId)) {
      changes.push({ kind: 'campaign_deleted', campaignId: k.campaignId, name: k.name });
    }
  }

  const knownMailboxes = new Map(known.mailboxes.map((m) => [lower(m.email), m]));
  const remoteMailboxes = new Map(remote.mailboxes.map((m) => [lower(m.email), m]));
  for (const r of remote.mailboxes) {
    const k = knownMailboxes.get(lower(r.email));
    if (k === undefined || k.smartleadAccountId === null) {
      changes.push({ kind: 'mailbox_added', email: lower(r.email), accountId: r.accountId });
    } else if (k.deletedExternally) {
      changes.push({ kind: 'mailbox_reappeared', email: lower(r.email), accountId: r.accountId });
    }
  }
  for (const k of known.mailboxes) {
    if (k.smartleadAccountId !== null && !k.deletedExternally && !remoteMailboxes.has(lower(k.email))) {
      changes.push({ kind: 'mailbox_removed', email: lower(k.email) });
    }
  }

  const knownLinks = new Set(known.links.map(linkKey));
  const remoteLinks = new Set(remote.links.map(linkKey));
  for (const l of remote.links) {
    if (!knownLinks.has(linkKey(l))) changes.push({ kind: 'link_added', campaignId: l.campaignId, email: lower(l.email) });
  }
  for (const l of known.links) {
    // A link to a campaign that vanished is implied by campaign_deleted; do not report it twice.
    if (!remoteLinks.has(linkKey(l)) && remoteCampaigns.has(l.campaignId)) {
      changes.push({ kind: 'link_removed', campaignId: l.campaignId, email: lower(l.email) });
    }
  }
  return changes;
}

/** One plain-English sentence per change, for the audit log. */
export function describeChange(c: ReconciliationChange): string {
  switch (c.kind) {
    case 'campaign_added':
      return `Campaign "${c.name}" (${c.campaignId}) was found in Smartlead with status ${c.status}; it can now be used in routing rules.`;
    case 'campaign_renamed':
      return `Campaign ${c.campaignId} was renamed in Smartlead from "${c.from}" to "${c.to}"; routing rules point at its id and are unaffected.`;
    case 'campaign_status_changed':
      return `Campaign "${c.name}" (${c.campaignId}) changed status in Smartlead from ${c.from} to ${c.to}; the execution gate now uses the new status.`;
    case 'campaign_deleted':
      return `Campaign "${c.name}" (${c.campaignId}) no longer exists in Smartlead; leads routed to it stay held until a routing rule points elsewhere.`;
    case 'campaign_reappeared':
      return `Campaign "${c.name}" (${c.campaignId}) is listed by Smartlead again with status ${c.status}.`;
    case 'mailbox_added':
      return `Mailbox ${c.email} was found in Smartlead (email account ${c.accountId}) and is now monitored.`;
    case 'mailbox_removed':
      return `Mailbox ${c.email} was removed from Smartlead; it no longer counts as an available sender for the execution gate.`;
    case 'mailbox_reappeared':
      return `Mailbox ${c.email} is listed by Smartlead again (email account ${c.accountId}).`;
    case 'link_added':
      return `Mailbox ${c.email} now sends for campaign ${c.campaignId} in Smartlead.`;
    case 'link_removed':
      return `Mailbox ${c.email} no longer sends for campaign ${c.campaignId} in Smartlead.`;
  }
}

/**
 * What Smartlead reports of a mailbox's sending (`GET /email-accounts/`): suspended, its daily limit
 * (`message_per_day`) and today's sends (`daily_sent_count`); a number Smartlead leaves out is null (unknown).
 */
export interface MailboxSending {
  email: string;
  suspended: boolean;
  messagePerDay: number | null;
  dailySentCount: number | null;
}

/**
 * Smartlead sends from it: not suspended and below its daily limit. An unknown limit or count counts as free, as in
 * the execution gate (src/domain/executionGate.ts): Smartlead itself never sends above its limit.
 */
export function smartleadSends(m: Omit<MailboxSending, 'email'>): boolean {
  return !m.suspended && (m.messagePerDay === null || m.dailySentCount === null || m.dailySentCount < m.messagePerDay);
}

/**
 * Mailboxes (lower-case emails) Smartlead had stopped (suspended, or at its daily limit) as Drason last read them,
 * and that send again now: the day turned (`daily_sent_count` reset), the limit was raised, or the suspension was
 * lifted. Their campaigns' held leads deserve another look. A mailbox Drason never read is not "freed".
 */
export function mailboxesFreed(before: MailboxSending[], now: MailboxSending[]): string[] {
  const stopped = new Set(before.filter((m) => !smartleadSends(m)).map((m) => lower(m.email)));
  return [...new Set(now.filter((m) => stopped.has(lower(m.email)) && smartleadSends(m)).map((m) => lower(m.email)))];
}

/** Campaigns whose Smartlead status became ACTIVE in these changes (resumed, or back from deletion as ACTIVE). */
export function campaignsResumed(changes: ReconciliationChange[]): string[] {
  return changes.flatMap((c) =>
    (c.kind === 'campaign_status_changed' && c.to === 'ACTIVE') || (c.kind === 'campaign_reappeared' && c.status === 'ACTIVE') ? [c.campaignId] : [],
  );
}
