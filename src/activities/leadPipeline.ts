/**
 * The lead pipeline's activities for the per-campaign lead push workflow (docs/decisions/013-lead-pipeline.md):
 *
 * - `readGateInput`: read-only, everything the execution gate (src/domain/executionGate.ts) needs about one campaign,
 *   and the oldest held leads assigned to it. Run as a local activity.
 * - `recordGateOutcome`: the result of one pass, idempotent by its decision key: leads Smartlead now has in the
 *   campaign become `active`; other leads stay `held` with their reason; one audit row per lead per change of reason
 *   (a re-check that finds the same reason writes nothing).
 */
import { withTenant, type Tx } from '../db/tenant';
import { appendAudit } from '../db/repositories/audit';
import { currentSettings } from '../db/repositories/settings';
import { quarantinedSources } from '../db/repositories/sources';
import { ENGINE_VERSION } from '../domain/engineVersion';
import type { GateCampaign, GateDomain, GateMailbox } from '../domain/executionGate';
import type { RiskState } from '../domain/riskScore';
import type { Mode } from '../domain/settings';
import type { LeadPushStatus } from '../smartlead/leadOutcomes';
import type { SmartleadActivityDeps, LeadToPush } from './smartlead';

/** Leads read per pass at most (oldest first); the push activity batches them further at Smartlead's maximum. */
export const DEFAULT_GATE_LEAD_LIMIT = 100;

export interface ReadGateInputRequest {
  organizationId: string;
  campaignId: string;
  /** Held leads to read at most (oldest first). */
  limit?: number;
}

export interface GateInputRead {
  /** Null when Drason does not know the campaign (never synced): its leads stay held. */
  campaign: GateCampaign | null;
  domains: GateDomain[];
  mailboxes: GateMailbox[];
  mode: Mode;
  gateMaxRiskScore: number;
  settingsVersion: number;
  /** The oldest held leads assigned to the campaign (not refused by Smartlead for good), at most `limit`. */
  leads: GateLead[];
  /** Every held lead assigned to the campaign (not refused for good). */
  heldCount: number;
  /** Quarantined sources among those leads' (src/db/repositories/sources.ts): name → since and why. */
  quarantined: { source: string; since: number; reason: string }[];
  /**
   * Suggest mode: a person applied a `push_leads` recommendation for this campaign at this time (epoch ms, the
   * latest): leads created up to it may be pushed once the gate allows. Null when none was applied.
   */
  approvedUntil: number | null;
  /** Leads whose pause at Smartlead is out of step with Drason's (paused but not at Smartlead, or the reverse). */
  pausesToSync: number;
}

export interface GateLead extends LeadToPush {
  holdReason: string | null;
  /** The routing rule that routed it (its source); null for leads routed before sources were recorded. */
  source: string | null;
  /** When it was received (epoch ms). */
  createdAtMs: number;
}

export interface GateOutcomeLead {
  leadId: string;
  /** The lead is in the Smartlead campaign now: it becomes active. */
  inCampaign: boolean;
  /** Why it stays held (ignored when inCampaign). */
  reason: string;
  /** What Smartlead answered when it was pushed (absent when it was not pushed). */
  pushStatus?: LeadPushStatus;
}

/**
 * What Smartlead refuses for good: the lead stays held with its reason and the gate no longer reads it (a person
 * fixes the row in Clay, which then arrives as a new lead, or leaves it). Not the lead limit or an unexplained
 * refusal: those are tried again at the next pass.
 */
export const REFUSED_FOR_GOOD: ReadonlySet<LeadPushStatus> = new Set(['invalid_email', 'blocked', 'unsubscribed', 'in_other_campaign']);

export interface RecordGateOutcomeInput {
  organizationId: string;
  campaignId: string;
  /** Unique per pass of the workflow: a retry with the same key changes nothing twice. */
  decisionKey: string;
  mode: Mode;
  leads: GateOutcomeLead[];
  /**
   * Suggest mode, the gate allows a push: list it as ONE pending `push_leads` recommendation for the campaign (kept
   * up to date while pending), audited once when first made.
   */
  recommendPush?: { leads: number; summary: string };
  /** The gate's sentence for this pass (what passed, with values and limits): quoted in each pushed lead's audit entry. */
  gate?: string;
}

