/**
 * The lead lifecycle (PRD §11: held → active → paused → active, and → completed; issue 10). Set-based: one
 * statement pauses or releases every lead an entity affects and writes their audit rows, however many there are.
 *
 * - `pauseLeadsFor`: an entity (mailbox, campaign, domain) was paused with effect. Its cause (`mailbox:<email>`,
 *   `campaign:<id>`, `domain:<name>`) is appended to `paused_by` of every affected lead that is active or already
 *   paused; active ones become `paused`. Affected: a campaign's leads (assigned to it); a mailbox's: the leads it
 *   sent to (EmailSent events of the last LOOKBACK_DAYS naming the lead and its campaign; index
 *   migrations/011_lead_completion.ts); a domain's: the same over all its mailboxes. One audit row per lead whose
 *   pause causes changed, keyed by the decision id and the lead, so a retried decision writes nothing twice (and
 *   finds the cause already there). Stores `leads_paused` for the campaigns of the leads it paused.
 * - `releaseLeadsFrom`: the entity resumed. Its cause is removed from every paused lead holding it; leads left with
 *   no cause are `active` again (audited; `leads_resumed` for their campaigns). It also stores the recovery reason
 *   (`campaign_resumed` / `mailbox_recovered` / `domain_recovered`) for every campaign of the entity
 *   (`enqueueRecovery`), so their held leads meet the gate again.
 * - `enqueueRecovery`: the recovery commands alone, for a recorded state that went back to not paused without a
 *   release (observe mode, probation passed).
 *
 * Completed leads are never touched here (completion: migrations/011_lead_completion.ts, and syncLeadPauses in
 * src/activities/leadLifecycle.ts). Whoever calls these runs inside the transaction that records the decision;
 * they wake the relay at commit when they stored a command.
 */
import type { Tx } from '../tenant';
import type { ActionOutcome } from '../../activities/decisionRecord';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import type { Explanation } from '../../domain/mailboxMachine';
import { normalizeEmail } from '../../workflows/ids';
import { enqueueLeadsChanged, notifyRelayAtCommit, type LeadsChangedReason } from './commands';
import { campaignsOfDomain, campaignsOfMailboxes } from './membership';

/** How far back a mailbox's sends make a lead "its" lead. */
export const LOOKBACK_DAYS = 30;

export type PauseCauseType = 'mailbox' | 'campaign' | 'domain';

export interface PauseCause {
  type: PauseCauseType;
  /** A mailbox's email, a campaign's Smartlead id, a domain's name (case does not matter). */
  key: string;
}

export interface PauseLeadsInput {
  organizationId: string;
  cause: PauseCause;
  actor: string;
  /** Why the entity was paused, for the audit rows (e.g. its pause reason). */
  reason: string;
  decisionId: string;
}

export interface ReleaseLeadsInput {
  organizationId: string;
  cause: PauseCause;
  actor: string;
  decisionId: string;
  /** Why the entity resumed (its decision's sentence), quoted in each lead's audit entry. */
  reason?: string;
}

export interface LeadsChangedResult {
  /** Leads whose pause causes changed. */
  leads: number;
  /** Leads whose status changed (active → paused, or paused → active). */
  statusChanged: number;
  /** Campaigns told (leads_changed), sorted. */
  campaigns: string[];
}

const canonicalKey = (cause: PauseCause): string => (cause.type === 'mailbox' ? normalizeEmail(cause.key) : cause.type === 'domain' ? cause.key.trim().toLowerCase() : cause.key.trim());

/** The `paused_by` entry of a cause: `mailbox:<email>`, `campaign:<id>`, `domain:<name>`. */
export const causeEntry = (cause: PauseCause): string => `${cause.type}:${canonicalKey(cause)}`;

/** How audit messages name a cause. */
function causeText(cause: PauseCause): string {
  const key = canonicalKey(cause);
  if (cause.type === 'mailbox') return `mailbox ${key}, which has been sending to it`;
  if (cause.type === 'domain') return `domain ${key}, whose mailboxes have been sending to it`;
  return `its campaign ${key}`;
}

const RECOVERY: Record<PauseCauseType, LeadsChangedReason> = { campaign: 'campaign_resumed', mailbox: 'mailbox_recovered', domain: 'domain_recovered' };

/**
 * The leads the cause affects (id and prior status), as SQL and bindings: active or paused leads only. Mailbox and
 * domain: the leads their mailboxes sent to in their campaign over the last LOOKBACK_DAYS.
 */
