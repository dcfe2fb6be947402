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
import { ENGINE_VERSION } from '../domain/engineVersion';
import type { GateCampaign, GateDomain, GateMailbox } from '../domain/executionGate';
import type { RiskState } from '../domain/riskScore';
import type { Mode } from '../domain/settings';
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
  /** The oldest held leads assigned to the campaign, at most `limit`. */
  leads: (LeadToPush & { holdReason: string | null })[];
  /** Every held lead assigned to the campaign. */
  heldCount: number;
}

export interface GateOutcomeLead {
  leadId: string;
  /** The lead is in the Smartlead campaign now: it becomes active. */
  inCampaign: boolean;
  /** Why it stays held (ignored when inCampaign). */
  reason: string;
}

export interface RecordGateOutcomeInput {
  organizationId: string;
  campaignId: string;
  /** Unique per pass of the workflow: a retry with the same key changes nothing twice. */
  decisionKey: string;
  mode: Mode;
  leads: GateOutcomeLead[];
}

export interface RecordGateOutcomeResult {
  activated: number;
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
    // Not stored by the Smartlead sync yet (docs/decisions/013-lead-pipeline.md): not suspended, capacity unknown.
    suspendedInSmartlead: false,
    messagePerDay: null,
    dailySentCount: null,
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
  const held = tx('leads').where({ status: 'held', assigned_campaign_id: input.campaignId });
  const leadRows = (await held.clone().orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(input.limit ?? DEFAULT_GATE_LEAD_LIMIT).select('id', 'email', 'hold_reason', 'raw')) as {
    id: string;
    email: string;
    hold_reason: string | null;
    raw: Record<string, unknown> | null;
  }[];
  const [{ count }] = (await held.clone().count({ count: '*' })) as [{ count: string | number }];
  return {
    campaign,
    domains: [...domains.values()],
    mailboxes,
    mode: settings.mode,
    gateMaxRiskScore: settings.thresholds.gateMaxRiskScore,
    settingsVersion: settings.version,
    leads: leadRows.map((l) => {
      const raw = l.raw ?? {};
      const firstName = text(raw['first_name']);
      const lastName = text(raw['last_name']);
      const companyName = text(raw['company_name']) ?? text(raw['company']);
      return {
        leadId: l.id,
        email: l.email,
        holdReason: l.hold_reason,
        ...(firstName === undefined ? {} : { firstName }),
        ...(lastName === undefined ? {} : { lastName }),
        ...(companyName === undefined ? {} : { companyName }),
      };
    }),
    heldCount: Number(count),
  };
}

async function recordOutcome(tx: Tx, input: RecordGateOutcomeInput): Promise<RecordGateOutcomeResult> {
  let activated = 0;
  let reasonsChanged = 0;
  for (const lead of input.leads) {
    if (lead.inCampaign) {
      // Only a held lead of this campaign moves: a retry (already active) or a lead moved elsewhere changes nothing.
      const n = await tx('leads')
        .where({ id: lead.leadId, status: 'held', assigned_campaign_id: input.campaignId })
        .update({ status: 'active', hold_reason: null, updated_at: tx.fn.now() });
      if (n === 0) continue;
      activated += 1;
      await appendAudit(tx, {
        organizationId: input.organizationId,
        entityType: 'lead',
        entityId: lead.leadId,
        action: 'lead_pushed',
        actor: 'system',
        message: `Lead ${lead.leadId} was added to Smartlead campaign ${input.campaignId} and is active.`,
        engineVersion: ENGINE_VERSION,
        mode: input.mode,
        idempotencyKey: `${input.decisionKey}/${lead.leadId}/active`,
      });
      continue;
    }
    const n = await tx('leads')
      .where({ id: lead.leadId, status: 'held', assigned_campaign_id: input.campaignId })
      .whereRaw('hold_reason is distinct from ?', [lead.reason])
      .update({ hold_reason: lead.reason, updated_at: tx.fn.now() });
    if (n === 0) continue;
    reasonsChanged += 1;
    await appendAudit(tx, {
      organizationId: input.organizationId,
      entityType: 'lead',
      entityId: lead.leadId,
      action: 'lead_held',
      actor: 'system',
      message: `Lead ${lead.leadId} stays held for campaign ${input.campaignId}: ${lead.reason}.`,
      engineVersion: ENGINE_VERSION,
      mode: input.mode,
      idempotencyKey: `${input.decisionKey}/${lead.leadId}/held`,
    });
  }
  return { activated, reasonsChanged };
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
