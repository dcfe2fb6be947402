/**
 * The execution gate (audit §9, PRD §8): may this lead be pushed into its campaign now? One pure, deterministic
 * function, `evaluateGate`: no I/O, no clock (`now` is an input, used only in the wording of cooldowns), the same
 * input gives the same decision, reasons and order included (mailboxes and domains are sorted, not taken in input
 * order). test/unit/executionGate.test.ts has a test per row and for their combinations.
 *
 * ## Conditions, in the order they are reported (every failed one is listed, not just the first)
 *
 * | # | condition          | Passes when                                                                                  |
 * |---|--------------------|----------------------------------------------------------------------------------------------|
 * | 1 | `campaign_smartlead` | the campaign exists in Smartlead (not deleted) and its Smartlead status is exactly `ACTIVE` (DRAFTED, PAUSED, STOPPED, COMPLETED fail) |
 * | 2 | `campaign_drason`  | Drason has not paused the campaign (healthy, warning and recovering campaigns still send)     |
 * | 3 | `domain`           | none of the campaign's sending domains is paused; one entry per paused domain, by name        |
 * | 4 | `mailbox`          | at least one of the campaign's mailboxes is available: not paused by Drason, automation not stopped (an escalation loop waits for a person), not suspended in Smartlead, and below its daily capacity |
 * | 5 | `risk_score`       | the campaign's risk score (0–100) is at most `gateMaxRiskScore`                               |
 * | 6 | `source_quality`   | the lead's source (its routing rule) is not quarantined (src/domain/sourceQuality.ts)         |
 *
 * Decisions recorded here:
 * - Risk score: AT the maximum passes (70 with the default passes, 71 is held). The settings define
 *   `gateMaxRiskScore` as "the highest risk score the execution gate lets through" and the default's comment says a
 *   lead is held "above this"; the audit's "below threshold" is read the same way.
 * - Daily capacity: available while `daily_sent_count < message_per_day` (50/50 is at capacity; 0/0 too). When
 *   Smartlead did not report either number the capacity is UNKNOWN and counts as AVAILABLE: Smartlead itself never
 *   sends above `message_per_day`, so a wrong guess only delays sending, while holding on missing data would stop
 *   every lead of the campaign whenever the sync lags. The decision says so in `notes` when no mailbox with a known
 *   capacity is available.
 * - A campaign with no mailboxes fails condition 4 ("has no mailboxes").
 * - Warning and recovering mailboxes, domains and campaigns are available: only paused blocks (they are still
 *   sending under watch; the risk score carries how close they are to a pause).
 *
 * ## Mode (the action; it never changes which conditions fail)
 *
 * | conditions | enforce | suggest                                  | observe                                       |
 * |------------|---------|------------------------------------------|-----------------------------------------------|
 * | all pass   | `push`  | `recommend` (a person applies the push)  | `record` ("observe mode: would push"; nothing is pushed) |
 * | any fails  | `hold`  | `hold`                                   | `hold`                                        |
 *
 * `allowed` is the gate's verdict on safety alone (every condition passes), in every mode; only `push` adds the
 * lead to Smartlead. A lead that is not pushed stays held, and `summary` is its holdReason.
 */
import { at } from './mailboxMachine';
import type { RiskState } from './riskScore';
import type { Mode, Thresholds } from './settings';
import { sourceLabel, SOURCE_QUALITY_REASON, type SourceQuarantine } from './sourceQuality';

export const GATE_CONDITIONS = ['campaign_smartlead', 'campaign_drason', 'domain', 'mailbox', 'risk_score', 'source_quality'] as const;
export type GateCondition = (typeof GATE_CONDITIONS)[number];

/** A pause as the state machines report it (src/domain/mailboxMachine.ts MachineState). */
export interface GatePause {
  /** The pause reason, if recorded (e.g. "hard bounces at 6% over the last hour"). */
  reason?: string;
  /** The cooldown's end (epoch ms); absent under a manual hold or a stopped automation. */
  cooldownUntil?: number;
}

export interface GateCampaign {
  /** The Smartlead campaign id. */
  id: string;
  name?: string;
  /** Smartlead's status: only `ACTIVE` counts as active. */
  smartleadStatus: string;
  deletedInSmartlead: boolean;
  /** Drason's state of the campaign. */
  state: RiskState;
  pause?: GatePause;
  /** The campaign's risk score, 0–100 (src/domain/riskScore.ts). */
  riskScore: number;
}

export interface GateDomain {
  domain: string;
  state: RiskState;
  pause?: GatePause;
}

