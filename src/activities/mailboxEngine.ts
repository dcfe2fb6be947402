/**
 * The mailbox engine's activities (docs/decisions/011-mailbox-engine.md):
 *
 * - `readMailboxDecisionInput` (run as a local activity): what `decide()` needs, read now — the windows from the
 *   counters clipped at the last resume, what was counted since that resume (probation), and the organization's
 *   current settings with their version and mode. Read-only.
 * - `actOnMailboxDecision` (a normal activity; Temporal owns its retries): carries out ONE decision, keyed by its
 *   decision id, exactly once. The ledger (`entity_actions`) is read first: a decision already carried out returns
 *   its recorded outcome and does nothing again. A Smartlead suspend / unsuspend first reads the email account's
 *   `is_suspended`, so an attempt retried after a worker died between the call and its recording never sends the
 *   call twice. The audit entry (idempotency key = decision id), the mailbox row, the recommendation (suggest mode)
 *   and the ledger row are written in one transaction after the call (src/activities/decisionRecord.ts, shared with
 *   the campaign and domain engines). A retryable failure is audited once (its own key) and rethrown; a failure
 *   retrying cannot fix (mailbox not linked to Smartlead, integration broken, account gone) is the outcome
 *   `impossible`, audited, and not retried.
 *   When the decision changed the mailbox's state or took a manual hold, the same transaction stores a
 *   `member_state` command for the mailbox's domain and for each campaign it sends for (the campaign and domain
 *   engines, docs/decisions/012-escalation.md) and wakes the relay at commit. Attempts of one decision take turns
 *   on that transaction and only the first records anything, so they are stored once per decision however often
 *   it is retried.
 *   The same transaction pauses the leads the mailbox has been sending to when a pause was carried out, releases
 *   them when it resumes, and asks its campaigns' lead push workflows to look at their held leads again when its
 *   recorded state recovers (src/db/repositories/leadLifecycle.ts recordDecisionForLeads).
 *
 * The table and column names are decision 011's contract with migration 006.
 */
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import { withTenant, type Tx } from '../db/tenant';
import { readDecisionInput } from '../db/repositories/counters';
import { enqueueMemberState, notifyRelayAtCommit } from '../db/repositories/commands';
import { recordDecisionForLeads } from '../db/repositories/leadLifecycle';
import type { Command, DecisionSettings, Explanation } from '../domain/mailboxMachine';
import { sumBuckets, summarizeWindows, type WindowCounts, type WindowSummary } from '../domain/rollingWindows';
import { normalizeEmail } from '../workflows/ids';
import { auditRetrying, closeDecision, engineRowColumns, lockDecision, recordedOutcome, writeRecommendations, type ActionOutcome, type DecisionSubject, type EngineRow } from './decisionRecord';
import { smartleadAccess, type SmartleadActivityDeps } from './smartlead';

export interface ReadDecisionInputRequest {
  organizationId: string;
  mailbox: string;
  /** The workflow's now (epoch ms): windows end here, so the decision and its input agree on the time. */
  at: number;
  /** The last resume: windows count only buckets starting at or after it, and `sinceResume` sums them. */
  resumedAt?: number;
}

export interface MailboxDecisionInputRead {
  windows: WindowSummary;
  sinceResume: WindowCounts;
  settings: DecisionSettings;
}

export interface ActOnMailboxDecisionInput {
  organizationId: string;
  mailbox: string;
  explanation: Explanation;
  commands: Command[];
  /** What the mailbox row says afterwards. */
  row: EngineRow & {
    /** The mailbox is under a manual hold (paused by a person). Absent: false. */
    manual?: boolean;
  };
}

export type { ActionOutcome };

export interface ActOnMailboxDecisionResult {
  outcome: ActionOutcome;
  detail: { smartleadAccountId?: string; call?: 'suspend' | 'unsuspend'; alreadyInState?: boolean; reason?: string };
  /** True when the decision had already been carried out (a retry or a redelivery): nothing was done now. */
  alreadyRecorded: boolean;
}

const OUTCOME_SENTENCE = {
  suspend: { done: 'Suspended in Smartlead', already: 'It was already suspended in Smartlead, so nothing was sent', verb: 'pause' },
  unsuspend: { done: 'Unsuspended in Smartlead', already: 'It was not suspended in Smartlead, so nothing was sent', verb: 'resume' },
} as const;

