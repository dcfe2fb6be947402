/**
 * The mailbox entity workflow: one long-lived workflow per (organization, mailbox), the orchestrator of the mailbox
 * engine (docs/decisions/011-mailbox-engine.md). Every rule lives in src/domain/mailboxMachine.ts; this file only
 * takes signals, reads, calls `decide()`, and hands each decision to one activity.
 *
 * - Signals: `bounces` from the relay (deduplicated by the event store's sequence number, src/domain/delivery.ts),
 *   and `override` / `applyRecommendation` / `settingsChanged` (src/workflows/mailboxSignals.ts, deduplicated by
 *   command id).
 * - It decides on a signal or at its own next deadline (sustain, cooldown, probation, or a re-check every bucket in
 *   warning and recovering): `condition(…, timeout)` to the nearest one, so windows decay without new events.
 * - Each decision reads its input through a local activity (windows from the counters, probation counts, current
 *   settings with version and mode), and each decision with commands is carried out by ONE activity,
 *   `actOnMailboxDecision`, keyed by the decision id. Those run one at a time, in order, beside the main loop: a
 *   Smartlead outage or an audit failure retried by Temporal never stops the workflow from taking and counting bounces.
 * - Search attributes (state, risk score, domain, …) are upserted on every transition; the risk score
 *   (src/domain/riskScore.ts) is computed by `decide()` at every decision and written to the mailbox row with each one.
 * - History stays bounded: it continues-as-new when Temporal suggests or after `maxBatchesPerRun` decisions, once no
 *   action is in flight, carrying a few kilobytes: machine state with its absolute deadlines, dedupe watermark,
 *   buffered events and commands.
 *
 * Versioning: runs started before the engine replay their old path (`legacyMailboxWorkflow`, below) and continue-as-new
 * into the engine at their next batch, behind `patched('mailbox-engine')`.
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
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities, RecordAuditInput } from '../activities';
import type { ActOnMailboxDecisionInput } from '../activities/mailboxEngine';
import type { BounceClass, DeliveredEvent, MonitoredEvent } from '../domain/events';
import { bufferEvents, bufferSize, emptyBuffer, noneSeen, tallyBuffer, takeSequences, type EventBuffer, type SeenSequences } from '../domain/delivery';
import type { WindowCounts, WindowSummary } from '../domain/rollingWindows';
import { describeObservedBatch } from '../domain/explanations';
import { decide, initialMachineState, nextWake, type MachineState, type MailboxState, type Trigger } from '../domain/mailboxMachine';
import { domainOf, normalizeEmail } from './ids';
import { carryOutInOrder, CommandLog, localActivities, READ_RETRY, takePeoplesCommands, type InboxItem } from './entityRuntime';
import { applyRecommendationSignal, overrideSignal, settingsChangedSignal } from './mailboxSignals';
import { mailboxActionRetry } from './retryPolicies';
import { DomainKey, EntityIdKey, EntityTypeKey, OrganizationIdKey, RiskScoreKey, StateKey } from './searchAttributes';

type Activities = ReturnType<typeof createActivities>;
/** Runs before the `local-activities` patch scheduled these on the task queue; kept so their histories replay. */
const remote = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: READ_RETRY });
const local = localActivities;
/** Acting on a decision may call Smartlead: an ordinary activity, retried by Temporal until it is carried out. */
// The activity heartbeats every 2 s: a worker that dies mid-call is noticed in 10 s, and another one retries.
const { actOnMailboxDecision } = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: '10 seconds', retry: mailboxActionRetry });

/** The upgrade point from the pre-engine workflow (docs/decisions/011-mailbox-engine.md, "Versioning"). */
export const ENGINE_PATCH = 'mailbox-engine';
/** Escalation-loop detection (docs/decisions/012-escalation.md): decisions recorded before it replay without it. */
export const LOOP_PATCH = 'escalation-loop';

export interface MailboxWorkflowInput {
  organizationId: string;
  mailbox: string;
  /** Carried through continue-as-new. */
  state?: MailboxWorkflowState;
  /** Continue-as-new after this many batches (decisions) even if Temporal has not suggested it (tests lower it). */
  maxBatchesPerRun?: number;
}

export type { InboxItem };