export interface RecordGateOutcomeResult {
  activated: number;
  /** Leads Smartlead refused for good in this pass. */
  refused: number;
  /** Held leads whose reason changed (and were audited). */
  reasonsChanged: number;
}

const asState = (s: string): RiskState => (s === 'warning' || s === 'paused' || s === 'recovering' ? s : 'healthy');
const ms = (d: Date | null): number | undefined => (d === null ? undefined : d.getTime());
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function pause(reason: string | null, cooldownUntil: Date | null): { reason?: string; cooldownUntil?: number } {
  const until = ms(cooldownUntil);
  return { ...(reason === null ? {} : { reason }), ...(until === undefined ? {} : { cooldownUntil: until }) };
}

async function readGate(tx: Tx, input: ReadGateInputRequest): Promise<GateInputRead> {
  const settings = await currentSettings(tx);
  const row = (await tx('campaigns').where({ campaign_id: input.campaignId }).first('campaign_id', 'name', 'status', 'state', 'pause_reason', 'cooldown_until', 'deleted_externally_at', 'risk_score', 'automation_stopped_at', 'automation_stopped_reason')) as
    | {
        campaign_id: string;
        name: string;
        status: string;
        state: string;
        pause_reason: string | null;
        cooldown_until: Date | null;
        deleted_externally_at: Date | null;
        risk_score: number;
        automation_stopped_at: Date | null;
        automation_stopped_reason: string | null;
      }
    | undefined;
  const campaign: GateCampaign | null =
    row === undefined
      ? null
      : {
          id: row.campaign_id,
          ...(row.name === '' ? {} : { name: row.name }),
          smartleadStatus: row.status,
          deletedInSmartlead: row.deleted_externally_at !== null,
          // A campaign whose automation an escalation loop stopped waits for a person, like a paused one.
          state: row.automation_stopped_at !== null ? 'paused' : asState(row.state),
          pause: row.automation_stopped_at !== null ? pause(row.automation_stopped_reason, null) : pause(row.pause_reason, row.cooldown_until),
          riskScore: Number(row.risk_score),
        };
  const members = (await tx('campaign_mailboxes as l')
    .join('mailboxes as m', function joinMailbox() {
      this.on('m.id', '=', 'l.mailbox_id').andOn('m.organization_id', '=', 'l.organization_id');
    })
    .join('domains as d', function joinDomain() {
      this.on('d.id', '=', 'm.domain_id').andOn('d.organization_id', '=', 'm.organization_id');
    })
    .where('l.campaign_id', input.campaignId)
    .whereNull('m.deleted_externally_at')
    .select(
      'm.email',
      'm.state',
      'm.automation_stopped_at',
      'm.suspended_in_smartlead',
      'm.message_per_day',
      'm.daily_sent_count',
      'd.name as domain',
      'd.state as domain_state',
      'd.pause_reason as domain_pause_reason',
      'd.cooldown_until as domain_cooldown_until',
      'd.automation_stopped_at as domain_stopped_at',
      'd.automation_stopped_reason as domain_stopped_reason',
    )) as {
    email: string;
    state: string;
    automation_stopped_at: Date | null;
    suspended_in_smartlead: boolean;
    message_per_day: number | null;
    daily_sent_count: number | null;
    domain: string;
    domain_state: string;
    domain_pause_reason: string | null;
    domain_cooldown_until: Date | null;
    domain_stopped_at: Date | null;
    domain_stopped_reason: string | null;
  }[];
  const mailboxes: GateMailbox[] = members.map((m) => ({
    email: m.email.toLowerCase(),
    state: asState(m.state),
    automationStopped: m.automation_stopped_at !== null,
    // As the Smartlead sync last read them; a number Smartlead did not report (or never synced) is null: unknown.
    suspendedInSmartlead: m.suspended_in_smartlead,
    messagePerDay: m.message_per_day,
    dailySentCount: m.daily_sent_count,
  }));
  const domains = new Map<string, GateDomain>();
  for (const m of members) {
    const name = m.domain.toLowerCase();
    if (domains.has(name)) continue;
    const stopped = m.domain_stopped_at !== null;
    domains.set(name, {
      domain: name,
      state: stopped ? 'paused' : asState(m.domain_state),
      pause: stopped ? pause(m.domain_stopped_reason, null) : pause(m.domain_pause_reason, m.domain_cooldown_until),
    });
  }
  const held = tx('leads').where({ status: 'held', assigned_campaign_id: input.campaignId }).whereNull('push_refused_at');
  const leadRows = (await held
    .clone()
    .orderBy([{ column: 'created_at' }, { column: 'id' }])
    .limit(input.limit ?? DEFAULT_GATE_LEAD_LIMIT)
    .select('id', 'email', 'hold_reason', 'raw', 'routing_rule', 'created_at')) as {
    id: string;
    email: string;
    hold_reason: string | null;
    raw: Record<string, unknown> | null;
    routing_rule: string | null;
    created_at: Date;
  }[];
  const [{ count }] = (await held.clone().count({ count: '*' })) as [{ count: string | number }];
  const sources = [...new Set(leadRows.map((l) => l.routing_rule).filter((r): r is string => r !== null))];
  const quarantined = await quarantinedSources(tx, sources);
  const approved = (await tx('recommendations')
    .where({ entity_type: 'campaign', entity_key: input.campaignId, action: 'push_leads', status: 'applied' })
    .max({ at: 'applied_at' })
    .first()) as { at: Date | null } | undefined;
  const [{ pauses }] = (await tx('leads')
    .where({ assigned_campaign_id: input.campaignId })
    .where((q) => q.where({ status: 'paused', smartlead_paused: false }).orWhere((r) => r.whereNot({ status: 'paused' }).where({ smartlead_paused: true })))
    .count({ pauses: '*' })) as [{ pauses: string | number }];
  return {
    campaign,
    domains: [...domains.values()],
    mailboxes,
    mode: settings.mode,
    gateMaxRiskScore: settings.thresholds.gateMaxRiskScore,
    settingsVersion: settings.version,
    leads: leadRows.map((l): GateLead => {
      const raw = l.raw ?? {};
      const firstName = text(raw['first_name']);
      const lastName = text(raw['last_name']);
      const companyName = text(raw['company_name']) ?? text(raw['company']);
      return {
        leadId: l.id,
        email: l.email,
        holdReason: l.hold_reason,
        source: l.routing_rule,
        createdAtMs: l.created_at.getTime(),
        ...(firstName === undefined ? {} : { firstName }),
        ...(lastName === undefined ? {} : { lastName }),
        ...(companyName === undefined ? {} : { companyName }),
      };
    }),
    heldCount: Number(count),
    quarantined: [...quarantined].map(([source, q]) => ({ source, since: q.since.getTime(), reason: q.reason })),
    approvedUntil: approved?.at == null ? null : approved.at.getTime(),
    pausesToSync: Number(pauses),
  };
}

