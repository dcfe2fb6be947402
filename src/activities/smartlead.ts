/**
 * Smartlead activities: every call Drason makes to Smartlead goes through here, on top of the resilient client
 * (src/smartlead/client.ts: per-key rate limit, backoff with Retry-After, per-organization circuit breaker).
 *
 * Failures reach Temporal typed, so retry policies can tell them apart:
 * - credentials revoked (401/403): the integration is marked broken with a readable reason, audited once, counted,
 *   and the failure is NON-retryable (retrying a revoked key only hammers Smartlead). Work resumes when a new key is
 *   saved (the API then starts a sync).
 * - object deleted externally (404): the campaign or mailbox is marked deleted externally, audited, counted, and the
 *   failure is non-retryable. The execution gate holds leads for it.
 * - rate limited (429): retryable, with Temporal's next retry delayed by Smartlead's Retry-After.
 * - unavailable (5xx, timeout, network, circuit open): retryable with the workflow's backoff.
 * - anything else the API refused (400, invalid response): non-retryable, explained.
 * Each activity is idempotent: pausing a paused campaign or re-running a sync changes nothing twice, and pushing
 * leads again (after a timeout, or a lost answer) adds none twice: Smartlead's duplicate protection is always on.
 * Lead activities return outcomes and write nothing about leads: the lead pipeline records them.
 */
