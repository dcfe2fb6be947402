/**
 * The mailbox state machine: when a mailbox is warned, paused, resumed and trusted again. Pure and clock-free:
 * `decide(state, input, settings, now)` is all of it; the workflow (src/workflows/mailboxWorkflow.ts) reads the
 * input, calls it, and hands the commands to one activity per decision (src/activities/mailboxEngine.ts).
 * docs/decisions/011-mailbox-engine.md explains the choices; test/unit/mailboxMachine.test.ts has a test per row.
 *
 * ## What is judged
 *
 * | State                | Counts judged                                           | Window                                     |
 * |----------------------|---------------------------------------------------------|--------------------------------------------|
 * | healthy, warning     | the rolling windows, clipped at the last resume         | 1h if it has ≥ minSample sends, else 24h if |
 * |                      | (what came before a pause was answered by the pause)    | it has, else nothing is judged             |
 * | recovering           | everything sent since the resume (buckets starting at   | "probation"; nothing is judged below        |
 * |                      | or after it)                                            | minSample sends                            |
 *
 * In the judged window: reputation-block rate, hard-bounce rate and delivery-failure rate each have a warning and a
 * pause threshold (reached = breached, `>=`); velocity (1h minus 24h hard-bounce rate, only when both windows have
 * the minimum sample) has a warning threshold. The worst breach wins: pause level before warning level, and within
 * a level reputation, then hard bounces, then failures, then velocity.
 *
 * Per-organization switches (`thresholds.features`, all on by default; absent reads as on): `velocity` off — velocity
 * is never a breach; `reputationClass` off — reputation blocks have no thresholds of their own and count only as the
 * delivery failures they also are. Every sentence then says so after the settings version ("velocity judgement is
 * off for this organization"); with everything on the sentences are exactly what they were before the switches.
 *
 * ## Transitions (checked in this order; deadlines are absolute epoch ms carried in the state)
 *
 * | #  | From            | When                                                  | To          | Commands (enforce)      |
 * |----|-----------------|-------------------------------------------------------|-------------|-------------------------|
 * | M1 | any             | manual pause                                          | paused+hold | suspend                 |
 * | M2 | paused, recov.  | manual resume                                         | recovering  | unsuspend               |
 * | M3 | healthy, warn.  | manual resume                                         | (same)      | unsuspend               |
 * | A1 | warning, recov. | recommendation applied: pause                         | paused      | suspend                 |
 * | A2 | paused          | recommendation applied: resume                        | recovering  | unsuspend               |
 * | A3 | any             | recommendation applied that no longer applies         | (same)      | record                  |
 * | S1 | any             | a pending recommendation, mode no longer suggest      | (same)      | supersede               |
 * | H1 | healthy         | no breach (or below the sample)                       | healthy     | —                       |
 * | H2 | healthy         | warning-level breach                                  | warning     | record                  |
 * | H3 | healthy         | pause-level breach, sustainMinutes > 0                | warning     | record (sustain starts) |
 * | H4 | healthy         | pause-level breach, sustainMinutes = 0                | paused      | suspend                 |
 * | W1 | warning         | no breach                                             | healthy     | record (sustain cancelled) |
 * | W2 | warning         | warning-level breach, no sustain running              | warning     | —                       |
 * | W3 | warning         | pause-level breach, no sustain running                | warning     | record (sustain starts); sustain 0: pause |
 * | W4 | warning         | a breach, sustain running, deadline not reached       | warning     | —                       |
 * | W5 | warning         | sustain deadline reached, pause-level breach          | paused      | suspend                 |
 * | W6 | warning         | sustain deadline reached, only warning-level          | warning     | record (sustain ends)   |
 * | P1 | paused          | manual hold                                           | paused      | — (only a manual resume)|
 * | P2 | paused          | cooldown not over                                     | paused      | —                       |
 * | P3 | paused          | cooldown over                                         | recovering  | unsuspend               |
 * | C1 | recovering      | pause-level breach in probation (relapse)             | paused      | suspend (cooldown grows)|
 * | C2 | recovering      | probation over, no breach (or below the sample)       | healthy     | record                  |
 * | C3 | recovering      | probation over, warning-level breach                  | warning     | record                  |
 * | C4 | recovering      | otherwise                                             | recovering  | —                       |
 *
 * ## Modes (settings.mode, read at every decision)
 *
 * - enforce: as above; suspend / unsuspend reach Smartlead.
 * - observe: the same table and the same states (the API shows the state Drason judged, e.g. `paused`, with a pause
 *   reason starting "Observe mode"), but a pause or resume is a `would_have` command: no Smartlead call, the audit
 *   says "Would have paused …". Cooldown, probation and relapses are simulated the same way.
 * - suggest: a pause or resume becomes a `recommend` command (a pending recommendation) and the machine stays where
 *   it is (warning or recovering with a pause pending; paused with a resume pending) until the recommendation is
 *   applied (A1/A2, then exactly as enforce) or no longer applies: it is superseded when the mailbox becomes healthy,
 *   on a manual override, or when the mode changes.
 * - Manual overrides (M1–M3) call Smartlead in every mode.
 *
 * Cooldown: cooldownMinutes, doubled for each pause that came within 7 days of the previous one (a chain), capped at
 * maxCooldownMinutes. Manual pauses are not counted. The last MAX_RECENT_PAUSES pause times are kept.
 */
