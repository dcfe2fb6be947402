/**
 * ExecutionRiskScore: 0–100 per mailbox, "how close is this mailbox to every reason Drason has to pause it".
 * Not a spam probability and not a prediction: a weighted reading of the same windows and the same organization
 * thresholds the engine decides with, so a person can recompute it from the audit trail. Pure and deterministic.
 *
 *   score = round( 30·pressure(hard-bounce rate,  hardBounceRate.pause)
 *                + 30·pressure(reputation rate,   reputationRate.pause)
 *                + 15·pressure(failure rate,      failureRate.pause)
 *                + 10·pressure(velocity,          velocity.warning)
 *                + 15·state )
 *
 * - pressure(rate, limit) = the worst of the 1h and 24h windows of  min(1, rate / limit) × min(1, sent / minSample):
 *   0 with nothing wrong, 1 at or beyond the organization's pause threshold. It saturates there: a mailbox at
 *   twice the threshold is no "riskier" to the engine than one at it, both get paused. The 7d window is left out so
 *   that the score comes down within a day of a mailbox's recovery.
 * - min(1, sent / minSample) is the minimum-sample damping: below `minSample` sends a rate is only that fraction
 *   believed, so one bounce out of 3 sends (33%) moves the hard-bounce term by at most 30 × 3/30 = 3 points with
 *   the default minSample of 30 — and one send can never produce a high score.
 * - Hard bounces (30): addresses that do not exist; what every receiver and peer watches first.
 * - Reputation blocks (30): receivers refusing this sender (bounce class `reputation`); as strong as hard bounces,
 *   and judged against their own lower thresholds, so a burst of blocks scores high early.
 * - Delivery failures (15): every failure class (reputation blocks included: they are failures too), noisier than
 *   the two above, so half their weight.
 * - Velocity (10): the hard-bounce rate of the last hour minus that of the last 24 hours (worsening now), against
 *   the velocity warning threshold (velocity has no pause threshold), damped by the last hour's sample; an
 *   improving mailbox scores 0 here.
 * - State (15): healthy 0, recovering 1/3 (sending again under watch, just after a pause), warning 2/3 (a breach
 *   is under way), paused 1.
 *
 * So 100 ≈ paused and at or beyond every pause threshold at once; a healthy mailbox with clean windows is 0. A
 * mailbox breaching one rate's pause threshold alone scores that rate's weight plus its state (30 + 10 = 40 in
 * warning). Each part is monotone in its input: more bounces, failures or blocks for the same sends never lower
 * the score. A threshold of 0 means "any at all": any rate above it saturates.
 */
import type { WindowCounts, WindowName, WindowSummary } from './rollingWindows';
import { featureOn } from './features';
import type { Thresholds } from './settings';

export type RiskState = 'healthy' | 'warning' | 'paused' | 'recovering';

export interface RiskScoreInput {
  summary: WindowSummary;
  state: RiskState;
  /** The organization's thresholds (the version the decision uses). */
  thresholds: Thresholds;
}

/** Each term in points (0 up to its weight), before the total is rounded. */
export interface RiskScoreParts {
  hardBounces: number;
  reputation: number;
  failures: number;
  velocity: number;
  state: number;
}

export interface RiskScore {
  /** Integer 0–100. */
  score: number;
  parts: RiskScoreParts;
}

export const RISK_WEIGHTS: Readonly<RiskScoreParts> = { hardBounces: 30, reputation: 30, failures: 15, velocity: 10, state: 15 };

const STATE_PRESSURE: Record<RiskState, number> = { healthy: 0, recovering: 1 / 3, warning: 2 / 3, paused: 1 };

/** The windows whose rates the score reads. */
const JUDGED: readonly WindowName[] = ['1h', '24h'];

/** How far `value` is toward `limit`, 0..1; a limit of 0 means any positive value saturates. */
function toward(value: number, limit: number): number {
  if (!(value > 0)) return 0;
  return limit <= 0 ? 1 : Math.min(1, value / limit);
}

/** The share of a window's rate that is believed: its sends against the minimum sample, at most 1. */
const believed = (w: WindowCounts, minSample: number): number => Math.min(1, w.sent / Math.max(1, minSample));

type Rate = keyof WindowSummary['rates'][WindowName];

function ratePressure(input: RiskScoreInput, rate: Rate, limit: number): number {
  const { summary, thresholds } = input;
  return Math.max(...JUDGED.map((name) => toward(summary.rates[name][rate], limit) * believed(summary.windows[name], thresholds.minSample)));
}

const points = (weight: number, pressure: number): number => Math.round(weight * pressure * 10) / 10;

export function riskScore(input: RiskScoreInput): RiskScore {
  const { summary, thresholds, state } = input;
  const pressures: RiskScoreParts = {
    hardBounces: ratePressure(input, 'hardBounceRate', thresholds.hardBounceRate.pause),
    // A judgement switched off for the organization (thresholds.features) adds nothing to the score either.
    reputation: featureOn(thresholds, 'reputationClass') ? ratePressure(input, 'reputationRate', thresholds.reputationRate.pause) : 0,
    failures: ratePressure(input, 'failureRate', thresholds.failureRate.pause),
    velocity: featureOn(thresholds, 'velocity') ? toward(summary.velocity.hardBounceRate, thresholds.velocity.warning) * believed(summary.windows['1h'], thresholds.minSample) : 0,
    state: STATE_PRESSURE[state],
  };
  let total = 0;
  const parts = {} as RiskScoreParts;
  for (const term of Object.keys(RISK_WEIGHTS) as (keyof RiskScoreParts)[]) {
    total += RISK_WEIGHTS[term] * pressures[term];
    parts[term] = points(RISK_WEIGHTS[term], pressures[term]);
  }
  return { score: Math.min(100, Math.max(0, Math.round(total))), parts };
}
