/**
 * Source quality: stopping a bad list where it enters. A lead source is a routing rule (and, when known, the Clay
 * source behind it). Hard bounces classed `list_quality` (src/domain/bounceClass.ts: the address does not exist)
 * are attributed to the rule that routed the lead; a rule whose contacted leads bounce as bad addresses too often,
 * over a minimum sample, is quarantined. Pure and clock-free: `now` is an input, counts come from the caller.
 * test/unit/sourceQuality.test.ts has a test per row.
 *
 * ## The verdict (`judgeSource`)
 *
 * | # | Evidence (counted since the rule was created or last released)                      | Verdict    |
 * |---|---------------------------------------------------------------------------------------|------------|
 * | 1 | fewer than `minSample` leads contacted                                                | healthy (not judged yet) |
 * | 2 | list-quality bounces ≥ `minBounces` AND bounces / contacted ≥ `listQualityBounceRate` | quarantine |
 * | 3 | otherwise                                                                             | healthy    |
 *
 * "Contacted" is the rule's leads that have been sent their first email (`contacted`); when the caller does not
 * know it, `pushed` stands in (a pushed lead not yet emailed cannot have bounced, so this only dilutes the rate:
 * pass `contacted` when you have it).
 *
 * ## What happens (`decideSource`)
 *
 * | Current          | Verdict    | enforce                                  | suggest                        | observe            |
 * |------------------|------------|------------------------------------------|--------------------------------|--------------------|
 * | not quarantined  | healthy    | none                                     | none                           | none               |
 * | not quarantined  | quarantine | `quarantine`: the rule's NEW leads are held with the reason "source quality" (the gate's `source_quality` condition) | `recommend_quarantine`: a person decides | `audit`: recorded, nothing held |
 * | quarantined      | any        | none: it stays quarantined until a person releases it (`releaseSource`), whatever later counts say | none | none |
 *
 * With the organization's `thresholds.features.sourceQuarantine` off, a source over the limit is `audit`ed in every
 * mode ("Source quarantine is off for this organization: would quarantine …"), never held nor recommended; a
 * quarantine made before it was switched off stays until a person releases it (people's decisions are not undone).
 *
 * Leads already pushed are left alone: the mailbox thresholds still judge what they do to the sender.
 *
 * ## The defaults act before a mailbox's on the same evidence
 *
 * Mailbox defaults (src/domain/defaultSettings.ts): judged from 30 sends, paused at a 5% hard-bounce rate, and only
 * after the breach has lasted `sustainMinutes` (30). Source defaults: judged from 20 contacted leads, quarantined
 * at a 4% list-quality rate with at least 2 such bounces, at once (no sustain). So:
 * - Wherever a mailbox would pause (≥ 30 sends, ≥ 5%: at least 2 bounces, since 1/30 is 3.3%), the source is
 *   quarantined too (≥ 20, ≥ 4%, ≥ 2): never later, usually sooner — from 20 leads instead of 30, a point lower, and
 *   without waiting out the sustain. The test sweeps every count up to 500 sends to prove it.
 * - 20 not 30: a source's leads are spread over all the campaign's mailboxes, so each mailbox sees only a share of
 *   them; the source's own count reaches its sample first. Below 20, one bad address is already 5%.
 * - 4%, between the mailbox warning (2%) and pause (5%): a list at the pause rate is already stopped, while a
 *   verified list's usual noise (under 2%) passes.
 * - At least 2 bounces: at 20–25 contacted, a single bad address is 4–5%; one unlucky address must not stop a source
 *   (a person would have to release it every time). Two at once is the mailbox's own minimum too (see above).
 * - A list with 30% invalid addresses is quarantined at the 20th contacted lead (6 bounces).
 *
 * The mailbox thresholds still apply whatever the source verdict: a high bounce rate hurts the sender whatever its
 * cause. These thresholds are not (yet) part of the organization settings: DEFAULT_SOURCE_THRESHOLDS is the default.
 */
import { at } from './mailboxMachine';
import { featureOn, type Features, type Mode } from './features';

export interface SourceThresholds {
  /** Contacted leads before the rate is judged. */
  minSample: number;
  /** List-quality hard bounces / contacted leads at or above which the source is quarantined (0.04 = 4%). */
  listQualityBounceRate: number;
  /** And at least this many list-quality bounces (so one unlucky address never quarantines). */
  minBounces: number;
}

export const DEFAULT_SOURCE_THRESHOLDS: Readonly<SourceThresholds> = { minSample: 20, listQualityBounceRate: 0.04, minBounces: 2 };

/** The hold reason of a lead held because its source is quarantined. */
export const SOURCE_QUALITY_REASON = 'source quality';

export interface SourceEvidence {
  /** The routing rule's id. */
  ruleId: string;
  /** Its name, for the sentences (falls back to the id). */
  ruleName?: string;
  /** The Clay source, when known (named in the sentences). */
  claySource?: string;
  /** Leads of the rule pushed to Smartlead since it was created or last released. */
  pushed: number;
  /** Of those, leads sent their first email; defaults to `pushed`. */
  contacted?: number;
  /** Of those, leads whose email hard-bounced as list quality (the address does not exist). */
  listQualityBounces: number;
}