import type { BounceClass } from './events';
import { featureOn, featuresOffNote, type Feature, type Mode } from './features';
import type { Thresholds } from './settings';
import type { WindowCounts, WindowSummary } from './rollingWindows';
import { BUCKET_MS } from './rollingWindows';
import { riskScore } from './riskScore';

export const MAILBOX_STATES = ['healthy', 'warning', 'paused', 'recovering'] as const;
export type MailboxState = (typeof MAILBOX_STATES)[number];

export const MAX_RECENT_PAUSES = 16;
export const PAUSE_CHAIN_MS = 7 * 24 * 60 * 60 * 1000;
/** In warning or recovering, the workflow decides again at least this often, so windows decay without new events. */
export const RECHECK_MS = BUCKET_MS;
const MINUTE = 60_000;

export interface ManualHold {
  actor: string;
  reason: string;
  at: number;
}

export interface PendingRecommendation {
  decisionId: string;
  action: 'pause' | 'resume';
}

/** What the workflow carries between decisions (and through continue-as-new). Small and plain. */
export interface MachineState {
  state: MailboxState;
  /** When the state was entered (epoch ms). */
  since: number;
  /** Decisions recorded so far: numbers the decision ids. */
  decisions: number;
  /** A pause-level breach is being sustained: it pauses if still present then. */
  sustainUntil?: number;
  /** paused: the cooldown ends then (absent under a manual hold). */
  cooldownUntil?: number;
  /** The last resume (automatic, applied or manual): windows judge only what was sent after it. */
  resumedAt?: number;
  /** recovering: probation ends then. */
  probationUntil?: number;
  manualHold?: ManualHold;
  /** Times of recent automatic pauses, oldest first, at most MAX_RECENT_PAUSES. */
  recentPauses: number[];
  /** suggest mode: the recommendation waiting for an operator. */
  pendingRecommendation?: PendingRecommendation;
  /** An escalation loop stopped automation: it stays paused until a person resumes it (runs from `escalation-loop` on). */
  automationStopped?: { at: number; reason: string };
}

/** Which entity a decision is about: mailbox (default), campaign or domain (src/domain/escalationMachine.ts). */
export type EntityKind = 'mailbox' | 'campaign' | 'domain';

export const initialMachineState = (now: number): MachineState => ({ state: 'healthy', since: now, decisions: 0, recentPauses: [] });

export type Trigger =
  /** Bounces or failures arrived (`signals`: their event types). */
  | { kind: 'events'; signals: string[] }
  /** The workflow's own wake-up: a deadline or the periodic re-check. */
  | { kind: 'deadline' }
  | { kind: 'settings_changed'; version: number }
  | { kind: 'override'; action: 'pause' | 'resume'; reason: string; actor: string; commandId: string }
  | { kind: 'recommendation_applied'; decisionId: string; recommendationId: string; actor: string };

export interface DecisionInput {
  mailbox: string;
  /** Decision ids are `${decisionIdPrefix}#${n}`: unique per workflow chain, so a retried activity is recognised. */
  decisionIdPrefix: string;
  /** The rolling windows, counted only from buckets starting at or after `state.resumedAt` when there is one. */
  windows: WindowSummary;
  /** Everything counted since `state.resumedAt` (zeros without a resume). */
  sinceResume: WindowCounts;
  trigger: Trigger;
  /** Classes of the bounces and failures taken since the previous decision (for the explanation). */
  bounceClasses?: Partial<Record<BounceClass, number>>;
  /** Campaigns and domains: what the decision is about, for wording and audit action names (`campaign_paused`). */
  entity?: { kind: EntityKind; label: string };
  /** Campaigns and domains: the judgement made by src/domain/escalationMachine.ts (windows and degraded members). */
  judged?: Judgement;
  /** Campaigns and domains: at the end of the cooldown, resume only if `judged` has no pause-level breach. */
  resumeNeedsRecovery?: boolean;
}

