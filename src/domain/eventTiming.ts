/**
 * Time rules for incoming events (clock skew and replay), pure and clock-free: callers pass "now".
 * See docs/decisions/007-webhook-auth-replay-and-clock-skew.md.
 */
import { WINDOWS } from './rollingWindows';

/** How far ahead of Drason's clock a sender's timestamp may be before it is treated as wrong. */
export const MAX_FUTURE_SKEW_MS = 15 * 60 * 1000;

/** Events older than the longest monitoring window are stored (they are history) but not counted. */
export const STALE_AFTER_MS = WINDOWS['7d'];

/**
 * The plausible range of an event's time: nothing Drason watches happened before 2000 or will happen after 2100.
 * A timestamp outside it is garbage (an epoch of 0, a year typed wrong, JavaScript's smallest date), and some are
 * beyond what Postgres can store at all.
 */
export const EARLIEST_EVENT_MS = Date.UTC(2000, 0, 1);
export const LATEST_EVENT_MS = Date.UTC(2100, 0, 1);

export type EventTiming = { kind: 'ok' } | { kind: 'out_of_range' } | { kind: 'future'; aheadMs: number } | { kind: 'stale'; ageMs: number };

export function judgeEventTime(occurredAtMs: number, nowMs: number): EventTiming {
  if (!Number.isFinite(occurredAtMs) || occurredAtMs < EARLIEST_EVENT_MS || occurredAtMs >= LATEST_EVENT_MS) return { kind: 'out_of_range' };
  if (occurredAtMs - nowMs > MAX_FUTURE_SKEW_MS) return { kind: 'future', aheadMs: occurredAtMs - nowMs };
  if (nowMs - occurredAtMs > STALE_AFTER_MS) return { kind: 'stale', ageMs: nowMs - occurredAtMs };
  return { kind: 'ok' };
}

/** "2 h 5 min", "3 days", "40 min": for messages a person reads. */
export function describeDuration(ms: number): string {
  const totalMinutes = Math.round(ms / 60_000);
  if (totalMinutes >= 2 * 24 * 60) return `${Math.floor(totalMinutes / (24 * 60))} days`;
  const hours = Math.floor(totalMinutes / 60);
  const mins = totalMinutes % 60;
  if (hours === 0) return `${mins} min`;
  return mins === 0 ? `${hours} h` : `${hours} h ${mins} min`;
}

/** The message a sender gets when its timestamp is too far ahead. */
export function futureEventMessage(aheadMs: number): string {
  return `is ${describeDuration(aheadMs)} ahead of Drason's clock; events more than ${MAX_FUTURE_SKEW_MS / 60_000} minutes in the future are refused (check the sender's clock, or send the time in UTC with an offset)`;
}

/** The message a sender gets when its timestamp is not a plausible time for an event. */
export function outOfRangeEventMessage(): string {
  return `is not a plausible time for an event: Drason accepts times from ${new Date(EARLIEST_EVENT_MS).toISOString()} to before ${new Date(LATEST_EVENT_MS).toISOString()}`;
}