export function createMailboxEngineActivities(deps: SmartleadActivityDeps) {
  const { clientFor, fail } = smartleadAccess(deps);
  const tenant = <T>(organizationId: string, work: (tx: Tx) => Promise<T>): Promise<T> => withTenant(deps.db, organizationId, work);

  /** Suspends or unsuspends the account unless it already is; one HTTP attempt per request (Temporal retries). */
  async function callSmartlead(organizationId: string, email: string, accountId: string, call: 'suspend' | 'unsuspend'): Promise<{ alreadyInState: boolean }> {
    const { client, fingerprint } = await clientFor(organizationId, { singleAttempt: true });
    try {
      const account = await client.getEmailAccount(accountId);
      if (account.isSuspended === (call === 'suspend')) return { alreadyInState: true };
      await (call === 'suspend' ? client.suspendEmailAccount(accountId) : client.unsuspendEmailAccount(accountId));
      return { alreadyInState: false };
    } catch (error) {
      return fail(organizationId, `${OUTCOME_SENTENCE[call].verb} mailbox ${email}`, { kind: 'mailbox', email }, error, fingerprint);
    }
  }

  return {
    async readMailboxDecisionInput(input: ReadDecisionInputRequest): Promise<MailboxDecisionInputRead> {
      // One round trip: taken for every bounce batch, so it is the engine's hottest read.
      const { buckets: all, settings } = await readDecisionInput(deps.db, input.organizationId, 'mailbox', normalizeEmail(input.mailbox), input.at);
      const clipped = input.resumedAt === undefined ? all : all.filter(([start]) => start >= input.resumedAt!);
      return {
        windows: summarizeWindows({ buckets: clipped }, input.at),
        sinceResume: sumBuckets(input.resumedAt === undefined ? [] : clipped),
        settings: { mode: settings.mode, thresholds: settings.thresholds, version: settings.version },
      };
    },

    /**
     * Heartbeats every 2 s while it runs (the workflow sets a 10 s heartbeat timeout), so when the worker dies
     * mid-call Temporal retries on another worker within seconds instead of waiting out the start-to-close timeout.
     */
    async actOnMailboxDecision(input: ActOnMailboxDecisionInput): Promise<ActOnMailboxDecisionResult> {
      heartbeat();
      const beating = setInterval(() => heartbeat(), 2000);
      try {
        return await actOnce(input);
      } finally {
        clearInterval(beating);
      }
    },
  };

  async function actOnce(input: ActOnMailboxDecisionInput): Promise<ActOnMailboxDecisionResult> {
    const { organizationId, explanation: e, commands } = input;
    const email = normalizeEmail(input.mailbox);
    const subject: DecisionSubject = { organizationId, entityType: 'mailbox', entityKey: email };
    const recorded = await tenant(organizationId, (tx) => recordedOutcome<ActOnMailboxDecisionResult['detail']>(tx, e.decisionId));
    if (recorded !== undefined) return { ...recorded, alreadyRecorded: true };

    const call = commands.find((c): c is Extract<Command, { kind: 'suspend' | 'unsuspend' }> => c.kind === 'suspend' || c.kind === 'unsuspend')?.kind;
    let outcome: ActionOutcome = commands.some((c) => c.kind === 'would_have') ? 'would_have' : commands.some((c) => c.kind === 'recommend') ? 'recommended' : 'done';
    const detail: ActOnMailboxDecisionResult['detail'] = {};
    let happened = '';

    if (call !== undefined) {
      detail.call = call;
      const row = (await tenant(organizationId, (tx) => tx('mailboxes').where({ email }).first('smartlead_account_id'))) as { smartlead_account_id: string | null } | undefined;
      const accountId = row?.smartlead_account_id ?? null;
      if (accountId === null) {
        outcome = 'impossible';
        detail.reason = 'the mailbox is not linked to a Smartlead email account (unknown to Smartlead, or not synced yet)';
      } else {
        detail.smartleadAccountId = accountId;
        try {
          detail.alreadyInState = (await callSmartlead(organizationId, email, accountId, call)).alreadyInState;
          happened = ` ${detail.alreadyInState ? OUTCOME_SENTENCE[call].already : `${OUTCOME_SENTENCE[call].done} (email account ${accountId})`}.`;
        } catch (error) {
          if (!(error instanceof ApplicationFailure) || error.nonRetryable !== true) {
            // Audited once however many attempts fail; Temporal retries with its backoff.
            const why = error instanceof Error ? error.message : String(error);
            await tenant(organizationId, (tx) =>
              auditRetrying(tx, subject, e, `Drason could not yet ${OUTCOME_SENTENCE[call].verb} mailbox ${email} in Smartlead (${why}); it keeps retrying (decision ${e.decisionId}).`),
            );
            throw error;
          }
          outcome = 'impossible';
          detail.reason = error.message;
        }
      }
      if (outcome === 'impossible') happened = ` Drason could not ${OUTCOME_SENTENCE[call].verb} it in Smartlead: ${detail.reason}.`;
    }

    return tenant(organizationId, async (tx): Promise<ActOnMailboxDecisionResult> => {
      // Attempts of one decision that overlap (a retry started while the first still ran) take turns here, and the
      // later one finds the decision recorded: what follows is written once, member states included.
      const meanwhile = await lockDecision<ActOnMailboxDecisionResult['detail']>(tx, e.decisionId);
      if (meanwhile !== undefined) return { ...meanwhile, alreadyRecorded: true };
      await writeRecommendations(tx, subject, e, commands);
      await tx('mailboxes').where({ email }).update(engineRowColumns(input.row, e));
      const manual = input.row.manual ?? false;
      // A manual pause takes a hold even when the mailbox was already paused: its campaigns and domain hear of it.
      if (e.from !== e.to || (manual && e.trigger.signals.includes('override'))) {
        await enqueueMemberState(tx, { organizationId, mailbox: email, state: input.row.state, manual, at: input.row.stateChangedAt, decisionId: e.decisionId, actor: e.actor });
        await notifyRelayAtCommit(tx);
      }
      // The mailbox's leads: paused with it, released when it resumes; its campaigns re-check held leads on recovery.
      await recordDecisionForLeads(tx, { organizationId, cause: { type: 'mailbox', key: email }, explanation: e, call, outcome });
      await closeDecision(tx, subject, e, outcome, detail, happened);
      return { outcome, detail, alreadyRecorded: false };
    });
  }
}

export type MailboxEngineActivities = ReturnType<typeof createMailboxEngineActivities>;