export interface DecisionSettings {
  mode: Mode;
  thresholds: Thresholds;
  version: number;
  /** Escalation-loop detection (false for histories recorded before the `escalation-loop` patch). */
  detectLoops?: boolean;
}

/** `degradedMailboxes`: how many member mailboxes are degraded (campaigns and domains). */
export type Metric = 'hardBounceRate' | 'failureRate' | 'reputationRate' | 'velocity' | 'degradedMailboxes';
/** `members`: the state of the entity's mailboxes rather than a window of counts. */
export type JudgedWindow = '1h' | '24h' | 'probation' | 'members';

export interface Breach {
  metric: Metric;
  level: 'warning' | 'pause';
  observed: number;
  threshold: number;
  window: JudgedWindow;
  counts: WindowCounts;
  /** How the breach reads in an explanation, when the default wording (a rate over a window) does not fit. */
  text?: string;
  /** The mailboxes behind the breach (campaigns and domains), for the audit and the entity's row. */
  members?: string[];
}

export interface Judgement {
  /** The window judged; undefined when no window had the minimum sample. */
  window?: JudgedWindow;
  counts?: WindowCounts;
  breach?: Breach;
  /** Why there is no breach, in words (campaigns and domains; the mailbox wording is built in). */
  basis?: string;
}

export type Via = 'automation' | 'override' | 'recommendation';

export type Command =
  | { kind: 'suspend'; via: Via }
  | { kind: 'unsuspend'; via: Via }
  /** observe mode: nothing is called; the audit says what would have happened. */
  | { kind: 'would_have'; action: 'pause' | 'resume' }
  /** suggest mode: a pending recommendation (unique by decision id). */
  | { kind: 'recommend'; action: 'pause' | 'resume' }
  | { kind: 'supersede_recommendation'; decisionId: string }
  /** An operator applied a recommendation: it reads as applied (by them), or superseded when it no longer applied. */
  | { kind: 'resolve_recommendation'; decisionId: string; status: 'applied' | 'superseded'; actor: string }
  /** Only the audit entry and the mailbox row. */
  | { kind: 'record' };

export interface Explanation {
  decisionId: string;
  /** The audit action, e.g. `mailbox_paused`, `mailbox_pause_recommended`, `mailbox_warning`. */
  action: string;
  from: MailboxState;
  to: MailboxState;
  /** One sentence saying what was decided and why (the activity adds what happened). */
  message: string;
  trigger: { signals: string[]; metric?: Metric; observed?: number; threshold?: number; window?: JudgedWindow; bounceClass?: string; mailboxes?: string[] };
  actor: string;
  mode: Mode;
  settingsVersion: number;
  /** For the mailbox row: why it is paused (null unless paused). */
  pauseReason: string | null;
}

export interface Decision {
  next: MachineState;
  /** Empty: nothing to record. */
  commands: Command[];
  /** Present exactly when there are commands. */
  explanation?: Explanation;
  judged: Judgement;
  /** ExecutionRiskScore (src/domain/riskScore.ts) of the judged windows in the next state, 0–100. */
  riskScore: number;
}

// ---------------------------------------------------------------------------------------------------------
// Judging
// ---------------------------------------------------------------------------------------------------------

const rate = (n: number, w: WindowCounts): number => (w.sent === 0 ? 0 : n / w.sent);
const RATE_METRICS = [
  ['reputationRate', (w: WindowCounts) => rate(w.reputationBlocks ?? 0, w)],
  ['hardBounceRate', (w: WindowCounts) => rate(w.hardBounces, w)],
  ['failureRate', (w: WindowCounts) => rate(w.failures, w)],
] as const;

function judgeCounts(counts: WindowCounts, window: JudgedWindow, t: Thresholds, velocity?: number): Judgement {
  if (counts.sent < t.minSample) return {};
  for (const level of ['pause', 'warning'] as const) {
    for (const [metric, of] of RATE_METRICS) {
      // Feature `reputationClass` off: reputation blocks are judged only as the delivery failures they also are.
      if (metric === 'reputationRate' && !featureOn(t, 'reputationClass')) continue;
      const observed = of(counts);
      if (observed >= t[metric][level]) return { window, counts, breach: { metric, level, observed, threshold: t[metric][level], window, counts } };
    }
  }
  if (velocity !== undefined && featureOn(t, 'velocity') && velocity >= t.velocity.warning) {
    return { window, counts, breach: { metric: 'velocity', level: 'warning', observed: velocity, threshold: t.velocity.warning, window, counts } };
  }
  return { window, counts };
}

