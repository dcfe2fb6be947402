/**
 * What every engine's act activity writes for one decision (mailbox: src/activities/mailboxEngine.ts; campaign and
 * domain: src/activities/escalation.ts), in the transaction that closes it: the recommendation it makes or resolves
 * (suggest mode), the audit entry keyed by the decision id, and the ledger row (entity_actions) that makes the next
 * attempt a no-op. Also the ledger lookup that opens every attempt, and the one audit entry of a retried failure.
 */
import { appendAudit } from '../db/repositories/audit';
import type { Tx } from '../db/tenant';
import { ENGINE_VERSION } from '../domain/engineVersion';
import type { Command, Explanation, MailboxState } from '../domain/mailboxMachine';
import { recordDecision } from '../lib/metrics';

export type ActionOutcome = 'done' | 'would_have' | 'recommended' | 'impossible';
export type EngineEntityType = 'mailbox' | 'campaign' | 'domain';

export interface DecisionSubject {
  organizationId: string;
  entityType: EngineEntityType;
  /** Lower-case email, campaign id, or lower-case domain name. */
  entityKey: string;
}

/** What an entity's row says after a decision (mailboxes, campaigns and domains keep the same engine columns). */
export interface EngineRow {
  state: MailboxState;
  riskScore: number;
  cooldownUntil: number | null;
  stateChangedAt: number;
  /** An escalation loop stopped its automation (null: it is not stopped). Absent (older mailbox workflows): left as stored. */
  automationStopped?: { at: number; reason: string } | null;
}

/** The engine columns of an entity's row for a decision and the row it reports. */
export function engineRowColumns(row: EngineRow, e: Explanation): Record<string, unknown> {
  return {
    state: row.state,
    pause_reason: e.pauseReason,
    risk_score: row.riskScore,
    cooldown_until: row.cooldownUntil === null ? null : new Date(row.cooldownUntil),
    state_changed_at: new Date(row.stateChangedAt),
    settings_version: e.settingsVersion,
    ...(row.automationStopped === undefined
      ? {}
      : { automation_stopped_at: row.automationStopped === null ? null : new Date(row.automationStopped.at), automation_stopped_reason: row.automationStopped?.reason ?? null }),
  };
}

/** The ledger row of a decision already carried out, if any. */
export async function recordedOutcome<D>(tx: Tx, decisionId: string): Promise<{ outcome: ActionOutcome; detail: D } | undefined> {
  return (await tx('entity_actions').where({ decision_id: decisionId }).first('outcome', 'detail')) as { outcome: ActionOutcome; detail: D } | undefined;
}

/**
 * Opens the transaction that closes a decision: attempts of one decision that overlap (a retry started while the
 * first still ran) take turns on its lock, and the later one finds the decision recorded (returned) and writes nothing.
 */
export async function lockDecision<D>(tx: Tx, decisionId: string): Promise<{ outcome: ActionOutcome; detail: D } | undefined> {
  await tx.raw(`select pg_advisory_xact_lock(hashtextextended('drason-decision:' || ?, 0))`, [decisionId]);
  return recordedOutcome<D>(tx, decisionId);
}

/** The decision's recommendation work: a new recommendation (suggest mode), and the ones it supersedes or resolves. */
export async function writeRecommendations(tx: Tx, subject: DecisionSubject, e: Explanation, commands: readonly Command[]): Promise<void> {
  const recommend = commands.find((c): c is Extract<Command, { kind: 'recommend' }> => c.kind === 'recommend');
  if (recommend !== undefined) {
    await tx('recommendations')
      .insert({
        organization_id: subject.organizationId,
        entity_type: subject.entityType,
        entity_key: subject.entityKey,
        action: recommend.action,
        decision_id: e.decisionId,
        status: 'pending',
        message: e.message,
        trigger: JSON.stringify(e.trigger),
        settings_version: e.settingsVersion,
      })
      .onConflict(['organization_id', 'decision_id'])
      .ignore();
  }
  for (const c of commands) {
    if (c.kind === 'supersede_recommendation') {
      await tx('recommendations').where({ decision_id: c.decisionId, status: 'pending' }).update({ status: 'superseded' });
    }
    if (c.kind === 'resolve_recommendation') {
      await tx('recommendations')
        .where({ decision_id: c.decisionId, status: 'pending' })
        .update(c.status === 'applied' ? { status: 'applied', applied_at: tx.fn.now(), applied_by: c.actor } : { status: 'superseded' });
    }
  }
}

/** The decision's audit entry (idempotency key = decision id) and its ledger row. */
export async function closeDecision(tx: Tx, subject: DecisionSubject, e: Explanation, outcome: ActionOutcome, detail: object, happened: string): Promise<void> {
  await appendAudit(tx, {
    organizationId: subject.organizationId,
    entityType: subject.entityType,
    entityId: subject.entityKey,
    action: e.action,
    actor: e.actor,
    mode: e.mode,
    settingsVersion: e.settingsVersion,
    trigger: { ...e.trigger, outcome },
    engineVersion: ENGINE_VERSION,
    idempotencyKey: e.decisionId,
    message: `${e.message}${happened}`,
  });
  const inserted: unknown[] = await tx('entity_actions')
    .insert({
      organization_id: subject.organizationId,
      decision_id: e.decisionId,
      entity_type: subject.entityType,
      entity_key: subject.entityKey,
      action: e.action,
      mode: e.mode,
      outcome,
      detail: JSON.stringify(detail),
    })
    .onConflict(['organization_id', 'decision_id'])
    .ignore()
    .returning('decision_id');
  // Counted once per decision: a repeated attempt finds the ledger row and inserts nothing.
  if (inserted.length > 0) recordDecision(subject.entityType, e.action, outcome);
}

/** A retryable failure of the decision's Smartlead work: audited once however many attempts fail. */
export async function auditRetrying(tx: Tx, subject: DecisionSubject, e: Explanation, message: string): Promise<void> {
  await appendAudit(tx, {
    organizationId: subject.organizationId,
    entityType: subject.entityType,
    entityId: subject.entityKey,
    action: `${subject.entityType}_action_retrying`,
    actor: e.actor,
    mode: e.mode,
    settingsVersion: e.settingsVersion,
    trigger: e.trigger,
    engineVersion: ENGINE_VERSION,
    idempotencyKey: `${e.decisionId}#retrying`,
    message,
  });
}
