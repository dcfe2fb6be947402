/**
 * The Smartlead side of the lead lifecycle (issue 10; Drason's side: src/db/repositories/leadLifecycle.ts).
 *
 * ## `syncLeadPauses({organizationId, campaignId, limit?})` → `{paused, resumed, completed, pending}`
 *
 * Contract for its caller, the campaign's lead push workflow (src/workflows/leadPushWorkflow.ts), which calls it once
 * per pass (an ordinary activity: heartbeat timeout ≥ 30 s, Temporal's default retries):
 *
 * - **Pauses at Smartlead** the campaign's leads Drason holds `paused` and has not paused there yet
 *   (`smartlead_paused` false), but only while the campaign itself runs in Smartlead: its synced status is `ACTIVE`,
 *   it is not deleted in Smartlead, and nobody holds it paused (`campaign_holds`, src/activities/escalation.ts). A
 *   campaign paused as a whole sends nothing, so its leads need no call (a campaign pause makes no lead calls).
 * - **Resumes at Smartlead** the campaign's `active` leads that Drason paused there (`smartlead_paused`), whatever the
 *   campaign's status (not when it is deleted in Smartlead). A lead still `paused` in Drason stays paused in Smartlead
 *   even while its campaign is paused: when the campaign starts again it must not send to it.
 * - Smartlead answers 500 to a resume when the lead is on its last step: when Smartlead otherwise answers (the
 *   campaign reads fine right after), the lead is `completed` (reason `sequence finished`), audited, not an error.
 * - A lead Smartlead does not list in the campaign cannot be sent to: a pause marks it paused there anyway, a resume
 *   clears the mark; neither calls again.
 * - Completed leads are never paused or resumed.
 * - **Bounded**: at most `limit` (default 100) leads per call, pauses first (oldest first). `pending` counts the leads
 *   still waiting for a call (paused/resumed later, or pauses waiting for the campaign to run again are NOT counted:
 *   only those a further call would act on now). Call again (the next pass) while `pending > 0`.
 * - **Idempotent**: each lead's row is marked (`smartlead_paused`) right after its call, in its own transaction, so a
 *   retried attempt picks up where the last left off and never pauses a lead twice (at most the one call whose
 *   answer was lost is repeated, and Smartlead's pause and resume are idempotent). Heartbeats after every lead.
 * - Errors: typed as every Smartlead activity's (src/activities/smartlead.ts `fail`): revoked key and refusals are
 *   non-retryable; 429 and 5xx retryable; a campaign deleted in Smartlead is marked and non-retryable.
 */
import { heartbeat } from '@temporalio/activity';
import { ENGINE_VERSION } from '../domain/engineVersion';
import type { Tx } from '../db/tenant';
import { appendAudit } from '../db/repositories/audit';
import { SmartleadNotFoundError, SmartleadUnavailableError } from '../smartlead/errors';
import type { SmartleadClient } from '../smartlead/client';
import { smartleadAccess, type SmartleadActivityDeps } from './smartlead';

export interface SyncLeadPausesInput {
  organizationId: string;
  campaignId: string;
  /** At most this many leads per call (default 100). */
  limit?: number;
}

export interface SyncLeadPausesResult {
  /** Leads paused at Smartlead by this call. */
  paused: number;
  /** Leads resumed at Smartlead by this call. */
  resumed: number;
  /** Leads found on their last step when resumed: completed. */
  completed: number;
  /** Leads a further call would act on now. */
  pending: number;
}

export const SYNC_LEAD_PAUSES_LIMIT = 100;
export const SEQUENCE_FINISHED = 'sequence finished';

interface LeadRow {
  id: string;
  email: string;
}

type Work = 'pause' | 'resume';

/** Which leads of the campaign need which call (the campaign's running state decides whether pauses are due). */
function leadsNeeding(tx: Tx, campaignId: string, work: Work) {
  const q = tx('leads').where({ assigned_campaign_id: campaignId });
  return work === 'pause' ? q.where({ status: 'paused', smartlead_paused: false }) : q.where({ status: 'active', smartlead_paused: true });
}

