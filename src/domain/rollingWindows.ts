/**
 * Rolling 1h / 24h / 7d counts of sends, hard bounces and delivery failures, kept as 5-minute buckets.
 * Pure and clock-free: callers pass "now". State is plain JSON so a workflow can carry it through continue-as-new;
 * it is bounded (at most 7 days of buckets).
 */
import type { MonitoredEventType } from './events';

export const BUCKET_MS = 5 * 60 * 1000;
export const WINDOWS = { '1h': 60 * 60 * 1000, '24h': 24 * 60 * 60 * 1000, '7d': 7 * 24 * 60 * 60 * 1000 } as const;
export type WindowName = keyof typeof WINDOWS;

export interface WindowCounts {
  sent: number;
  hardBounces: number;
  failures: number;
}

/** [bucketStartMs, sent, hardBounces, failures], ascending by start. */
export type Bucket = [number, number, number, number];
export interface RollingCounts {
  buckets: Bucket[];
}

export const emptyCounts = (): RollingCounts => ({ buckets: [] });

const FIELD: Record<MonitoredEventType, 1 | 2 | 3> = { EmailSent: 1, HardBounce: 2, DeliveryFailure: 3 };

/**
 * Adds one event. Events older than the longest window relative to `nowMs` are ignored (they cannot affect any
 * window); events in the future are counted at their own time and enter windows once "now" reaches them.
 */
export function addEvent(counts: RollingCounts, type: MonitoredEventType, occurredAtMs: number, nowMs: number): RollingCounts {
  if (occurredAtMs <= nowMs - WINDOWS['7d']) return counts;
  const start = Math.floor(occurredAtMs / BUCKET_MS) * BUCKET_MS;
  const buckets = counts.buckets.map((b) => [...b] as Bucket);
  let index = buckets.findIndex((b) => b[0] >= start);
  if (index === -1 || buckets[index]![0] !== start) {
    const fresh: Bucket = [start, 0, 0, 0];
    if (index === -1) index = buckets.push(fresh) - 1;
    else buckets.splice(index, 0, fresh);
  }
  buckets[index]![FIELD[type]] += 1;
  return prune({ buckets }, nowMs);
}

/** Drops buckets that have left the longest window. */
export function prune(counts: RollingCounts, nowMs: number): RollingCounts {
  const oldest = nowMs - WINDOWS['7d'];
  return { buckets: counts.buckets.filter((b) => b[0] + BUCKET_MS > oldest) };
}

/** Counts per window ending at `nowMs`. A bucket belongs to a window when it started inside it. */
export function windowCounts(counts: RollingCounts, nowMs: number): Record<WindowName, WindowCounts> {
  const result = {} as Record<WindowName, WindowCounts>;
  for (const [name, length] of Object.entries(WINDOWS) as [WindowName, number][]) {
    const from = nowMs - length;
    const sum: WindowCounts = { sent: 0, hardBounces: 0, failures: 0 };
    for (const [start, sent, hardBounces, failures] of counts.buckets) {
      if (start + BUCKET_MS > from && start <= nowMs) {
        sum.sent += sent;
        sum.hardBounces += hardBounces;
        sum.failures += failures;
      }
    }
    result[name] = sum;
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

/** Velocity: short-window ratio minus long-window ratio (positive = getting worse). */
export function velocity(short: WindowCounts, long: WindowCounts, ratio: (w: WindowCounts) => number = hardBounceRate): number {
  return ratio(short) - ratio(long);
}