export interface GateMailbox {
  email: string;
  /** Drason's state of the mailbox. */
  state: RiskState;
  /** An escalation loop stopped automation for it: it waits for a person. */
  automationStopped: boolean;
  suspendedInSmartlead: boolean;
  /** Smartlead's `message_per_day`; null when unknown. */
  messagePerDay: number | null;
  /** Smartlead's `daily_sent_count`; null when unknown. */
  dailySentCount: number | null;
}

export interface GateSource {
  ruleId: string;
  ruleName?: string;
  claySource?: string;
  /** The rule's quarantine (src/domain/sourceQuality.ts), null when it is not quarantined. */
  quarantine: SourceQuarantine | null;
}

export interface GateInput {
  campaign: GateCampaign;
  /** The campaign's sending domains (the domains of its mailboxes). */
  domains: GateDomain[];
  /** The campaign's mailboxes, as last synced from Smartlead with Drason's state. */
  mailboxes: GateMailbox[];
  source: GateSource;
  mode: Mode;
  thresholds: Pick<Thresholds, 'gateMaxRiskScore'>;
  /** Epoch ms: only for the wording of cooldowns. */
  now: number;
}

export interface GateFailure {
  condition: GateCondition;
  /** One plain-English sentence a person can act on. */
  reason: string;
}

export type GateAction = 'push' | 'recommend' | 'record' | 'hold';

export interface GateDecision {
  /** Every condition passes (whatever the mode). */
  allowed: boolean;
  action: GateAction;
  /** Every failed condition, in GATE_CONDITIONS order (domains by name). */
  failed: GateFailure[];
  /** One sentence: the lead's holdReason whenever the action is not `push`. */
  summary: string;
  /** Facts worth showing that fail nothing (e.g. capacity unknown). */
  notes: string[];
}

const list = (names: string[]): string => (names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`);
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const campaignLabel = (c: Pick<GateCampaign, 'id' | 'name'>): string => `campaign ${c.id}${c.name === undefined ? '' : ` "${c.name}"`}`;

/** "(cooldown until …)", "(cooldown ended at …, not resumed yet)", "(until a person resumes it)", with the reason first. */
function pauseDetail(pause: GatePause | undefined, now: number): string {
  const until =
    pause?.cooldownUntil === undefined
      ? 'until a person resumes it'
      : pause.cooldownUntil > now
        ? `cooldown until ${at(pause.cooldownUntil)}`
        : `cooldown ended at ${at(pause.cooldownUntil)}, not resumed yet: its breach has not cleared`;
  return pause?.reason === undefined ? `(${until})` : `(${pause.reason}; ${until})`;
}

type Blocker = 'automation' | 'paused' | 'suspended' | 'capacity';

/** Why a mailbox cannot take a lead, the first that applies; null when available. */
function blocker(m: GateMailbox): Blocker | null {
  if (m.automationStopped) return 'automation';
  if (m.state === 'paused') return 'paused';
  if (m.suspendedInSmartlead) return 'suspended';
  if (m.messagePerDay !== null && m.dailySentCount !== null && m.dailySentCount >= m.messagePerDay) return 'capacity';
  return null;
}

const capacityKnown = (m: GateMailbox): boolean => m.messagePerDay !== null && m.dailySentCount !== null;
const load = (m: GateMailbox): string => `${m.dailySentCount}/${m.messagePerDay}`;

function mailboxFailure(label: string, mailboxes: GateMailbox[]): string | null {
  if (mailboxes.length === 0) return `${label} has no mailboxes in Smartlead: add a sending mailbox to it`;
  const blocked = new Map<Blocker, GateMailbox[]>();
  for (const m of mailboxes) {
    const b = blocker(m);
    if (b === null) return null;
    blocked.set(b, [...(blocked.get(b) ?? []), m]);
  }
  const full = blocked.get('capacity') ?? [];
  if (full.length === mailboxes.length) {
    const loads = new Set(full.map(load));
    const detail = loads.size === 1 ? `${full.length} of ${full.length} at ${load(full[0]!)}` : list(full.map((m) => `${m.email} at ${load(m)}`));
    return `every mailbox of ${label} is at its daily capacity (${detail}): leads wait for Smartlead's daily count to reset or for more sending capacity`;
  }
  const parts: string[] = [];
  const emails = (b: Blocker): string[] => (blocked.get(b) ?? []).map((m) => m.email);
  if (blocked.has('automation')) parts.push(`${emails('automation').length} stopped after an escalation loop, waiting for a person to resume (${list(emails('automation'))})`);
  if (blocked.has('paused')) parts.push(`${emails('paused').length} paused by Drason (${list(emails('paused'))})`);
  if (blocked.has('suspended')) parts.push(`${emails('suspended').length} suspended in Smartlead (${list(emails('suspended'))})`);
  if (full.length > 0) parts.push(`${full.length} at daily capacity (${list(full.map((m) => `${m.email} at ${load(m)}`))})`);
  const n = mailboxes.length;
  return `none of the ${n} mailbox${n === 1 ? '' : 'es'} of ${label} can take a lead: ${parts.join('; ')}`;
}

