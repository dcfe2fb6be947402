/**
 * The mailbox entity workflow: one long-lived workflow per (organization, mailbox). It receives event batches as
 * signals, keeps rolling-window counts (src/domain/rollingWindows), and records what it observed through an
 * idempotent audit activity. History stays bounded: it continues-as-new, carrying its state, when Temporal suggests.
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
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { MonitoredEvent } from '../domain/events';
import { addEvent, emptyCounts, prune, windowCounts, type RollingCounts, type WindowCounts, type WindowName } from '../domain/rollingWindows';
import { describeObservedBatch } from '../domain/explanations';

const { recordAudit } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export interface MailboxWorkflowInput {
  organizationId: string;
  mailbox: string;
  /** Carried through continue-as-new. */
  state?: MailboxWorkflowState;
  /** Continue-as-new after this many batches even if Temporal has not suggested it (bounds history; tests lower it). */
  maxBatchesPerRun?: number;
}

export interface MailboxWorkflowState {
  counts: RollingCounts;
  /** Most recent event ids, for idempotency across at-least-once delivery. Bounded. */
  recentEventIds: string[];
  totalEvents: number;
  batchesAudited: number;
  /** Events received but not yet processed when the previous run continued-as-new. */
  pendingEvents?: MonitoredEvent[];
}

export interface MailboxSnapshot {
  mailbox: string;
  totalEvents: number;
  windows: Record<WindowName, WindowCounts>;
}

export const eventsSignal = defineSignal<[{ events: MonitoredEvent[] }]>('events');
export const snapshotQuery = defineQuery<MailboxSnapshot>('snapshot');

export const RECENT_EVENT_IDS_KEPT = 5000;
/** About 8 history events a batch: continuing after 500 keeps each run's history near 4,000 events. */
export const DEFAULT_MAX_BATCHES_PER_RUN = 500;

export async function mailboxWorkflow(input: MailboxWorkflowInput): Promise<void> {
  // State first, handlers second (so no signal arrives before there is somewhere to put it).
  const state: MailboxWorkflowState = input.state ?? {
    counts: emptyCounts(),
    recentEventIds: [],
    totalEvents: 0,
    batchesAudited: 0,
  };
  const seen = new Set(state.recentEventIds);
  const pending: MonitoredEvent[] = state.pendingEvents ?? [];
  delete state.pendingEvents;
  let batchesThisRun = 0;
  const shouldContinueAsNew = (): boolean =>
    workflowInfo().continueAsNewSuggested || batchesThisRun >= (input.maxBatchesPerRun ?? DEFAULT_MAX_BATCHES_PER_RUN);

  setHandler(eventsSignal, ({ events }) => {
    for (const event of events) {
      if (seen.has(event.id)) continue;
      seen.add(event.id);
      state.recentEventIds.push(event.id);
      pending.push(event);
    }
    if (state.recentEventIds.length > RECENT_EVENT_IDS_KEPT) {
      for (const dropped of state.recentEventIds.splice(0, state.recentEventIds.length - RECENT_EVENT_IDS_KEPT)) {
        seen.delete(dropped);
      }
    }
  });
  setHandler(snapshotQuery, () => ({
    mailbox: input.mailbox,
    totalEvents: state.totalEvents,
    windows: windowCounts(state.counts, Date.now()),
  }));

  for (;;) {
    await condition(() => pending.length > 0 || shouldContinueAsNew());
    if (pending.length > 0) {
      batchesThisRun += 1;
      const batch = pending.splice(0, pending.length);
      const now = Date.now();
      for (const event of batch) state.counts = addEvent(state.counts, event.type, event.occurredAt, now);
      state.counts = prune(state.counts, now);
      state.totalEvents += batch.length;
      const windows = windowCounts(state.counts, now);
      // Sends alone are counted silently; a batch with a bounce or a failure is worth a line in the audit log.
      // (Workflows started before this rule audited every batch; `patched` keeps their histories replayable.)
      const worthAuditing = !patched('audit-only-bounces-and-failures') || batch.some((e) => e.type !== 'EmailSent');
      if (worthAuditing) {
        state.batchesAudited += 1;
        await recordAudit({
          organizationId: input.organizationId,
          idempotencyKey: `${workflowInfo().workflowId}#events#${batch[0]!.id}#${batch.length}`,
          entityType: 'mailbox',
          entityId: input.mailbox,
          action: 'events_observed',
          actor: 'system',
          trigger: { signals: batch.map((e) => e.type), window: '1h', observed: windows['1h'] },
          message: describeObservedBatch(input.mailbox, batch, windows['1h']),
        });
      }
    }
    if (shouldContinueAsNew()) {
      // Signals that arrived meanwhile travel with the state, so a steady stream cannot postpone this forever.
      await condition(allHandlersFinished);
      state.recentEventIds = [...seen].slice(-RECENT_EVENT_IDS_KEPT);
      await continueAsNew<typeof mailboxWorkflow>({ ...input, state: { ...state, pendingEvents: pending } });
    }
  }
}
