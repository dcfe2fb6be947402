/**
 * The campaign and domain engines' activities (docs/decisions/012-escalation.md):
 *
 * - `readEscalationInput` (a local activity): what `decideEscalation()` needs, read now — the entity's windows from
 *   the counters clipped at its last resume, its counts since that resume, the organization's settings, and which of
 *   the mailboxes reported degraded are still members (for a domain: with the campaigns each sends for).
 * - `actOnEscalationDecision` (an ordinary activity; Temporal owns its retries): carries out ONE decision, keyed by
 *   its decision id, exactly once — ledger first (entity_actions), then the Smartlead calls, then the audit entry,
 *   the entity's row, the recommendation (suggest mode) and the ledger row in one transaction. That transaction also
 *   pauses the entity's leads (a campaign's own; a domain's: those its mailboxes sent to) when a pause was carried
 *   out, releases them on resume, and stores the recovery commands for the lead push workflows of its campaigns
 *   (src/db/repositories/leadLifecycle.ts recordDecisionForLeads).
 *
 * ## Holds: who keeps a campaign paused in Smartlead
 *
 * A campaign can be paused for several reasons at once: its own engine (`campaign`), one or more domain engines
 * (`domain:<name>`), an operator (`manual`). Each is a row in `campaign_holds`; Smartlead is told PAUSED when the
 * first hold is taken and START only when the last one is released, so a recovered domain never starts a campaign
 * its own engine or a person still holds. When the first hold finds the campaign not running in Smartlead (a person
 * paused it there, or it is stopped or finished), an `external` hold is recorded too: Drason never starts it (only an
 * operator's manual resume releases every hold).
 *
 * Taking a hold is two steps, so a worker dying between Smartlead's answer and the database cannot be mistaken for a
 * person's pause: (1) under the campaign's advisory lock, read Smartlead's status if nobody holds it yet and insert
 * the hold (`applied` false when Smartlead must still be told); (2) POST PAUSED (harmless when repeated) and mark it
 * applied. A retry finds its own hold and only repeats step 2. Releasing is one step under the lock: delete the hold;
 * if none is left and Smartlead says PAUSED, POST START before commit (a retry after a lost commit finds it ACTIVE).
 * The Smartlead client (and its credentials) is loaded before any lock, and at most CAMPAIGN_TRANSACTIONS_AT_ONCE
 * such transactions run in a process: a storm pausing many campaigns waits its turn without draining the pool.
 */
import { ApplicationFailure, heartbeat } from '@temporalio/activity';
import Bottleneck from 'bottleneck';
import { readBuckets } from '../db/repositories/counters';
import { recordDecisionForLeads } from '../db/repositories/leadLifecycle';
import { campaignsOfDomain, campaignsOfMailboxes } from '../db/repositories/membership';
import { currentSettings } from '../db/repositories/settings';
import type { Tx } from '../db/tenant';
import type { DegradedMember, EscalationKind } from '../domain/escalationMachine';
import type { Command, DecisionSettings, Explanation, MailboxState } from '../domain/mailboxMachine';
import { sumBuckets, summarizeWindows, type WindowCounts, type WindowSummary } from '../domain/rollingWindows';
import { smartleadAccess, type SmartleadActivityDeps } from './smartlead';
import { auditRetrying, closeDecision, engineRowColumns, lockDecision, recordedOutcome, writeRecommendations, type ActionOutcome, type DecisionSubject, type EngineRow } from './decisionRecord';

export interface ReadEscalationInputRequest {
  organizationId: string;
  kind: EscalationKind;
  /** Campaign id, or lower-case domain name. */
  key: string;
  at: number;
  /** Windows count only buckets starting at or after this (the entity's last resume, or its mailbox level's last action). */
  resumedAt?: number;
  /** The mailboxes the workflow holds as degraded (lower-case), with their reported state. */
  reported: { mailbox: string; state: MailboxState }[];
}

export interface EscalationInputRead {
  windows: WindowSummary;
  sinceResume: WindowCounts;
  settings: DecisionSettings;
  /** The reported mailboxes that are still members, with the campaigns each sends for. */
  degraded: DegradedMember[];
  /** How the entity reads in sentences. */
  label: string;
}

export interface ActOnEscalationDecisionInput {
  organizationId: string;
  kind: EscalationKind;
  key: string;
  explanation: Explanation;
  commands: Command[];
  row: EngineRow & { degradedMailboxes: string[]; automationStopped: { at: number; reason: string } | null };
}

/** What happened to one campaign. */
export interface CampaignEffect {
  campaignId: string;
  /** paused / started: Smartlead was told; the rest: it was not, and why. */
  result: 'paused' | 'held_already_paused' | 'not_running' | 'started' | 'already_running' | 'still_held' | 'not_resumable' | 'not_held' | 'gone';
  /** still_held: by whom; not_running / not_resumable: Smartlead's status. */
  detail?: string;
}

