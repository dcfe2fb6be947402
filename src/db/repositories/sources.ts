/**
 * Lead sources and their quarantines (migrations/010_lead_lifecycle.ts; the rules in src/domain/sourceQuality.ts).
 * A source is a routing rule, keyed by its name (`leads.routing_rule`). Its evidence: its leads pushed to Smartlead
 * (`pushed_at`) since `counts_from` (set when a person releases it), and how many of those hard-bounced as list
 * quality (`list_bounced_at`, set by the relay's count stage: src/db/repositories/relay.ts).
 *
 * `source_quarantines` holds one row per organization and source once it was quarantined (state `quarantined`, or
 * `released` by a person). Rows are never deleted: a released row keeps who released it and from when the evidence
 * counts again.
 */
import type { Tx } from '../tenant';
import type { Mode } from '../../domain/settings';

export interface SourceCounts {
  /** Leads of the source pushed since its counts_from (all, when never released). */
  pushed: number;
  /** Of those, leads with a list-quality hard bounce. */
  listBounced: number;
}

export interface QuarantineRow {
  source: string;
  state: 'quarantined' | 'released';
  reason: string;
  evidence: Record<string, unknown>;
  mode: Mode;
  quarantinedAt: Date;
  releasedAt: Date | null;
  releasedBy: string | null;
  countsFrom: Date | null;
}

interface Row {
  source_key: string;
  state: QuarantineRow['state'];
  reason: string;
  evidence: Record<string, unknown>;
  mode: Mode;
  quarantined_at: Date;
  released_at: Date | null;
  released_by: string | null;
  counts_from: Date | null;
}

const COLUMNS = ['source_key', 'state', 'reason', 'evidence', 'mode', 'quarantined_at', 'released_at', 'released_by', 'counts_from'] as const;

const rowOf = (r: Row): QuarantineRow => ({
  source: r.source_key,
  state: r.state,
  reason: r.reason,
  evidence: r.evidence,
  mode: r.mode,
  quarantinedAt: r.quarantined_at,
  releasedAt: r.released_at,
  releasedBy: r.released_by,
  countsFrom: r.counts_from,
});

/**
 * Each source's evidence (pushed since its counts_from, list-bounced among them); only `sources` when given.
 * A source without pushed leads is absent.
 */
export async function sourceEvidence(tx: Tx, sources?: readonly string[]): Promise<Map<string, SourceCounts>> {
  if (sources !== undefined && sources.length === 0) return new Map();
  const { rows } = await tx.raw<{ rows: { source: string; pushed: number; list_bounced: number }[] }>(
    `select l.routing_rule as source, count(*)::int as pushed, count(l.list_bounced_at)::int as list_bounced
       from leads l
       left join source_quarantines q on q.organization_id = l.organization_id and q.source_key = l.routing_rule
      where l.organization_id = drason_current_org() and l.routing_rule is not null and l.pushed_at is not null
        and (q.counts_from is null or l.pushed_at >= q.counts_from)
        ${sources === undefined ? '' : 'and l.routing_rule = any(?::text[])'}
      group by l.routing_rule`,
    sources === undefined ? [] : [[...sources]],
  );
  return new Map(rows.map((r) => [r.source, { pushed: r.pushed, listBounced: r.list_bounced }]));
}

/** The sources of the leads pushed to a campaign (what a review of that campaign judges), in name order. */
export async function sourcesOfCampaign(tx: Tx, campaignId: string): Promise<string[]> {
  const rows = (await tx('leads')
    .where({ assigned_campaign_id: campaignId })
    .whereNotNull('pushed_at')
    .whereNotNull('routing_rule')
    .distinct('routing_rule')
    .orderBy('routing_rule')) as { routing_rule: string }[];
  return rows.map((r) => r.routing_rule);
}

/** A source's quarantine in force: why, and since when. */
export interface ActiveQuarantine {
  reason: string;
  since: Date;
}

/**
 * Quarantined sources (state `quarantined` only), newest first: what the execution gate holds leads for and the
 * overview lists. `only`: just these sources.
 */
export async function quarantinedSources(tx: Tx, only?: readonly string[]): Promise<Map<string, ActiveQuarantine>> {
  if (only !== undefined && only.length === 0) return new Map();
  const q = tx('source_quarantines').where({ state: 'quarantined' }).orderBy('quarantined_at', 'desc').select('source_key', 'reason', 'quarantined_at');
  if (only !== undefined) q.whereIn('source_key', only);
  const rows = (await q) as { source_key: string; reason: string; quarantined_at: Date }[];
  return new Map(rows.map((r) => [r.source_key, { reason: r.reason, since: r.quarantined_at }]));
}