async function recordOutcome(tx: Tx, input: RecordGateOutcomeInput): Promise<RecordGateOutcomeResult> {
  let activated = 0;
  let refused = 0;
  let reasonsChanged = 0;
  const audit = (leadId: string, action: string, message: string, key: string): Promise<unknown> =>
    appendAudit(tx, {
      organizationId: input.organizationId,
      entityType: 'lead',
      entityId: leadId,
      action,
      actor: 'system',
      message,
      engineVersion: ENGINE_VERSION,
      mode: input.mode,
      idempotencyKey: `${input.decisionKey}/${leadId}/${key}`,
      ...(action === 'lead_pushed' || action === 'lead_refused' ? { trigger: { signals: ['smartlead_push'], observed: key } } : {}),
    });
  // Only a held lead of this campaign moves: a retry (already active or refused) or a lead moved elsewhere changes nothing.
  const heldHere = () => tx('leads').where({ status: 'held', assigned_campaign_id: input.campaignId });
  for (const lead of input.leads) {
    if (lead.inCampaign) {
      const [moved] = (await heldHere()
        .where({ id: lead.leadId })
        .update({ status: 'active', hold_reason: null, push_status: lead.pushStatus ?? 'added', pushed_at: tx.raw('coalesce(pushed_at, now())'), updated_at: tx.fn.now() }, ['email'])) as {
        email: string;
      }[];
      if (moved === undefined) continue;
      activated += 1;
      const why = input.gate === undefined ? '' : ` (${input.gate})`;
      await audit(lead.leadId, 'lead_pushed', `Lead ${moved.email} (${lead.leadId}) was added to Smartlead campaign ${input.campaignId} and is active${why}.`, 'active');
      continue;
    }
    if (lead.pushStatus !== undefined && REFUSED_FOR_GOOD.has(lead.pushStatus)) {
      const n = await heldHere()
        .where({ id: lead.leadId })
        .whereNull('push_refused_at')
        .update({ hold_reason: lead.reason, push_status: lead.pushStatus, push_refused_at: tx.fn.now(), updated_at: tx.fn.now() });
      if (n === 0) continue;
      refused += 1;
      await audit(
        lead.leadId,
        'lead_refused',
        `Smartlead refused lead ${lead.leadId} for campaign ${input.campaignId} (${lead.pushStatus}): ${lead.reason}. It stays held and is not offered again; send a corrected row from Clay to try again.`,
        'refused',
      );
      continue;
    }
    const n = await heldHere()
      .where({ id: lead.leadId })
      .whereRaw('hold_reason is distinct from ?', [lead.reason])
      .update({ hold_reason: lead.reason, ...(lead.pushStatus === undefined ? {} : { push_status: lead.pushStatus }), updated_at: tx.fn.now() });
    if (n === 0) continue;
    reasonsChanged += 1;
    await audit(lead.leadId, 'lead_held', `Lead ${lead.leadId} stays held for campaign ${input.campaignId}: ${lead.reason}.`, 'held');
  }
  if (input.recommendPush !== undefined) await recommendPush(tx, input, input.recommendPush);
  return { activated, refused, reasonsChanged };
}

