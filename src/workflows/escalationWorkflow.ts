/**
 * The campaign and domain entity workflows: one long-lived workflow per (organization, campaign) and per
 * (organization, sending domain), the orchestrators of escalation (docs/decisions/012-escalation.md). Every rule lives
 * in src/domain/escalationMachine.ts (its judgement) and src/domain/mailboxMachine.ts (the shared transition table);
 * this file takes signals, reads, calls `decideEscalation()`, and hands each decision to one activity.
 *
 * - Started lazily by the relay with signal-with-start (ids `campaign/<org>/<campaign id>`, `domain/<org>/<domain>`).
 * - Signals: `memberState` — a mailbox's state changed (stored by the mailbox's act activity, delivered by the relay);
 *   the workflow keeps only the mailboxes that are degraded at its level, so carried state stays small;
 *   `membershipChanged` — the Smartlead sync linked or unlinked mailboxes; `override`, `applyRecommendation`,
 *   `settingsChanged` as for mailboxes. Each command is taken once (by command id).
 * - It decides on a signal or at its own next deadline (sustain, cooldown, probation, the re-check every bucket in
 *   warning or recovering, and after the cooldown while its mailboxes are still degraded).
 * - Each decision's input comes from a local activity (its windows from the counters, which reported mailboxes are
 *   still members, settings); each decision with commands is carried out by ONE activity, `actOnEscalationDecision`,
 *   keyed by the decision id, one at a time beside the main loop.
 * - History stays bounded: continue-as-new when Temporal suggests it or after `maxBatchesPerRun` decisions, carrying
 *   the machine state, the degraded reports (at most MAX_REPORTS) and the last command ids.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActOnEscalationDecisionInput } from '../activities/escalation';
import type { createActivities } from '../activities';
import { decideEscalation, memberDegraded, type EscalationKind, type MemberReport } from '../domain/escalationMachine';
import { initialMachineState, nextWake, type MachineState, type MailboxState, type Trigger } from '../domain/mailboxMachine';
import { membershipChangedSignal, memberStateSignal } from './escalationSignals';
import { carryOutInOrder, CommandLog, localActivities, takePeoplesCommands, type InboxItem } from './entityRuntime';
import { mailboxActionRetry } from './retryPolicies';
import { DomainKey, EntityIdKey, EntityTypeKey, OrganizationIdKey, RiskScoreKey, StateKey } from './searchAttributes';

type Activities = ReturnType<typeof createActivities>;
const local = localActivities;
// A domain's action may pause many campaigns: heartbeats between them keep it alive; the timeout is per attempt.
const { actOnEscalationDecision } = proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '10 seconds', retry: mailboxActionRetry });

export interface CampaignWorkflowInput {
  organizationId: string;
  campaignId: string;
  state?: EscalationWorkflowState;
  maxBatchesPerRun?: number;
}

export interface DomainWorkflowInput {
  organizationId: string;
  domain: string;
  state?: EscalationWorkflowState;
  maxBatchesPerRun?: number;
}

export interface EscalationWorkflowState {
  machine: MachineState;
  chain: string;
  /** Mailboxes degraded at this level, as last reported (the newest MAX_REPORTS). */
  reports: MemberReport[];
  commandsSeen: string[];
  inbox: InboxItem[];
  membersChanged?: string[];
  settingsChanged?: number;
  riskScore: number;
  lastMemberActionAt?: number;
}

export interface EscalationSnapshot {
  kind: EscalationKind;
  key: string;
  state: MailboxState;
  riskScore: number;
  machine: MachineState;
  /** The mailboxes reported degraded (before the membership check of the next decision). */
  degradedReports: MemberReport[];
  pendingActions: number;
}

export const escalationSnapshotQuery = defineQuery<EscalationSnapshot>('snapshot');

export const DEFAULT_MAX_BATCHES_PER_RUN = 500;
export const MAX_COMMANDS_SEEN = 64;
/** Degraded mailboxes carried at most (newest kept): far above any threshold, small enough for continue-as-new. */
export const MAX_REPORTS = 1000;

export async function campaignWorkflow(input: CampaignWorkflowInput): Promise<void> {
  return escalationEntity('campaign', input.campaignId, input);
}

export async function domainWorkflow(input: DomainWorkflowInput): Promise<void> {
  return escalationEntity('domain', input.domain.trim().toLowerCase(), input);
}

/**
 * Where the entity's own windows start: its last resume, or the last time the mailbox level paused or resumed one of
 * its mailboxes, whichever is later. What was sent before a mailbox's pause was answered by that pause (as what came
 * before the entity's own pause was answered by it): a campaign must not pause for the bounces of a mailbox that was
 * already paused for them, after that mailbox recovered.
 */
export function countsFrom(resumedAt: number | undefined, lastMemberActionAt: number | undefined): number | undefined {
  if (resumedAt === undefined) return lastMemberActionAt;
  if (lastMemberActionAt === undefined) return resumedAt;
  return Math.max(resumedAt, lastMemberActionAt);
}