/** One source's quarantine row, if it ever had one; `lock` holds it until the transaction ends. */
export async function getQuarantine(tx: Tx, source: string, options: { lock?: boolean } = {}): Promise<QuarantineRow | undefined> {
  const q = tx('source_quarantines').where({ source_key: source }).first(...COLUMNS);
  if (options.lock === true) q.forUpdate();
  const row = (await q) as Row | undefined;
  return row === undefined ? undefined : rowOf(row);
}

/** Every quarantine row of the organization (released ones too). */
export async function allQuarantines(tx: Tx): Promise<QuarantineRow[]> {
  return ((await tx('source_quarantines').orderBy('source_key').select(...COLUMNS)) as Row[]).map(rowOf);
}

export interface NewQuarantine {
  organizationId: string;
  source: string;
  reason: string;
  evidence: Record<string, unknown>;
  mode: Mode;
}

/**
 * Quarantines a source: a new row, or a released one quarantined again (its counts_from stays: the evidence that
 * breached counted from it). Returns the row when this call quarantined it, undefined when it already was
 * (concurrent callers: exactly one gets the row).
 */
export async function quarantineSource(tx: Tx, q: NewQuarantine): Promise<QuarantineRow | undefined> {
  const rows = (await tx('source_quarantines')
    .insert({ organization_id: q.organizationId, source_key: q.source, state: 'quarantined', reason: q.reason, evidence: JSON.stringify(q.evidence), mode: q.mode })
    .onConflict(['organization_id', 'source_key'])
    .merge({
      state: 'quarantined',
      reason: q.reason,
      evidence: tx.raw('excluded.evidence'),
      mode: q.mode,
      quarantined_at: tx.fn.now(),
      released_at: null,
      released_by: null,
      updated_at: tx.fn.now(),
    })
    .where('source_quarantines.state', '<>', 'quarantined')
    .returning([...COLUMNS])) as Row[];
  return rows[0] === undefined ? undefined : rowOf(rows[0]);
}

/**
 * A person releases a quarantined source: state released, who and when, and its evidence counts afresh from now.
 * Returns the released row, or undefined when it was not quarantined.
 */
export async function releaseQuarantine(tx: Tx, source: string, actor: string): Promise<QuarantineRow | undefined> {
  const rows = (await tx('source_quarantines')
    .where({ source_key: source, state: 'quarantined' })
    .update({ state: 'released', released_at: tx.fn.now(), released_by: actor, counts_from: tx.fn.now(), updated_at: tx.fn.now() })
    .returning([...COLUMNS])) as Row[];
  return rows[0] === undefined ? undefined : rowOf(rows[0]);
}

/** The campaigns that hold leads of a source (what a release lets their lead push workflows look at again). */
export async function campaignsHoldingLeadsOf(tx: Tx, source: string): Promise<string[]> {
  const rows = (await tx('leads')
    .where({ routing_rule: source, status: 'held' })
    .whereNotNull('assigned_campaign_id')
    .distinct('assigned_campaign_id')
    .orderBy('assigned_campaign_id')) as { assigned_campaign_id: string }[];
  return rows.map((r) => r.assigned_campaign_id);
}

export interface SourceListItem extends SourceCounts {
  source: string;
  quarantine: QuarantineRow | undefined;
}

/** Every source with pushed leads or a quarantine row, in name order (GET /v1/sources). */
export async function listSources(tx: Tx): Promise<SourceListItem[]> {
  const evidence = await sourceEvidence(tx);
  const quarantines = await allQuarantines(tx);
  const byName = new Map(quarantines.map((q) => [q.source, q]));
  const names = [...new Set([...evidence.keys(), ...byName.keys()])].sort();
  return names.map((source) => ({ source, pushed: evidence.get(source)?.pushed ?? 0, listBounced: evidence.get(source)?.listBounced ?? 0, quarantine: byName.get(source) }));
}

/** Whether the organization knows a source: a lead routed by it, or a quarantine row. */
export async function sourceExists(tx: Tx, source: string): Promise<boolean> {
  if ((await getQuarantine(tx, source)) !== undefined) return true;
  return (await tx('leads').where({ routing_rule: source }).first('id')) !== undefined;
}
