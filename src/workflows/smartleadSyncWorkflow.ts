/**
 * One reconciliation pass of an organization's Smartlead account. Started by the organization's Temporal Schedule
 * (every SMARTLEAD_SYNC_INTERVAL_MINUTES) and on demand (integration saved, POST /v1/integrations/smartlead/sync).
 * Transient Smartlead trouble is retried with backoff (Retry-After honoured); revoked credentials and refusals are
 * not: the activity has already marked the integration broken and audited why.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { SyncResult } from '../activities/smartlead';
import { smartleadRetry } from './retryPolicies';

const { syncSmartlead } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2 minutes',
  retry: smartleadRetry,
});

export interface SmartleadSyncInput {
  organizationId: string;
  reason: 'schedule' | 'integration_saved' | 'manual';
}

export async function smartleadSyncWorkflow(input: SmartleadSyncInput): Promise<SyncResult> {
  return syncSmartlead(input);
}
