/**
 * Campaign and domain escalation: when a campaign or a whole sending domain is paused, resumed and trusted again.
 * Pure and clock-free. The transition table is the mailbox's (src/domain/mailboxMachine.ts: M1–M3, A1–A3, S1, H1–H4,
 * W1–W6, P1–P3, C1–C4, the modes, the growing cooldown and the escalation-loop stop), with what is JUDGED replaced by
 * `judgeCampaign` / `judgeDomain` below, and one more rule: at the end of its cooldown a campaign or domain resumes
 * only once the breach that paused it is gone (P2, "members still degraded"; it looks again every bucket).
 * docs/decisions/012-escalation.md explains the choices; test/unit/escalationMachine.test.ts has a test per row.
 *
 * ## Escalating conservatively: mailbox first, campaign next, domain last
 *
 * | Level    | A member counts as degraded when it is…        | Pause-level breach                                    | Warning-level breach                    |
 * |----------|------------------------------------------------|-------------------------------------------------------|-----------------------------------------|
 * | mailbox  | (its own windows: src/domain/mailboxMachine.ts) |                                                       |                                         |
 * | campaign | in warning, or paused by the engine            | ≥ campaignDegradedMailboxes degraded members; or its  | a degraded member; or its own windows   |
 * |          | (a manual pause is a person's choice, not a    | own windows at a pause threshold while NO member is   | at a threshold while the mailbox level  |
 * |          | symptom)                                       | degraded (spread thin: no mailbox has enough sends to | already handles it                      |
 * |          |                                                | be judged, the campaign has)                          |                                         |
 * | domain   | paused by the engine (the mailbox level has    | ≥ domainDegradedMailboxes degraded mailboxes that no  | degraded mailboxes confined to one      |
 * |          | already acted and it was not enough)           | single campaign has among its senders (not one        | campaign (that campaign's engine acts); |
 * |          |                                                | campaign's problem: the campaign level cannot contain | or its own windows at any threshold     |
 * |          |                                                | it)                                                   |                                         |
 *
 * So one degraded mailbox never pauses its campaign, a campaign-local problem never pauses a domain, and a domain's
 * sustain only starts once its mailboxes are already paused: a domain pause comes last. Every breach is sustained
 * (`sustainMinutes`) before it pauses, exactly as for mailboxes. Pausing a campaign or domain holds campaigns paused
 * in Smartlead (`suspend` → hold, `unsuspend` → release, src/activities/escalation.ts).
 *
 * Per organization, `thresholds.features.campaignEscalation` / `domainEscalation` (on by default) switch a level
 * off: it then judges nothing (see `switchedOff`), says so in every sentence, and resumes at the end of its cooldown
 * what it had paused.
 */
import type { DecisionInput, DecisionSettings, Judgement, MachineState, MailboxState, Trigger } from './mailboxMachine';
import { decide, judgeProbation, judgeWindows, type Decision } from './mailboxMachine';
import { FEATURE_LABEL, featureOn } from './features';
import type { Thresholds } from './settings';
import type { WindowCounts, WindowSummary } from './rollingWindows';

export type EscalationKind = 'campaign' | 'domain';

/** A mailbox's state as its last transition reported it (the `member_state` command). */
export interface MemberReport {
  mailbox: string;
  state: MailboxState;
  /** Paused by a person (a manual hold), not by the engine. */
  manual: boolean;
  /** When the mailbox entered the state (epoch ms). */
  at: number;
}

/** What counts as degraded at each level (see the table above). */
export function memberDegraded(kind: EscalationKind, r: Pick<MemberReport, 'state' | 'manual'>): boolean {
  if (r.manual) return false;
  return kind === 'campaign' ? r.state === 'warning' || r.state === 'paused' : r.state === 'paused';
}

/** A degraded member as the judgement sees it: for domains, with the campaigns it sends for. */
export interface DegradedMember {
  mailbox: string;
  state: MailboxState;
  campaigns: string[];
}