export function createLeadLifecycleActivities(deps: SmartleadActivityDeps) {
  const { tenant, clientFor, fail } = smartleadAccess(deps);

  /** Whether the campaign runs in Smartlead (and so must have its paused leads paused there), and whether it exists. */
  async function campaignState(organizationId: string, campaignId: string): Promise<{ runs: boolean; deleted: boolean }> {
    return tenant(organizationId, async (tx) => {
      const row = (await tx('campaigns').where({ campaign_id: campaignId }).first('status', 'deleted_externally_at')) as { status: string; deleted_externally_at: Date | null } | undefined;
      const held = (await tx('campaign_holds').where({ campaign_id: campaignId }).first('holder')) !== undefined;
      const deleted = row === undefined || row.deleted_externally_at !== null;
      return { runs: !deleted && row.status === 'ACTIVE' && !held, deleted };
    });
  }

  async function due(organizationId: string, campaignId: string, works: Work[], limit: number): Promise<{ work: Work; lead: LeadRow }[]> {
    return tenant(organizationId, async (tx) => {
      const out: { work: Work; lead: LeadRow }[] = [];
      for (const work of works) {
        if (out.length >= limit) break;
        const rows = (await leadsNeeding(tx, campaignId, work).orderBy([{ column: 'updated_at' }, { column: 'id' }]).limit(limit - out.length).select('id', tx.raw('email::text as email'))) as LeadRow[];
        out.push(...rows.map((lead) => ({ work, lead })));
      }
      return out;
    });
  }

  async function countDue(organizationId: string, campaignId: string, works: Work[]): Promise<number> {
    return tenant(organizationId, async (tx) => {
      let n = 0;
      for (const work of works) n += Number(((await leadsNeeding(tx, campaignId, work).count({ n: '*' }).first()) as { n: string | number }).n);
      return n;
    });
  }

  /** Marks the lead as Drason left it at Smartlead (only if it is still in the state that asked for the call). */
  const mark = (organizationId: string, lead: LeadRow, work: Work): Promise<unknown> =>
    tenant(organizationId, (tx) =>
      tx('leads')
        .where({ id: lead.id, smartlead_paused: work !== 'pause' })
        .whereNot({ status: 'completed' })
        .update({ smartlead_paused: work === 'pause', updated_at: tx.fn.now() }),
    );

  async function complete(organizationId: string, campaignId: string, lead: LeadRow): Promise<void> {
    await tenant(organizationId, async (tx) => {
      const updated = await tx('leads')
        .where({ id: lead.id })
        .whereNot({ status: 'completed' })
        .update({ status: 'completed', completed_at: tx.fn.now(), completed_reason: SEQUENCE_FINISHED, paused_by: '{}', smartlead_paused: false, updated_at: tx.fn.now() });
      if (updated === 0) return;
      await appendAudit(tx, {
        organizationId,
        entityType: 'lead',
        entityId: lead.id,
        action: 'lead_completed',
        actor: 'system',
        trigger: { signals: ['smartlead_resume_refused'], metric: 'http_status', observed: 500 },
        engineVersion: ENGINE_VERSION,
        idempotencyKey: `lead-completed:${lead.id}`,
        message: `Lead ${lead.email} in campaign ${campaignId} completed: ${SEQUENCE_FINISHED} (Smartlead refused to resume it because it is on its last step); Drason never pauses, resumes or pushes it again.`,
      });
    });
  }

  /** One lead's call; returns what happened. Throws (typed) what Temporal should see. */
  async function callFor(
    client: SmartleadClient,
    fingerprint: string,
    organizationId: string,
    campaignId: string,
    work: Work,
    lead: LeadRow,
  ): Promise<'done' | 'not_in_campaign' | 'completed'> {
    const operation = `${work} lead ${lead.email} in campaign ${campaignId}`;
    let smartleadId: string | undefined;
    try {
      const found = await client.findLeadByEmail(lead.email);
      smartleadId = found?.campaigns.some((c) => c.campaignId === campaignId) === true ? found.id : undefined;
      if (smartleadId === undefined) return 'not_in_campaign';
      await (work === 'pause' ? client.pauseLead(campaignId, smartleadId) : client.resumeLead(campaignId, smartleadId));
      return 'done';
    } catch (error) {
      if (error instanceof SmartleadNotFoundError && smartleadId !== undefined) {
        // The lead or the campaign is gone: a deleted campaign is marked (and fails); a missing lead sends nothing.
        try {
          await client.getCampaign(campaignId);
        } catch (checkError) {
          return fail(organizationId, operation, { kind: 'campaign', campaignId }, checkError, fingerprint);
        }
        return 'not_in_campaign';
      }
      if (work === 'resume' && error instanceof SmartleadUnavailableError && error.status === 500) {
        // Smartlead's answer to resuming a lead on its last step; only if Smartlead is otherwise answering.
        try {
          await client.getCampaign(campaignId);
        } catch (checkError) {
          return fail(organizationId, operation, { kind: 'campaign', campaignId }, checkError, fingerprint);
        }
        return 'completed';
      }
      return fail(organizationId, operation, { kind: 'lead', campaignId, email: lead.email }, error, fingerprint);
    }
  }

  return {
    /** See the file header for the contract. */
    async syncLeadPauses(input: SyncLeadPausesInput): Promise<SyncLeadPausesResult> {
      const { organizationId, campaignId } = input;
      const limit = Math.max(1, Math.floor(input.limit ?? SYNC_LEAD_PAUSES_LIMIT));
      const result: SyncLeadPausesResult = { paused: 0, resumed: 0, completed: 0, pending: 0 };
      heartbeat();
      const campaign = await campaignState(organizationId, campaignId);
      if (campaign.deleted) return result;
      const works: Work[] = campaign.runs ? ['pause', 'resume'] : ['resume'];
      const batch = await due(organizationId, campaignId, works, limit);
      if (batch.length > 0) {
        const { client, fingerprint } = await clientFor(organizationId);
        for (const { work, lead } of batch) {
          const outcome = await callFor(client, fingerprint, organizationId, campaignId, work, lead);
          if (outcome === 'completed') {
            await complete(organizationId, campaignId, lead);
            result.completed += 1;
          } else {
            await mark(organizationId, lead, work);
            if (outcome === 'done') result[work === 'pause' ? 'paused' : 'resumed'] += 1;
          }
          heartbeat(result);
        }
      }
      result.pending = await countDue(organizationId, campaignId, works);
      return result;
    },
  };
}

export type LeadLifecycleActivities = ReturnType<typeof createLeadLifecycleActivities>;