export interface MailboxWorkflowState {
  /** Which event-store sequence numbers were already taken (bounded). */
  seen?: SeenSequences;
  /** Events received but not yet judged (bounded), carried through continue-as-new. */
  buffer?: EventBuffer;
  /** Bounces and failures taken since the workflow started, across runs. */
  received?: { hardBounces: number; failures: number };
  batchesAudited: number;
  // The engine's state (runs from the `mailbox-engine` patch on).
  machine?: MachineState;
  /** Prefix of every decision id of this workflow chain (`<workflow id>@<first engine run id>`). */
  chain?: string;
  /** Command ids of overrides and applied recommendations already taken (the last MAX_COMMANDS_SEEN). */
  commandsSeen?: string[];
  /** Commands taken and not yet decided. */
  inbox?: InboxItem[];
  /** A settings change not yet decided on (its version). */
  settingsChanged?: number;
  riskScore?: number;
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
  /** The engine's state (absent in runs from before it). */
  state?: MailboxState;
  riskScore?: number;
  /** Absolute deadlines (epoch ms) and what else the machine carries. */
  machine?: MachineState;
  /** Decisions waiting to be, or being, carried out. */
  pendingActions?: number;
}

/** Bounces and failures from the relay, oldest first, each with its event-store sequence number. */
export const bouncesSignal = defineSignal<[{ events: DeliveredEvent[] }]>('bounces');
/** The pre-pipeline signal (events by idempotency key, sends included). Kept so recorded histories replay. */
export const eventsSignal = defineSignal<[{ events: MonitoredEvent[] }]>('events');
export const snapshotQuery = defineQuery<MailboxSnapshot>('snapshot');
export { applyRecommendationSignal, overrideSignal, settingsChangedSignal };

/** About 8 history events a batch: continuing after 500 keeps each run's history near 4,000 events. */
export const DEFAULT_MAX_BATCHES_PER_RUN = 500;
export const MAX_COMMANDS_SEEN = 64;

const NO_WINDOW: WindowCounts = { sent: 0, hardBounces: 0, failures: 0 };

export async function mailboxWorkflow(input: MailboxWorkflowInput): Promise<void> {
  if (!patched(ENGINE_PATCH)) return legacyMailboxWorkflow(input);
  return mailboxEngine(input);
}

/** What both paths take from signals: deduplicated bounces and failures waiting for a decision. */
interface Intake {
  seen: SeenSequences;
  buffer: EventBuffer;
  received: { hardBounces: number; failures: number };
  legacySeen: Set<string>;
}

function openIntake(carried: MailboxWorkflowState | undefined): Intake {
  return {
    seen: carried?.seen ?? noneSeen(),
    buffer: carried?.buffer ?? bufferEvents(emptyBuffer(), (carried?.pendingEvents ?? []).map((e) => ({ type: e.type, occurredAt: e.occurredAt }))),
    received: carried?.received ?? { hardBounces: 0, failures: 0 },
    legacySeen: new Set(carried?.recentEventIds ?? []),
  };
}

/** The `bounces` handler (and the pre-pipeline `events` one); `onFresh` sees each event taken for the first time. */
function takeSignals(intake: Intake, onFresh: (e: DeliveredEvent) => void = () => undefined): void {
  setHandler(bouncesSignal, ({ events }) => {
    const taken = takeSequences(intake.seen, events.map((e) => e.seq));
    intake.seen = taken.seen;
    const fresh = events.filter((_, i) => taken.fresh[i]);
    for (const e of fresh) {
      if (e.type === 'HardBounce') intake.received.hardBounces += 1;
      else intake.received.failures += 1;
      onFresh(e);
    }
    intake.buffer = bufferEvents(intake.buffer, fresh);
  });
  setHandler(eventsSignal, ({ events }) => {
    const fresh = events.filter((e) => !intake.legacySeen.has(e.id));
    for (const e of fresh) intake.legacySeen.add(e.id);
    intake.buffer = bufferEvents(intake.buffer, fresh.map((e) => ({ type: e.type, occurredAt: e.occurredAt })));
  });
}

function snapshotOf(mailbox: string, intake: Intake, lastWindows: WindowSummary | undefined): MailboxSnapshot {
  return {
    mailbox,
    received: { ...intake.received },
    highWater: intake.seen.above[intake.seen.above.length - 1] ?? intake.seen.through,
    buffered: bufferSize(intake.buffer),
    ...(lastWindows === undefined ? {} : { lastWindows }),
  };
}

