/**
 * Commands for entity workflows (entity_commands, migrations/006_mailbox_engine.ts): the API stores one in the
 * transaction that accepts the request, and the relay (src/services/eventRelay.ts) delivers it as a signal and
 * deletes it. A request therefore never waits for Temporal, and a stored command is delivered however long Temporal
 * is away.
 *
 * Kinds and their payloads (the signal payloads of src/workflows/mailboxSignals.ts):
 * - `override` (entity: a mailbox, key = lower-case email): OverrideCommand;
 * - `apply_recommendation` (entity: the recommendation's): ApplyRecommendationCommand;
 * - `settings_changed` (entity: the organization, key = its id): `{version, after?}`; the relay fans it out, a page
 *   of mailboxes per round, keeping its place in `after` (the last mailbox key signalled).
 *
 * Delivery order per entity is the order of storing: an entity whose command failed backs off as a whole, so a
 * resume is never delivered before the pause stored ahead of it.
 */
import crypto from 'node:crypto';
import type { Tx } from '../tenant';

export const COMMAND_KINDS = ['override', 'apply_recommendation', 'settings_changed'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];
export type CommandEntityType = 'mailbox' | 'domain' | 'campaign' | 'organization';

export interface NewCommand {
  organizationId: string;
  entityType: CommandEntityType;
  entityKey: string;
  kind: CommandKind;
  /** Who asked, as audit rows name them (src/api/auth.ts actorOf). */
  actor: string;
  /** The signal's payload (stored as is) for the new command's id; for settings_changed `{version}`. */
  payload: (commandId: string) => object;
}

/** Stores a command (with a new command id) for the relay to deliver; returns its command id. Poke the relay after commit. */
export async function enqueueCommand(tx: Tx, command: NewCommand): Promise<string> {
  const commandId = crypto.randomUUID();
  await tx('entity_commands').insert({
    organization_id: command.organizationId,
    command_id: commandId,
    entity_type: command.entityType,
    entity_key: command.entityKey,
    kind: command.kind,
    payload: JSON.stringify(command.payload(commandId)),
    actor: command.actor,
  });
  return commandId;
}

export interface StoredCommand {
  id: number;
  commandId: string;
  entityType: CommandEntityType;
  entityKey: string;
  kind: CommandKind;
  payload: Record<string, unknown>;
  actor: string;
  attempts: number;
}

/**
 * The current organization's due commands, oldest first, claimed FOR UPDATE SKIP LOCKED (held until the caller's
 * transaction ends), or undefined when another relay is delivering this organization's commands right now.
 *
 * A command waits while an older command of the same entity is backing off, so an entity's commands arrive in the
 * order they were stored. Older settings_changed commands are superseded by the newest one (it fans out to every
 * mailbox afresh) and deleted first. Only mailbox and organization commands are claimed (domain and campaign
 * workflows arrive with issue 9).
 */
export async function claimDueCommands(tx: Tx, organizationId: string, limit: number): Promise<StoredCommand[] | undefined> {
  const lock = await tx.raw<{ rows: { locked: boolean }[] }>(`select pg_try_advisory_xact_lock(hashtextextended('drason-commands:' || ?, 0)) as locked`, [
    organizationId,
  ]);
  if (lock.rows[0]?.locked !== true) return undefined;
  await tx.raw(`delete from entity_commands
                 where kind = 'settings_changed'
                   and id < (select max(n.id) from entity_commands n where n.kind = 'settings_changed')`);
  const { rows } = await tx.raw<{
    rows: { id: string; command_id: string; entity_type: CommandEntityType; entity_key: string; kind: CommandKind; payload: Record<string, unknown>; actor: string; attempts: number }[];
  }>(
    `select c.id, c.command_id, c.entity_type, c.entity_key, c.kind, c.payload, c.actor, c.attempts
       from entity_commands c
      where c.organization_id = drason_current_org() and c.next_attempt_at <= now() and c.entity_type in ('mailbox', 'organization')
        and not exists (select 1 from entity_commands p
                         where p.organization_id = c.organization_id and p.entity_type = c.entity_type and p.entity_key = c.entity_key
                           and p.id < c.id and p.next_attempt_at > now())
      order by c.id limit ? for update of c skip locked`,
    [limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    commandId: r.command_id,
    entityType: r.entity_type,
    entityKey: r.entity_key,
    kind: r.kind,
    payload: r.payload,
    actor: r.actor,
    attempts: r.attempts,
  }));
}

/** Delivered commands leave the queue. */
export async function deleteCommands(tx: Tx, ids: number[]): Promise<void> {
  if (ids.length > 0) await tx('entity_commands').whereIn('id', ids).delete();
}

/** A command whose signal failed backs off, doubling from 5 seconds to 5 minutes (as a mailbox's bounces do). */
export async function backOffCommand(tx: Tx, id: number, error: string): Promise<void> {
  await tx('entity_commands')
    .where({ id })
    .update({
      attempts: tx.raw('attempts + 1'),
      next_attempt_at: tx.raw(`now() + least(interval '5 minutes', interval '5 seconds' * power(2, attempts))`),
      last_error: error.slice(0, 500),
    });
}

/** A settings_changed fan-out that signalled one page keeps its place (and starts its attempts afresh). */
export async function advanceFanOut(tx: Tx, id: number, after: string): Promise<void> {
  await tx('entity_commands')
    .where({ id })
    .update({ payload: tx.raw(`payload || jsonb_build_object('after', ?::text)`, [after]), attempts: 0, last_error: null });
}

/**
 * The mailboxes whose decision a settings change could change, in key order after `after`: those not healthy, and
 * those with hard bounces or failures in the counters of the last 7 days. A healthy mailbox without a bounce has
 * nothing to re-decide (a threshold cannot be breached by zero bounces).
 */
export async function mailboxesToResettle(tx: Tx, after: string | undefined, limit: number): Promise<string[]> {
  const { rows } = await tx.raw<{ rows: { key: string }[] }>(
    `select m.email_key as key from mailboxes m
      where m.organization_id = drason_current_org() and m.email_key > ?
        and (m.state <> 'healthy'
             or exists (select 1 from entity_counters c
                         where c.organization_id = m.organization_id and c.entity_type = 'mailbox' and c.entity_key = m.email_key
                           and c.bucket_start > now() - interval '7 days' and (c.hard_bounces > 0 or c.failures > 0)))
      order by m.email_key limit ?`,
    [after ?? '', limit],
  );
  return rows.map((r) => r.key);
}

/** Commands waiting (the current organization's): for tests and diagnostics. */
export async function pendingCommands(tx: Tx): Promise<{ kind: CommandKind; entityKey: string; attempts: number; payload: Record<string, unknown> }[]> {
  const rows = (await tx('entity_commands').orderBy('id').select('kind', 'entity_key', 'attempts', 'payload')) as {
    kind: CommandKind;
    entity_key: string;
    attempts: number;
    payload: Record<string, unknown>;
  }[];
  return rows.map((r) => ({ kind: r.kind, entityKey: r.entity_key, attempts: r.attempts, payload: r.payload }));
}
