/**
 * Routing rules: `routing_rules` holds the current ordered list (what the router reads by position);
 * `routing_rule_versions` is its append-only history, one numbered version per accepted change.
 * Every function runs inside `withTenant`: row-level security scopes them to the current organization.
 */
import type { Tx } from '../tenant';
import type { RoutingRule } from '../../domain/routing';

export interface VersionedRoutingRules {
  /** 0 before the first change. */
  version: number;
  rules: RoutingRule[];
  /** When the current version was saved; null before the first change. */
  updatedAt: string | null;
}

interface RuleRow {
  name: string;
  when: RoutingRule['when'];
  campaign_id: string;
}

/**
 * The current rules in order, with their version. `lock` serialises concurrent changes on the organization row
 * (as settings do), so two changes never compute the same next version.
 */
export async function currentRoutingRules(tx: Tx, options: { lock?: boolean } = {}): Promise<VersionedRoutingRules> {
  if (options.lock === true) await tx.raw('select 1 from organizations where id = drason_current_org() for update');
  const rows = (await tx('routing_rules').orderBy('position', 'asc').select('name', 'when', 'campaign_id')) as RuleRow[];
  const latest = (await tx('routing_rule_versions').orderBy('version', 'desc').first('version', 'created_at')) as { version: number; created_at: Date } | undefined;
  return {
    version: latest?.version ?? 0,
    rules: rows.map((r) => ({ name: r.name, when: r.when, campaignId: r.campaign_id })),
    updatedAt: latest === undefined ? null : latest.created_at.toISOString(),
  };
}

/** The organization's campaigns as `validateRuleCampaigns` reads them: every known id, and those deleted in Smartlead. */
export async function campaignIdsForRouting(tx: Tx, campaignIds: readonly string[]): Promise<{ known: string[]; deleted: string[] }> {
  if (campaignIds.length === 0) return { known: [], deleted: [] };
  const rows = (await tx('campaigns').whereIn('campaign_id', [...new Set(campaignIds)]).select('campaign_id', 'deleted_externally_at')) as {
    campaign_id: string;
    deleted_externally_at: Date | null;
  }[];
  return { known: rows.map((r) => r.campaign_id), deleted: rows.filter((r) => r.deleted_externally_at !== null).map((r) => r.campaign_id) };
}

/**
 * Replaces the ordered list (positions 0..n-1) and appends it as the next version. Leads are not touched: a rule
 * change routes new leads only. Call with the lock held (`currentRoutingRules(tx, {lock: true})`).
 */
export async function saveNextRoutingVersion(
  tx: Tx,
  organizationId: string,
  previousVersion: number,
  rules: readonly RoutingRule[],
  actor: string,
): Promise<{ version: number; updatedAt: string }> {
  const version = previousVersion + 1;
  await tx('routing_rules').delete();
  if (rules.length > 0) {
    await tx('routing_rules').insert(
      rules.map((rule, position) => ({ organization_id: organizationId, position, name: rule.name, when: JSON.stringify(rule.when), campaign_id: rule.campaignId })),
    );
  }
  const [row] = (await tx('routing_rule_versions')
    .insert({ organization_id: organizationId, version, rules: JSON.stringify(rules), actor })
    .returning('created_at')) as { created_at: Date }[];
  return { version, updatedAt: row!.created_at.toISOString() };
}
