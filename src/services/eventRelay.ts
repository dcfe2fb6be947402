/**
 * The relay: the only code that signals entity workflows. It runs in every worker process; any number of them can
 * run it at once without double work (docs/decisions/010-event-pipeline.md).
 *
 * Two loops, each running rounds over every organization with work (a narrow SECURITY DEFINER lookup), so counting
 * never waits on Temporal: the count loop does stage 1, the delivery loop stages 2 and 3 (relayOnce runs all three
 * in order, for tests and tools):
 * 1. count — claim queued events, add them to the window counters, clear them, and queue their bounces and
 *    failures for signalling, in one transaction (src/db/repositories/relay.ts);
 * 2. signal — one signal per mailbox carrying all its new bounces and failures (each with its bounce class), oldest
 *    first. Sends are never signalled: they only serve as denominators, and the counters have them. A failed signal
 *    leaves the mailbox's events queued and backs the mailbox off; Temporal being down never loses an acknowledged event.
 * 3. commands — commands for entity workflows (entity_commands, src/db/repositories/commands.ts): overrides,
 *    applied recommendations and settings changes from the API, member states from a mailbox's act activity,
 *    membership changes from the Smartlead sync. Each is delivered as its signal (src/workflows/mailboxSignals.ts,
 *    escalationSignals.ts) to its entity's workflow — a mailbox's, a campaign's or a domain's, started if not
 *    running — and deleted once delivered; a failed one backs off, and its entity's later commands wait behind it.
 *    A settings change fans out to the mailboxes, then campaigns, then domains whose decision it could change, a
 *    bounded page per round.
 *
 * A loop sleeps until a NOTIFY on `drason_events` (sent by the API after ingestion queued something or a command was
 * stored, throttled: src/services/relayWaker.ts), the count loop queuing signals (which wakes the delivery loop), or
 * a slow poll fires; under load neither sleeps, and each round claims whatever accumulated, so batches grow by
 * themselves.
 */
import Bottleneck from 'bottleneck';
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { Db } from '../db/knex';
import { organizationsFrom, withTenant } from '../db/tenant';
import { claimPendingSignals, completeSignals, countQueuedEvents, EVENTS_CHANNEL, type CountedBatch, type PendingSignal } from '../db/repositories/relay';
import {
  advanceFanOut,
  backOffCommand,
  claimDueCommands,
  deleteCommands,
  entitiesToResettle,
  fanOutCursor,
  type CommandKind,
  type StoredCommand,
} from '../db/repositories/commands';
import type { DeliveredEvent } from '../domain/events';
import { campaignWorkflowId, domainWorkflowId, leadPushWorkflowId, mailboxWorkflowId } from '../workflows/ids';
import { EntityIdKey, EntityTypeKey, OrganizationIdKey } from '../workflows/searchAttributes';
import { applyRecommendationSignal, overrideSignal, settingsChangedSignal } from '../workflows/mailboxSignals';
import { memberStateSignal, membershipChangedSignal } from '../workflows/escalationSignals';
import { leadsChangedSignal } from '../workflows/leadPushSignals';
import { componentLogger } from '../lib/logger';
import { relayCommands, relayEventsCounted, relayLag, relayRounds, relaySignals } from '../lib/metrics';

const log = componentLogger('relay');

export { EVENTS_CHANNEL };

/** How long one signal may take; past it the mailbox backs off and its events wait for the next try. */
export const SIGNAL_DEADLINE_MS = 5000;
/** Events per signal, far below Temporal's 2 MB payload limit. */
const MAX_EVENTS_PER_SIGNAL = 500;

export interface RelayDeps {
  db: Db;
  client: Client;
  taskQueue: string;
}

export interface RelayOptions {
  /** Most events counted per organization per transaction. */
  countBatch?: number;
  /** Most bounces and failures signalled per organization per round. */
  signalBatch?: number;
  /** Signals in flight at once. */
  signalConcurrency?: number;
  /** Most commands delivered per organization per round. */
  commandBatch?: number;
  /** Most entities a settings change is signalled to per organization per round (the rest follow in later rounds). */
  fanOutBatch?: number;
  /** Instrumentation (benchmarks): called with the stored-at times of events just counted / just signalled. */
  onCounted?: (receivedAtMs: number[], countedAtMs: number) => void;
  onSignalled?: (receivedAtMs: number[], signalledAtMs: number) => void;
}

export interface RoundResult {
  counted: number;
  signalled: number;
  failedMailboxes: number;
  /** Command signals delivered (a settings change counts once per entity it reached). */
  commands: number;
  /** Commands that failed and back off. */
  failedCommands: number;
}

