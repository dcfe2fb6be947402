/** Plain-English audit messages. Each is one sentence a person can act on. */
import type { MonitoredEvent, MonitoredEventType } from './events';
import type { WindowCounts } from './rollingWindows';

const NOUNS: Record<MonitoredEventType, [string, string]> = {
  EmailSent: ['send', 'sends'],
  HardBounce: ['hard bounce', 'hard bounces'],
  DeliveryFailure: ['delivery failure', 'delivery failures'],
};

const plural = (n: number, [one, many]: [string, string]): string => `${n} ${n === 1 ? one : many}`;

export function describeObservedBatch(mailbox: string, batch: MonitoredEvent[], lastHour: WindowCounts): string {
  const tally = new Map<MonitoredEventType, number>();
  for (const e of batch) tally.set(e.type, (tally.get(e.type) ?? 0) + 1);
  const parts = (['EmailSent', 'HardBounce', 'DeliveryFailure'] as const)
    .filter((t) => tally.has(t))
    .map((t) => plural(tally.get(t)!, NOUNS[t]));
  const rate = lastHour.sent === 0 ? 'no sends yet' : `${((lastHour.hardBounces / lastHour.sent) * 100).toFixed(1)}% hard-bounce rate`;
  return `Recorded ${parts.join(', ')} for mailbox ${mailbox}; last hour: ${plural(lastHour.sent, NOUNS.EmailSent)}, ${plural(lastHour.hardBounces, NOUNS.HardBounce)}, ${plural(lastHour.failures, NOUNS.DeliveryFailure)} (${rate}); no action taken.`;
}