/** The `events_observed` audit row of one batch: what was taken, and the hour it was judged in (the benchmark's "handled"). */
function batchAudit(organizationId: string, mailbox: string, batch: EventBuffer, batchesAudited: number, lastHour: WindowCounts, message: string): RecordAuditInput {
  const seqs = batch.events.flatMap((e) => (e.seq === undefined ? [] : [e.seq]));
  return {
    organizationId,
    idempotencyKey: `${workflowInfo().workflowId}#batch#${seqs[0] ?? batchesAudited}#${bufferSize(batch)}`,
    entityType: 'mailbox',
    entityId: mailbox,
    action: 'events_observed',
    actor: 'system',
    trigger: {
      signals: Object.keys(tallyBuffer(batch)),
      window: '1h',
      observed: lastHour,
      ...(seqs.length === 0 ? {} : { sequences: { first: Math.min(...seqs), last: Math.max(...seqs), count: seqs.length } }),
    },
    message,
  };
}

async function mailboxEngine(input: MailboxWorkflowInput): Promise<void> {
  // State first, handlers second (so no signal arrives before there is somewhere to put it).
  const carried = input.state;
  const mailbox = normalizeEmail(input.mailbox);
  const intake = openIntake(carried);
  let batchesAudited = carried?.batchesAudited ?? 0;
  let machine = carried?.machine ?? initialMachineState(Date.now());
  const chain = carried?.chain ?? `${workflowInfo().workflowId}@${workflowInfo().runId}`;
  const commandsSeen = new CommandLog(carried?.commandsSeen ?? [], MAX_COMMANDS_SEEN);
  const inbox: InboxItem[] = [...(carried?.inbox ?? [])];
  let settingsChanged = carried?.settingsChanged;
  let riskScore = carried?.riskScore ?? 0;
  let classes: Partial<Record<BounceClass, number>> = {};
  let lastWindows: WindowSummary | undefined;
  /** Decisions to carry out, oldest first; the first is in flight. */
  const actions: ActOnMailboxDecisionInput[] = [];
  let batchesThisRun = 0;
  const shouldContinueAsNew = (): boolean =>
    workflowInfo().continueAsNewSuggested || batchesThisRun >= (input.maxBatchesPerRun ?? DEFAULT_MAX_BATCHES_PER_RUN);

  takeSignals(intake, (e) => {
    if (e.bounceClass !== undefined) classes[e.bounceClass] = (classes[e.bounceClass] ?? 0) + 1;
  });
  takePeoplesCommands(commandsSeen, inbox, (version) => {
    settingsChanged = Math.max(settingsChanged ?? 0, version);
  });
  setHandler(snapshotQuery, () => ({
    ...snapshotOf(input.mailbox, intake, lastWindows),
    state: machine.state,
    riskScore,
    machine,
    pendingActions: actions.length,
  }));

  const publish = (): void =>
    upsertSearchAttributes([
      { key: OrganizationIdKey, value: input.organizationId },
      { key: EntityTypeKey, value: 'mailbox' },
      { key: EntityIdKey, value: mailbox },
      { key: DomainKey, value: domainOf(mailbox) },
      { key: StateKey, value: machine.state },
      { key: RiskScoreKey, value: riskScore },
    ]);
  if (carried?.machine === undefined) publish();

  carryOutInOrder(actions, actOnMailboxDecision, (a) => ({ mailbox, decisionId: a.explanation.decisionId }));

  for (;;) {
    const wake = nextWake(machine, Date.now());
    const ready = (): boolean => bufferSize(intake.buffer) > 0 || inbox.length > 0 || settingsChanged !== undefined || (shouldContinueAsNew() && actions.length === 0);
    if (wake === undefined) await condition(ready);
    else await condition(ready, Math.max(1, wake - Date.now()));

    const now = Date.now();
    const deadlineDue = wake !== undefined && now >= wake;
    if (bufferSize(intake.buffer) > 0 || inbox.length > 0 || settingsChanged !== undefined || deadlineDue) {
      batchesThisRun += 1;
      const batch = intake.buffer;
      intake.buffer = emptyBuffer();
      const tally = tallyBuffer(batch);
      const triggers: Trigger[] = inbox.splice(0);
      if (bufferSize(batch) > 0) triggers.push({ kind: 'events', signals: Object.keys(tally) });
      else if (settingsChanged !== undefined) triggers.push({ kind: 'settings_changed', version: settingsChanged });
      else if (deadlineDue) triggers.push({ kind: 'deadline' });
      settingsChanged = undefined;
      const bounceClasses = classes;
      classes = {};

      const decided: string[] = [];
      let read: Awaited<ReturnType<Activities['readMailboxDecisionInput']>> | undefined;
      let readFor: number | undefined;
      for (const trigger of triggers) {
        // Read again only when a resume in this round moved what the windows count from.
        if (read === undefined || readFor !== machine.resumedAt) {
          read = await local.readMailboxDecisionInput({
            organizationId: input.organizationId,
            mailbox,
            at: now,
            ...(machine.resumedAt === undefined ? {} : { resumedAt: machine.resumedAt }),
          });
          readFor = machine.resumedAt;
          lastWindows = read.windows;
        }
        // Escalation-loop detection arrived with issue 9; histories from before it decide without it.
        const settings = { ...read.settings, detectLoops: patched(LOOP_PATCH) };
        const d = decide(machine, { mailbox, decisionIdPrefix: chain, windows: read.windows, sinceResume: read.sinceResume, trigger, bounceClasses }, settings, now);
        machine = d.next;
        riskScore = d.riskScore;
        if (d.explanation === undefined) continue;
        decided.push(d.explanation.decisionId);
        actions.push({
          organizationId: input.organizationId,
          mailbox,
          explanation: d.explanation,
          commands: d.commands,
          row: {
            state: machine.state,
            riskScore,
            cooldownUntil: machine.state === 'paused' ? (machine.cooldownUntil ?? null) : null,
            stateChangedAt: machine.since,
            manual: machine.manualHold !== undefined,
            automationStopped: machine.automationStopped ?? null,
          },
        });
        publish();
      }

      // Each batch of bounces and failures keeps its own audit row (what was taken, and the hour it was judged in).
      if ((tally.HardBounce ?? 0) + (tally.DeliveryFailure ?? 0) > 0) {
        batchesAudited += 1;
        const lastHour = lastWindows?.windows['1h'] ?? NO_WINDOW;
        const observed = describeObservedBatch(mailbox, tally, lastHour, bounceClasses);
        await local.recordAudit(
          batchAudit(input.organizationId, mailbox, batch, batchesAudited, lastHour,
            decided.length === 0 ? observed : observed.replace(/; no action taken\.$/, `; the mailbox is ${machine.state} (decision ${decided.join(', ')}).`)),
        );
      }
    }
    if (shouldContinueAsNew() && actions.length === 0) {
      // Signals that arrived meanwhile travel with the state, so a steady stream cannot postpone this forever.
      await condition(allHandlersFinished);
      await continueAsNew<typeof mailboxWorkflow>({
        ...input,
        state: {
          seen: intake.seen,
          buffer: intake.buffer,
          received: intake.received,
          batchesAudited,
          machine,
          chain,
          commandsSeen: commandsSeen.seen,
          inbox,
          riskScore,
          ...(settingsChanged === undefined ? {} : { settingsChanged }),
        },
      });
    }
  }
}

