/**
 * Source quality (issue 10; the rules in src/domain/sourceQuality.ts, the storage in src/db/repositories/sources.ts).
 *
 * ## Contract of `reviewSources({organizationId, campaignId, decisionKey})`
 *
 * Called by the lead push workflow (src/workflows/leadPushWorkflow.ts) at the start of each pass, before it reads
 * the gate input. An ordinary (or local) activity: one transaction, safe to retry, any number of times.
 *
 * - Judges every source (routing rule, by name) that has pushed leads in `campaignId`, on its evidence counted over
 *   all campaigns: leads pushed since its `counts_from` (set when a person releases it) and, among them, those the
 *   relay's count stage marked list-bounced (src/db/repositories/relay.ts), with `judgeSource` / `decideSource` and
 *   DEFAULT_SOURCE_THRESHOLDS, in the organization's current mode:
 *   - enforce: a `source_quarantines` row (state `quarantined`) and one audit row `source_quarantined`; pending
 *     `quarantine_source` recommendations of that source are superseded. The gate then holds the source's new
 *     leads with the reason "source quality" (readGate reads `quarantinedSources`).
 *   - suggest: one pending recommendation (action `quarantine_source`, entity type `source`, key the rule name)
 *     and one audit row `source_quarantine_recommended`. Applying it (POST /v1/recommendations/:id/apply)
 *     quarantines the source in the API's transaction.
 *   - observe: one audit row `source_quarantine_observed` ("would quarantine"); nothing is held.
 *   A source already quarantined stays so (only a person releases it: POST /v1/sources/:name/release).
 * - Idempotent, not only per `decisionKey`: what it writes is keyed by the breach — the source and its counting
 *   period (`counts_from`) — so a retry, a repeated pass or a review from another campaign writes nothing twice.
 *   Each breach is recorded once per mode; after a release, a new breach is a new one. `decisionKey` (the pass's,
 *   `<workflowId>@<runId>#<pass>`) is recorded in the evidence to tell which pass found it.
 * - Returns every source of the organization quarantined after the review, with its reason (name order): what the
 *   pass holds leads for. It never moves leads itself.
 *
 * Audit rows use entity type `routing` and the rule name as entity id (GET /v1/audit?entityType=routing&entityId=…).
 */
import { appendAudit } from '../db/repositories/audit';
import { currentSettings } from '../db/repositories/settings';
import { getQuarantine, quarantinedSources, quarantineSource, sourceEvidence, sourcesOfCampaign, type QuarantineRow } from '../db/repositories/sources';
import { withTenant, type Tx } from '../db/tenant';
import { ENGINE_VERSION } from '../domain/engineVersion';
import { decideSource, DEFAULT_SOURCE_THRESHOLDS, type SourceDecision, type SourceEvidence } from '../domain/sourceQuality';
import type { Features, Mode } from '../domain/settings';
import type { SmartleadActivityDeps } from './smartlead';

/** The mode, switches (settings.thresholds.features) and settings version a review decides in. */
interface SourceDecisionMode {
  mode: Mode;
  version: number;
  features?: Partial<Features>;
}

export interface ReviewSourcesInput {
  organizationId: string;
  campaignId: string;
  /** The pass's decision key (recorded with what the review writes). */
  decisionKey: string;
}

export interface ReviewSourcesResult {
  /** Every quarantined source of the organization after the review, with its reason, in name order. */
  quarantined: { source: string; reason: string }[];
}

/** The audit sentence starts with a capital ("Routing rule "X" quarantined: …"). */
export const sentenceCase = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** One breach of a source: the source and the counting period its evidence came from (stable across passes). */
export const breachKey = (source: string, countsFrom: Date | null): string => `source:${source}@${countsFrom === null ? 'start' : countsFrom.toISOString()}`;

/** What the audit row and the quarantine's evidence record of a verdict. */
export function evidenceOf(source: string, decision: SourceDecision, counts: { pushed: number; listBounced: number }, countsFrom: Date | null) {
  const t = DEFAULT_SOURCE_THRESHOLDS;
  return {
    source,
    pushed: counts.pushed,
    listBounced: counts.listBounced,
    rate: decision.verdict.rate,
    threshold: t.listQualityBounceRate,
    minSample: t.minSample,
    minBounces: t.minBounces,
    countsFrom: countsFrom?.toISOString() ?? null,
  };
}