export interface EscalationJudgeInput {
  kind: EscalationKind;
  /** The entity's own rolling windows (clipped at its last resume), from the counters. */
  windows: WindowSummary;
  /** Its counts since its last resume (probation). */
  sinceResume: WindowCounts;
  /** Degraded members that are still members (membership from the Smartlead sync and from events). */
  degraded: DegradedMember[];
  state: MachineState;
}

const NO_COUNTS: WindowCounts = { sent: 0, hardBounces: 0, failures: 0 };
const list = (names: string[]): string => (names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`);

/** The judgement of the entity's own windows: its 1h/24h windows, or its probation when recovering. */
function ownWindows(input: EscalationJudgeInput, t: Thresholds): Judgement {
  return input.state.state === 'recovering' ? judgeProbation(input.sinceResume, t) : judgeWindows(input.windows, t);
}

function membersBreach(level: 'pause' | 'warning', degraded: DegradedMember[], threshold: number, text: string): Judgement {
  const members = degraded.map((d) => d.mailbox);
  return {
    window: 'members',
    breach: { metric: 'degradedMailboxes', level, observed: degraded.length, threshold, window: 'members', counts: NO_COUNTS, text, members },
  };
}

/**
 * Feature `campaignEscalation` / `domainEscalation` off: the entity judges nothing (no breach, so it never pauses and
 * resumes at the end of a cooldown it was already in); its mailboxes are still judged one by one, and overrides work.
 */
function switchedOff(kind: EscalationKind, t: Thresholds): Judgement | undefined {
  const feature = kind === 'campaign' ? 'campaignEscalation' : 'domainEscalation';
  if (featureOn(t, feature)) return undefined;
  return { basis: `${FEATURE_LABEL[feature]} is off for this organization, so its mailboxes are judged only one by one` };
}

/** A campaign: its degraded mailboxes first, its own windows second (see the table above). */
export function judgeCampaign(input: EscalationJudgeInput, t: Thresholds): Judgement {
  const off = switchedOff('campaign', t);
  if (off !== undefined) return off;
  const degraded = input.degraded;
  const n = degraded.length;
  const who = list(degraded.map((d) => `${d.mailbox} (${d.state})`));
  if (n >= t.campaignDegradedMailboxes) {
    return membersBreach('pause', degraded, t.campaignDegradedMailboxes, `${n} of its mailboxes are degraded (${who}), at least ${t.campaignDegradedMailboxes} mark the campaign degraded`);
  }
  const own = ownWindows(input, t);
  if (own.breach !== undefined) {
    if (own.breach.level === 'pause' && n > 0) {
      // The mailbox level already handles it: mailbox first.
      const b = { ...own.breach, level: 'warning' as const, text: `${describeOwn(own)}, but mailbox ${who} is already handled on its own (mailbox first: the campaign waits for a second degraded mailbox)` };
      return { ...own, breach: { ...b, members: degraded.map((d) => d.mailbox) } };
    }
    return own;
  }
  if (n > 0) return membersBreach('warning', degraded, t.campaignDegradedMailboxes, `${n} of its mailboxes ${n === 1 ? 'is' : 'are'} degraded (${who}), below the ${t.campaignDegradedMailboxes} that mark the campaign degraded`);
  return { ...own, basis: `none of its mailboxes is degraded${own.window === undefined ? '' : ' and its own sends are under every threshold'}` };
}

/** A domain: paused mailboxes spread over campaigns; its own windows only ever warn (see the table above). */
export function judgeDomain(input: EscalationJudgeInput, t: Thresholds): Judgement {
  const off = switchedOff('domain', t);
  if (off !== undefined) return off;
  const degraded = input.degraded;
  const n = degraded.length;
  const campaigns = [...new Set(degraded.flatMap((d) => d.campaigns))].sort();
  const who = list(degraded.map((d) => d.mailbox));
  const across = campaigns.length === 0 ? 'no known campaign' : `campaign${campaigns.length === 1 ? '' : 's'} ${list(campaigns)}`;
  // Confined: one campaign has every degraded mailbox among its senders, so that campaign's engine can contain it.
  const shared = degraded.reduce<string[] | undefined>((common, d) => (common === undefined ? d.campaigns : common.filter((c) => d.campaigns.includes(c))), undefined) ?? [];
  if (n >= t.domainDegradedMailboxes && shared.length === 0) {
    return membersBreach('pause', degraded, t.domainDegradedMailboxes, `${n} of its mailboxes are paused for their own bounces (${who}) across ${across}, reaching the threshold of ${t.domainDegradedMailboxes} paused mailboxes across campaigns: more than one campaign can contain`);
  }
  if (n >= t.domainDegradedMailboxes) {
    return membersBreach('warning', degraded, t.domainDegradedMailboxes, `${n} of its mailboxes are paused for their own bounces (${who}), at the threshold of ${t.domainDegradedMailboxes} but all sending for campaign ${shared[0]}: left to the campaign level`);
  }
  const own = ownWindows(input, t);
  if (own.breach !== undefined) {
    // Its own windows aggregate its mailboxes: worth a warning, never a domain pause by themselves (last resort).
    return { ...own, breach: { ...own.breach, level: 'warning', text: `${describeOwn(own)} (the domain as a whole; it pauses only when paused mailboxes span campaigns)` } };
  }
  if (n > 0) return { ...own, basis: `only ${n} of its mailboxes ${n === 1 ? 'is' : 'are'} paused (${who}), below the ${t.domainDegradedMailboxes} that mark the domain degraded` };
  return { ...own, basis: `none of its mailboxes is paused by the engine${own.window === undefined ? '' : ' and its own sends are under every threshold'}` };
}

function describeOwn(j: Judgement): string {
  const b = j.breach!;
  const n = b.metric === 'hardBounceRate' ? b.counts.hardBounces : b.metric === 'failureRate' ? b.counts.failures : (b.counts.reputationBlocks ?? 0);
  const what = { hardBounceRate: 'hard-bounce rate', failureRate: 'delivery-failure rate', reputationRate: 'reputation-block rate', velocity: 'bounce velocity', degradedMailboxes: 'degraded mailboxes' }[b.metric];
  const over = b.window === '1h' ? 'the last hour' : b.window === '24h' ? 'the last 24 hours' : 'probation';
  return `its own ${what} ${Number((b.observed * 100).toFixed(2))}%${b.metric === 'velocity' ? '' : ` (${n} of ${b.counts.sent} sends)`} over ${over} reached the ${b.level} threshold ${Number((b.threshold * 100).toFixed(2))}%`;
}

export interface EscalationDecisionInput extends Omit<EscalationJudgeInput, 'state'> {
  /** The campaign id or domain name. */
  key: string;
  /** How the entity reads in sentences: `123 ("Q4 CTOs")` or the domain name. */
  label: string;
  decisionIdPrefix: string;
  trigger: Trigger;
}

/** One decision for a campaign or domain: its judgement, then the shared transition table. */
export function decideEscalation(state: MachineState, input: EscalationDecisionInput, settings: DecisionSettings, now: number): Decision {
  const judgeInput: EscalationJudgeInput = { kind: input.kind, windows: input.windows, sinceResume: input.sinceResume, degraded: input.degraded, state };
  const judged = input.kind === 'campaign' ? judgeCampaign(judgeInput, settings.thresholds) : judgeDomain(judgeInput, settings.thresholds);
  const decisionInput: DecisionInput = {
    mailbox: input.key,
    decisionIdPrefix: input.decisionIdPrefix,
    windows: input.windows,
    sinceResume: input.sinceResume,
    trigger: input.trigger,
    entity: { kind: input.kind, label: input.label },
    judged,
    resumeNeedsRecovery: true,
  };
  return decide(state, decisionInput, settings, now);
}