/** healthy / warning: the 1h window when it has the minimum sample, else 24h, else nothing. */
export function judgeWindows(summary: WindowSummary, t: Thresholds): Judgement {
  const hour = summary.windows['1h'];
  const day = summary.windows['24h'];
  if (hour.sent >= t.minSample) return judgeCounts(hour, '1h', t, day.sent >= t.minSample ? summary.velocity.hardBounceRate : undefined);
  return judgeCounts(day, '24h', t);
}

/** recovering: only what was sent since the resume. */
export function judgeProbation(sinceResume: WindowCounts, t: Thresholds): Judgement {
  return judgeCounts(sinceResume, 'probation', t);
}

/** The cooldown of a pause at `now`: doubled per earlier pause chained within 7 days, capped. */
export function cooldownMinutes(recentPauses: number[], now: number, t: Thresholds): number {
  return Math.min(t.cooldownMinutes * 2 ** chainLength(recentPauses, now), t.maxCooldownMinutes);
}

/** How many of the recent pauses form a chain, each within 7 days of the next, ending within 7 days of `now`. */
export function chainLength(recentPauses: number[], now: number): number {
  let streak = 0;
  let after = now;
  for (let i = recentPauses.length - 1; i >= 0 && after - recentPauses[i]! <= PAUSE_CHAIN_MS; i -= 1) {
    streak += 1;
    after = recentPauses[i]!;
  }
  return streak;
}

