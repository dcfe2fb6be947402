/**
 * The lead push workflow: one long-lived workflow per (organization, campaign), `leadPush/<org>/<campaign id>`
 * (docs/decisions/013-lead-pipeline.md). Each pass reads the gate input (one local activity), decides with the pure
 * `evaluateGate`, pushes the batch through ONE idempotent activity (`pushLeadsToCampaign`) when the gate says `push`
 * (enforce mode only), and records the outcome (`recordGateOutcome`, idempotent by the pass's decision key).
 *
 * - Re-checks every RECHECK_MS while leads are held, and at once on `leadsChanged` (campaign resumed, domain or
 *   mailbox recovered, mode changed, rule added, leads routed, day turn), each command id taken once. With nothing
 *   held it waits for a signal only. When a push leaves more held leads than one batch, the next pass runs at once.
 * - History stays bounded: continue-as-new when Temporal suggests it or after `maxPassesPerRun` passes.
 * - Not started or signalled by anything yet: the relay will signal-with-start it from entity_commands.
 */
import { allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { GateOutcomeLead } from '../activities/leadPipeline';
import { campaignLabel, evaluateGate } from '../domain/executionGate';
import { CommandLog, localActivities } from './entityRuntime';
import { leadPushWorkflowId } from './ids';
import { leadPushSnapshotQuery, leadsChangedSignal, type LeadPushSnapshot, type LeadsChanged } from './leadPushSignals';
import { smartleadRetry } from './retryPolicies';

type Activities = ReturnType<typeof createActivities>;
const { pushLeadsToCampaign } = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds', retry: smartleadRetry });
const { recordGateOutcome } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } });

export const RECHECK_MS = 5 * 60_000;
export const DEFAULT_MAX_PASSES_PER_RUN = 200;
export const DEFAULT_BATCH_SIZE = 100;
export const MAX_COMMANDS_SEEN = 64;

export { leadPushWorkflowId };
export { leadsChangedSignal, leadPushSnapshotQuery };
export type { LeadsChanged, LeadPushSnapshot };

export interface LeadPushWorkflowInput {
  organizationId: string;
  campaignId: string;
  maxPassesPerRun?: number;
  batchSize?: number;
  /** Carried across continue-as-new. */
  state?: { chain: string; commandsSeen: string[]; due: boolean; passes: number };
}

export async function leadPushWorkflow(input: LeadPushWorkflowInput): Promise<void> {
  const { organizationId, campaignId } = input;
  const chain = input.state?.chain ?? `${workflowInfo().workflowId}@${workflowInfo().runId}`;
  const commandsSeen = new CommandLog(input.state?.commandsSeen ?? [], MAX_COMMANDS_SEEN);
  let due = input.state?.due ?? true;
  let passes = input.state?.passes ?? 0;
  let passesThisRun = 0;
  let held = 0;
  let lastSummary: string | undefined;
  const shouldContinueAsNew = (): boolean => workflowInfo().continueAsNewSuggested || passesThisRun >= (input.maxPassesPerRun ?? DEFAULT_MAX_PASSES_PER_RUN);

  setHandler(leadsChangedSignal, (c) => {
    if (commandsSeen.take(c.commandId)) due = true;
  });
  setHandler(leadPushSnapshotQuery, () => ({ passes, held, ...(lastSummary === undefined ? {} : { lastSummary }) }));

  for (;;) {
    if (!due) {
      const signalled = await condition(() => due || shouldContinueAsNew(), held > 0 ? RECHECK_MS : undefined);
      if (!signalled) due = true;
    }
    if (due && !shouldContinueAsNew()) {
      due = false;
      passes += 1;
      passesThisRun += 1;
      const read = await localActivities.readGateInput({ organizationId, campaignId, limit: input.batchSize ?? DEFAULT_BATCH_SIZE });
      held = read.heldCount;
      if (read.leads.length > 0) {
        let outcomes: GateOutcomeLead[];
        let pushed = false;
        if (read.campaign === null) {
          lastSummary = `held: ${campaignLabel({ id: campaignId })} is not known to Drason yet: it is read at the next Smartlead sync`;
          outcomes = read.leads.map((l) => ({ leadId: l.leadId, inCampaign: false, reason: lastSummary! }));
        } else {
          const decision = evaluateGate({
            campaign: read.campaign,
            domains: read.domains,
            mailboxes: read.mailboxes,
            // Source quarantine has no storage yet (docs/decisions/013-lead-pipeline.md).
            source: { ruleId: 'unknown', quarantine: null },
            mode: read.mode,
            thresholds: { gateMaxRiskScore: read.gateMaxRiskScore },
            now: Date.now(),
          });
          lastSummary = decision.summary;
          if (decision.action === 'push') {
            pushed = true;
            const result = await pushLeadsToCampaign({
              organizationId,
              campaignId,
              leads: read.leads.map(({ holdReason: _unused, ...lead }) => lead),
            });
            outcomes = result.outcomes.map((o) => ({ leadId: o.leadId, inCampaign: o.inCampaign, reason: o.reason }));
          } else {
            outcomes = read.leads.map((l) => ({ leadId: l.leadId, inCampaign: false, reason: decision.summary }));
          }
        }
        const recorded = await recordGateOutcome({ organizationId, campaignId, decisionKey: `${chain}#${passes}`, mode: read.mode, leads: outcomes });
        held = Math.max(0, read.heldCount - recorded.activated);
        // More held leads than one batch behind a push: take the next batch now.
        if (pushed && recorded.activated > 0 && read.heldCount > read.leads.length) due = true;
      }
    }
    if (shouldContinueAsNew()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof leadPushWorkflow>({ ...input, state: { chain, commandsSeen: commandsSeen.seen, due: due || held > 0, passes } });
    }
  }
}