/** Marks a source's pending quarantine recommendations applied (by a person) or superseded (by the engine). */
export async function resolveSourceRecommendations(tx: Tx, source: string, outcome: { appliedBy: string } | 'superseded'): Promise<number> {
  return tx('recommendations')
    .where({ entity_type: 'source', entity_key: source, action: 'quarantine_source', status: 'pending' })
    .update(outcome === 'superseded' ? { status: 'superseded' } : { status: 'applied', applied_at: tx.fn.now(), applied_by: outcome.appliedBy });
}

async function reviewOne(tx: Tx, input: ReviewSourcesInput, source: string, counts: { pushed: number; listBounced: number }, mode: SourceDecisionMode): Promise<void> {
  const row: QuarantineRow | undefined = await getQuarantine(tx, source);
  const evidence: SourceEvidence = { ruleId: source, ruleName: source, pushed: counts.pushed, listQualityBounces: counts.listBounced };
  const current = row?.state === 'quarantined' ? { since: row.quarantinedAt.getTime(), reason: row.reason } : null;
  const decision = decideSource({ evidence, quarantine: current, mode: mode.mode, now: Date.now(), ...(mode.features === undefined ? {} : { features: mode.features }) });
  if (decision.action === 'none') return;
  const countsFrom = row?.countsFrom ?? null;
  const key = breachKey(source, countsFrom);
  const detail = { ...evidenceOf(source, decision, counts, countsFrom), campaignId: input.campaignId, decisionKey: input.decisionKey };
  const trigger = {
    signals: ['list_quality_bounces'],
    metric: 'list_quality_bounce_rate',
    observed: { rate: decision.verdict.rate, pushed: counts.pushed, listBounced: counts.listBounced },
    threshold: { rate: DEFAULT_SOURCE_THRESHOLDS.listQualityBounceRate, minSample: DEFAULT_SOURCE_THRESHOLDS.minSample, minBounces: DEFAULT_SOURCE_THRESHOLDS.minBounces },
    window: countsFrom === null ? 'every pushed lead' : `leads pushed since ${countsFrom.toISOString()}`,
  };
  const audit = (action: string): Promise<boolean> =>
    appendAudit(tx, {
      organizationId: input.organizationId,
      entityType: 'routing',
      entityId: source,
      action,
      actor: 'system',
      trigger,
      message: sentenceCase(decision.sentence),
      engineVersion: ENGINE_VERSION,
      mode: mode.mode,
      settingsVersion: mode.version,
      idempotencyKey: `${action}/${key}`,
    });
  switch (decision.action) {
    case 'quarantine': {
      const quarantined = await quarantineSource(tx, { organizationId: input.organizationId, source, reason: decision.verdict.reason, evidence: detail, mode: mode.mode });
      if (quarantined === undefined) return;
      await resolveSourceRecommendations(tx, source, 'superseded');
      await audit('source_quarantined');
      return;
    }
    case 'recommend_quarantine': {
      const inserted = (await tx('recommendations')
        .insert({
          organization_id: input.organizationId,
          entity_type: 'source',
          entity_key: source,
          action: 'quarantine_source',
          decision_id: key,
          status: 'pending',
          message: sentenceCase(decision.sentence),
          trigger: JSON.stringify({ ...trigger, reason: decision.verdict.reason, evidence: detail }),
          settings_version: mode.version,
        })
        .onConflict(['organization_id', 'decision_id'])
        .ignore()
        .returning('id')) as { id: string }[];
      if (inserted.length > 0) await audit('source_quarantine_recommended');
      return;
    }
    case 'audit':
      await audit('source_quarantine_observed');
      return;
  }
}

/** reviewSources in the caller's transaction (tenant already set). */
export async function reviewSourcesIn(tx: Tx, input: ReviewSourcesInput): Promise<ReviewSourcesResult> {
  const settings = await currentSettings(tx);
  const sources = await sourcesOfCampaign(tx, input.campaignId);
  const evidence = await sourceEvidence(tx, sources);
  for (const source of sources) {
    const counts = evidence.get(source);
    if (counts !== undefined) await reviewOne(tx, input, source, counts, { mode: settings.mode, version: settings.version, features: settings.thresholds.features });
  }
  const quarantined = await quarantinedSources(tx);
  return { quarantined: [...quarantined].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([source, q]) => ({ source, reason: q.reason })) };
}

export function createSourceQualityActivities(deps: Pick<SmartleadActivityDeps, 'db'>) {
  return {
    /** Judges the sources of a campaign's pushed leads and acts per mode; idempotent per breach. See the file header. */
    async reviewSources(input: ReviewSourcesInput): Promise<ReviewSourcesResult> {
      return withTenant(deps.db, input.organizationId, (tx) => reviewSourcesIn(tx, input));
    },
  };
}
