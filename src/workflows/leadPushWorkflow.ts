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
import type { GateInputRead, GateLead, GateOutcomeLead } from '../activities/leadPipeline';
import { campaignLabel, evaluateGate, type GateDecision } from '../domain/executionGate';
import { CommandLog, localActivities } from './entityRuntime';
import { leadPushWorkflowId } from './ids';
import { leadPushSnapshotQuery, leadsChangedSignal, type LeadPushSnapshot, type LeadsChanged } from './leadPushSignals';
import { smartleadRetry } from './retryPolicies';

type Activities = ReturnType<typeof createActivities>;
const { pushLeadsToCampaign } = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds', retry: smartleadRetry });
const { recordGateOutcome, reviewSources } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
const { syncLeadPauses } = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '30 seconds', retry: smartleadRetry });

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
  let pausesPending = 0;
  const shouldContinueAsNew = (): boolean => workflowInfo().continueAsNewSuggested || passesThisRun >= (input.maxPassesPerRun ?? DEFAULT_MAX_PASSES_PER_RUN);

  setHandler(leadsChangedSignal, (c) => {
    if (commandsSeen.take(c.commandId)) due = true;
  });
  setHandler(leadPushSnapshotQuery, () => ({ passes, held, ...(lastSummary === undefined ? {} : { lastSummary }) }));

  for (;;) {
    if (!due) {
      const signalled = await condition(() => due || shouldContinueAsNew(), held > 0 || pausesPending > 0 ? RECHECK_MS : undefined);
      if (!signalled) due = true;
    }
    if (due && !shouldContinueAsNew()) {
      due = false;
      passes += 1;
      passesThisRun += 1;
      const decisionKey = `${chain}#${passes}`;
      // Sources first, so a quarantine decided on this pass's evidence already holds this pass's leads.
      await reviewSources({ organizationId, campaignId, decisionKey });
      const read = await localActivities.readGateInput({ organizationId, campaignId, limit: input.batchSize ?? DEFAULT_BATCH_SIZE });
      held = read.heldCount;
      if (read.leads.length > 0) {
        const pass = await gatePass(read, organizationId, campaignId);
        lastSummary = pass.summary;
        const recorded = await recordGateOutcome({
          organizationId,
          campaignId,
          decisionKey,
          mode: read.mode,
          leads: pass.outcomes,
          gate: pass.summary,
          ...(pass.recommend === undefined ? {} : { recommendPush: pass.recommend }),
        });
        held = Math.max(0, read.heldCount - recorded.activated - recorded.refused);
        // More held leads than one batch behind a push: take the next batch now.
        if (pass.pushed && recorded.activated + recorded.refused > 0 && read.heldCount > read.leads.length) due = true;
      }
      // Leads paused or resumed with a mailbox, campaign or domain: bring Smartlead in step (src/activities/leadLifecycle.ts).
      if (read.pausesToSync > 0) {
        const synced = await syncLeadPauses({ organizationId, campaignId });
        pausesPending = synced.pending;
      } else {
        pausesPending = 0;
      }
    }
    if (shouldContinueAsNew()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof leadPushWorkflow>({ ...input, state: { chain, commandsSeen: commandsSeen.seen, due: due || held > 0 || pausesPending > 0, passes } });
    }
  }
}

interface GatePass {
  outcomes: GateOutcomeLead[];
  pushed: boolean;
  summary: string;
  recommend?: { leads: number; summary: string };
}

/**
 * One gate decision over a pass's leads (pure except for the push): leads of a quarantined source are held with the
 * source-quality reason; the rest follow the gate — pushed in enforce mode, recommended in suggest mode (pushed
 * there only up to a person's applied recommendation), recorded in observe mode, held with every failed condition.
 */
async function gatePass(read: GateInputRead, organizationId: string, campaignId: string): Promise<GatePass> {
  if (read.campaign === null) {
    const summary = `held: ${campaignLabel({ id: campaignId })} is not known to Drason yet: it is read at the next Smartlead sync`;
    return { outcomes: read.leads.map((l) => ({ leadId: l.leadId, inCampaign: false, reason: summary })), pushed: false, summary };
  }
  const quarantines = new Map(read.quarantined.map((q) => [q.source, q]));
  const gate = (source: string | null, mode = read.mode): GateDecision => {
    const q = source === null ? undefined : quarantines.get(source);
    return evaluateGate({
      campaign: read.campaign!,
      domains: read.domains,
      mailboxes: read.mailboxes,
      source: { ruleId: source ?? 'unknown', ...(source === null ? {} : { ruleName: source }), quarantine: q === undefined ? null : { since: q.since, reason: q.reason } },
      mode,
      thresholds: { gateMaxRiskScore: read.gateMaxRiskScore },
      now: Date.now(),
    });
  };
  const outcomes: GateOutcomeLead[] = [];
  const toPush: GateLead[] = [];
  const base = gate(null);
  let waiting = 0;
  for (const lead of read.leads) {
    const decision = lead.source !== null && quarantines.has(lead.source) ? gate(lead.source) : base;
    const approved = decision.action === 'recommend' && read.approvedUntil !== null && lead.createdAtMs <= read.approvedUntil;
    if (decision.action === 'push' || approved) toPush.push(lead);
    else {
      outcomes.push({ leadId: lead.leadId, inCampaign: false, reason: decision.summary });
      if (decision.action === 'recommend') waiting += 1;
    }
  }
  if (toPush.length > 0) {
    const result = await pushLeadsToCampaign({
      organizationId,
      campaignId,
      leads: toPush.map(({ holdReason: _h, source: _s, createdAtMs: _c, ...lead }) => lead),
    });
    for (const o of result.outcomes) outcomes.push({ leadId: o.leadId, inCampaign: o.inCampaign, reason: o.reason, pushStatus: o.status });
  }
  return {
    outcomes,
    pushed: toPush.length > 0,
    summary: base.summary,
    ...(waiting === 0 ? {} : { recommend: { leads: read.heldCount - toPush.length, summary: base.summary } }),
  };
}