/**
 * The workflow as it was before the engine, for runs started before it: they replay this path unchanged and, at
 * their next batch, continue-as-new into the engine (the `mailbox-engine` upgrade point).
 */
async function legacyMailboxWorkflow(input: MailboxWorkflowInput): Promise<void> {
  // State first, handlers second (so no signal arrives before there is somewhere to put it).
  const carried = input.state;
  const intake = openIntake(carried);
  let batchesAudited = carried?.batchesAudited ?? 0;
  let lastWindows: WindowSummary | undefined;
  let batchesThisRun = 0;
  const shouldContinueAsNew = (): boolean =>
    workflowInfo().continueAsNewSuggested || batchesThisRun >= (input.maxBatchesPerRun ?? DEFAULT_MAX_BATCHES_PER_RUN);

  takeSignals(intake);
  setHandler(snapshotQuery, () => snapshotOf(input.mailbox, intake, lastWindows));

  for (;;) {
    await condition(() => bufferSize(intake.buffer) > 0 || shouldContinueAsNew());
    if (bufferSize(intake.buffer) > 0 && patched(ENGINE_PATCH)) {
      // Deployed while this run waited: the batch and everything carried move to a run that starts on the engine.
      await condition(allHandlersFinished);
      await continueAsNew<typeof mailboxWorkflow>({ ...input, state: { seen: intake.seen, buffer: intake.buffer, received: intake.received, batchesAudited } });
    }
    if (bufferSize(intake.buffer) > 0) {
      batchesThisRun += 1;
      const batch = intake.buffer;
      intake.buffer = emptyBuffer();
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
        await recordAudit(batchAudit(input.organizationId, input.mailbox, batch, batchesAudited, lastHour, describeObservedBatch(input.mailbox, tally, lastHour)));
      }
    }
    if (shouldContinueAsNew()) {
      // Signals that arrived meanwhile travel with the state, so a steady stream cannot postpone this forever.
      await condition(allHandlersFinished);
      await continueAsNew<typeof mailboxWorkflow>({ ...input, state: { seen: intake.seen, buffer: intake.buffer, received: intake.received, batchesAudited } });
    }
  }
}
