/**
 * Recommendations (migrations/006_mailbox_engine.ts): what an engine — a mailbox's, a campaign's or a domain's —
 * would do in suggest mode, written by its activity (src/activities), read by GET /v1/recommendations and applied
 * through POST /v1/recommendations/:id/apply, which stores an apply_recommendation command (./commands.ts) for the
 * recommendation's own entity; that entity's workflow marks the recommendation applied.
 */
import type { Tx } from '../tenant';

export const RECOMMENDATION_STATUSES = ['pending', 'applied', 'superseded'] as const;
export type RecommendationStatus = (typeof RECOMMENDATION_STATUSES)[number];

export const RECOMMENDATION_ENTITY_TYPES = ['mailbox', 'domain', 'campaign', 'source'] as const;
export const RECOMMENDATION_ACTIONS = ['pause', 'resume', 'push_leads', 'quarantine_source'] as const;

export interface RecommendationRecord {
  id: string;
  entityType: (typeof RECOMMENDATION_ENTITY_TYPES)[number];
  /** The entity's key: mailbox email (lower-case), domain name, campaign id or source (routing rule) name. */
  entityId: string;
  action: (typeof RECOMMENDATION_ACTIONS)[number];
  decisionId: string;
  status: RecommendationStatus;
  message: string;
  trigger: Record<string, unknown>;
  settingsVersion: number | null;
  createdAt: Date;
  appliedAt: Date | null;
  appliedBy: string | null;
  /** created_at as PostgreSQL prints it (microseconds and offset): the exact keyset position. */
  position: string;
}

interface Row {
  id: string;
  entity_type: RecommendationRecord['entityType'];
  entity_key: string;
  action: RecommendationRecord['action'];
  decision_id: string;
  status: RecommendationStatus;
  message: string;
  trigger: Record<string, unknown>;
  settings_version: number | null;
  created_at: Date;
  applied_at: Date | null;
  applied_by: string | null;
  position: string;
}

const COLUMNS = [
  'id',
  'entity_type',
  'entity_key',
  'action',
  'decision_id',
  'status',
  'message',
  'trigger',
  'settings_version',
  'created_at',
  'applied_at',
  'applied_by',
] as const;

const recordOf = (r: Row): RecommendationRecord => ({
  id: r.id,
  entityType: r.entity_type,
  entityId: r.entity_key,
  action: r.action,
  decisionId: r.decision_id,
  status: r.status,
  message: r.message,
  trigger: r.trigger,
  settingsVersion: r.settings_version,
  createdAt: r.created_at,
  appliedAt: r.applied_at,
  appliedBy: r.applied_by,
  position: r.position,
});

/** A keyset page, newest first (created_at, then id, descending), of every kind of entity or of one; optionally of one status. */
export async function listRecommendations(
  tx: Tx,
  page: {
    limit: number;
    status?: RecommendationStatus | undefined;
    entityType?: RecommendationRecord['entityType'] | undefined;
    after?: { position: string; id: string } | undefined;
  },
): Promise<RecommendationRecord[]> {
  const q = tx('recommendations')
    .select(...COLUMNS, tx.raw('created_at::text as position'))
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(page.limit);
  if (page.status !== undefined) q.where('status', page.status);
  if (page.entityType !== undefined) q.where('entity_type', page.entityType);
  if (page.after !== undefined) q.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [page.after.position, page.after.id]);
  return ((await q) as Row[]).map(recordOf);
}

/** One recommendation by id (another organization's is invisible); `lock` holds it until the transaction ends. */
export async function getRecommendation(tx: Tx, id: string, options: { lock?: boolean } = {}): Promise<RecommendationRecord | undefined> {
  const q = tx('recommendations').where({ id }).first(...COLUMNS, tx.raw('created_at::text as position'));
  if (options.lock === true) q.forUpdate();
  const row = (await q) as Row | undefined;
  return row === undefined ? undefined : recordOf(row);
}

/** The command id of an apply of this recommendation still waiting for the relay, if any (a repeated apply reuses it). */
export async function pendingApplyOf(tx: Tx, recommendationId: string): Promise<string | undefined> {
  const row = (await tx('entity_commands')
    .where({ kind: 'apply_recommendation' })
    .whereRaw(`payload->>'recommendationId' = ?`, [recommendationId])
    .first('command_id')) as { command_id: string } | undefined;
  return row?.command_id;
}