/** When the workflow must decide again without a signal: the nearest future deadline, or a re-check. */
export function nextWake(s: MachineState, now: number, recheckAfterCooldown = false): number | undefined {
  const candidates = [s.sustainUntil, s.manualHold === undefined ? s.cooldownUntil : undefined, s.probationUntil].filter(
    (t): t is number => t !== undefined && t > now,
  );
  if (s.state === 'warning' || s.state === 'recovering') candidates.push(now + RECHECK_MS);
  // Campaigns and domains wait past their cooldown for their mailboxes to recover: they look again every bucket.
  const waitingToResume = s.state === 'paused' && s.manualHold === undefined && s.automationStopped === undefined && s.cooldownUntil !== undefined && s.cooldownUntil <= now;
  if (recheckAfterCooldown && waitingToResume) candidates.push(now + RECHECK_MS);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

// ---------------------------------------------------------------------------------------------------------
// Wording
// ---------------------------------------------------------------------------------------------------------

const pct = (x: number): string => `${Number((x * 100).toFixed(2))}%`;
/** A deadline to the minute, or to the second when it is not on a whole minute (short demo settings). */
export const at = (ms: number): string => `${new Date(ms).toISOString().slice(0, ms % MINUTE === 0 ? 16 : 19).replace('T', ' ')} UTC`;
export const duration = (minutes: number): string =>
  minutes === 0
    ? '0 minutes'
    : minutes % 60 === 0
      ? `${minutes / 60} hour${minutes === 60 ? '' : 's'}`
      : Number.isInteger(minutes)
        ? `${minutes} minute${minutes === 1 ? '' : 's'}`
        : minutes < 1
          ? `${Math.round(minutes * 60)} seconds`
          : `${Math.floor(minutes)} min ${Math.round((minutes % 1) * 60)} s`;

const METRIC_LABEL: Record<Metric, string> = {
  degradedMailboxes: 'degraded mailboxes',
  hardBounceRate: 'hard-bounce rate',
  failureRate: 'delivery-failure rate',
  reputationRate: 'reputation-block rate',
  velocity: 'bounce velocity (last hour minus last 24 hours, hard-bounce rate)',
};

function windowText(w: JudgedWindow, s: MachineState): string {
  if (w === 'members') return 'its mailboxes';
  if (w === '1h') return 'the last hour';
  if (w === '24h') return 'the last 24 hours';
  return s.resumedAt === undefined ? 'probation' : `probation (since the resume at ${at(s.resumedAt)})`;
}

function classText(b: Breach, classes: DecisionInput['bounceClasses']): { text: string; bounceClass?: string } {
  if (b.metric === 'hardBounceRate') return { text: ', class list_quality: the addresses are bad', bounceClass: 'list_quality' };
  if (b.metric === 'reputationRate') return { text: ', class reputation: receivers refuse this sender', bounceClass: 'reputation' };
  if (b.metric === 'failureRate') {
    const parts = Object.entries(classes ?? {}).filter(([, n]) => (n ?? 0) > 0);
    if (parts.length > 0) return { text: `, latest classes: ${parts.map(([c, n]) => `${n} ${c}`).join(', ')}`, bounceClass: parts.map(([c]) => c).join(',') };
  }
  return { text: '' };
}

export function describeBreach(b: Breach, s: MachineState, classes: DecisionInput['bounceClasses']): string {
  if (b.text !== undefined) return b.text;
  const of =
    b.metric === 'velocity'
      ? ''
      : ` (${b.metric === 'hardBounceRate' ? b.counts.hardBounces : b.metric === 'failureRate' ? b.counts.failures : (b.counts.reputationBlocks ?? 0)} of ${b.counts.sent} sends${classText(b, classes).text})`;
  return `${METRIC_LABEL[b.metric]} ${pct(b.observed)}${of} over ${windowText(b.window, s)} reached the ${b.level} threshold ${pct(b.threshold)}`;
}

// ---------------------------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------------------------

/** The features (settings.thresholds.features) whose judgement each kind of entity uses. */
const FEATURES_JUDGED: Record<EntityKind, readonly Feature[]> = {
  mailbox: ['velocity', 'reputationClass'],
  campaign: ['velocity', 'reputationClass', 'campaignEscalation'],
  domain: ['velocity', 'reputationClass', 'domainEscalation'],
};

interface Draft {
  next: MachineState;
  commands: Command[];
  action: string;
  message: string;
  breach?: Breach;
  actor?: string;
  pauseReason?: string;
}

export function decide(state: MachineState, input: DecisionInput, settings: DecisionSettings, now: number): Decision {
  const t = settings.thresholds;
  const mode = settings.mode;
  const kind = input.entity?.kind ?? 'mailbox';
  const noun = `${kind} ${input.entity?.label ?? input.mailbox}`;
  const Noun = `${noun[0]!.toUpperCase()}${noun.slice(1)}`;
  const decisionId = `${input.decisionIdPrefix}#${state.decisions + 1}`;
  // Every sentence names the settings version it used, and which of the judgements that apply here are switched off.
  const off = featuresOffNote(t, FEATURES_JUDGED[kind]);
  const version = ` (settings version ${settings.version}${off === undefined ? '' : `; ${off}`})`;
  const judged = input.judged ?? (state.state === 'recovering' ? judgeProbation(input.sinceResume, t) : judgeWindows(input.windows, t));
  const breach = judged.breach;
  const trigger = input.trigger;
  const extra: Command[] = [];

  // The pending recommendation no longer applies once the machine acts on its own or a person overrides it.
  let s = state;
  const supersede = (): void => {
    if (s.pendingRecommendation === undefined) return;
    extra.push({ kind: 'supersede_recommendation', decisionId: s.pendingRecommendation.decisionId });
    s = withoutPending(s);
  };

  const pause = (from: MachineState, why: string, via: Via, relapse: boolean): Draft => {
    const minutes = cooldownMinutes(from.recentPauses, now, t);
    const count = chainLength(from.recentPauses, now) + 1;
    const cooldown = `cooldown ${duration(minutes)} until ${at(now + minutes * MINUTE)}${count > 1 ? ` (pause ${count} within 7 days of the previous one${minutes === t.maxCooldownMinutes ? ', at the cap' : ''})` : ''}`;
    const paused: MachineState = {
      ...clearTimers(from),
      state: 'paused',
      since: now,
      cooldownUntil: now + minutes * MINUTE,
      recentPauses: [...from.recentPauses, now].slice(-MAX_RECENT_PAUSES),
    };
    const again = relapse ? ' again (relapse during probation)' : '';
    // An escalation loop: the Nth automatic pause in a chain stops automation instead of starting another cooldown.
    const loop = via === 'automation' && settings.detectLoops === true && t.escalationLoopPauses !== undefined && count >= t.escalationLoopPauses;
    if (loop && mode !== 'suggest') {
      const reason = `escalation loop: pause ${count} in a row, each within 7 days of the previous one`;
      const { cooldownUntil: _noCooldown, ...held } = paused;
      const stopped: MachineState = { ...held, automationStopped: { at: now, reason } };
      const rest = `this is pause ${count} in a row, each within 7 days of the previous one: an escalation loop, so automation stops for this ${kind} and only a person resumes it (override)`;
      if (mode === 'observe') {
        return {
          next: stopped,
          commands: [{ kind: 'would_have', action: 'pause' }],
          action: `${kind}_would_stop_automation`,
          message: `Would have paused ${noun}${again} (observe mode: nothing changed in Smartlead): ${why}; ${rest}${version}.`,
          pauseReason: `Observe mode, still sending in Smartlead: would have paused and stopped automation (${reason}): ${why}`,
        };
      }
      return {
        next: stopped,
        commands: [{ kind: 'suspend', via }],
        action: `${kind}_automation_stopped`,
        message: `Paused ${noun}${again}: ${why}; ${rest}${version}.`,
        pauseReason: `${why} (${reason}; automation stopped until a person resumes it)`,
      };
    }
    if (via === 'automation' && mode === 'suggest') {
      if (from.pendingRecommendation?.action === 'pause') return noChange(from);
      return {
        // A healthy mailbox waiting for its pause to be applied is at least in warning.
        next: {
          ...from,
          state: from.state === 'healthy' ? 'warning' : from.state,
          since: from.state === 'healthy' ? now : from.since,
          sustainUntil: undefined,
          pendingRecommendation: { decisionId, action: 'pause' },
        },
        commands: [{ kind: 'recommend', action: 'pause' }],
        action: `${kind}_pause_recommended`,
        message: `Recommends pausing ${noun}${again}: ${why}; if applied, ${cooldown}. It stays ${from.state === 'healthy' ? 'in warning' : from.state} until an operator applies the recommendation${version}.`,
      };
    }
    if (via === 'automation' && mode === 'observe') {
      return {
        next: paused,
        commands: [{ kind: 'would_have', action: 'pause' }],
        action: `${kind}_would_pause`,
        message: `Would have paused ${noun}${again} (observe mode: nothing changed in Smartlead): ${why}; ${cooldown}${version}.`,
        pauseReason: `Observe mode, still sending in Smartlead: would have paused: ${why}`,
      };
    }
    return {
      next: paused,
      commands: [{ kind: 'suspend', via }],
      action: `${kind}_paused`,
      message: `Paused ${noun}${again}: ${why}; ${cooldown}${version}.`,
      pauseReason: why,
    };
  };

  const resume = (from: MachineState, why: string, via: Via): Draft => {
    const recovering: MachineState = {
      ...clearTimers(from),
      state: 'recovering',
      since: now,
      resumedAt: now,
      probationUntil: now + t.probationMinutes * MINUTE,
    };
    const probation = `probation until ${at(now + t.probationMinutes * MINUTE)} judges only what it sends from now on against the pause thresholds (hard-bounce rate ${pct(t.hardBounceRate.pause)}, delivery-failure rate ${pct(t.failureRate.pause)})`;
    if (via === 'automation' && mode === 'suggest') {
      if (from.pendingRecommendation?.action === 'resume') return noChange(from);
      return {
        next: { ...from, pendingRecommendation: { decisionId, action: 'resume' } },
        commands: [{ kind: 'recommend', action: 'resume' }],
        action: `${kind}_resume_recommended`,
        message: `Recommends resuming ${noun}: ${why}; if applied, ${probation}. It stays paused until an operator applies the recommendation${version}.`,
      };
    }
    if (via === 'automation' && mode === 'observe') {
      return {
        next: recovering,
        commands: [{ kind: 'would_have', action: 'resume' }],
        action: `${kind}_would_resume`,
        message: `Would have resumed ${noun} (observe mode: nothing changed in Smartlead): ${why}; ${probation}${version}.`,
      };
    }
    return { next: recovering, commands: [{ kind: 'unsuspend', via }], action: `${kind}_resumed`, message: `Resumed ${noun}: ${why}; ${probation}${version}.` };
  };

  const draft = ((): Draft => {
    // ---- People first: overrides and applied recommendations (M1–M3, A1–A3) ----
    if (trigger.kind === 'override') {
      supersede();
      const who = `${trigger.actor}${trigger.reason === '' ? '' : `: "${trigger.reason}"`}`;
      if (trigger.action === 'pause') {
        const why = `paused by hand (${who}); it stays paused until a manual resume`;
        return {
          next: { ...clearTimers(s), state: 'paused', since: s.state === 'paused' ? s.since : now, manualHold: { actor: trigger.actor, reason: trigger.reason, at: now } },
          commands: [{ kind: 'suspend', via: 'override' }],
          action: `${kind}_paused_manually`,
          message: `Paused ${noun} by hand (${who}); it stays paused until a manual resume, in every mode${version}.`,
          actor: trigger.actor,
          pauseReason: why,
        };
      }
      if (s.state === 'paused' || s.state === 'recovering') {
        return { ...resume(s, `resumed by hand (${who})`, 'override'), action: `${kind}_resumed_manually`, actor: trigger.actor };
      }
      return {
        next: s,
        commands: [{ kind: 'unsuspend', via: 'override' }],
        action: `${kind}_resumed_manually`,
        message: `Resume of ${noun} requested by hand (${who}) while it is ${s.state}: Drason makes sure it is not ${kind === 'mailbox' ? 'suspended' : 'held paused'} in Smartlead; its state stays ${s.state}${version}.`,
        actor: trigger.actor,
      };
    }
    if (trigger.kind === 'recommendation_applied') {
      const pending = s.pendingRecommendation;
      if (pending === undefined || pending.decisionId !== trigger.decisionId) {
        return {
          next: s,
          commands: [{ kind: 'resolve_recommendation', decisionId: trigger.decisionId, status: 'superseded', actor: trigger.actor }],
          action: 'recommendation_not_applicable',
          message: `Recommendation ${trigger.recommendationId} for ${noun} was applied by ${trigger.actor} but no longer applies (the ${kind} is ${s.state}${pending === undefined ? '' : `; the current recommendation is ${pending.decisionId}`}): nothing was changed${version}.`,
          actor: trigger.actor,
        };
      }
      const cleared = withoutPending(s);
      const applied = `recommendation applied by ${trigger.actor}`;
      const d =
        pending.action === 'pause'
          ? pause(cleared, `${applied}${breach === undefined ? '' : `; ${describeBreach(breach, s, input.bounceClasses)}`}`, 'recommendation', false)
          : resume(cleared, `${applied} after the cooldown`, 'recommendation');
      const resolved: Command = { kind: 'resolve_recommendation', decisionId: pending.decisionId, status: 'applied', actor: trigger.actor };
      return { ...d, commands: [...d.commands, resolved], actor: trigger.actor, ...(breach === undefined ? {} : { breach }) };
    }
    if (s.pendingRecommendation !== undefined && mode !== 'suggest') {
      // S1: the mode changed; what would have been recommended is decided again below, in the new mode.
      const old = s.pendingRecommendation;
      supersede();
      const rest = automatic(s);
      if (rest.commands.length > 0) return rest;
      return {
        next: rest.next,
        commands: [],
        action: 'recommendation_superseded',
        message: `The recommendation to ${old.action} ${noun} (${old.decisionId}) is superseded: the mode is now ${mode}${version}.`,
      };
    }
    return automatic(s);
  })();

  function automatic(cur: MachineState): Draft {
    switch (cur.state) {
      case 'healthy': {
        if (breach === undefined) return noChange(cur); // H1
        const why = describeBreach(breach, cur, input.bounceClasses);
        if (breach.level === 'warning') return toWarning(cur, why, breach); // H2
        if (t.sustainMinutes === 0) return { ...pause(cur, why, 'automation', false), breach }; // H4
        return startSustain(cur, why, breach, 'moved to warning'); // H3
      }
      case 'warning': {
        if (breach === undefined) {
          // W1
          const cancelled = cur.sustainUntil === undefined ? '' : `; the pause it would have led to at ${at(cur.sustainUntil)} is cancelled`;
          const basis = judged.basis !== undefined ? judged.basis : judged.window === undefined ? `fewer than ${t.minSample} sends to judge in the last 24 hours` : `no threshold reached over ${windowText(judged.window, cur)}`;
          return healthy(cur, `${Noun} is healthy again: ${basis}${cancelled}${version}.`, cur.sustainUntil === undefined ? `${kind}_healthy` : `${kind}_sustain_cancelled`);
        }
        if (cur.pendingRecommendation?.action === 'pause') return noChange(cur); // suggest: waits for the operator
        const why = describeBreach(breach, cur, input.bounceClasses);
        if (cur.sustainUntil === undefined) {
          if (breach.level === 'warning') return noChange(cur); // W2
          if (t.sustainMinutes === 0) return { ...pause(cur, why, 'automation', false), breach }; // W3, at once
          return startSustain(cur, why, breach, 'stays in warning'); // W3
        }
        if (now < cur.sustainUntil) return noChange(cur); // W4
        if (breach.level === 'pause') return { ...pause(cur, `${why}, still there when the sustained window ended at ${at(cur.sustainUntil)}`, 'automation', false), breach }; // W5
        return {
          // W6
          next: { ...cur, sustainUntil: undefined },
          commands: [{ kind: 'record' }],
          action: `${kind}_sustain_ended`,
          message: `${Noun} stays in warning without a pause: by ${at(cur.sustainUntil)} the breach had eased to ${why}${version}.`,
          breach,
        };
      }
      case 'paused': {
        if (cur.manualHold !== undefined) return noChange(cur); // P1
        if (cur.automationStopped !== undefined) return noChange(cur); // P1: an escalation loop waits for a person too
        if (cur.cooldownUntil !== undefined && now < cur.cooldownUntil) return noChange(cur); // P2
        // P2: a campaign or domain waits for the mailboxes that paused it (its own windows saw nothing while it was paused).
        const membersStillDegraded = input.resumeNeedsRecovery === true && breach?.level === 'pause' && breach.metric === 'degradedMailboxes';
        if (membersStillDegraded) return noChange(cur);
        const recovered = input.resumeNeedsRecovery === true ? `; ${judged.basis ?? (breach === undefined ? 'no breach remains' : `what remains is ${describeBreach(breach, cur, input.bounceClasses)}`)}` : '';
        return resume(cur, `its cooldown ended at ${at(cur.cooldownUntil ?? now)}${recovered}`, 'automation'); // P3
      }
      case 'recovering': {
        if (breach?.level === 'pause') return { ...pause(cur, describeBreach(breach, cur, input.bounceClasses), 'automation', true), breach }; // C1
        if (cur.probationUntil !== undefined && now < cur.probationUntil) return noChange(cur); // C4
        if (breach === undefined) {
          // C2
          const basis =
            judged.basis !== undefined
              ? judged.basis
              : judged.counts === undefined
              ? `fewer than ${t.minSample} sends since the resume, nothing against it`
              : `${judged.counts.sent} sends since the resume stayed under every threshold`;
          return healthy(cur, `${Noun} passed probation and is healthy again: ${basis}${version}.`, `${kind}_healthy`);
        }
        // C3
        return toWarning({ ...cur, probationUntil: undefined }, describeBreach(breach, cur, input.bounceClasses), breach, 'finished probation in warning');
      }
    }
  }

  function toWarning(cur: MachineState, why: string, b: Breach, verb = 'moved to warning'): Draft {
    return {
      next: { ...cur, state: 'warning', since: now, probationUntil: undefined },
      commands: [{ kind: 'record' }],
      action: `${kind}_warning`,
      message: `${Noun} ${verb}: ${why}${version}.`,
      breach: b,
    };
  }

  function startSustain(cur: MachineState, why: string, b: Breach, verb: string): Draft {
    const until = now + t.sustainMinutes * MINUTE;
    return {
      next: { ...cur, state: 'warning', since: cur.state === 'warning' ? cur.since : now, sustainUntil: until },
      commands: [{ kind: 'record' }],
      action: `${kind}_warning`,
      message: `${Noun} ${verb}: ${why}; it will be paused if this lasts until ${at(until)} (sustained ${duration(t.sustainMinutes)})${version}.`,
      breach: b,
    };
  }

  function healthy(cur: MachineState, message: string, action: string): Draft {
    if (cur.pendingRecommendation !== undefined) {
      extra.push({ kind: 'supersede_recommendation', decisionId: cur.pendingRecommendation.decisionId });
    }
    return { next: { ...clearTimers(withoutPending(cur)), state: 'healthy', since: now }, commands: [{ kind: 'record' }], action, message };
  }

  const commands = [...draft.commands, ...extra];
  const score = riskScore({ summary: input.windows, state: draft.next.state, thresholds: t }).score;
  if (commands.length === 0) return { next: draft.next, commands, judged, riskScore: score };
  const b = draft.breach;
  return {
    next: { ...draft.next, decisions: state.decisions + 1 },
    commands,
    judged,
    riskScore: score,
    explanation: {
      decisionId,
      action: draft.action,
      from: state.state,
      to: draft.next.state,
      message: draft.message,
      trigger: {
        signals: trigger.kind === 'events' ? trigger.signals : [trigger.kind],
        ...(b === undefined
          ? {}
          : {
              metric: b.metric,
              observed: b.observed,
              threshold: b.threshold,
              window: b.window,
              ...withClass(classText(b, input.bounceClasses).bounceClass),
              ...(b.members === undefined ? {} : { mailboxes: b.members }),
            }),
      },
      actor: draft.actor ?? 'system',
      mode,
      settingsVersion: settings.version,
      pauseReason: draft.next.state === 'paused' ? (draft.pauseReason ?? state.manualHold?.reason ?? null) : null,
    },
  };
}

const withClass = (c: string | undefined): { bounceClass?: string } => (c === undefined ? {} : { bounceClass: c });

const noChange = (s: MachineState): Draft => ({ next: s, commands: [], action: '', message: '' });

function withoutPending(s: MachineState): MachineState {
  const { pendingRecommendation: _dropped, ...rest } = s;
  return rest;
}

function clearTimers(s: MachineState): MachineState {
  const { sustainUntil: _s, cooldownUntil: _c, probationUntil: _p, manualHold: _h, automationStopped: _a, ...rest } = s;
  return rest;
}
