/**
 * Delivers stored events to their mailbox entity workflows as signals (signal-with-start, so the first event for a
 * mailbox starts its workflow). Delivery is at-least-once: the API tries at once after committing, and a background
 * loop retries whatever is still in the outbox (Temporal briefly down, process crashed between commit and signal).
 * Workflows drop duplicates by event id.
 */
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Db } from '../db/knex';
import { organizationsFrom, withTenant } from '../db/tenant';
import { markDispatchFailed, markDispatched, pendingDispatch } from '../db/repositories/events';
import type { MonitoredEvent } from '../domain/events';
import { mailboxWorkflowId } from '../workflows/ids';
import { EntityIdKey, EntityTypeKey, OrganizationIdKey } from '../workflows/searchAttributes';
import type { mailboxWorkflow } from '../workflows/mailboxWorkflow';
import { componentLogger } from '../lib/logger';
import { startPeriodic, type Periodic } from '../lib/periodic';
import { eventDispatchFailures } from '../lib/metrics';

const log = componentLogger('event-dispatch');

/**
 * How long one signal may take. A hung Temporal must not hang ingestion: past this the batch stays in the outbox
 * and the background loop delivers it later.
 */
export const SIGNAL_DEADLINE_MS = 5000;

/** Large batches are split so a signal payload stays far below Temporal's 2 MB limit. */
const MAX_EVENTS_PER_SIGNAL = 500;

export async function signalMailbox(
  client: Client,
  taskQueue: string,
  organizationId: string,
  mailbox: string,
  events: MonitoredEvent[],
): Promise<void> {
  for (let i = 0; i < events.length; i += MAX_EVENTS_PER_SIGNAL) {
    const chunk = events.slice(i, i + MAX_EVENTS_PER_SIGNAL);
    try {
      await client.connection.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
        client.workflow.signalWithStart<typeof mailboxWorkflow, [{ events: MonitoredEvent[] }]>('mailboxWorkflow', {
        workflowId: mailboxWorkflowId(organizationId, mailbox),
        taskQueue,
        args: [{ organizationId, mailbox }],
        signal: 'events',
        signalArgs: [{ events: chunk }],
        typedSearchAttributes: [
          { key: OrganizationIdKey, value: organizationId },
          { key: EntityTypeKey, value: 'mailbox' },
          { key: EntityIdKey, value: mailbox },
        ],
      }),
      );
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }
}

export interface DispatchDeps {
  db: Db;
  client: Client;
  taskQueue: string;
}

/** Signals the given per-mailbox batches; failures stay in the outbox for the background loop. */
export async function dispatchNow(
  deps: DispatchDeps,
  organizationId: string,
  byMailbox: Map<string, { eventIds: number[]; events: MonitoredEvent[] }>,
): Promise<{ delivered: number; failed: number }> {
  const deliveredIds: number[] = [];
  const failedIds: number[] = [];
  await Promise.all(
    [...byMailbox].map(async ([mailbox, batch]) => {
      try {
        await signalMailbox(deps.client, deps.taskQueue, organizationId, mailbox, batch.events);
        deliveredIds.push(...batch.eventIds);
      } catch (error) {
        failedIds.push(...batch.eventIds);
        log.warn('signal failed; events stay queued for retry', { organizationId, mailbox, error: String(error) });
      }
    }),
  );
  // One transaction for the whole request's bookkeeping. If it fails, the rows stay queued and are re-signalled
  // later: harmless, workflows drop events they have already seen.
  if (deliveredIds.length > 0 || failedIds.length > 0) {
    await withTenant(deps.db, organizationId, async (tx) => {
      await markDispatched(tx, deliveredIds);
      await markDispatchFailed(tx, failedIds);
    }).catch((error: unknown) => log.warn('could not update the dispatch outbox; events will be re-signalled', { organizationId, error: String(error) }));
  }
  const delivered = deliveredIds.length;
  const failed = failedIds.length;
  if (failed > 0) eventDispatchFailures.inc(failed);
  return { delivered, failed };
}

/** One pass over every organization's outbox. Returns how many events were delivered. */
export async function dispatchPendingOnce(deps: DispatchDeps, batchSize = 1000): Promise<number> {
  let delivered = 0;
  for (const organizationId of await organizationsFrom(deps.db, 'drason_orgs_with_pending_dispatch', 100)) {
    const pending = await withTenant(deps.db, organizationId, (tx) => pendingDispatch(tx, batchSize));
    delivered += (await dispatchNow(deps, organizationId, pending)).delivered;
  }
  return delivered;
}

/** Runs dispatchPendingOnce every `intervalMs` until stopped. */
export function startDispatchLoop(deps: DispatchDeps, intervalMs = 2000): Periodic {
  return startPeriodic('dispatch', intervalMs, () => dispatchPendingOnce(deps), log);
}
