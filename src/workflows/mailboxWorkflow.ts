/**
 * The mailbox entity workflow: one long-lived workflow per (organization, mailbox). The relay
 * (src/services/eventRelay.ts) signals it with the mailbox's new hard bounces and delivery failures — never sends,
 * which are only counted in PostgreSQL. It deduplicates them by the event store's sequence number
 * (src/domain/delivery.ts), reads the mailbox's windows from the counters through an activity, and records what it
 * observed through an idempotent audit activity. History stays bounded: it continues-as-new, carrying a few
 * kilobytes of state, when Temporal suggests or after `maxBatchesPerRun` batches.
 *
 * Orchestration only: every rule lives in src/domain.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { DeliveredEvent, MonitoredEvent } from '../domain/events';
import { bufferEvents, bufferSize, emptyBuffer, noneSeen, tallyBuffer, takeSequences, type EventBuffer, type SeenSequences } from '../domain/delivery';
import type { WindowCounts, WindowSummary } from '../domain/rollingWindows';
import { describeObservedBatch } from '../domain/explanations';

type Activities = ReturnType<typeof createActivities>;
const RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;
/** Runs before the `local-activities` patch scheduled these on the task queue; kept so their histories replay. */
const remote = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: RETRY });
/**
 * Reading the windows and writing the batch's audit row are short, idempotent database calls: as local activities
 * they run inside the workflow task that handles the signal (one server round trip a batch instead of five, and
 * about half the history events). See docs/decisions/010-event-pipeline.md.
 */
const local = proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds', localRetryThreshold: '10 seconds', retry: RETRY });

export interface MailboxWorkflowInput {
  organizationId: string;
  mailbox: string;
  /** Carried through continue-as-new. */
  state?: MailboxWorkflowState;
  /** Continue-as-new after this many batches even if Temporal has not suggested it (bounds history; tests lower it). */
  maxBatchesPerRun?: number;
}

export interface MailboxWorkflowState {
  /** Which event-store sequence numbers were already taken (bounded). */
  seen?: SeenSequences;
  /** Events received but not yet judged (bounded), carried through continue-as-new. */
  buffer?: EventBuffer;
  /** Bounces and failures taken since the workflow started, across runs. */
  received?: { hardBounces: number; failures: number };
  batchesAudited: number;
  // Fields of runs started before the event pipeline (migrations/005); read only when such a run continues.
  totalEvents?: number;
  recentEventIds?: string[];
  pendingEvents?: MonitoredEvent[];
  counts?: unknown;
}

export interface MailboxSnapshot {
  mailbox: string;
  received: { hardBounces: number; failures: number };
  /** The highest event-store sequence number taken so far (0 before the first). */
  highWater: number;
  buffered: number;
  /** The windows read at the last decision (undefined before the first). */
  lastWindows?: WindowSummary;
}

/** Bounces and failures from the relay, oldest first, each with its event-store sequence number. */
export const bouncesSignal = defineSignal<[{ events: DeliveredEvent[] }]>('bounces');
/** The pre-pipeline signal (events by idempotency key, sends included). Kept so recorded histories replay. */
export const eventsSignal = defineSignal<[{ events: MonitoredEvent[] }]>('events');
export const snapshotQuery = defineQuery<MailboxSnapshot>('snapshot');

/** About 8 history events a batch: continuing after 500 keeps each run's history near 4,000 events. */
export const DEFAULT_MAX_BATCHES_PER_RUN = 500;

const NO_WINDOW: WindowCounts = { sent: 0, hardBounces: 0, failures: 0 };

export async function mailboxWorkflow(input: MailboxWorkflowInput): Promise<void> {
  // State first, handlers second (so no signal arrives before there is somewhere to put it).
  const carried = input.state;
  let seen = carried?.seen ?? noneSeen();
  let buffer = carried?.buffer ?? bufferEvents(emptyBuffer(), (carried?.pendingEvents ?? []).map((e) => ({ type: e.type, occurredAt: e.occurredAt })));
  const received = carried?.received ?? { hardBounces: 0, failures: 0 };
  let batchesAudited = carried?.batchesAudited ?? 0;
  let lastWindows: WindowSummary | undefined;
  const legacySeen = new Set(carried?.recentEventIds ?? []);
  let batchesThisRun = 0;
  const shouldContinueAsNew = (): boolean =>
    workflowInfo().continueAsNewSuggested || batchesThisRun >= (input.maxBatchesPerRun ?? DEFAULT_MAX_BATCHES_PER_RUN);

  setHandler(bouncesSignal, ({ events }) => {
    const taken = takeSequences(seen, events.map((e) => e.seq));
    seen = taken.seen;
    const fresh = events.filter((_, i) => taken.fresh[i]);
    for (const e of fresh) {
      if (e.type === 'HardBounce') received.hardBounces += 1;
      else received.failures += 1;
    }
    buffer = bufferEvents(buffer, fresh);
  });
  setHandler(eventsSignal, ({ events }) => {
    const fresh = events.filter((e) => !legacySeen.has(e.id));
    for (const e of fresh) legacySeen.add(e.id);
    buffer = bufferEvents(buffer, fresh.map((e) => ({ type: e.type, occurredAt: e.occurredAt })));
  });
  setHandler(snapshotQuery, () => ({
    mailbox: input.mailbox,
    received: { ...received },
    highWater: seen.above[seen.above.length - 1] ?? seen.through,
    buffered: bufferSize(buffer),
    ...(lastWindows === undefined ? {} : { lastWindows }),
  }));

  for (;;) {
    await condition(() => bufferSize(buffer) > 0 || shouldContinueAsNew());
    if (bufferSize(buffer) > 0) {
      batchesThisRun += 1;
      const batch = buffer;
      buffer = emptyBuffer();
      const tally = tallyBuffer(batch);
      // Sends alone are not worth a line in the audit log. (Runs from before this rule audited every batch, and
      // runs from before the event pipeline counted windows themselves; `patched` keeps their histories replayable.)
      const worthAuditing = !patched('audit-only-bounces-and-failures') || (tally.HardBounce ?? 0) + (tally.DeliveryFailure ?? 0) > 0;
      if (worthAuditing) {
        const { readMailboxWindows, recordAudit } = patched('local-activities') ? local : remote;
        if (patched('windows-from-counters')) {
          lastWindows = await readMailboxWindows({ organizationId: input.organizationId, mailbox: input.mailbox });
        }
        batchesAudited += 1;
        const lastHour = lastWindows?.windows['1h'] ?? NO_WINDOW;
        const seqs = batch.events.flatMap((e) => (e.seq === undefined ? [] : [e.seq]));
        await recordAudit({
          organizationId: input.organizationId,
          idempotencyKey: `${workflowInfo().workflowId}#batch#${seqs[0] ?? batchesAudited}#${bufferSize(batch)}`,
          entityType: 'mailbox',
          entityId: input.mailbox,
          action: 'events_observed',
          actor: 'system',
          trigger: {
            signals: Object.keys(tally),
            window: '1h',
            observed: lastHour,
            ...(seqs.length === 0 ? {} : { sequences: { first: Math.min(...seqs), last: Math.max(...seqs), count: seqs.length } }),
          },
          message: describeObservedBatch(input.mailbox, tally, lastHour),
        });
      }
    }
    if (shouldContinueAsNew()) {
      // Signals that arrived meanwhile travel with the state, so a steady stream cannot postpone this forever.
      await condition(allHandlersFinished);
      await continueAsNew<typeof mailboxWorkflow>({ ...input, state: { seen, buffer, received, batchesAudited } });
    }
  }
}
