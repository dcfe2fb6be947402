/** Plain-English audit messages. Each is one sentence a person can act on. */
import type { MonitoredEventType } from './events';
import type { WindowCounts } from './rollingWindows';

const NOUNS: Record<MonitoredEventType, [string, string]> = {
  EmailSent: ['send', 'sends'],
  HardBounce: ['hard bounce', 'hard bounces'],
  DeliveryFailure: ['delivery failure', 'delivery failures'],
};

const plural = (n: number, [one, many]: [string, string]): string => `${n} ${n === 1 ? one : many}`;

/** `tally`: how many of each event type the batch held. */
export function describeObservedBatch(mailbox: string, tally: Partial<Record<MonitoredEventType, number>>, lastHour: WindowCounts): string {
  const parts = (['EmailSent', 'HardBounce', 'DeliveryFailure'] as const)
    .filter((t) => (tally[t] ?? 0) > 0)
    .map((t) => plural(tally[t]!, NOUNS[t]));
  const rate = lastHour.sent === 0 ? 'no sends yet' : `${((lastHour.hardBounces / lastHour.sent) * 100).toFixed(1)}% hard-bounce rate`;
  return `Recorded ${parts.join(', ')} for mailbox ${mailbox}; last hour: ${plural(lastHour.sent, NOUNS.EmailSent)}, ${plural(lastHour.hardBounces, NOUNS.HardBounce)}, ${plural(lastHour.failures, NOUNS.DeliveryFailure)} (${rate}); no action taken.`;
}
