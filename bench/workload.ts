/**
 * Deterministic event streams for the benchmark. Event n of a run is a pure function of (spec, n): its type and
 * mailbox come from a 32-bit hash of n, so the load client (which sends them) and the bench (which checks what
 * arrived where) agree without exchanging the events, and bounces spread over every mailbox instead of a residue class.
 */

export type BenchEventType = 'EmailSent' | 'HardBounce' | 'DeliveryFailure';

export interface WorkloadSpec {
  /** Prefix of every event id, unique per run, so runs against one database never collide as duplicates. */
  runId: string;
  mailboxes: number;
  /** Fractions of events that are hard bounces / delivery failures; the rest are sends. */
  hardBounceRate: number;
  failureRate: number;
}

/** MurmurHash3's 32-bit finalizer: a cheap, well-mixed hash of an integer. */
export function hash32(n: number): number {
  let h = n >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function eventTypeOf(spec: WorkloadSpec, n: number): BenchEventType {
  const r = hash32(n * 2 + 1) / 2 ** 32;
  if (r < spec.hardBounceRate) return 'HardBounce';
  if (r < spec.hardBounceRate + spec.failureRate) return 'DeliveryFailure';
  return 'EmailSent';
}

/** The m-th mailbox of every workload (20 domains). */
export function mailboxName(m: number): string {
  return `sender${m}@bench-domain-${m % 20}.com`;
}

export function mailboxOf(spec: WorkloadSpec, n: number): string {
  return mailboxName(hash32(n * 2) % spec.mailboxes);
}

/** The JSON text of `POST /v1/events` for events first … first+count-1, stamped `occurredAtMs`. */
export function eventsBody(spec: WorkloadSpec, first: number, count: number, occurredAtMs: number): string {
  const occurredAt = new Date(occurredAtMs).toISOString();
  const events = Array.from({ length: count }, (_, i) => {
    const n = first + i;
    return { id: `${spec.runId}-${n}`, type: eventTypeOf(spec, n), occurredAt, mailbox: mailboxOf(spec, n), campaignId: String(1000 + (n % 7)) };
  });
  return JSON.stringify({ events });
}

export interface Totals {
  sent: number;
  hardBounces: number;
  failures: number;
}

/** What a set of events adds up to, in total and per mailbox (bounces and failures only: sends are never signalled). */
export function totalsOf(spec: WorkloadSpec, events: Iterable<number>): { all: Totals; byMailbox: Map<string, Totals> } {
  const all: Totals = { sent: 0, hardBounces: 0, failures: 0 };
  const byMailbox = new Map<string, Totals>();
  for (const n of events) {
    const type = eventTypeOf(spec, n);
    const key = type === 'EmailSent' ? 'sent' : type === 'HardBounce' ? 'hardBounces' : 'failures';
    all[key] += 1;
    if (key === 'sent') continue;
    const mailbox = mailboxOf(spec, n);
    const t = byMailbox.get(mailbox) ?? { sent: 0, hardBounces: 0, failures: 0 };
    t[key] += 1;
    byMailbox.set(mailbox, t);
  }
  return { all, byMailbox };
}