export function evaluateGate(input: GateInput): GateDecision {
  const { campaign, source, mode, now } = input;
  const label = campaignLabel(campaign);
  const mailboxes = [...input.mailboxes].sort((a, b) => byText(a.email, b.email));
  const domains = [...input.domains].sort((a, b) => byText(a.domain, b.domain));
  const failed: GateFailure[] = [];
  const notes: string[] = [];
  const fail = (condition: GateCondition, reason: string): void => {
    failed.push({ condition, reason });
  };

  // 1. Active in Smartlead.
  if (campaign.deletedInSmartlead) {
    fail('campaign_smartlead', `${label} was deleted in Smartlead: point its routing rule at another campaign`);
  } else if (campaign.smartleadStatus !== 'ACTIVE') {
    fail('campaign_smartlead', `${label} is ${campaign.smartleadStatus || 'without a status'} in Smartlead, not ACTIVE: start it in Smartlead for its leads to be pushed`);
  }

  // 2. Not paused by Drason.
  if (campaign.state === 'paused') fail('campaign_drason', `${label} is paused by Drason ${pauseDetail(campaign.pause, now)}`);

  // 3. No paused domain.
  for (const d of domains) {
    if (d.state === 'paused') fail('domain', `domain ${d.domain} is paused ${pauseDetail(d.pause, now)}`);
  }

  // 4. At least one available mailbox.
  const noMailbox = mailboxFailure(label, mailboxes);
  if (noMailbox !== null) {
    fail('mailbox', noMailbox);
  } else if (!mailboxes.some((m) => blocker(m) === null && capacityKnown(m))) {
    notes.push(`no mailbox of ${label} with a known daily capacity is available; pushed on mailboxes whose capacity Smartlead did not report (${list(mailboxes.filter((m) => blocker(m) === null).map((m) => m.email))}), Smartlead enforces their daily limit itself`);
  }

  // 5. Risk score at most the maximum.
  const max = input.thresholds.gateMaxRiskScore;
  if (!Number.isFinite(campaign.riskScore)) {
    fail('risk_score', `${label} has no risk score to check against the gate's maximum of ${max}: its score must be computed before leads are pushed`);
  } else if (campaign.riskScore > max) {
    fail('risk_score', `${label} has a risk score of ${campaign.riskScore}, above the gate's maximum of ${max}: leads wait until its bounces and failures come down`);
  }

  // 6. Source not quarantined.
  if (source.quarantine !== null) {
    fail(
      'source_quality',
      `${SOURCE_QUALITY_REASON}: ${sourceLabel(source)} is quarantined since ${at(source.quarantine.since)} (${source.quarantine.reason}); a person must release it`,
    );
  }

  const allowed = failed.length === 0;
  if (!allowed) {
    const n = failed.length;
    return { allowed, action: 'hold', failed, notes, summary: `held: ${n} gate condition${n === 1 ? '' : 's'} failed for ${label}: ${failed.map((f) => f.reason).join('; ')}` };
  }
  // What passed, with the measured values and their limits, so a push explains itself like a pause does.
  const available = mailboxes.filter((m) => blocker(m) === null).length;
  const passes = `every gate condition passes: risk score ${campaign.riskScore} within the maximum of ${max}, ${available} of ${mailboxes.length} mailbox${mailboxes.length === 1 ? '' : 'es'} available, no sending domain paused`;
  switch (mode) {
    case 'enforce':
      return { allowed, action: 'push', failed, notes, summary: `push to ${label}: ${passes}` };
    case 'suggest':
      return { allowed, action: 'recommend', failed, notes, summary: `suggest mode: would recommend pushing to ${label} (${passes}); waiting for a person to apply it` };
    case 'observe':
      return { allowed, action: 'record', failed, notes, summary: `observe mode: would push to ${label} (${passes}); nothing was pushed` };
  }
}