/** Suggest mode: one pending `push_leads` recommendation per campaign, its message kept current; audited when made. */
async function recommendPush(tx: Tx, input: RecordGateOutcomeInput, push: { leads: number; summary: string }): Promise<void> {
  const message = `Push ${push.leads} held lead${push.leads === 1 ? '' : 's'} to Smartlead campaign ${input.campaignId}: ${push.summary}. Applying it pushes the leads held until then.`;
  const pending = (await tx('recommendations').where({ entity_type: 'campaign', entity_key: input.campaignId, action: 'push_leads', status: 'pending' }).first('id', 'message')) as
    | { id: string; message: string }
    | undefined;
  if (pending !== undefined) {
    if (pending.message !== message) await tx('recommendations').where({ id: pending.id }).update({ message, trigger: JSON.stringify({ leads: push.leads }) });
    return;
  }
  const inserted = await tx('recommendations')
    .insert({
      organization_id: input.organizationId,
      entity_type: 'campaign',
      entity_key: input.campaignId,
      action: 'push_leads',
      decision_id: `${input.decisionKey}/push_leads`,
      message,
      trigger: JSON.stringify({ leads: push.leads }),
    })
    .onConflict(['organization_id', 'decision_id'])
    .ignore()
    .returning('id');
  if (inserted.length === 0) return;
  await appendAudit(tx, {
    organizationId: input.organizationId,
    entityType: 'campaign',
    entityId: input.campaignId,
    action: 'push_recommended',
    actor: 'system',
    message: `Suggest mode: Drason recommends pushing ${push.leads} held lead${push.leads === 1 ? '' : 's'} to Smartlead campaign ${input.campaignId} (${push.summary}); nothing is pushed until a person applies the recommendation.`,
    engineVersion: ENGINE_VERSION,
    mode: input.mode,
    idempotencyKey: `${input.decisionKey}/push_recommended`,
  });
}

export function createLeadPipelineActivities(deps: Pick<SmartleadActivityDeps, 'db'>) {
  return {
    /** Everything the execution gate needs about one campaign, and its oldest held leads. Read-only. */
    async readGateInput(input: ReadGateInputRequest): Promise<GateInputRead> {
      return withTenant(deps.db, input.organizationId, (tx) => readGate(tx, input));
    },
    /** One pass's outcome on the leads, idempotent by `decisionKey`. */
    async recordGateOutcome(input: RecordGateOutcomeInput): Promise<RecordGateOutcomeResult> {
      return withTenant(deps.db, input.organizationId, (tx) => recordOutcome(tx, input));
    },
  };
}