export interface ActOnEscalationDecisionResult {
  outcome: ActionOutcome;
  campaigns: CampaignEffect[];
  alreadyRecorded: boolean;
  reason?: string;
}

const RUNNING = 'ACTIVE';

function holderOf(kind: EscalationKind, key: string, via: string): string {
  if (kind === 'domain') return `domain:${key}`;
  return via === 'override' ? 'manual' : 'campaign';
}

/** One sentence per campaign effect, for the audit entry. */
export function describeEffects(effects: CampaignEffect[]): string {
  const sentence = (e: CampaignEffect): string => {
    switch (e.result) {
      case 'paused':
        return `campaign ${e.campaignId} paused in Smartlead`;
      case 'held_already_paused':
        return `campaign ${e.campaignId} was already paused by Drason (${e.detail ?? 'another hold'}), this hold added`;
      case 'not_running':
        return `campaign ${e.campaignId} was not running in Smartlead (status ${e.detail ?? 'unknown'}) before Drason's pause, so Drason will never start it`;
      case 'started':
        return `campaign ${e.campaignId} started again in Smartlead`;
      case 'already_running':
        return `campaign ${e.campaignId} was already running in Smartlead`;
      case 'still_held':
        return `campaign ${e.campaignId} stays paused: still held by ${e.detail ?? 'another hold'}`;
      case 'not_resumable':
        return `campaign ${e.campaignId} was left alone (status ${e.detail ?? 'unknown'} in Smartlead)`;
      case 'not_held':
        return `campaign ${e.campaignId} had no hold of this ${e.detail ?? 'entity'} to release`;
      case 'gone':
        return `campaign ${e.campaignId} no longer exists in Smartlead`;
    }
  };
  if (effects.length === 0) return '';
  const text = effects.map(sentence).join('; ');
  return ` ${text[0]!.toUpperCase()}${text.slice(1)}.`;
}

/**
 * Campaign hold/release transactions in flight at once in this process. Each keeps one pooled connection and the
 * campaign's lock across its Smartlead calls (which wait their turn in the organization's rate limit), so a storm
 * that pauses dozens of campaigns queues here instead of draining the pool that counting and deciding need.
 */
export const CAMPAIGN_TRANSACTIONS_AT_ONCE = 3;

/** A Smartlead client on the organization's key, loaded once per attempt, before any campaign lock is taken. */
interface Smartlead {
  status(campaignId: string): Promise<string>;
  set(campaignId: string, status: 'PAUSED' | 'START'): Promise<void>;
}