async function escalationEntity(kind: EscalationKind, key: string, input: CampaignWorkflowInput | DomainWorkflowInput): Promise<void> {
  // State first, handlers second (so no signal arrives before there is somewhere to put it).
  const carried = input.state;
  let machine = carried?.machine ?? initialMachineState(Date.now());
  const chain = carried?.chain ?? `${workflowInfo().workflowId}@${workflowInfo().runId}`;
  const reports = new Map<string, MemberReport>((carried?.reports ?? []).map((r) => [r.mailbox, r]));
  const commandsSeen = new CommandLog(carried?.commandsSeen ?? [], MAX_COMMANDS_SEEN);
  const inbox: InboxItem[] = [...(carried?.inbox ?? [])];
  /** What changed among the members since the last decision (signal names, for the audit). */
  let membersChanged = new Set<string>(carried?.membersChanged ?? []);
  let settingsChanged = carried?.settingsChanged;
  let riskScore = carried?.riskScore ?? 0;
  /** The last time the mailbox level acted on a member (paused or resumed it): see `countsFrom`. */
  let lastMemberActionAt = carried?.lastMemberActionAt;
  const actions: ActOnEscalationDecisionInput[] = [];
  let batchesThisRun = 0;
  const shouldContinueAsNew = (): boolean => workflowInfo().continueAsNewSuggested || batchesThisRun >= (input.maxBatchesPerRun ?? DEFAULT_MAX_BATCHES_PER_RUN);

  setHandler(memberStateSignal, (c) => {
    if (!commandsSeen.take(c.commandId)) return;
    const report: MemberReport = { mailbox: c.mailbox.toLowerCase(), state: c.state, manual: c.manual, at: c.at };
    const before = reports.get(report.mailbox);
    if (before !== undefined && before.at > report.at) return; // an older transition arriving late
    if (report.state === 'paused' || report.state === 'recovering') lastMemberActionAt = Math.max(lastMemberActionAt ?? 0, report.at);
    reports.delete(report.mailbox);
    if (memberDegraded(kind, report)) {
      reports.set(report.mailbox, report);
      if (reports.size > MAX_REPORTS) reports.delete(reports.keys().next().value!);
    }
    if (before !== undefined || memberDegraded(kind, report)) membersChanged.add('memberState');
  });
  setHandler(membershipChangedSignal, (c) => {
    if (commandsSeen.take(c.commandId)) membersChanged.add('membershipChanged');
  });
  takePeoplesCommands(commandsSeen, inbox, (version) => {
    settingsChanged = Math.max(settingsChanged ?? 0, version);
  });
  setHandler(escalationSnapshotQuery, () => ({ kind, key, state: machine.state, riskScore, machine, degradedReports: [...reports.values()], pendingActions: actions.length }));

  const publish = (): void =>
    upsertSearchAttributes([
      { key: OrganizationIdKey, value: input.organizationId },
      { key: EntityTypeKey, value: kind },
      { key: EntityIdKey, value: key },
      ...(kind === 'domain' ? [{ key: DomainKey, value: key }] : []),
      { key: StateKey, value: machine.state },
      { key: RiskScoreKey, value: riskScore },
    ]);
  if (carried === undefined) publish();

  carryOutInOrder(actions, actOnEscalationDecision, (a) => ({ [kind]: key, decisionId: a.explanation.decisionId }));

  for (;;) {
    const wake = nextWake(machine, Date.now(), true);
    const pending = (): boolean => membersChanged.size > 0 || inbox.length > 0 || settingsChanged !== undefined;
    const ready = (): boolean => pending() || (shouldContinueAsNew() && actions.length === 0);
    if (wake === undefined) await condition(ready);
    else await condition(ready, Math.max(1, wake - Date.now()));

    const now = Date.now();
    const deadlineDue = wake !== undefined && now >= wake;
    if (pending() || deadlineDue) {
      batchesThisRun += 1;
      const triggers: Trigger[] = inbox.splice(0);
      if (membersChanged.size > 0) triggers.push({ kind: 'events', signals: [...membersChanged].sort() });
      else if (settingsChanged !== undefined) triggers.push({ kind: 'settings_changed', version: settingsChanged });
      else if (deadlineDue) triggers.push({ kind: 'deadline' });
      membersChanged = new Set();
      settingsChanged = undefined;

      let read: Awaited<ReturnType<Activities['readEscalationInput']>> | undefined;
      let readFor: number | undefined;
      for (const trigger of triggers) {
        const from = countsFrom(machine.resumedAt, lastMemberActionAt);
        if (read === undefined || readFor !== from) {
          read = await local.readEscalationInput({
            organizationId: input.organizationId,
            kind,
            key,
            at: now,
            ...(from === undefined ? {} : { resumedAt: from }),
            reported: [...reports.values()].map((r) => ({ mailbox: r.mailbox, state: r.state })),
          });
          readFor = from;
        }
        const d = decideEscalation(
          machine,
          { kind, key, label: read.label, decisionIdPrefix: chain, windows: read.windows, sinceResume: read.sinceResume, degraded: read.degraded, trigger },
          { ...read.settings, detectLoops: true },
          now,
        );
        machine = d.next;
        riskScore = d.riskScore;
        if (d.explanation === undefined) continue;
        actions.push({
          organizationId: input.organizationId,
          kind,
          key,
          explanation: d.explanation,
          commands: d.commands,
          row: {
            state: machine.state,
            riskScore,
            cooldownUntil: machine.state === 'paused' ? (machine.cooldownUntil ?? null) : null,
            stateChangedAt: machine.since,
            degradedMailboxes: d.judged.breach?.members ?? read.degraded.map((m) => m.mailbox),
            automationStopped: machine.automationStopped ?? null,
          },
        });
        publish();
      }
    }
    if (shouldContinueAsNew() && actions.length === 0) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof campaignWorkflow>({
        ...(input as CampaignWorkflowInput),
        state: {
          machine,
          chain,
          reports: [...reports.values()],
          commandsSeen: commandsSeen.seen,
          inbox,
          riskScore,
          ...(lastMemberActionAt === undefined ? {} : { lastMemberActionAt }),
          ...(membersChanged.size === 0 ? {} : { membersChanged: [...membersChanged] }),
          ...(settingsChanged === undefined ? {} : { settingsChanged }),
        },
      });
    }
  }
}
