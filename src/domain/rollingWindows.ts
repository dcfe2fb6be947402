/**
 * Rolling 1h / 24h / 7d windows of sends, hard bounces and delivery failures, computed from 5-minute buckets.
 * The buckets are the counters the relay keeps in PostgreSQL (entity_counters; migrations/005_event_pipeline.ts
 * buckets with the same 5 minutes, checked by a test). Pure and clock-free: callers pass "now".
 */
export const BUCKET_MS = 5 * 60 * 1000;
export const WINDOWS = { '1h': 60 * 60 * 1000, '24h': 24 * 60 * 60 * 1000, '7d': 7 * 24 * 60 * 60 * 1000 } as const;
export type WindowName = keyof typeof WINDOWS;

export interface WindowCounts {
  sent: number;
  hardBounces: number;
  failures: number;
  /**
   * Of `failures`, those classed `reputation` (the receiver refuses this sender: 5.7.x, "blocked", blocklists;
   * src/domain/bounceClass.ts). Judged against their own, lower thresholds. Absent in counts read before
   * migration 006 kept them (treated as 0).
   */
  reputationBlocks?: number;
}

/** [bucketStartMs, sent, hardBounces, failures, reputationBlocks?], ascending by start. */
export type Bucket = [number, number, number, number, number?];
export interface RollingCounts {
  buckets: Bucket[];
}

/** The counts of these buckets added up (a bucket without reputation blocks counts 0 of them). */
export function sumBuckets(buckets: readonly Bucket[]): Required<WindowCounts> {
  const sum = { sent: 0, hardBounces: 0, failures: 0, reputationBlocks: 0 };
  for (const [, sent, hardBounces, failures, reputationBlocks] of buckets) {
    sum.sent += sent;
    sum.hardBounces += hardBounces;
    sum.failures += failures;
    sum.reputationBlocks += reputationBlocks ?? 0;
  }
  return sum;
}

/** Counts per window ending at `nowMs`. A bucket belongs to a window when it started inside it. */
export function windowCounts(counts: RollingCounts, nowMs: number): Record<WindowName, WindowCounts> {
  const result = {} as Record<WindowName, WindowCounts>;
  for (const [name, length] of Object.entries(WINDOWS) as [WindowName, number][]) {
    const from = nowMs - length;
    result[name] = sumBuckets(counts.buckets.filter(([start]) => start + BUCKET_MS > from && start <= nowMs));
  }
  return result;
}

/** Hard-bounce ratio of a window: bounces per send (0 when nothing was sent). */
export function hardBounceRate(w: WindowCounts): number {
  return w.sent === 0 ? 0 : w.hardBounces / w.sent;
}

/** Delivery-failure ratio of a window. */
export function failureRate(w: WindowCounts): number {
  return w.sent === 0 ? 0 : w.failures / w.sent;
}

/** Reputation-block ratio of a window: refusals of this sender per send. */
export function reputationRate(w: WindowCounts): number {
  return w.sent === 0 ? 0 : (w.reputationBlocks ?? 0) / w.sent;
}

/** Velocity: short-window ratio minus long-window ratio (positive = getting worse). */
export function velocity(short: WindowCounts, long: WindowCounts, ratio: (w: WindowCounts) => number = hardBounceRate): number {
  return ratio(short) - ratio(long);
}

/** What the API shows and the engine judges: the three windows, their rates, and velocity (1h rate minus 24h rate). */
export interface WindowSummary {
  windows: Record<WindowName, WindowCounts>;
  rates: Record<WindowName, { hardBounceRate: number; failureRate: number; reputationRate: number }>;
  velocity: { hardBounceRate: number; failureRate: number };
}

export function summarizeWindows(counts: RollingCounts, nowMs: number): WindowSummary {
  const windows = windowCounts(counts, nowMs);
  const rates = {} as WindowSummary['rates'];
  for (const name of Object.keys(WINDOWS) as WindowName[]) {
    rates[name] = { hardBounceRate: hardBounceRate(windows[name]), failureRate: failureRate(windows[name]), reputationRate: reputationRate(windows[name]) };
  }
  return {
    windows,
    rates,
    velocity: {
      hardBounceRate: velocity(windows['1h'], windows['24h'], hardBounceRate),
      failureRate: velocity(windows['1h'], windows['24h'], failureRate),
    },
  };
}