export function createEscalationActivities(deps: SmartleadActivityDeps) {
  const { tenant, clientFor, fail } = smartleadAccess(deps);
  const campaignTransactions = new Bottleneck({ maxConcurrent: CAMPAIGN_TRANSACTIONS_AT_ONCE });

  /** The campaign's advisory lock, held until the transaction ends: holds of one campaign change one at a time. */
  const lockCampaign = (tx: Tx, organizationId: string, campaignId: string) =>
    tx.raw('select pg_advisory_xact_lock(hashtextextended(?, 0))', [`campaign-hold:${organizationId}:${campaignId}`]);
  /** One campaign's transaction, queued behind the others of this process (see CAMPAIGN_TRANSACTIONS_AT_ONCE). */
  const campaignTransaction = <T>(organizationId: string, campaignId: string, work: (tx: Tx) => Promise<T>): Promise<T> =>
    campaignTransactions.schedule(() =>
      tenant(organizationId, async (tx) => {
        await lockCampaign(tx, organizationId, campaignId);
        return work(tx);
      }),
    );

  async function smartleadFor(organizationId: string): Promise<Smartlead> {
    const { client, fingerprint } = await clientFor(organizationId, { singleAttempt: true });
    const failed = (operation: string, campaignId: string, error: unknown) => fail(organizationId, operation, { kind: 'campaign', campaignId }, error, fingerprint);
    return {
      status: async (campaignId) => {
        try {
          return (await client.getCampaign(campaignId)).status;
        } catch (error) {
          return failed(`read campaign ${campaignId}`, campaignId, error);
        }
      },
      set: async (campaignId, status) => {
        try {
          await (status === 'PAUSED' ? client.pauseCampaign(campaignId) : client.resumeCampaign(campaignId));
        } catch (error) {
          await failed(`${status === 'PAUSED' ? 'pause' : 'start'} campaign ${campaignId}`, campaignId, error);
        }
      },
    };
  }

  async function hold(organizationId: string, smartlead: Smartlead, campaignId: string, holder: string, decisionId: string, reason: string): Promise<CampaignEffect> {
    const step1 = await campaignTransaction(organizationId, campaignId, async (tx): Promise<{ mustPause: boolean; effect: CampaignEffect }> => {
      const holds = (await tx('campaign_holds').where({ campaign_id: campaignId }).select('holder', 'applied')) as { holder: string; applied: boolean }[];
      const own = holds.find((h) => h.holder === holder);
      if (own !== undefined) return { mustPause: !own.applied, effect: { campaignId, result: own.applied ? 'held_already_paused' : 'paused', detail: holder } };
      const row = { organization_id: organizationId, campaign_id: campaignId, holder, decision_id: decisionId, reason };
      if (holds.length > 0) {
        await tx('campaign_holds').insert({ ...row, applied: true });
        return { mustPause: false, effect: { campaignId, result: 'held_already_paused', detail: holds.map((h) => h.holder).join(', ') } };
      }
      const status = await smartlead.status(campaignId);
      if (status !== RUNNING) {
        await tx('campaign_holds').insert([
          { ...row, holder: 'external', reason: `status ${status} in Smartlead before Drason paused it`, applied: true },
          { ...row, applied: true },
        ]);
        return { mustPause: false, effect: { campaignId, result: 'not_running', detail: status } };
      }
      await tx('campaign_holds').insert({ ...row, applied: false });
      return { mustPause: true, effect: { campaignId, result: 'paused' } };
    });
    if (step1.mustPause) {
      await smartlead.set(campaignId, 'PAUSED');
      await tenant(organizationId, (tx) => tx('campaign_holds').where({ campaign_id: campaignId, holder }).update({ applied: true }));
    }
    return step1.effect;
  }

  async function release(organizationId: string, smartlead: Smartlead, campaignId: string, holders: string[] | 'all', who: string): Promise<CampaignEffect> {
    return campaignTransaction(organizationId, campaignId, async (tx): Promise<CampaignEffect> => {
      const mine = tx('campaign_holds').where({ campaign_id: campaignId });
      const deleted = await (holders === 'all' ? mine : mine.whereIn('holder', holders)).delete();
      // (A person's resume goes on: it starts a campaign paused in Smartlead even when Drason held nothing.)
      if (deleted === 0 && holders !== 'all') return { campaignId, result: 'not_held', detail: who };
      const left = (await tx('campaign_holds').where({ campaign_id: campaignId }).select('holder')) as { holder: string }[];
      if (left.length > 0) return { campaignId, result: 'still_held', detail: left.map((h) => h.holder).join(', ') };
      const status = await smartlead.status(campaignId);
      if (status === RUNNING) return { campaignId, result: 'already_running' };
      if (status !== 'PAUSED') return { campaignId, result: 'not_resumable', detail: status };
      await smartlead.set(campaignId, 'START');
      return { campaignId, result: 'started' };
    });
  }

  /** Runs one hold or release per campaign; a campaign deleted in Smartlead is noted and skipped, not retried. */
  async function forEachCampaign(campaignIds: string[], each: (campaignId: string) => Promise<CampaignEffect>): Promise<CampaignEffect[]> {
    const effects: CampaignEffect[] = [];
    for (const campaignId of campaignIds) {
      heartbeat();
      try {
        effects.push(await each(campaignId));
      } catch (error) {
        if (error instanceof ApplicationFailure && error.type === 'SmartleadNotFoundError') effects.push({ campaignId, result: 'gone' });
        else throw error;
      }
    }
    return effects;
  }

  async function actOnce(input: ActOnEscalationDecisionInput): Promise<ActOnEscalationDecisionResult> {
    const { organizationId, kind, key, explanation: e, commands } = input;
    const subject: DecisionSubject = { organizationId, entityType: kind, entityKey: key };
    const recorded = await tenant(organizationId, (tx) => recordedOutcome<{ campaigns?: CampaignEffect[] }>(tx, e.decisionId));
    if (recorded !== undefined) return { outcome: recorded.outcome, campaigns: recorded.detail.campaigns ?? [], alreadyRecorded: true };

    const call = commands.find((c): c is Extract<Command, { kind: 'suspend' | 'unsuspend' }> => c.kind === 'suspend' || c.kind === 'unsuspend');
    const recommend = commands.find((c): c is Extract<Command, { kind: 'recommend' }> => c.kind === 'recommend');
    let outcome: ActionOutcome = commands.some((c) => c.kind === 'would_have') ? 'would_have' : recommend !== undefined ? 'recommended' : 'done';
    let effects: CampaignEffect[] = [];
    let reason: string | undefined;

    if (call !== undefined) {
      const holder = holderOf(kind, key, call.via);
      try {
        const smartlead = await smartleadFor(organizationId);
        if (call.kind === 'suspend') {
          const targets = kind === 'campaign' ? [key] : await tenant(organizationId, (tx) => campaignsOfDomain(tx, key, Date.now()));
          effects = await forEachCampaign(targets, (id) => hold(organizationId, smartlead, id, holder, e.decisionId, e.pauseReason ?? e.message));
        } else {
          // A person's resume of a campaign releases every hold on it; otherwise each entity releases its own.
          const everything = kind === 'campaign' && call.via === 'override';
          const targets =
            kind === 'campaign'
              ? [key]
              : ((await tenant(organizationId, (tx) => tx('campaign_holds').where({ holder }).orderBy('campaign_id').pluck('campaign_id'))) as string[]);
          effects = await forEachCampaign(targets, (id) => release(organizationId, smartlead, id, everything ? 'all' : [holder], `${kind} ${key}`));
        }
      } catch (error) {
        if (!(error instanceof ApplicationFailure) || error.nonRetryable !== true) {
          const doing = call.kind === 'suspend' ? 'pause' : 'resume';
          const why = error instanceof Error ? error.message : String(error);
          await tenant(organizationId, (tx) =>
            auditRetrying(tx, subject, e, `Drason could not yet ${doing} the campaigns of ${kind} ${key} in Smartlead (${why}); it keeps retrying (decision ${e.decisionId}).`),
          );
          throw error;
        }
        outcome = 'impossible';
        reason = error.message;
      }
    }
    const happened =
      outcome === 'impossible'
        ? ` Drason could not ${call?.kind === 'suspend' ? 'pause' : 'resume'} it in Smartlead: ${reason}.`
        : call !== undefined && effects.length === 0
          ? ` No campaign sends from it, so nothing changed in Smartlead.`
          : describeEffects(effects);

    return tenant(organizationId, async (tx): Promise<ActOnEscalationDecisionResult> => {
      const meanwhile = await lockDecision<{ campaigns?: CampaignEffect[] }>(tx, e.decisionId);
      if (meanwhile !== undefined) return { outcome: meanwhile.outcome, campaigns: meanwhile.detail.campaigns ?? [], alreadyRecorded: true };
      await writeRecommendations(tx, subject, e, commands);
      const row = input.row;
      const update = { ...engineRowColumns(row, e), degraded_mailboxes: row.degradedMailboxes };
      if (kind === 'campaign') await tx('campaigns').where({ campaign_id: key }).update(update);
      else await tx('domains').where('name_key', key.toLowerCase()).update(update);
      // The entity's leads: paused with it, released when it resumes; its campaigns re-check held leads on recovery.
      await recordDecisionForLeads(tx, { organizationId, cause: { type: kind, key }, explanation: e, call: call?.kind, outcome });
      await closeDecision(tx, subject, e, outcome, { campaigns: effects, ...(reason === undefined ? {} : { reason }) }, happened);
      return { outcome, campaigns: effects, alreadyRecorded: false, ...(reason === undefined ? {} : { reason }) };
    });
  }

  return {
    async readEscalationInput(input: ReadEscalationInputRequest): Promise<EscalationInputRead> {
      return tenant(input.organizationId, async (tx) => {
        const all = (await readBuckets(tx, input.kind, [input.key], input.at)).get(input.key) ?? [];
        const clipped = input.resumedAt === undefined ? all : all.filter(([start]) => start >= input.resumedAt!);
        const settings = await currentSettings(tx);
        const memberships = await campaignsOfMailboxes(tx, input.reported.map((r) => r.mailbox), input.at);
        const degraded = input.reported
          .map((r) => ({ mailbox: r.mailbox, state: r.state, campaigns: memberships.get(r.mailbox) ?? [] }))
          .filter((d) => (input.kind === 'campaign' ? d.campaigns.includes(input.key) : d.mailbox.endsWith(`@${input.key}`)));
        let label = input.key;
        if (input.kind === 'campaign') {
          const name = (await tx('campaigns').where({ campaign_id: input.key }).first('name')) as { name: string } | undefined;
          if (name !== undefined && name.name !== '') label = `${input.key} ("${name.name}")`;
        }
        return {
          windows: summarizeWindows({ buckets: clipped }, input.at),
          sinceResume: sumBuckets(input.resumedAt === undefined ? [] : clipped),
          settings: { mode: settings.mode, thresholds: settings.thresholds, version: settings.version },
          degraded,
          label,
        };
      });
    },

    /** Heartbeats every 2 s (the workflow sets a 10 s heartbeat timeout), like the mailbox's act activity. */
    async actOnEscalationDecision(input: ActOnEscalationDecisionInput): Promise<ActOnEscalationDecisionResult> {
      heartbeat();
      const beating = setInterval(() => heartbeat(), 2000);
      try {
        return await actOnce(input);
      } finally {
        clearInterval(beating);
      }
    },
  };
}

export type EscalationActivities = ReturnType<typeof createEscalationActivities>;