import { ApplicationFailure, activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import type { Db } from '../db/knex';
import { withTenant, type Tx } from '../db/tenant';
import { appendAudit, type NewAuditEntry } from '../db/repositories/audit';
import { smartleadBudgetStore, type Integrations } from '../db/repositories/integrations';
import { config } from '../config';
import { enqueueLeadsChanged, enqueueMembershipChanges, notifyRelayAtCommit, type LinkChange } from '../db/repositories/commands';
import { ensureMailboxes } from '../db/repositories/events';
import { ENGINE_VERSION } from '../domain/engineVersion';
import {
  campaignsResumed,
  describeChange,
  mailboxesFreed,
  reconcile,
  type KnownCampaign,
  type KnownMailbox,
  type Link,
  type MailboxSending,
  type ReconciliationChange,
  type RemoteMailbox,
} from '../domain/reconciliation';
import { componentLogger } from '../lib/logger';
import { smartleadBudgetWait, smartleadFailures } from '../lib/metrics';
import { type RateWindow, type RequestsPerMinute, windowsOf } from '../smartlead/rateBudget';
import { SmartleadClient, leadUploadChunks, type SmartleadClientOptions } from '../smartlead/client';
import { isInCampaign, leadPushReason, normalizeLeadEmail, readLeadUpload, type LeadPushStatus } from '../smartlead/leadOutcomes';
import type { SmartleadLead, SmartleadLeadInput } from '../smartlead/schemas';
import {
  SmartleadAuthError,
  SmartleadError,
  SmartleadNotFoundError,
  SmartleadRateLimitedError,
  SmartleadUnavailableError,
} from '../smartlead/errors';

const log = componentLogger('smartlead');

export interface SmartleadActivityDeps {
  db: Db;
  integrations: Integrations;
  /** Client options beyond key and URL (tests tighten timeouts and limits). */
  clientOptions?: Partial<Omit<SmartleadClientOptions, 'apiKey' | 'baseUrl' | 'sharedBudget'>>;
  /**
   * The shared rate budget per Smartlead key (decision 016). `default`: for integrations that set none (else
   * SMARTLEAD_RATE_LIMIT_PER_MINUTE / _BURST); `windows`: replaces every budget (tests matching a simulator's own
   * window); `maxWaitMs`: longest wait for a slot (default 5 s); `marginMs`: spacing added to each window.
   */
  rateBudget?: { default?: RequestsPerMinute; windows?: RateWindow[]; maxWaitMs?: number; marginMs?: number };
}

export interface SyncResult {
  campaigns: number;
  mailboxes: number;
  links: number;
  changes: ReconciliationChange['kind'][];
}

/** A Drason lead to push into a Smartlead campaign. */
export interface LeadToPush {
  leadId: string;
  email: string;
  firstName?: string;
  lastName?: string;
  companyName?: string;
  customFields?: Record<string, string | number | boolean | null>;
}

export interface PushLeadsInput {
  organizationId: string;
  campaignId: string;
  leads: LeadToPush[];
}

/** What happened to one lead: in the campaign now (mark it active), or not (keep it held, for `reason`). */
export interface LeadPushOutcome {
  leadId: string;
  email: string;
  status: LeadPushStatus;
  inCampaign: boolean;
  reason: string;
}

export interface PushLeadsResult {
  campaignId: string;
  /** One per input lead, in input order (leads sharing an email share its outcome). */
  outcomes: LeadPushOutcome[];
  /** Input leads per status. */
  counts: Partial<Record<LeadPushStatus, number>>;
}

export interface LeadInCampaignInput {
  organizationId: string;
  campaignId: string;
  email: string;
}

/** Progress of a push, kept in heartbeat details: a retried attempt skips the uploads already answered. */
interface PushCheckpoint {
  uploadsDone: number;
  statuses: [email: string, status: LeadPushStatus][];
}

const PLAUSIBLE_EMAIL = /^[^\s@]+@[^\s@]+$/;

type Subject =
  | { kind: 'campaign'; campaignId: string }
  | { kind: 'mailbox'; email: string }
  | { kind: 'lead'; campaignId: string; email: string }
  | { kind: 'account' };

/**
 * What every Smartlead activity stands on: a client on the organization's saved key, and the one place that turns a
 * Smartlead failure into its safe path and a typed Temporal failure. Shared with the mailbox engine
 * (src/activities/mailboxEngine.ts).
 */
export function smartleadAccess(deps: SmartleadActivityDeps) {
  const tenant = <T>(organizationId: string, work: (tx: Tx) => Promise<T>): Promise<T> => withTenant(deps.db, organizationId, work);

  const audit = (tx: Tx, entry: Omit<NewAuditEntry, 'engineVersion' | 'actor'> & { actor?: string }): Promise<boolean> =>
    appendAudit(tx, { actor: 'system', ...entry, engineVersion: ENGINE_VERSION });

  /** A client on the organization's saved key, and that key's fingerprint (to tell a stale failure from a real one). */
  /**
   * `singleAttempt`: the client sends each request once and does not retry it (callers whose retries Temporal owns,
   * so that retries live in one layer). A 429 still surfaces with its Retry-After for Temporal's next attempt.
   */
  async function clientFor(organizationId: string, options: { singleAttempt?: boolean } = {}): Promise<{ client: SmartleadClient; fingerprint: string }> {
    const [credentials, rateLimit] = await tenant(organizationId, async (tx) => [
      await deps.integrations.loadSmartleadCredentials(tx, organizationId),
      await deps.integrations.smartleadRateLimit(tx, organizationId),
    ] as const);
    if (credentials === undefined) {
      throw ApplicationFailure.nonRetryable('Smartlead is not configured for this organization: save an API key under /v1/integrations/smartlead.', 'SmartleadNotConfigured');
    }
    if (credentials.status === 'broken') {
      throw ApplicationFailure.nonRetryable(
        `The Smartlead integration is broken (${credentials.brokenReason ?? 'unknown reason'}); save a new API key to resume.`,
        'SmartleadIntegrationBroken',
      );
    }
    const client = new SmartleadClient({
      apiKey: credentials.apiKey,
      baseUrl: credentials.baseUrl,
      limiterKey: organizationId,
      logger: log.child({ organizationId }),
      ...deps.clientOptions,
      ...(options.singleAttempt === true ? { retry: { ...deps.clientOptions?.retry, maxAttempts: 1 } } : {}),
      sharedBudget: {
        store: smartleadBudgetStore(deps.db, organizationId, deps.rateBudget?.windows ?? windowsOf(rateLimit ?? deps.rateBudget?.default ?? config().smartleadBudget), {
          ...(deps.rateBudget?.marginMs === undefined ? {} : { marginMs: deps.rateBudget.marginMs }),
          observe: (waitedMs, outcome) => smartleadBudgetWait.observe({ outcome }, waitedMs / 1000),
        }),
        ...(deps.rateBudget?.maxWaitMs === undefined ? {} : { maxWaitMs: deps.rateBudget.maxWaitMs }),
      },
    });
    return { client, fingerprint: credentials.fingerprint };
  }

  /** Turns a Smartlead failure into the safe path and a typed Temporal failure. Never returns. */
  async function fail(organizationId: string, operation: string, subject: Subject, error: unknown, fingerprint: string): Promise<never> {
    if (!(error instanceof SmartleadError)) throw error;
    if (error instanceof SmartleadAuthError) {
      const reason = `Smartlead rejected the API key (HTTP ${error.status ?? 401}) while trying to ${operation}; it was probably revoked or rotated. Save a new key under Integrations to resume.`;
      const outcome = await tenant(organizationId, async (tx): Promise<'broken' | 'already' | 'stale'> => {
        if (!(await deps.integrations.markIntegrationBroken(tx, organizationId, reason, { fingerprint }))) {
          const current = await deps.integrations.loadSmartleadCredentials(tx, organizationId);
          return current !== undefined && current.fingerprint !== fingerprint ? 'stale' : 'already';
        }
        await audit(tx, {
          organizationId,
          entityType: 'integration',
          entityId: 'smartlead',
          action: 'integration_broken',
          trigger: { signals: ['SmartleadAuthError'], metric: 'http_status', observed: error.status ?? 401 },
          message: `${reason} Until then Drason pushes no lead and takes no Smartlead action; held leads stay held.`,
        });
        return 'broken';
      });
      if (outcome === 'stale') {
        // The key was replaced while this call ran on the old one: retry with the new key, break nothing.
        throw ApplicationFailure.create({ message: `The Smartlead key changed while trying to ${operation}; retrying with the new key.`, type: 'SmartleadKeyChanged', cause: error });
      }
      if (outcome === 'broken') smartleadFailures.inc({ kind: 'credentials_revoked' });
      throw ApplicationFailure.create({ message: reason, type: 'SmartleadAuthError', nonRetryable: true, cause: error });
    }
    if (error instanceof SmartleadNotFoundError) {
      const message = await tenant(organizationId, (tx) => markMissing(tx, organizationId, subject, operation));
      smartleadFailures.inc({ kind: 'not_found' });
      throw ApplicationFailure.create({ message, type: 'SmartleadNotFoundError', nonRetryable: true, cause: error });
    }
    if (error instanceof SmartleadRateLimitedError) {
      smartleadFailures.inc({ kind: 'rate_limited' });
      throw ApplicationFailure.create({
        message: `Smartlead asked Drason to slow down while trying to ${operation}.`,
        type: 'SmartleadRateLimitedError',
        ...(error.retryAfterMs === undefined ? {} : { nextRetryDelay: error.retryAfterMs }),
        cause: error,
      });
    }
    if (error instanceof SmartleadUnavailableError) {
      smartleadFailures.inc({ kind: 'unavailable' });
      throw ApplicationFailure.create({ message: `Smartlead is unavailable (${error.code}) while trying to ${operation}.`, type: 'SmartleadUnavailableError', cause: error });
    }
    smartleadFailures.inc({ kind: 'rejected' });
    throw ApplicationFailure.create({ message: `Smartlead refused to ${operation}: ${error.message}`, type: error.name, nonRetryable: true, cause: error });
  }

  async function markMissing(tx: Tx, organizationId: string, subject: Subject, operation: string): Promise<string> {
    if (subject.kind === 'campaign') {
      const updated = await tx('campaigns').where({ campaign_id: subject.campaignId }).whereNull('deleted_externally_at').update({ deleted_externally_at: tx.fn.now() });
      const message = `Campaign ${subject.campaignId} no longer exists in Smartlead (found while trying to ${operation}); leads routed to it stay held.`;
      if (updated > 0) await audit(tx, { organizationId, entityType: 'campaign', entityId: subject.campaignId, action: 'deleted_externally', trigger: { signals: ['SmartleadNotFoundError'] }, message });
      return message;
    }
    if (subject.kind === 'mailbox') {
      const updated = await tx('mailboxes').where({ email: subject.email }).whereNull('deleted_externally_at').update({ deleted_externally_at: tx.fn.now() });
      const message = `Mailbox ${subject.email} no longer exists in Smartlead (found while trying to ${operation}); it no longer counts as an available sender.`;
      if (updated > 0) await audit(tx, { organizationId, entityType: 'mailbox', entityId: subject.email, action: 'deleted_externally', trigger: { signals: ['SmartleadNotFoundError'] }, message });
      return message;
    }
    if (subject.kind === 'lead') {
      // Nothing to mark: the lead pipeline decides what a lead missing from its campaign means.
      return `Lead ${subject.email} is not in Smartlead campaign ${subject.campaignId} (found while trying to ${operation}); nothing was changed.`;
    }
    return `Smartlead answered "not found" while trying to ${operation}.`;
  }

  return { tenant, audit, clientFor, fail };
}

export function createSmartleadActivities(deps: SmartleadActivityDeps) {
  const { tenant, audit, clientFor, fail } = smartleadAccess(deps);

  async function setCampaignStatus(input: { organizationId: string; campaignId: string; reason: string; actor?: string }, status: 'PAUSED' | 'START'): Promise<{ changed: boolean }> {
    const verb = status === 'PAUSED' ? 'pause' : 'resume';
    const { client, fingerprint } = await clientFor(input.organizationId);
    try {
      await client.setCampaignStatus(input.campaignId, status);
    } catch (error) {
      return fail(input.organizationId, `${verb} campaign ${input.campaignId}`, { kind: 'campaign', campaignId: input.campaignId }, error, fingerprint);
    }
    const stored = status === 'PAUSED' ? 'PAUSED' : 'ACTIVE';
    return tenant(input.organizationId, async (tx) => {
      const updated = await tx('campaigns').where({ campaign_id: input.campaignId }).whereNot({ status: stored }).update({ status: stored });
      return { changed: updated > 0 };
    });
  }

  async function setMailboxSuspended(input: { organizationId: string; email: string }, suspend: boolean): Promise<{ changed: boolean }> {
    const email = input.email.trim().toLowerCase();
    const verb = suspend ? 'pause mailbox' : 'resume mailbox';
    const row = (await tenant(input.organizationId, (tx) => tx('mailboxes').where({ email }).first('smartlead_account_id'))) as { smartlead_account_id: string | null } | undefined;
    if (row?.smartlead_account_id == null) {
      throw ApplicationFailure.nonRetryable(
        `Mailbox ${email} is not linked to a Smartlead email account yet (run a sync), so Drason cannot ${verb.split(' ')[0]} it in Smartlead.`,
        'SmartleadNotFoundError',
      );
    }
    const { client, fingerprint } = await clientFor(input.organizationId);
    try {
      await (suspend ? client.suspendEmailAccount(row.smartlead_account_id) : client.unsuspendEmailAccount(row.smartlead_account_id));
    } catch (error) {
      return fail(input.organizationId, `${verb} ${email}`, { kind: 'mailbox', email }, error, fingerprint);
    }
    return { changed: true };
  }

  /**
   * Uploads in chunks of Smartlead's per-request maximum, each read lead by lead (see leadOutcomes.ts); leads the
   * counts cannot tell apart are looked up by email. After each upload, progress goes into the heartbeat, so a
   * retried attempt resumes after the last answered upload; an upload whose answer was lost is simply sent again
   * and Smartlead's duplicate protection reports its leads as already in the campaign.
   */
  async function pushLeads(input: PushLeadsInput): Promise<PushLeadsResult> {
    const { organizationId, campaignId } = input;
    const statuses = new Map<string, LeadPushStatus>();
    const toSend = new Map<string, SmartleadLeadInput>();
    for (const lead of input.leads) {
      const email = lead.email.trim();
      const key = normalizeLeadEmail(email);
      if (!PLAUSIBLE_EMAIL.test(email)) statuses.set(key, 'invalid_email');
      else if (!toSend.has(key)) toSend.set(key, smartleadLeadInput(lead, email));
    }
    const uploads = leadUploadChunks([...toSend.values()]);
    const checkpoint = readCheckpoint(activityInfo().heartbeatDetails, uploads.length);
    for (const [email, status] of checkpoint?.statuses ?? []) statuses.set(email, status);

    if (uploads.length > (checkpoint?.uploadsDone ?? 0)) {
      const { client, fingerprint } = await clientFor(organizationId);
      const signal = cancellationSignal();
      try {
        for (let i = checkpoint?.uploadsDone ?? 0; i < uploads.length; i += 1) {
          const upload = uploads[i]!;
          if (limitReached(statuses)) {
            // Smartlead refuses every further lead: do not spend requests on them.
            for (const lead of upload) statuses.set(normalizeLeadEmail(lead.email), 'lead_limit_reached');
          } else {
            const result = await client.addLeadsToCampaign(campaignId, upload, { signal });
            const reading = readLeadUpload(upload.map((l) => l.email), result);
            for (const [email, status] of reading.decided) statuses.set(email, status);
            for (const email of reading.undecided) {
              const found = await client.findLeadByEmail(email, { signal });
              statuses.set(normalizeLeadEmail(email), reading.resolve(leadLookup(found, campaignId)));
            }
          }
          heartbeat({ uploadsDone: i + 1, statuses: [...statuses] } satisfies PushCheckpoint);
        }
      } catch (error) {
        return fail(organizationId, `add leads to campaign ${campaignId}`, { kind: 'campaign', campaignId }, error, fingerprint);
      }
    }

    const outcomes = input.leads.map((lead): LeadPushOutcome => {
      const status = statuses.get(normalizeLeadEmail(lead.email)) ?? 'not_added';
      return { leadId: lead.leadId, email: lead.email.trim(), status, inCampaign: isInCampaign(status), reason: leadPushReason(status) };
    });
    const counts: Partial<Record<LeadPushStatus, number>> = {};
    for (const o of outcomes) counts[o.status] = (counts[o.status] ?? 0) + 1;
    log.info('pushed leads to Smartlead', { organizationId, campaignId, leads: outcomes.length, counts });
    return { campaignId, outcomes, counts };
  }

  /** A lead call met "not found": a deleted campaign (it takes its leads with it), or a lead that is not in it? */
  async function whatIsMissing(client: SmartleadClient, campaignId: string, email: string): Promise<Subject> {
    try {
      await client.getCampaign(campaignId);
      return { kind: 'lead', campaignId, email };
    } catch (error) {
      if (error instanceof SmartleadNotFoundError) return { kind: 'campaign', campaignId };
      throw error;
    }
  }

  async function setLeadPaused(input: LeadInCampaignInput, pause: boolean): Promise<{ smartleadLeadId: string }> {
    const { organizationId, campaignId } = input;
    const email = requireEmail(input.email);
    const operation = `${pause ? 'pause' : 'resume'} lead ${email} in campaign ${campaignId}`;
    const { client, fingerprint } = await clientFor(organizationId);
    try {
      const lead = await client.findLeadByEmail(email);
      if (lead === null || !leadLookup(lead, campaignId).inCampaign) {
        throw new SmartleadNotFoundError(`Smartlead lists no lead ${email} in campaign ${campaignId}`, { method: 'GET', path: '/leads/' });
      }
      await (pause ? client.pauseLead(campaignId, lead.id) : client.resumeLead(campaignId, lead.id));
      return { smartleadLeadId: lead.id };
    } catch (error) {
      let subject: Subject = { kind: 'account' };
      try {
        if (error instanceof SmartleadNotFoundError) subject = await whatIsMissing(client, campaignId, email);
      } catch (checkError) {
        return fail(organizationId, operation, subject, checkError, fingerprint);
      }
      return fail(organizationId, operation, subject, error, fingerprint);
    }
  }

  return {
    /**
     * Reads campaigns, email accounts and their links from Smartlead and reconciles Drason's view: new, renamed,
     * paused/resumed, deleted externally (or back), each change applied and audited in one transaction. Links added
     * or removed also store, in that transaction, one `membership_changed` command per campaign and per domain they
     * touch (their engines judge membership again) and wake the relay at commit.
     * Each listed mailbox's suspension and daily capacity (`is_suspended`, `message_per_day`, `daily_sent_count`; a
     * number Smartlead leaves out is stored as null, capacity unknown) are stored for the execution gate with
     * `capacity_read_at`. A campaign that became ACTIVE in Smartlead, or a mailbox Smartlead sends from again (the
     * day turned, its limit was raised, its suspension lifted), stores a `leads_changed` command for each campaign
     * with leads awaiting the gate, in the same transaction (src/domain/reconciliation.ts mailboxesFreed).
     * Re-running it finds nothing left to change, so it is safe to retry.
     */
    async syncSmartlead(input: { organizationId: string; reason: string }): Promise<SyncResult> {
      const { organizationId } = input;
      const { client, fingerprint } = await clientFor(organizationId);
      let remote: { campaigns: { campaignId: string; name: string; status: string }[]; mailboxes: (RemoteMailbox & MailboxSending)[]; links: Link[] };
      try {
        const campaigns = await client.listCampaigns();
        heartbeat({ step: 'campaigns', count: campaigns.length });
        const accounts = await client.listEmailAccounts();
        heartbeat({ step: 'email-accounts', count: accounts.length });
        const links: Link[] = [];
        for (const campaign of campaigns) {
          try {
            for (const account of await client.listCampaignEmailAccounts(campaign.id)) links.push({ campaignId: campaign.id, email: account.fromEmail });
          } catch (error) {
            // A campaign deleted between the two reads simply has no links.
            if (!(error instanceof SmartleadNotFoundError)) throw error;
          }
          heartbeat({ step: 'links', campaignId: campaign.id });
        }
        remote = {
          campaigns: campaigns.map((c) => ({ campaignId: c.id, name: c.name, status: c.status })),
          mailboxes: accounts.map((a) => ({
            email: a.fromEmail,
            accountId: a.id,
            suspended: a.isSuspended,
            messagePerDay: storableCount(a.maxEmailsPerDay),
            dailySentCount: storableCount(a.dailySentCount),
          })),
          links,
        };
      } catch (error) {
        return fail(organizationId, 'read campaigns and email accounts', { kind: 'account' }, error, fingerprint);
      }

      return tenant(organizationId, async (tx) => {
        const known = await readKnownView(tx);
        const knownLive = known.campaigns.filter((c) => !c.deletedExternally).length + known.mailboxes.filter((m) => m.smartleadAccountId !== null && !m.deletedExternally).length;
        if (remote.campaigns.length === 0 && remote.mailboxes.length === 0 && knownLive > 0) {
          // An account that suddenly lists nothing is far more likely a Smartlead glitch than a customer deleting
          // everything: do not mark it all deleted (and flood the audit log); retry, and let the sync fail visibly.
          throw ApplicationFailure.create({
            message: `Smartlead listed no campaigns and no email accounts although Drason knows ${knownLive}; nothing was marked deleted. Retrying.`,
            type: 'SmartleadEmptyAccount',
          });
        }
        const changes = reconcile({ known, remote });
        const mailboxIds = await applyChanges(tx, organizationId, changes, [...remote.mailboxes.map((m) => m.email), ...remote.links.map((l) => l.email)]);
        await storeSending(tx, remote.mailboxes, mailboxIds);
        const links = changes.flatMap((c): LinkChange[] =>
          c.kind === 'link_added' || c.kind === 'link_removed' ? [{ campaignId: c.campaignId, email: c.email, linked: c.kind === 'link_added' }] : [],
        );
        const membershipCommands = links.length > 0 ? await enqueueMembershipChanges(tx, organizationId, links, 'system') : 0;
        const leadCommands = await enqueueLeadTriggers(tx, organizationId, changes, known.sending, remote);
        if (membershipCommands + leadCommands > 0) await notifyRelayAtCommit(tx);
        await tx('campaigns').update({ last_synced_at: tx.fn.now() });
        for (const change of changes) {
          const entity: Pick<NewAuditEntry, 'entityType' | 'entityId'> =
            'campaignId' in change ? { entityType: 'campaign', entityId: change.campaignId } : { entityType: 'mailbox', entityId: change.email };
          await audit(tx, {
            organizationId,
            ...entity,
            action: `smartlead_${change.kind}`,
            trigger: { signals: ['SmartleadSync'], observed: change, window: input.reason },
            message: describeChange(change),
          });
        }
        return { campaigns: remote.campaigns.length, mailboxes: remote.mailboxes.length, links: remote.links.length, changes: changes.map((c) => c.kind) };
      });
    },

    async pauseSmartleadCampaign(input: { organizationId: string; campaignId: string; reason: string }): Promise<{ changed: boolean }> {
      return setCampaignStatus(input, 'PAUSED');
    },
    async resumeSmartleadCampaign(input: { organizationId: string; campaignId: string; reason: string }): Promise<{ changed: boolean }> {
      return setCampaignStatus(input, 'START');
    },
    async pauseSmartleadMailbox(input: { organizationId: string; email: string }): Promise<{ changed: boolean }> {
      return setMailboxSuspended(input, true);
    },
    async resumeSmartleadMailbox(input: { organizationId: string; email: string }): Promise<{ changed: boolean }> {
      return setMailboxSuspended(input, false);
    },

    /**
     * Adds leads to a Smartlead campaign with its duplicate protection on, and says per lead whether it is in the
     * campaign (mark it active) or why not (keep it held). Retrying never adds a lead twice.
     */
    async pushLeadsToCampaign(input: PushLeadsInput): Promise<PushLeadsResult> {
      return pushLeads(input);
    },
    /** The Smartlead lead with this email and the campaigns it is in, or null when Smartlead does not know it. */
    async findSmartleadLead(input: { organizationId: string; email: string }): Promise<SmartleadLead | null> {
      const email = requireEmail(input.email);
      const { client, fingerprint } = await clientFor(input.organizationId);
      try {
        return await client.findLeadByEmail(email);
      } catch (error) {
        return fail(input.organizationId, `look up lead ${email}`, { kind: 'account' }, error, fingerprint);
      }
    },
    /** Stops Smartlead sending to one lead in one campaign (idempotent). A missing lead or campaign is not found. */
    async pauseSmartleadLead(input: LeadInCampaignInput): Promise<{ smartleadLeadId: string }> {
      return setLeadPaused(input, true);
    },
    async resumeSmartleadLead(input: LeadInCampaignInput): Promise<{ smartleadLeadId: string }> {
      return setLeadPaused(input, false);
    },
  };
}

function smartleadLeadInput(lead: LeadToPush, email: string): SmartleadLeadInput {
  return {
    email,
    ...(lead.firstName === undefined ? {} : { first_name: lead.firstName }),
    ...(lead.lastName === undefined ? {} : { last_name: lead.lastName }),
    ...(lead.companyName === undefined ? {} : { company_name: lead.companyName }),
    ...(lead.customFields === undefined ? {} : { custom_fields: lead.customFields }),
  };
}

function requireEmail(email: string): string {
  const trimmed = email.trim();
  if (!PLAUSIBLE_EMAIL.test(trimmed)) throw ApplicationFailure.nonRetryable(`${JSON.stringify(trimmed.slice(0, 80))} is not an email address.`, 'InvalidLeadEmail');
  return trimmed;
}

const limitReached = (statuses: Map<string, LeadPushStatus>): boolean => [...statuses.values()].includes('lead_limit_reached');

function leadLookup(lead: SmartleadLead | null, campaignId: string): { inCampaign: boolean; inOtherCampaign: boolean } {
  const campaigns = lead?.campaigns ?? [];
  return { inCampaign: campaigns.some((c) => c.campaignId === campaignId), inOtherCampaign: campaigns.some((c) => c.campaignId !== campaignId) };
}

/** The previous attempt's progress, if it is one of this push (same number of uploads) and well formed. */
function readCheckpoint(details: unknown, uploads: number): PushCheckpoint | undefined {
  if (details === null || typeof details !== 'object') return undefined;
  const { uploadsDone, statuses } = details as Partial<PushCheckpoint>;
  if (typeof uploadsDone !== 'number' || !(uploadsDone >= 0 && uploadsDone <= uploads) || !Array.isArray(statuses)) return undefined;
  return { uploadsDone, statuses };
}

async function readKnownView(tx: Tx): Promise<{ campaigns: KnownCampaign[]; mailboxes: KnownMailbox[]; links: Link[]; sending: MailboxSending[] }> {
  const campaigns = (await tx('campaigns').select('campaign_id', 'name', 'status', 'deleted_externally_at')) as {
    campaign_id: string;
    name: string;
    status: string;
    deleted_externally_at: Date | null;
  }[];
  const mailboxes = (await tx('mailboxes').select('email', 'smartlead_account_id', 'deleted_externally_at', 'suspended_in_smartlead', 'message_per_day', 'daily_sent_count')) as {
    email: string;
    smartlead_account_id: string | null;
    deleted_externally_at: Date | null;
    suspended_in_smartlead: boolean;
    message_per_day: number | null;
    daily_sent_count: number | null;
  }[];
  const links = (await tx('campaign_mailboxes as l').join('mailboxes as m', function joinMailbox() {
    this.on('m.id', '=', 'l.mailbox_id').andOn('m.organization_id', '=', 'l.organization_id');
  }).select('l.campaign_id', 'm.email')) as { campaign_id: string; email: string }[];
  return {
    campaigns: campaigns.map((c) => ({ campaignId: c.campaign_id, name: c.name, status: c.status, deletedExternally: c.deleted_externally_at !== null })),
    mailboxes: mailboxes.map((m) => ({ email: m.email, smartleadAccountId: m.smartlead_account_id, deletedExternally: m.deleted_externally_at !== null })),
    links: links.map((l) => ({ campaignId: l.campaign_id, email: l.email })),
    sending: mailboxes.map((m) => ({ email: m.email, suspended: m.suspended_in_smartlead, messagePerDay: m.message_per_day, dailySentCount: m.daily_sent_count })),
  };
}

/** A count Smartlead reported that fits the integer column; anything else (fractional, negative, huge) is unknown. */
const storableCount = (n: number | null): number | null => (n !== null && Number.isInteger(n) && n >= 0 && n <= 2_147_483_647 ? n : null);

/** Every listed mailbox's suspension and daily capacity as Smartlead reports them now, in one statement. */
async function storeSending(tx: Tx, mailboxes: MailboxSending[], mailboxIds: Map<string, string>): Promise<void> {
  const rows = mailboxes.flatMap((m) => {
    const id = mailboxIds.get(m.email.trim().toLowerCase());
    return id === undefined ? [] : [{ id, ...m }];
  });
  if (rows.length === 0) return;
  await tx.raw(
    `update mailboxes m
        set suspended_in_smartlead = r.suspended, message_per_day = r.message_per_day, daily_sent_count = r.daily_sent_count, capacity_read_at = now()
       from unnest(?::uuid[], ?::boolean[], ?::int[], ?::int[]) as r(id, suspended, message_per_day, daily_sent_count)
      where m.id = r.id`,
    // pg sends a null element as NULL; knex types only arrays without nulls.
    [rows.map((r) => r.id), rows.map((r) => r.suspended), rows.map((r) => r.messagePerDay) as number[], rows.map((r) => r.dailySentCount) as number[]],
  );
}

/**
 * Held leads deserve another pass of their campaign's lead push workflow when the campaign became ACTIVE in
 * Smartlead (`campaign_resumed`), or when one of its mailboxes that Smartlead had stopped (suspended, at its daily
 * limit) sends again (`capacity_changed`; campaigns as Smartlead links them now). Only campaigns with leads awaiting
 * the gate are told: the day's turn frees every mailbox, and a campaign with nothing held has nothing to re-check.
 * Returns how many commands were stored.
 */
async function enqueueLeadTriggers(
  tx: Tx,
  organizationId: string,
  changes: ReconciliationChange[],
  before: MailboxSending[],
  remote: { mailboxes: MailboxSending[]; links: Link[] },
): Promise<number> {
  const resumed = new Set(campaignsResumed(changes));
  const freed = new Set(mailboxesFreed(before, remote.mailboxes));
  const freedCampaigns = new Set(remote.links.filter((l) => freed.has(l.email.trim().toLowerCase()) && !resumed.has(l.campaignId)).map((l) => l.campaignId));
  if (resumed.size + freedCampaigns.size === 0) return 0;
  const { rows } = await tx.raw<{ rows: { id: string }[] }>(
    `select c.id from unnest(?::text[]) as c(id)
      where exists (select 1 from leads l where l.assigned_campaign_id = c.id and l.status = 'held' and l.push_refused_at is null)`,
    [[...resumed, ...freedCampaigns]],
  );
  const waiting = new Set(rows.map((r) => r.id));
  return (
    (await enqueueLeadsChanged(tx, organizationId, [...resumed].filter((c) => waiting.has(c)), 'campaign_resumed', 'system')) +
    (await enqueueLeadsChanged(tx, organizationId, [...freedCampaigns].filter((c) => waiting.has(c)), 'capacity_changed', 'system'))
  );
}

/** Applies the changes; returns the ids of the mailboxes Smartlead mentions (by lower-case email). */
async function applyChanges(tx: Tx, organizationId: string, changes: ReconciliationChange[], remoteEmails: string[]): Promise<Map<string, string>> {
  // Every mailbox Smartlead mentions gets a row (and its domain), so links and monitoring can refer to it.
  const mailboxIds = await ensureMailboxes(tx, organizationId, remoteEmails);
  for (const change of changes) {
    switch (change.kind) {
      case 'campaign_added':
        await tx('campaigns').insert({ organization_id: organizationId, campaign_id: change.campaignId, name: change.name, status: change.status });
        break;
      case 'campaign_renamed':
        await tx('campaigns').where({ campaign_id: change.campaignId }).update({ name: change.to });
        break;
      case 'campaign_status_changed':
        await tx('campaigns').where({ campaign_id: change.campaignId }).update({ status: change.to });
        break;
      case 'campaign_deleted':
        await tx('campaigns').where({ campaign_id: change.campaignId }).update({ deleted_externally_at: tx.fn.now() });
        break;
      case 'campaign_reappeared':
        await tx('campaigns').where({ campaign_id: change.campaignId }).update({ deleted_externally_at: null, name: change.name, status: change.status });
        break;
      case 'mailbox_added':
      case 'mailbox_reappeared':
        await tx('mailboxes').where({ email: change.email }).update({ smartlead_account_id: change.accountId, deleted_externally_at: null });
        break;
      case 'mailbox_removed':
        await tx('mailboxes').where({ email: change.email }).update({ deleted_externally_at: tx.fn.now() });
        break;
      case 'link_added':
        await tx('campaign_mailboxes')
          .insert({ organization_id: organizationId, campaign_id: change.campaignId, mailbox_id: mailboxIds.get(change.email) })
          .onConflict(['organization_id', 'campaign_id', 'mailbox_id'])
          .ignore();
        break;
      case 'link_removed': {
        const mailbox = (await tx('mailboxes').where({ email: change.email }).first('id')) as { id: string } | undefined;
        if (mailbox !== undefined) await tx('campaign_mailboxes').where({ campaign_id: change.campaignId, mailbox_id: mailbox.id }).delete();
        break;
      }
    }
  }
  return mailboxIds;
}

export type SmartleadActivities = ReturnType<typeof createSmartleadActivities>;