function affectedLeads(cause: PauseCause): { sql: string; bindings: (string | number)[] } {
  const key = canonicalKey(cause);
  if (cause.type === 'campaign') {
    return { sql: `select l.id, l.status from leads l where l.assigned_campaign_id = ? and l.status in ('active', 'paused')`, bindings: [key] };
  }
  const mailboxes =
    cause.type === 'mailbox'
      ? `select m.id from mailboxes m where m.email_key = ?`
      : `select m.id from mailboxes m join domains d on d.organization_id = m.organization_id and d.id = m.domain_id where d.name_key = ?`;
  return {
    sql: `select distinct l.id, l.status
            from (${mailboxes}) m
            join events e on e.organization_id = drason_current_org() and e.mailbox_id = m.id
                         and e.type = 'EmailSent' and e.lead_email is not null and e.campaign_id is not null
                         and e.occurred_at >= now() - make_interval(days => ?::int)
            join leads l on l.organization_id = e.organization_id and l.email = e.lead_email and l.assigned_campaign_id = e.campaign_id
           where l.status in ('active', 'paused')`,
    bindings: [key, LOOKBACK_DAYS],
  };
}

/** Appends one audit row per changed lead (rows: id, email, campaign, message), keyed `<decision>#lead:<id>`. */
const AUDIT_INSERT = `
  insert into audit_log (organization_id, entity_type, entity_id, action, actor, mode, trigger, engine_version, settings_version, message, idempotency_key)
  select o.id, 'lead', c.id::text, c.action, ?, o.mode, ?::jsonb, ?,
         coalesce((select max(s.version) from organization_settings s where s.organization_id = o.id), 1),
         c.message, ? || '#lead:' || c.id::text
    from changed c join organizations o on o.id = drason_current_org()
  on conflict (organization_id, idempotency_key) do nothing`;

interface ChangedRow {
  campaign_id: string | null;
  status_changed: boolean;
}

async function finish(tx: Tx, organizationId: string, rows: ChangedRow[], reason: LeadsChangedReason, actor: string): Promise<LeadsChangedResult> {
  const campaigns = [...new Set(rows.filter((r) => r.status_changed && r.campaign_id !== null).map((r) => r.campaign_id!))].sort();
  if (campaigns.length > 0) {
    await enqueueLeadsChanged(tx, organizationId, campaigns, reason, actor);
    await notifyRelayAtCommit(tx);
  }
  return { leads: rows.length, statusChanged: rows.filter((r) => r.status_changed).length, campaigns };
}

/** Pauses the leads an entity's pause affects (see the file header). */
export async function pauseLeadsFor(tx: Tx, input: PauseLeadsInput): Promise<LeadsChangedResult> {
  const entry = causeEntry(input.cause);
  const affected = affectedLeads(input.cause);
  const why = `${causeText(input.cause)}, was paused (${input.reason})`;
  const { rows } = await tx.raw<{ rows: ChangedRow[] }>(
    `with target as (${affected.sql}),
     changed as (
       update leads l
          set status = 'paused', paused_by = array_append(l.paused_by, ?::text), updated_at = now()
         from target t
        where l.id = t.id and l.status in ('active', 'paused') and not (?::text = any(l.paused_by))
        returning l.id, l.email::text as email, l.assigned_campaign_id,
                  t.status = 'active' as status_changed,
                  case when t.status = 'active' then 'lead_paused' else 'lead_pause_cause_added' end as action,
                  'Lead ' || l.email::text || ' in campaign ' || coalesce(l.assigned_campaign_id, '(none)') ||
                  case when t.status = 'active'
                       then ' paused: ' || ?::text || '. It is active again when that lets go.'
                       else ' stays paused: ' || ?::text || ' as well. It is active again only when '
                            || array_to_string(l.paused_by, ', ') || ' all let go.' end as message
     ),
     audited as (${AUDIT_INSERT})
     select c.assigned_campaign_id as campaign_id, c.status_changed from changed c`,
    [
      ...affected.bindings,
      entry,
      entry,
      why,
      why,
      input.actor,
      JSON.stringify({ signals: [`${input.cause.type}_paused`], observed: entry }),
      ENGINE_VERSION,
      input.decisionId,
    ],
  );
  return finish(tx, input.organizationId, rows, 'leads_paused', input.actor);
}

