/**
 * How an entity workflow takes delivered events: deduplicated by the event store's own sequence number (events.id),
 * buffered within a fixed bound. Pure, so the workflow stays deterministic and the rules are table-tested
 * (test/unit/delivery.test.ts). What a workflow carries through continue-as-new is these two small structures.
 *
 * Why a watermark and a small set, not a set of every id: the relay delivers each mailbox's events oldest first and
 * re-delivers a batch only when it cannot tell whether the first delivery landed. A late commit can put an older
 * sequence number after a newer one, but only by the few events in flight at that moment. So the workflow keeps
 * the last MAX_SEEN_ABOVE numbers it saw; everything at or below `through` counts as seen.
 */
import type { MonitoredEventType } from './events';

export interface SeenSequences {
  /** Every sequence number at or below this one has been taken (or is older than anything that can still arrive). */
  through: number;
  /** Taken numbers above `through`, ascending; at most MAX_SEEN_ABOVE. */
  above: number[];
}

export const MAX_SEEN_ABOVE = 512;

export const noneSeen = (): SeenSequences => ({ through: 0, above: [] });

/** Splits delivered sequence numbers into fresh and repeated ones, and remembers the fresh. */
export function takeSequences(seen: SeenSequences, seqs: number[], maxAbove = MAX_SEEN_ABOVE): { seen: SeenSequences; fresh: boolean[] } {
  const above = new Set(seen.above);
  const fresh = seqs.map((seq) => {
    if (seq <= seen.through || above.has(seq)) return false;
    above.add(seq);
    return true;
  });
  const sorted = [...above].sort((a, b) => a - b);
  const dropped = sorted.length > maxAbove ? sorted.splice(0, sorted.length - maxAbove) : [];
  return { seen: { through: dropped.length > 0 ? dropped[dropped.length - 1]! : seen.through, above: sorted }, fresh };
}

/** An event waiting for the workflow's next decision. */
export interface BufferedEvent {
  type: MonitoredEventType;
  /** Epoch milliseconds. */
  occurredAt: number;
  /** The event store's sequence number (absent only for events delivered before the event pipeline). */
  seq?: number;
  campaignId?: string;
}

/** Events waiting for a decision: at most MAX_BUFFERED in detail, the rest only counted by type. */
export interface EventBuffer {
  events: BufferedEvent[];
  overflow: Partial<Record<MonitoredEventType, number>>;
}

export const MAX_BUFFERED = 200;

export const emptyBuffer = (): EventBuffer => ({ events: [], overflow: {} });

export function bufferEvents(buffer: EventBuffer, events: BufferedEvent[], max = MAX_BUFFERED): EventBuffer {
  const room = Math.max(0, max - buffer.events.length);
  const overflow = { ...buffer.overflow };
  for (const e of events.slice(room)) overflow[e.type] = (overflow[e.type] ?? 0) + 1;
  return { events: [...buffer.events, ...events.slice(0, room)], overflow };
}

export const bufferSize = (buffer: EventBuffer): number =>
  buffer.events.length + Object.values(buffer.overflow).reduce((sum, n) => sum + (n ?? 0), 0);

/** How many of each type a buffer holds, detailed and overflowed together. */
export function tallyBuffer(buffer: EventBuffer): Partial<Record<MonitoredEventType, number>> {
  const tally = { ...buffer.overflow };
  for (const e of buffer.events) tally[e.type] = (tally[e.type] ?? 0) + 1;
  return tally;
}
