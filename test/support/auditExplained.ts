/**
 * Issue 11's rule for the end-to-end suites: every action Drason takes leaves exactly one audit entry, and its
 * sentence names the entity, the metric and the threshold (an automated action), or the entity, the person and their
 * reason (a manual one). `unexplained` returns each entry that breaks it, with why, for an assertion message.
 */
import { callJson, type Json } from './api';

/** Audit actions that record something Drason did (or, in observe and suggest mode, would do) to an entity. */
const ACTION_TAKEN = /_(paused|resumed|suspended|unsuspended|quarantined|automation_stopped|released)$|^lead_pushed$/;

/** A metric named in words (what was measured). */
const METRIC = /\b(rate|risk score|bounces?|failures?|degraded|sends?|bad addresses|gate condition|invalid addresses)\b/i;
/** A threshold named with its value: "threshold 5%", "limit of 4%", "at least 2", "maximum of 70", "≤ 70", "above 5%". */
const THRESHOLD = /(threshold|limit|at least|maximum|minimum|above|below|≤|≥|<|>)[^.]*?\d/i;

export interface AuditItem {
  id: string;
  at: string;
  entityType: string;
  entityId: string;
  action: string;
  actor: string;
  message: string;
  trigger?: Json;
}

const isManual = (a: AuditItem): boolean => a.actor.startsWith('api-key:') || a.actor.startsWith('console:');

/** Each action-taking entry that does not explain itself, or repeats another (same entity, action and decision). */
export function unexplained(items: AuditItem[], names: (a: AuditItem) => string[] = (a) => [a.entityId]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, AuditItem>();
  for (const a of items.filter((x) => ACTION_TAKEN.test(x.action))) {
    const text = a.message.toLowerCase();
    const why: string[] = [];
    if (!names(a).some((n) => text.includes(n.toLowerCase()))) why.push(`does not name ${a.entityType} ${a.entityId}`);
    if (isManual(a)) {
      if (!/\b(by|reason)\b/i.test(a.message)) why.push('does not say who acted and why');
    } else {
      if (!METRIC.test(a.message)) why.push('names no metric');
      if (!THRESHOLD.test(a.message)) why.push('names no threshold');
    }
    const decision = typeof a.trigger?.decisionId === 'string' ? a.trigger.decisionId : a.at;
    const key = `${a.entityType}\u0000${a.entityId}\u0000${a.action}\u0000${decision}`;
    if (seen.has(key)) why.push(`repeats entry ${seen.get(key)!.id}`);
    seen.set(key, a);
    if (why.length > 0) problems.push(`#${a.id} ${a.entityType} ${a.entityId} ${a.action} (${a.actor}): ${why.join('; ')} — "${a.message}"`);
  }
  return problems;
}

/** Every audit entry of the key's organization, newest first (all pages). */
export async function allAudit(apiUrl: string, key: string): Promise<AuditItem[]> {
  const items: AuditItem[] = [];
  let cursor: string | null = null;
  do {
    const reply = await callJson(apiUrl, 'GET', `/v1/audit?limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, key);
    if (reply.status !== 200) throw new Error(`GET /v1/audit: ${reply.status} ${JSON.stringify(reply.json)}`);
    items.push(...(reply.json.items as AuditItem[]));
    cursor = (reply.json.nextCursor as string | null) ?? null;
  } while (cursor !== null);
  return items;
}