/** An entity with a workflow of its own; `key` as entity_commands stores it (lower-case email or domain, campaign id). */
export interface SignalledEntity {
  /** `campaign_leads`: the campaign's lead push workflow (src/workflows/leadPushWorkflow.ts), not its engine. */
  type: 'mailbox' | 'campaign' | 'domain' | 'campaign_leads';
  key: string;
}

/**
 * Each entity type's workflow: its type NAME (src/workflows/index.ts exports the functions; names keep the relay
 * independent of their code), its id and its start arguments.
 */
const ENTITY_WORKFLOWS = {
  mailbox: { workflowType: 'mailboxWorkflow', id: mailboxWorkflowId, args: (organizationId: string, mailbox: string) => ({ organizationId, mailbox }) },
  campaign: { workflowType: 'campaignWorkflow', id: campaignWorkflowId, args: (organizationId: string, campaignId: string) => ({ organizationId, campaignId }) },
  domain: { workflowType: 'domainWorkflow', id: domainWorkflowId, args: (organizationId: string, domain: string) => ({ organizationId, domain }) },
  campaign_leads: { workflowType: 'leadPushWorkflow', id: leadPushWorkflowId, args: (organizationId: string, campaignId: string) => ({ organizationId, campaignId }) },
} as const;

/** Signals an entity's workflow, starting it if it is not running, within SIGNAL_DEADLINE_MS. */
async function signalWithStartEntity<T>(
  client: Client,
  taskQueue: string,
  organizationId: string,
  entity: SignalledEntity,
  signal: SignalDefinition<[T]> | string,
  arg: T,
): Promise<void> {
  const workflow = ENTITY_WORKFLOWS[entity.type];
  try {
    await client.connection.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
      client.workflow.signalWithStart(workflow.workflowType, {
        workflowId: workflow.id(organizationId, entity.key),
        taskQueue,
        args: [workflow.args(organizationId, entity.key)],
        signal: typeof signal === 'string' ? signal : signal.name,
        signalArgs: [arg],
        typedSearchAttributes: [
          { key: OrganizationIdKey, value: organizationId },
          { key: EntityTypeKey, value: entity.type },
          { key: EntityIdKey, value: entity.key },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}

export async function signalMailbox(client: Client, taskQueue: string, organizationId: string, mailbox: string, events: DeliveredEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += MAX_EVENTS_PER_SIGNAL) {
    await signalWithStartEntity<{ events: DeliveredEvent[] }>(client, taskQueue, organizationId, { type: 'mailbox', key: mailbox }, 'bounces', {
      events: events.slice(i, i + MAX_EVENTS_PER_SIGNAL),
    });
  }
}

const toDelivered = (p: PendingSignal): DeliveredEvent => ({
  seq: p.seq,
  type: p.type,
  occurredAt: p.occurredAtMs,
  ...(p.campaignId === undefined ? {} : { campaignId: p.campaignId }),
  ...(p.bounceClass === undefined ? {} : { bounceClass: p.bounceClass }),
});

/** Records how long the events just counted or signalled waited since they were stored. */
function recordLag(stage: 'count' | 'signal', receivedAtMs: number[], hook: ((receivedAtMs: number[], atMs: number) => void) | undefined): void {
  if (receivedAtMs.length === 0) return;
  const now = Date.now();
  for (const at of receivedAtMs) relayLag.observe({ stage }, (now - at) / 1000);
  hook?.(receivedAtMs, now);
}

/** The signal each command kind is delivered as (settings_changed is fanned out instead). */
const COMMAND_SIGNALS: Record<Exclude<CommandKind, 'settings_changed'>, { signal: string; to: readonly SignalledEntity['type'][] }> = {
  override: { signal: overrideSignal.name, to: ['mailbox', 'campaign', 'domain'] },
  apply_recommendation: { signal: applyRecommendationSignal.name, to: ['mailbox', 'campaign', 'domain'] },
  member_state: { signal: memberStateSignal.name, to: ['campaign', 'domain'] },
  membership_changed: { signal: membershipChangedSignal.name, to: ['campaign', 'domain'] },
  leads_changed: { signal: leadsChangedSignal.name, to: ['campaign_leads'] },
};

/**
 * A run of `leads_changed` commands for one campaign becomes ONE signal: the last one's command id, carrying every
 * reason of the run (each pass of the lead push workflow re-reads everything, so one wake-up covers them all).
 * Other commands are delivered one by one. Returns [the command to signal, the ids it stands for].
 */
export function coalesceChain(chain: StoredCommand[]): [StoredCommand, number[]][] {
  const out: [StoredCommand, number[]][] = [];
  for (const c of chain) {
    const last = out[out.length - 1];
    if (c.kind === 'leads_changed' && last !== undefined && last[0].kind === 'leads_changed') {
      const reasons = new Set(String(last[0].payload.reason ?? '').split(', ').filter((r) => r !== ''));
      reasons.add(String(c.payload.reason ?? ''));
      last[0] = { ...c, payload: { ...c.payload, reason: [...reasons].filter((r) => r !== '').join(', ') } };
      last[1].push(c.id);
    } else {
      out.push([c, [c.id]]);
    }
  }
  return out;
}

/** Signals one command (its stored payload is the signal's argument) to its entity's workflow. */
function signalCommand(deps: RelayDeps, organizationId: string, command: StoredCommand): Promise<void> {
  const route = command.kind === 'settings_changed' ? undefined : COMMAND_SIGNALS[command.kind];
  const type = route?.to.find((t) => t === command.entityType);
  if (route === undefined || type === undefined) {
    return Promise.reject(new Error(`a ${command.kind} command cannot be addressed to a ${command.entityType}`));
  }
  return signalWithStartEntity<unknown>(deps.client, deps.taskQueue, organizationId, { type, key: command.entityKey }, route.signal, command.payload);
}

/**
 * Stage 3 for one organization: its due commands, each entity's in the order stored. Signals go out concurrently
 * across entities; the queue is updated once they are all settled, in the claiming transaction (a commit that fails
 * after a signal landed delivers it again: the workflow acts on each command id once).
 */
async function deliverCommands(deps: RelayDeps, organizationId: string, options: RelayOptions, limiter: Bottleneck): Promise<{ delivered: number; failed: number }> {
  return withTenant(deps.db, organizationId, async (tx) => {
    const commands = await claimDueCommands(tx, organizationId, options.commandBatch ?? 500);
    if (commands === undefined || commands.length === 0) return { delivered: 0, failed: 0 };
    const fanOutBatch = options.fanOutBatch ?? 200;
    // At most one settings change is claimed (older ones are superseded); its page of entities is read first.
    const settingsChange = commands.find((c) => c.kind === 'settings_changed');
    const fanOut = settingsChange === undefined ? [] : await entitiesToResettle(tx, fanOutCursor(settingsChange.payload), fanOutBatch);
    const byEntity = new Map<string, StoredCommand[]>();
    for (const c of commands) {
      if (c.kind === 'settings_changed') continue;
      const key = `${c.entityType}\u0000${c.entityKey}`;
      const list = byEntity.get(key);
      if (list === undefined) byEntity.set(key, [c]);
      else list.push(c);
    }

    const delivered: number[] = [];
    const failed: { id: number; error: string }[] = [];
    let signals = 0;
    const outcome = (kind: string, ok: boolean): void => {
      relayCommands.inc({ kind, outcome: ok ? 'delivered' : 'failed' });
      if (ok) signals += 1;
    };
    const chains = [...byEntity.values()].map((chain) =>
      limiter.schedule(async () => {
        for (const [c, ids] of coalesceChain(chain)) {
          try {
            await signalCommand(deps, organizationId, c);
            delivered.push(...ids);
            outcome(c.kind, true);
          } catch (error) {
            // The entity's later commands wait behind this one (claimDueCommands), so none overtakes it.
            for (const id of ids) failed.push({ id, error: String(error) });
            outcome(c.kind, false);
            log.warn('command signal failed; the command backs off and stays queued', { organizationId, kind: c.kind, error: String(error) });
            return;
          }
        }
      }),
    );
    let fanOutFailed = false;
    const version = settingsChange?.payload.version as number | undefined;
    const fanned = fanOut.map((entity) =>
      limiter.schedule(async () => {
        try {
          await signalWithStartEntity(deps.client, deps.taskQueue, organizationId, { type: entity.entityType, key: entity.key }, settingsChangedSignal, {
            version: version ?? 0,
          });
          outcome('settings_changed', true);
        } catch (error) {
          fanOutFailed = true;
          outcome('settings_changed', false);
          log.warn('settings change signal failed; the fan-out backs off and resumes from its last completed page', { organizationId, error: String(error) });
        }
      }),
    );
    await Promise.all([...chains, ...fanned]);

    await deleteCommands(tx, delivered);
    for (const f of failed) await backOffCommand(tx, f.id, f.error);
    if (settingsChange !== undefined) {
      // A failed page is signalled again in full: a repeated settingsChanged only makes a workflow decide once more.
      if (fanOutFailed) await backOffCommand(tx, settingsChange.id, 'a settingsChanged signal failed');
      else if (fanOut.length < fanOutBatch) await deleteCommands(tx, [settingsChange.id]);
      else {
        const last = fanOut[fanOut.length - 1]!;
        await advanceFanOut(tx, settingsChange.id, { stage: last.entityType, after: last.key });
      }
    }
    return { delivered: signals, failed: failed.length + (fanOutFailed ? 1 : 0) };
  });
}

/** Stage 1 for one organization: count a batch of stored events into the window counters. */
export async function countOrganization(deps: RelayDeps, organizationId: string, options: RelayOptions = {}): Promise<CountedBatch> {
  const batch = await withTenant(deps.db, organizationId, (tx) => countQueuedEvents(tx, organizationId, options.countBatch ?? 5000));
  relayEventsCounted.inc(batch.counted);
  recordLag('count', batch.receivedAtMs, options.onCounted);
  return batch;
}

type Delivered = Omit<RoundResult, 'counted'>;

/** Stage 2 for one organization: signal queued bounces and failures to their mailboxes, then deliver commands. */
export async function deliverOrganization(deps: RelayDeps, organizationId: string, options: RelayOptions = {}, limiter?: Bottleneck): Promise<Delivered> {
  const concurrency = limiter ?? new Bottleneck({ maxConcurrent: options.signalConcurrency ?? 32 });
  const signalled = await withTenant(deps.db, organizationId, async (tx): Promise<{ receivedAtMs: number[]; failedMailboxes: number }> => {
    const pending = await claimPendingSignals(tx, organizationId, options.signalBatch ?? 2000);
    if (pending === undefined || pending.length === 0) return { receivedAtMs: [], failedMailboxes: 0 };
    const byMailbox = new Map<string, PendingSignal[]>();
    for (const p of pending) {
      const events = byMailbox.get(p.mailboxId);
      if (events === undefined) byMailbox.set(p.mailboxId, [p]);
      else events.push(p);
    }
    const deliveredSeqs: number[] = [];
    const deliveredMailboxIds: string[] = [];
    const failed: { mailboxId: string; error: string }[] = [];
    await Promise.all(
      [...byMailbox].map(([mailboxId, events]) =>
        concurrency.schedule(async () => {
          try {
            await signalMailbox(deps.client, deps.taskQueue, organizationId, events[0]!.mailbox, events.map(toDelivered));
            deliveredSeqs.push(...events.map((e) => e.seq));
            deliveredMailboxIds.push(mailboxId);
            relaySignals.inc({ outcome: 'delivered' });
          } catch (error) {
            failed.push({ mailboxId, error: String(error) });
            relaySignals.inc({ outcome: 'failed' });
            log.warn('signal failed; the mailbox backs off and its events stay queued', { organizationId, error: String(error) });
          }
        }),
      ),
    );
    // If this commit fails after the signals landed, the events are signalled again: the workflow drops repeats by sequence.
    await completeSignals(tx, organizationId, { deliveredSeqs, deliveredMailboxIds, failed });
    const delivered = new Set(deliveredSeqs);
    return { receivedAtMs: pending.filter((p) => delivered.has(p.seq)).map((p) => p.receivedAtMs), failedMailboxes: failed.length };
  });
  recordLag('signal', signalled.receivedAtMs, options.onSignalled);
  const commands = await deliverCommands(deps, organizationId, options, concurrency);
  return { signalled: signalled.receivedAtMs.length, failedMailboxes: signalled.failedMailboxes, commands: commands.delivered, failedCommands: commands.failed };
}

/** One relay round for one organization: count, signal, then deliver commands. */
export async function relayOrganization(deps: RelayDeps, organizationId: string, options: RelayOptions = {}, limiter?: Bottleneck): Promise<RoundResult> {
  const batch = await countOrganization(deps, organizationId, options);
  return { counted: batch.counted, ...(await deliverOrganization(deps, organizationId, options, limiter)) };
}

/** Stage 1 over every organization with relay work. `queued`: bounces and failures it queued for signalling. */
async function countRound(deps: RelayDeps, options: RelayOptions): Promise<{ counted: number; queued: number }> {
  const total = { counted: 0, queued: 0 };
  for (const organizationId of await organizationsFrom(deps.db, 'drason_orgs_with_relay_work', 1000)) {
    const batch = await countOrganization(deps, organizationId, options);
    total.counted += batch.counted;
    total.queued += batch.queuedForSignal;
  }
  return total;
}

/** Stages 2 and 3 over every organization with relay work. */
async function deliverRound(deps: RelayDeps, options: RelayOptions, limiter?: Bottleneck): Promise<Delivered> {
  const total: Delivered = { signalled: 0, failedMailboxes: 0, commands: 0, failedCommands: 0 };
  for (const organizationId of await organizationsFrom(deps.db, 'drason_orgs_with_relay_work', 1000)) {
    const r = await deliverOrganization(deps, organizationId, options, limiter);
    total.signalled += r.signalled;
    total.failedMailboxes += r.failedMailboxes;
    total.commands += r.commands;
    total.failedCommands += r.failedCommands;
  }
  return total;
}

/** One round of every stage over every organization with relay work: count, then signal and deliver commands. */
export async function relayOnce(deps: RelayDeps, options: RelayOptions = {}, limiter?: Bottleneck): Promise<RoundResult> {
  const { counted } = await countRound(deps, options);
  return { counted, ...(await deliverRound(deps, options, limiter)) };
}

export interface Relay {
  /** Resolves once the round in flight has finished and the listener is closed. */
  stop(): Promise<void>;
}

/**
 * Runs the relay until stopped: rounds back to back while there is work, then sleeps until a NOTIFY on
 * `drason_events` or `pollMs` (a lost notification or a mailbox's back-off ending costs at most that long).
 */
export function startEventRelay(deps: RelayDeps & { databaseUrl: string }, options: RelayOptions & { pollMs?: number } = {}): Relay {
  const pollMs = options.pollMs ?? 2000;
  const limiter = new Bottleneck({ maxConcurrent: options.signalConcurrency ?? 32 });
  let stopped = false;
  // Set once both loops exist; a NOTIFY before that is covered by their first round.
  let wakeAll: () => void = () => undefined;
  const notify = (): void => wakeAll();

  let listener: pg.Client | undefined;
  const listen = async (): Promise<void> => {
    if (stopped) return;
    const client = new pg.Client({ connectionString: deps.databaseUrl, application_name: 'drason-relay-listener' });
    client.on('notification', notify);
    client.on('error', (error) => {
      log.warn('relay listener lost its connection; polling until it reconnects', { error: String(error) });
      void client.end().catch(() => undefined);
      if (listener === client) listener = undefined;
      setTimeout(() => void listen().catch(() => undefined), 1000).unref();
    });
    try {
      await client.connect();
      await client.query(`listen ${EVENTS_CHANNEL}`);
      listener = client;
      notify(); // anything stored while we were not listening
    } catch (error) {
      log.warn('relay listener could not connect; polling meanwhile', { error: String(error) });
      void client.end().catch(() => undefined);
      if (!stopped) setTimeout(() => void listen().catch(() => undefined), 1000).unref();
    }
  };
  void listen();

  /**
   * The two stages run as two loops, so counting never waits for Temporal: a slow round of signals delays signals,
   * not the window counts (measured: with one loop, commit → counted p99 followed the signal round's length).
   * Each loop runs rounds back to back while it finds work, then sleeps until woken or `pollMs`.
   */
  const loop = (name: string, round: () => Promise<boolean>): { wake(): void; running: Promise<void> } => {
    let woken = true;
    let wakeUp: (() => void) | undefined;
    const wake = (): void => {
      woken = true;
      wakeUp?.();
    };
    const sleep = (): Promise<void> =>
      new Promise((resolve) => {
        if (woken || stopped) return resolve();
        const timer = setTimeout(resolve, pollMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    const running = (async () => {
      while (!stopped) {
        woken = false;
        let worked = false;
        try {
          worked = await round();
          relayRounds.inc({ stage: name });
        } catch (error) {
          log.warn(`relay ${name} round failed; retrying after the poll interval`, { error: String(error) });
        }
        if (!worked) await sleep();
        wakeUp = undefined;
      }
    })();
    return { wake, running };
  };

  const delivering = loop('signal', async () => {
    const r = await deliverRound(deps, options, limiter);
    return r.signalled > 0 || r.commands > 0;
  });
  const counting = loop('count', async () => {
    const r = await countRound(deps, options);
    if (r.queued > 0) delivering.wake();
    return r.counted > 0;
  });
  wakeAll = () => {
    counting.wake();
    delivering.wake();
  };
  const running = Promise.all([counting.running, delivering.running]);

  return {
    stop: async () => {
      stopped = true;
      wakeAll();
      await running;
      await listener?.end().catch(() => undefined);
    },
  };
}
