/** Plain-English audit messages. Each is one sentence a person can act on. */
import type { BounceClass, MonitoredEventType } from './events';
import type { WindowCounts } from './rollingWindows';

const NOUNS: Record<MonitoredEventType, [string, string]> = {
  EmailSent: ['send', 'sends'],
  HardBounce: ['hard bounce', 'hard bounces'],
  DeliveryFailure: ['delivery failure', 'delivery failures'],
};

/** What each bounce class (src/domain/bounceClass.ts) is called, and what it means for the mailbox. */
const CLASS_NOUNS: Record<BounceClass, [one: string, many: string, meaning: string]> = {
  list_quality: ['bad address', 'bad addresses', 'the recipient does not exist: the list’s fault, not the sender’s'],
  reputation: ['reputation block', 'reputation blocks', 'the receiver refuses this sender'],
  transient: ['temporary deferral', 'temporary deferrals', 'the receiver asked to try again later'],
  account: ['sending-account failure', 'sending-account failures', 'the mailbox itself cannot send'],
  unknown: ['unrecognised failure', 'unrecognised failures', 'no known reason in the receiver’s answer'],
};
const CLASS_ORDER: readonly BounceClass[] = ['reputation', 'account', 'list_quality', 'transient', 'unknown'];

const plural = (n: number, [one, many]: readonly [string, string, ...string[]]): string => `${n} ${n === 1 ? one : many}`;

/** "reputation block (the receiver refuses this sender)": a class as audit sentences name it. */
export function bounceClassLabel(bounceClass: BounceClass): string {
  const [one, , meaning] = CLASS_NOUNS[bounceClass];
  return `${one} (${meaning})`;
}

/** "2 reputation blocks (the receiver refuses this sender), 1 bad address (…)", strongest signal first; '' for none. */
export function describeBounceClasses(classes: Partial<Record<BounceClass, number>>): string {
  return CLASS_ORDER.filter((c) => (classes[c] ?? 0) > 0)
    .map((c) => `${plural(classes[c]!, CLASS_NOUNS[c])} (${CLASS_NOUNS[c][2]})`)
    .join(', ');
}

/**
 * `tally`: how many of each event type the batch held; `classes` (optional): how many of its bounces and failures
 * fell in each bounce class, named after the mailbox when given.
 */
export function describeObservedBatch(
  mailbox: string,
  tally: Partial<Record<MonitoredEventType, number>>,
  lastHour: WindowCounts,
  classes: Partial<Record<BounceClass, number>> = {},
): string {
  const parts = (['EmailSent', 'HardBounce', 'DeliveryFailure'] as const)
    .filter((t) => (tally[t] ?? 0) > 0)
    .map((t) => plural(tally[t]!, NOUNS[t]));
  const classed = describeBounceClasses(classes);
  const blocks = lastHour.reputationBlocks ?? 0;
  const failures = `${plural(lastHour.failures, NOUNS.DeliveryFailure)}${blocks > 0 ? `, ${blocks} of them ${blocks === 1 ? CLASS_NOUNS.reputation[0] : CLASS_NOUNS.reputation[1]}` : ''}`;
  const rate = lastHour.sent === 0 ? 'no sends yet' : `${((lastHour.hardBounces / lastHour.sent) * 100).toFixed(1)}% hard-bounce rate`;
  return `Recorded ${parts.join(', ')} for mailbox ${mailbox}${classed === '' ? '' : ` — ${classed}`}; last hour: ${plural(lastHour.sent, NOUNS.EmailSent)}, ${plural(lastHour.hardBounces, NOUNS.HardBounce)}, ${failures} (${rate}); no action taken.`;
}
