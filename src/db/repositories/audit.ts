/** The append-only audit log. Rows are only ever inserted; reads are tenant-scoped by RLS and by filter. */
import type { Db } from '../knex';
import type { Tx } from '../tenant';

export interface AuditTrigger {
  signals?: string[];
  metric?: string;
  observed?: unknown;
  threshold?: unknown;
  window?: string;
  /** Which stored events (event-store sequence numbers) the entry is about. */
  sequences?: { first: number; last: number; count: number };
  /** Configuration changes: the values before and after. */
  before?: unknown;
  after?: unknown;
  /** What happened, when the writer knows it (see AuditOutcome); older rows have it derived by outcomeOf. */
  outcome?: AuditOutcome;
}

export const AUDIT_OUTCOMES = ['done', 'would_have', 'recommended', 'impossible', 'rejected', 'recorded'] as const;
/**
 * done: carried out; would_have: observe mode, nothing done; recommended: suggest mode, waits for a person;
 * impossible: could not be carried out; rejected: a payload or request refused; recorded: an observation or a
 * step that changes nothing by itself (a warning, a lead held or stored).
 */
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

const DONE_SUFFIXES = ['_paused', '_resumed', '_automation_stopped', '_created', '_revoked', '_changed', '_configured', '_rotated', '_released', '_quarantined', '_routed', '_pushed', '_completed', '_cause_added', '_cause_released', '_applied', '_manually'];

/** The stored outcome, else the one the action names (rows written before outcomes were stored). */
export function outcomeOf(action: string, trigger: AuditTrigger): AuditOutcome {
  if (trigger.outcome !== undefined && (AUDIT_OUTCOMES as readonly string[]).includes(trigger.outcome)) return trigger.outcome;
  if (action.endsWith('_rejected') || action === 'lead_refused') return 'rejected';
  if (action.includes('_would_') || action === 'source_quarantine_observed') return 'would_have';
  if (action.endsWith('_recommended')) return 'recommended';
  if (action.endsWith('_not_applicable') || action.endsWith('_broken')) return 'impossible';
  if (DONE_SUFFIXES.some((suffix) => action.endsWith(suffix))) return 'done';
  return 'recorded';
}

export interface NewAuditEntry {
  organizationId: string;
  entityType: 'lead' | 'mailbox' | 'campaign' | 'domain' | 'organization' | 'api_key' | 'integration' | 'routing' | 'settings' | 'event';
  entityId: string;
  action: string;
  actor: string;
  trigger?: AuditTrigger;
  message: string;
  engineVersion: string;
  /** Defaults to the organization's current settings version. */
  settingsVersion?: number;
  /** When set, a second insert with the same key is a no-op (retried activities). */
  idempotencyKey?: string;
  /** Defaults to the organization's current mode. */
  mode?: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  entityType: string;
  entityId: string;
  action: string;
  actor: string;
  mode: string;
  trigger: AuditTrigger;
  engineVersion: string;
  settingsVersion: number;
  message: string;
  outcome: AuditOutcome;
}

interface AuditRow {
  id: number;
  at: Date;
  entity_type: string;
  entity_id: string;
  action: string;
  actor: string;
  mode: string;
  trigger: AuditTrigger;
  engine_version: string;
  settings_version: number;
  message: string;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: String(r.id),
  at: r.at.toISOString(),
  entityType: r.entity_type,
  entityId: r.entity_id,
  action: r.action,
  actor: r.actor,
  mode: r.mode,
  trigger: r.trigger,
  engineVersion: r.engine_version,
  settingsVersion: r.settings_version,
  message: r.message,
  outcome: outcomeOf(r.action, r.trigger),
});

/**
 * Appends an entry; returns false when an entry with the same idempotency key already exists. One statement
 * (`drason_append_audit`, migrations/016): inside a transaction it joins it, and outside one it is one round trip
 * on its own (`recordAudit`). Mode and settings version default to the organization's current ones.
 */
export async function appendAudit(db: Tx | Db, entry: NewAuditEntry): Promise<boolean> {
  const result = await db.raw<{ rows: { appended: boolean }[] }>('select drason_append_audit(?, ?::jsonb) as appended', [
    entry.organizationId,
    JSON.stringify({
      entityType: entry.entityType,
      entityId: entry.entityId,
      action: entry.action,
      actor: entry.actor,
      mode: entry.mode,
      settingsVersion: entry.settingsVersion,
      trigger: entry.trigger ?? {},
      engineVersion: entry.engineVersion,
      message: entry.message,
      idempotencyKey: entry.idempotencyKey,
    }),
  ]);
  return result.rows[0]?.appended === true;
}

export interface AuditFilter {
  entityType?: string;
  entityId?: string;
  /** Exact, or a prefix when it ends with `*` (`mailbox_*`). */
  action?: string;
  actor?: string;
  since?: Date;
  until?: Date;
  /** Exclusive upper bound on id, for cursor paging (newest first). */
  beforeId?: number;
  limit: number;
}

/** Newest first. */
export async function listAudit(tx: Tx, filter: AuditFilter): Promise<AuditEntry[]> {
  const q = tx<AuditRow>('audit_log').select('*').orderBy('id', 'desc').limit(filter.limit);
  if (filter.entityType !== undefined) q.where('entity_type', filter.entityType);
  if (filter.entityId !== undefined) q.where('entity_id', filter.entityId);
  if (filter.action !== undefined) {
    if (filter.action.endsWith('*')) q.where('action', 'like', `${filter.action.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`);
    else q.where('action', filter.action);
  }
  if (filter.actor !== undefined) q.where('actor', filter.actor);
  if (filter.since !== undefined) q.where('at', '>=', filter.since);
  if (filter.until !== undefined) q.where('at', '<', filter.until);
  if (filter.beforeId !== undefined) q.where('id', '<', filter.beforeId);
  return (await q).map(toEntry);
}
