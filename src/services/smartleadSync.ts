/**
 * Starting Smartlead reconciliation: a Temporal Schedule per organization (created when the integration is saved;
 * visible and pausable in the Web UI under Schedules) and on-demand runs.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { smartleadSyncScheduleId, smartleadSyncWorkflowId } from '../workflows/ids';
import { EntityIdKey, EntityTypeKey, OrganizationIdKey } from '../workflows/searchAttributes';
import type { smartleadSyncWorkflow, SmartleadSyncInput } from '../workflows/smartleadSyncWorkflow';

const searchAttributes = (organizationId: string) => [
  { key: OrganizationIdKey, value: organizationId },
  { key: EntityTypeKey, value: 'smartlead-sync' },
  { key: EntityIdKey, value: organizationId },
];

/** Creates the organization's sync schedule, or updates its interval when it exists. Idempotent. */
/** A hung Temporal must not hang the API request that saved the integration. */
const TEMPORAL_DEADLINE_MS = 5000;
const withDeadline = <T>(client: Client, fn: () => Promise<T>): Promise<T> => client.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, fn);

export async function ensureSyncSchedule(client: Client, taskQueue: string, organizationId: string, everyMinutes: number): Promise<string> {
  const scheduleId = smartleadSyncScheduleId(organizationId);
  const spec = { intervals: [{ every: `${everyMinutes} minutes` as const }] };
  try {
    await withDeadline(client, () => client.schedule.create({
      scheduleId,
      spec,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      action: {
        type: 'startWorkflow',
        workflowType: 'smartleadSyncWorkflow',
        workflowId: `${scheduleId}/scheduled`,
        taskQueue,
        args: [{ organizationId, reason: 'schedule' } satisfies SmartleadSyncInput],
        typedSearchAttributes: searchAttributes(organizationId),
      },
      memo: { purpose: 'Reconcile Drason with Smartlead campaigns and email accounts' },
    }));
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await withDeadline(client, () => client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec })));
  }
  return scheduleId;
}

/**
 * Starts a sync now. A sync already running for the organization is replaced: it may be using credentials that were
 * just changed, and a sync is idempotent.
 */
export async function startSyncNow(client: Client, taskQueue: string, organizationId: string, reason: SmartleadSyncInput['reason']): Promise<string> {
  const workflowId = smartleadSyncWorkflowId(organizationId);
  await withDeadline(client, () => client.workflow.start<typeof smartleadSyncWorkflow>('smartleadSyncWorkflow', {
    workflowId,
    taskQueue,
    args: [{ organizationId, reason }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.TERMINATE_EXISTING,
    typedSearchAttributes: searchAttributes(organizationId),
  }));
  return workflowId;
}