/** Releases the leads an entity held paused, and asks its campaigns to re-evaluate their held leads (see the file header). */
export async function releaseLeadsFrom(tx: Tx, input: ReleaseLeadsInput): Promise<LeadsChangedResult> {
  const entry = causeEntry(input.cause);
  const campaignFilter = input.cause.type === 'campaign' ? 'and l.assigned_campaign_id = ?' : '';
  const what = `${causeText(input.cause)}, resumed${input.reason === undefined ? '' : ` (${input.reason.replace(/\.$/, '')})`}`;
  const { rows } = await tx.raw<{ rows: ChangedRow[] }>(
    `with changed as (
       update leads l
          set paused_by = array_remove(l.paused_by, ?::text),
              status = case when cardinality(array_remove(l.paused_by, ?::text)) = 0 then 'active' else l.status end,
              updated_at = now()
        where l.status = 'paused' and ?::text = any(l.paused_by) ${campaignFilter}
        returning l.id, l.email::text as email, l.assigned_campaign_id,
                  cardinality(l.paused_by) = 0 as status_changed,
                  case when cardinality(l.paused_by) = 0 then 'lead_resumed' else 'lead_pause_cause_released' end as action,
                  'Lead ' || l.email::text || ' in campaign ' || coalesce(l.assigned_campaign_id, '(none)') ||
                  case when cardinality(l.paused_by) = 0
                       then ' is active again: ' || ?::text || ', and nothing else holds it paused.'
                       else ' stays paused: ' || ?::text || ', but ' || array_to_string(l.paused_by, ', ') || ' still holds it.' end as message
     ),
     audited as (${AUDIT_INSERT})
     select c.assigned_campaign_id as campaign_id, c.status_changed from changed c`,
    [
      entry,
      entry,
      entry,
      ...(input.cause.type === 'campaign' ? [canonicalKey(input.cause)] : []),
      what,
      what,
      input.actor,
      JSON.stringify({ signals: [`${input.cause.type}_resumed`], observed: entry }),
      ENGINE_VERSION,
      input.decisionId,
    ],
  );
  const result = await finish(tx, input.organizationId, rows, 'leads_resumed', input.actor);
  await enqueueRecovery(tx, input.organizationId, input.cause, input.actor);
  return result;
}

/**
 * Stores the recovery reason (`campaign_resumed` / `mailbox_recovered` / `domain_recovered`) for every campaign of
 * the entity — a campaign itself; a mailbox's linked and recently sending-for campaigns; a domain's mailboxes'
 * campaigns — so the gate looks at their held leads again. Returns the campaigns told.
 */
export async function enqueueRecovery(tx: Tx, organizationId: string, cause: PauseCause, actor: string): Promise<string[]> {
  const key = canonicalKey(cause);
  const campaigns =
    cause.type === 'campaign'
      ? [key]
      : cause.type === 'mailbox'
        ? ((await campaignsOfMailboxes(tx, [key], Date.now())).get(key) ?? [])
        : await campaignsOfDomain(tx, key, Date.now());
  if (campaigns.length > 0) {
    await enqueueLeadsChanged(tx, organizationId, campaigns, RECOVERY[cause.type], actor);
    await notifyRelayAtCommit(tx);
  }
  return campaigns;
}

/** What one recorded engine decision (src/activities/decisionRecord.ts) means for its entity's leads. */
export interface DecisionForLeads {
  organizationId: string;
  cause: PauseCause;
  explanation: Explanation;
  /** The decision's Smartlead command, if any. */
  call: 'suspend' | 'unsuspend' | undefined;
  outcome: ActionOutcome;
}

/**
 * Called by the mailbox, campaign and domain act activities in the transaction that records a decision (attempts of
 * one decision take turns there and only the first records, so this runs once per decision):
 * - a pause carried out (a `suspend` command — enforce mode or a manual pause — whose outcome is not `impossible`)
 *   pauses the entity's leads;
 * - a resume (an `unsuspend` command, in any outcome: the recorded state no longer holds them) or a recorded state
 *   leaving `paused` (observe mode's "would have resumed") releases them, which also stores the recovery commands;
 * - a recorded state becoming `healthy` otherwise (probation passed, a warning cleared) stores the recovery commands
 *   only: the gate reads recorded states and risk scores.
 */
export async function recordDecisionForLeads(tx: Tx, d: DecisionForLeads): Promise<void> {
  const e = d.explanation;
  if (d.call === 'suspend') {
    if (d.outcome !== 'impossible') {
      await pauseLeadsFor(tx, { organizationId: d.organizationId, cause: d.cause, actor: e.actor, reason: e.pauseReason ?? e.message, decisionId: e.decisionId });
    }
    return;
  }
  if (d.call === 'unsuspend' || (e.from === 'paused' && e.to !== 'paused')) {
    await releaseLeadsFrom(tx, { organizationId: d.organizationId, cause: d.cause, actor: e.actor, decisionId: e.decisionId, reason: e.message });
    return;
  }
  if (e.from !== e.to && e.to === 'healthy') await enqueueRecovery(tx, d.organizationId, d.cause, e.actor);
}
