/**
 * The lead push workflow's signal and query (src/workflows/leadPushWorkflow.ts), apart from its code so the relay
 * and the API import definitions only, never a workflow module.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export interface LeadsChanged {
  commandId: string;
  /**
   * Why (src/db/repositories/commands.ts LeadsChangedReason), several joined with ", " when the relay coalesced a
   * campaign's commands into one signal.
   */
  reason: string;
}
export const leadsChangedSignal = defineSignal<[LeadsChanged]>('leadsChanged');

export interface LeadPushSnapshot {
  passes: number;
  held: number;
  lastSummary?: string;
}
export const leadPushSnapshotQuery = defineQuery<LeadPushSnapshot>('snapshot');
