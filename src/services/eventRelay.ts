/**
 * The relay: the only code that signals entity workflows. It runs in every worker process; any number of them can
 * run it at once without double work (docs/decisions/010-event-pipeline.md).
 *
 * Each round, for every organization with work (a narrow SECURITY DEFINER lookup):
 * 1. count — claim queued events, add them to the window counters, clear them, and queue their bounces and
 *    failures for signalling, in one transaction (src/db/repositories/relay.ts);
 * 2. signal — one signal per mailbox carrying all its new bounces and failures, oldest first. Sends are never
 *    signalled: they only serve as denominators, and the counters have them. A failed signal leaves the mailbox's
 *    events queued and backs the mailbox off; Temporal being down never loses an acknowledged event.
 *
 * It sleeps until a NOTIFY on `drason_events` (sent by the API after ingestion queued something, throttled:
 * src/services/relayWaker.ts) or a slow poll
 * fires; under load it never sleeps, and each round claims whatever accumulated, so batches grow by themselves.
 */
import Bottleneck from 'bottleneck';
import pg from 'pg';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Db } from '../db/knex';
import { organizationsFrom, withTenant } from '../db/tenant';
import { claimPendingSignals, completeSignals, countQueuedEvents, type PendingSignal } from '../db/repositories/relay';
import type { DeliveredEvent } from '../domain/events';
import { mailboxWorkflowId } from '../workflows/ids';
import { EntityIdKey, EntityTypeKey, OrganizationIdKey } from '../workflows/searchAttributes';
import type { mailboxWorkflow } from '../workflows/mailboxWorkflow';
import { componentLogger } from '../lib/logger';
import { relayEventsCounted, relayLag, relaySignals } from '../lib/metrics';

const log = componentLogger('relay');

/** The channel the API notifies after ingestion queued events (src/services/relayWaker.ts). */
export const EVENTS_CHANNEL = 'drason_events';

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
  /** Instrumentation (benchmarks): called with the stored-at times of events just counted / just signalled. */
  onCounted?: (receivedAtMs: number[], countedAtMs: number) => void;
  onSignalled?: (receivedAtMs: number[], signalledAtMs: number) => void;
}

export interface RoundResult {
  counted: number;
  signalled: number;
  failedMailboxes: number;
}

export async function signalMailbox(client: Client, taskQueue: string, organizationId: string, mailbox: string, events: DeliveredEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += MAX_EVENTS_PER_SIGNAL) {
    try {
      await client.connection.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
        client.workflow.signalWithStart<typeof mailboxWorkflow, [{ events: DeliveredEvent[] }]>('mailboxWorkflow', {
          workflowId: mailboxWorkflowId(organizationId, mailbox),
          taskQueue,
          args: [{ organizationId, mailbox }],
          signal: 'bounces',
          signalArgs: [{ events: events.slice(i, i + MAX_EVENTS_PER_SIGNAL) }],
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

const toDelivered = (p: PendingSignal): DeliveredEvent => ({
  seq: p.seq,
  type: p.type,
  occurredAt: p.occurredAtMs,
  ...(p.campaignId === undefined ? {} : { campaignId: p.campaignId }),
});

/** Records how long the events just counted or signalled waited since they were stored. */
function recordLag(stage: 'count' | 'signal', receivedAtMs: number[], hook: ((receivedAtMs: number[], atMs: number) => void) | undefined): void {
  if (receivedAtMs.length === 0) return;
  const now = Date.now();
  for (const at of receivedAtMs) relayLag.observe({ stage }, (now - at) / 1000);
  hook?.(receivedAtMs, now);
}

/** One relay round for one organization: count, then signal. */
export async function relayOrganization(deps: RelayDeps, organizationId: string, options: RelayOptions = {}, limiter?: Bottleneck): Promise<RoundResult> {
  const batch = await withTenant(deps.db, organizationId, (tx) => countQueuedEvents(tx, organizationId, options.countBatch ?? 5000));
  relayEventsCounted.inc(batch.counted);
  recordLag('count', batch.receivedAtMs, options.onCounted);
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
  return { counted: batch.counted, signalled: signalled.receivedAtMs.length, failedMailboxes: signalled.failedMailboxes };
}

/** One round over every organization with relay work. */
export async function relayOnce(deps: RelayDeps, options: RelayOptions = {}, limiter?: Bottleneck): Promise<RoundResult> {
  const total: RoundResult = { counted: 0, signalled: 0, failedMailboxes: 0 };
  for (const organizationId of await organizationsFrom(deps.db, 'drason_orgs_with_relay_work', 1000)) {
    const r = await relayOrganization(deps, organizationId, options, limiter);
    total.counted += r.counted;
    total.signalled += r.signalled;
    total.failedMailboxes += r.failedMailboxes;
  }
  return total;
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
  let wake: (() => void) | undefined;
  let woken = false;
  const notify = (): void => {
    woken = true;
    wake?.();
  };

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

  const sleep = (): Promise<void> =>
    new Promise((resolve) => {
      if (woken || stopped) return resolve();
      const timer = setTimeout(resolve, pollMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const running = (async () => {
    while (!stopped) {
      woken = false;
      let worked = false;
      try {
        const r = await relayOnce(deps, options, limiter);
        worked = r.counted > 0 || r.signalled > 0;
      } catch (error) {
        log.warn('relay round failed; retrying after the poll interval', { error: String(error) });
      }
      if (!worked) await sleep();
      wake = undefined;
    }
  })();

  return {
    stop: async () => {
      stopped = true;
      wake?.();
      await running;
      await listener?.end().catch(() => undefined);
    },
  };
}