export type SourceVerdict =
  | { verdict: 'healthy'; judged: boolean; rate: number; sample: number; reason: string }
  | { verdict: 'quarantine'; judged: true; rate: number; sample: number; reason: string };

export interface SourceQuarantine {
  /** When it was quarantined (epoch ms). */
  since: number;
  reason: string;
}

const pct = (x: number): string => `${Number((x * 100).toFixed(1))}%`;
export const sourceLabel = (e: Pick<SourceEvidence, 'ruleId' | 'ruleName' | 'claySource'>): string =>
  `routing rule "${e.ruleName ?? e.ruleId}"${e.claySource === undefined ? '' : ` (Clay source ${e.claySource})`}`;

/** The verdict on the evidence alone (table "The verdict"). */
export function judgeSource(e: SourceEvidence, t: SourceThresholds = DEFAULT_SOURCE_THRESHOLDS): SourceVerdict {
  const sample = Math.max(0, e.contacted ?? e.pushed);
  const bounces = Math.max(0, e.listQualityBounces);
  const rate = sample === 0 ? 0 : bounces / sample;
  // Name what was counted: contacted leads when the caller knows them, else the pushed leads standing in for them.
  const noun = e.contacted === undefined ? 'pushed' : 'contacted';
  const counts = `${bounces} of ${sample} ${noun} lead${sample === 1 ? '' : 's'} hard-bounced as invalid addresses (${pct(rate)})`;
  if (sample < t.minSample) {
    return { verdict: 'healthy', judged: false, rate, sample, reason: `${sourceLabel(e)} is not judged yet: ${counts}, fewer than the ${t.minSample} needed` };
  }
  if (bounces >= t.minBounces && rate >= t.listQualityBounceRate) {
    return {
      verdict: 'quarantine',
      judged: true,
      rate,
      sample,
      reason: `${counts}, at or above the source-quality limit of ${pct(t.listQualityBounceRate)} over at least ${t.minSample} leads: the list feeding ${sourceLabel(e)} has bad addresses; clean or verify it in Clay, then release the rule`,
    };
  }
  return { verdict: 'healthy', judged: true, rate, sample, reason: `${sourceLabel(e)} is healthy: ${counts}, below the source-quality limit of ${pct(t.listQualityBounceRate)}` };
}

export type SourceAction = 'none' | 'quarantine' | 'recommend_quarantine' | 'audit';

export interface SourceDecisionInput {
  evidence: SourceEvidence;
  /** The rule's current quarantine, if any. */
  quarantine: SourceQuarantine | null;
  mode: Mode;
  now: number;
  /**
   * The organization's switches (settings.thresholds.features). `sourceQuarantine: false`: a source over the limit
   * is audited (as in observe mode) and never held or recommended. Absent: on.
   */
  features?: Partial<Features>;
}

export interface SourceDecision {
  verdict: SourceVerdict;
  action: SourceAction;
  /** The quarantine after this decision: set only by `quarantine` (enforce), kept until `releaseSource`. */
  quarantine: SourceQuarantine | null;
  /** One sentence for the audit log. */
  sentence: string;
}


/** What to do about a source now (table "What happens"). */
export function decideSource(input: SourceDecisionInput, t: SourceThresholds = DEFAULT_SOURCE_THRESHOLDS): SourceDecision {
  const { evidence, quarantine, mode, now } = input;
  const verdict = judgeSource(evidence, t);
  const label = sourceLabel(evidence);
  if (quarantine !== null) {
    return { verdict, action: 'none', quarantine, sentence: `${label} stays quarantined since ${at(quarantine.since)} (${quarantine.reason}) until a person releases it` };
  }
  if (verdict.verdict === 'healthy') return { verdict, action: 'none', quarantine: null, sentence: verdict.reason };
  if (!featureOn({ features: input.features }, 'sourceQuarantine')) {
    return { verdict, action: 'audit', quarantine: null, sentence: `Source quarantine is off for this organization: would quarantine ${label}: ${verdict.reason}; its leads keep flowing` };
  }
  switch (mode) {
    case 'enforce':
      return {
        verdict,
        action: 'quarantine',
        quarantine: { since: now, reason: verdict.reason },
        sentence: `${label} quarantined: ${verdict.reason}. Its new leads are held with the reason "${SOURCE_QUALITY_REASON}" until a person releases it`,
      };
    case 'suggest':
      return { verdict, action: 'recommend_quarantine', quarantine: null, sentence: `Recommend quarantining ${label}: ${verdict.reason}` };
    case 'observe':
      return { verdict, action: 'audit', quarantine: null, sentence: `Observe mode: would quarantine ${label}: ${verdict.reason}; its leads keep flowing` };
  }
}

/** A person releases a quarantined source: the evidence is counted afresh from `now` (pass counts since then). */
export function releaseSource(e: Pick<SourceEvidence, 'ruleId' | 'ruleName' | 'claySource'>, quarantine: SourceQuarantine, actor: string, now: number): { quarantine: null; countFrom: number; sentence: string } {
  return {
    quarantine: null,
    countFrom: now,
    sentence: `${sourceLabel(e)} released by ${actor} at ${at(now)} (quarantined since ${at(quarantine.since)}); its held leads are evaluated again and its bounces are counted afresh`,
  };
}
