/**
 * Commands for entity workflows (entity_commands, migrations/006_mailbox_engine.ts and 007_escalation.ts): stored
 * in the transaction that decided them, delivered by the relay (src/services/eventRelay.ts) as a signal and then
 * deleted. Whoever stores one never waits for Temporal, and a stored command is delivered however long Temporal is
 * away.
 *
 * Kinds and their payloads (the signal payloads of src/workflows/mailboxSignals.ts and escalationSignals.ts):
 * - `override` (entity: a mailbox, campaign or domain): OverrideCommand, stored by the API;
 * - `apply_recommendation` (entity: the recommendation's): ApplyRecommendationCommand, stored by the API;
 * - `settings_changed` (entity: the organization, key = its id): `{version, stage?, after?}`, stored by the API; the
 *   relay fans it out a page per round to the mailboxes, then campaigns, then domains whose decision it could
 *   change, keeping its place in `stage` (absent: mailboxes) and `after` (the last key signalled);
 * - `member_state` (entity: a campaign or domain): MemberStateCommand, stored by a mailbox's act activity
 *   (src/activities/mailboxEngine.ts) when a decision changed the mailbox's state or manual hold, for its domain and
 *   each campaign it sends for (`enqueueMemberState`);
 * - `membership_changed` (entity: a campaign or domain): MembershipChangedCommand, stored by the Smartlead sync when
 *   it linked or unlinked mailboxes (`enqueueMembershipChanges`);
 * - `leads_changed` (entity type `campaign_leads`, key: the campaign id): LeadsChanged
 *   (src/workflows/leadPushWorkflow.ts), for the campaign's lead push workflow: leads routed to it, or something that
 *   blocked its held leads cleared (`enqueueLeadsChanged`). The relay delivers one signal for all of a campaign's
 *   claimed ones (each pass re-reads everything), so a burst of Clay rows costs one signal.
 * Keys: a mailbox's lower-case email, a domain's lower-case name, a campaign's Smartlead id.
 *
 * Delivery order per entity is the order of storing: an entity whose command failed backs off as a whole, so a
 * resume is never delivered before the pause stored ahead of it, nor a mailbox's recovery before its pause.
 */
import crypto from 'node:crypto';
import type { Tx } from '../tenant';
import type { MailboxState } from '../../domain/mailboxMachine';
import type { MemberStateCommand, MembershipChangedCommand } from '../../workflows/escalationSignals';
import { domainOf, normalizeEmail } from '../../workflows/ids';
import { campaignsOfMailboxes } from './membership';
import { EVENTS_CHANNEL } from './relay';

export const COMMAND_KINDS = ['override', 'apply_recommendation', 'settings_changed', 'member_state', 'membership_changed', 'leads_changed'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];
export type CommandEntityType = 'mailbox' | 'domain' | 'campaign' | 'organization' | 'campaign_leads';

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
  return (await enqueueCommands(tx, [command]))[0]!;
}

/** Stores commands in one statement, in the given order (their delivery order per entity); returns their command ids. */
export async function enqueueCommands(tx: Tx, commands: NewCommand[]): Promise<string[]> {
  const ids = commands.map(() => crypto.randomUUID());
  if (commands.length === 0) return ids;
  await tx('entity_commands').insert(
    commands.map((command, i) => ({
      organization_id: command.organizationId,
      command_id: ids[i],
      entity_type: command.entityType,
      entity_key: command.entityKey,
      kind: command.kind,
      payload: JSON.stringify(command.payload(ids[i]!)),
      actor: command.actor,
    })),
  );
  return ids;
}

/**
 * Wakes the relay when the caller's transaction commits (a NOTIFY is delivered at commit, and not at all on
 * rollback). For rare writers only, such as state changes and syncs: a notifying commit takes a database-wide lock,
 * which is why ingestion notifies from outside its transaction instead (src/services/relayWaker.ts).
 */
export async function notifyRelayAtCommit(tx: Tx): Promise<void> {
  await tx.raw('select pg_notify(?, ?)', [EVENTS_CHANNEL, '']);
}

/** A mailbox's state as one of its decisions left it (what `member_state` reports). */
export interface MemberStateChange {
  organizationId: string;
  mailbox: string;
  state: MailboxState;
  manual: boolean;
  /** When the mailbox entered the state (epoch ms). */
  at: number;
  decisionId: string;
  actor: string;
}

/**
 * Stores one `member_state` command for the mailbox's domain and one for each campaign it sends for now (synced
 * links and campaigns of its events of the last 7 days: src/db/repositories/membership.ts). Returns the entities told.
 */
export async function enqueueMemberState(tx: Tx, change: MemberStateChange): Promise<{ entityType: 'campaign' | 'domain'; entityKey: string }[]> {
  const mailbox = normalizeEmail(change.mailbox);
  const campaigns = (await campaignsOfMailboxes(tx, [mailbox], Date.now())).get(mailbox) ?? [];
  const entities = [{ entityType: 'domain' as const, entityKey: domainOf(mailbox) }, ...campaigns.map((c) => ({ entityType: 'campaign' as const, entityKey: c }))];
  await enqueueCommands(
    tx,
    entities.map((e) => ({
      organizationId: change.organizationId,
      ...e,
      kind: 'member_state',
      actor: change.actor,
      payload: (commandId): MemberStateCommand => ({ commandId, mailbox, state: change.state, manual: change.manual, at: change.at, decisionId: change.decisionId }),
    })),
  );
  return entities;
}

/** A campaign–mailbox link the Smartlead sync added or removed. */
export interface LinkChange {
  campaignId: string;
  email: string;
  linked: boolean;
}

/** Names at most this many changes in one command's detail ("… and 12 more"). */
const DETAIL_ITEMS = 10;

function detailOf(items: string[]): string {
  return items.length <= DETAIL_ITEMS ? items.join('; ') : `${items.slice(0, DETAIL_ITEMS).join('; ')}; and ${items.length - DETAIL_ITEMS} more`;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

/**
 * Stores one `membership_changed` command per campaign whose links changed (detail: `linked a@x.com; unlinked
 * b@y.com`) and one per domain with a mailbox among them (detail names the campaigns too). Returns how many.
 */
export async function enqueueMembershipChanges(tx: Tx, organizationId: string, changes: LinkChange[], actor: string): Promise<number> {
  const commands: NewCommand[] = [];
  const add = (entityType: 'campaign' | 'domain', entityKey: string, items: string[]): void => {
    commands.push({
      organizationId,
      entityType,
      entityKey,
      kind: 'membership_changed',
      actor,
      payload: (commandId): MembershipChangedCommand => ({ commandId, detail: detailOf(items) }),
    });
  };
  const link = (c: LinkChange): string => `${c.linked ? 'linked' : 'unlinked'} ${normalizeEmail(c.email)}`;
  for (const [campaignId, group] of groupBy(changes, (c) => c.campaignId)) add('campaign', campaignId, group.map(link));
  for (const [domain, group] of groupBy(changes, (c) => domainOf(c.email))) {
    add('domain', domain, group.map((c) => `${link(c)} ${c.linked ? 'to' : 'from'} campaign ${c.campaignId}`));
  }
  await enqueueCommands(tx, commands);
  return commands.length;
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
 * entity afresh) and deleted first.
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
      where c.organization_id = drason_current_org() and c.next_attempt_at <= now()
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

/** The entity types a settings change fans out to, in the order it pages through them. */
export const RESETTLED_TYPES = ['mailbox', 'campaign', 'domain'] as const;
export type ResettledType = (typeof RESETTLED_TYPES)[number];

/** Where a settings_changed fan-out stands: the type it is paging through and the last key signalled. */
export interface FanOutCursor {
  stage: ResettledType;
  after?: string;
}

/** The cursor a stored settings_changed payload carries (one stored before campaigns and domains: mailboxes). */
export function fanOutCursor(payload: Record<string, unknown>): FanOutCursor {
  const stage = RESETTLED_TYPES.find((t) => t === payload.stage) ?? 'mailbox';
  return typeof payload.after === 'string' ? { stage, after: payload.after } : { stage };
}

/** A settings_changed fan-out that signalled one page keeps its place (and starts its attempts afresh). */
export async function advanceFanOut(tx: Tx, id: number, cursor: Required<FanOutCursor>): Promise<void> {
  await tx('entity_commands')
    .where({ id })
    .update({ payload: tx.raw(`payload || jsonb_build_object('stage', ?::text, 'after', ?::text)`, [cursor.stage, cursor.after]), attempts: 0, last_error: null });
}

/** Each type's table and its key (the counters' and recommendations' entity_key). Constants: never user input. */
const RESETTLE_SOURCE: Record<ResettledType, { table: string; key: string }> = {
  mailbox: { table: 'mailboxes', key: 'email_key' },
  campaign: { table: 'campaigns', key: 'campaign_id' },
  domain: { table: 'domains', key: 'name_key' },
};

/**
 * The entities whose decision a settings change could change, in fan-out order from `cursor` (mailboxes, campaigns,
 * domains, each in key order), at most `limit`: those not healthy, those with a pending recommendation, and those
 * with hard bounces or failures in the counters of the last 7 days. A healthy entity without a bounce has nothing to
 * re-decide: a threshold cannot be breached by zero bounces, and a healthy campaign or domain has no degraded member
 * (one would have put it in warning). Each type is walked in key order with one index probe per row, so a page
 * costs about its own size.
 */
export async function entitiesToResettle(tx: Tx, cursor: FanOutCursor, limit: number): Promise<{ entityType: ResettledType; key: string }[]> {
  const out: { entityType: ResettledType; key: string }[] = [];
  for (const entityType of RESETTLED_TYPES.slice(RESETTLED_TYPES.indexOf(cursor.stage))) {
    if (out.length >= limit) break;
    const { table, key } = RESETTLE_SOURCE[entityType];
    const { rows } = await tx.raw<{ rows: { key: string }[] }>(
      `select e.${key} as key from ${table} e
        where e.organization_id = drason_current_org() and e.${key} > ?
          and (e.state <> 'healthy'
               or exists (select 1 from recommendations r
                           where r.organization_id = e.organization_id and r.entity_type = ? and r.entity_key = e.${key} and r.status = 'pending')
               or exists (select 1 from entity_counters c
                           where c.organization_id = e.organization_id and c.entity_type = ? and c.entity_key = e.${key}
                             and c.bucket_start > now() - interval '7 days' and (c.hard_bounces > 0 or c.failures > 0)))
        order by e.${key} limit ?`,
      [entityType === cursor.stage ? (cursor.after ?? '') : '', entityType, entityType, limit - out.length],
    );
    out.push(...rows.map((r) => ({ entityType, key: r.key })));
  }
  return out;
}

/** Commands waiting (the current organization's), oldest first: for tests and diagnostics. */
export async function pendingCommands(
  tx: Tx,
): Promise<{ kind: CommandKind; entityType: CommandEntityType; entityKey: string; attempts: number; payload: Record<string, unknown> }[]> {
  const rows = (await tx('entity_commands').orderBy('id').select('kind', 'entity_type', 'entity_key', 'attempts', 'payload')) as {
    kind: CommandKind;
    entity_type: CommandEntityType;
    entity_key: string;
    attempts: number;
    payload: Record<string, unknown>;
  }[];
  return rows.map((r) => ({ kind: r.kind, entityType: r.entity_type, entityKey: r.entity_key, attempts: r.attempts, payload: r.payload }));
}

/**
 * Why a campaign's held leads deserve another pass of its lead push workflow (LeadsChanged.reason):
 * leads routed to it, its campaign resumed, a domain or mailbox of it recovered, the mode changed, a rule added,
 * a source released, leads paused or resumed with an entity, a list-quality bounce attributed to one of its sources.
 */
export type LeadsChangedReason =
  | 'leads_routed'
  | 'campaign_resumed'
  | 'domain_recovered'
  | 'mailbox_recovered'
  | 'mode_changed'
  | 'rule_added'
  | 'source_released'
  | 'leads_paused'
  | 'leads_resumed'
  | 'source_bounce'
  | 'capacity_changed'
  | 'push_approved';

/**
 * Stores one `leads_changed` command per campaign for its lead push workflow (delivered by the relay, coalesced per
 * campaign). Poke the relay after commit (notifyRelayAtCommit, or the API's waker).
 */
export async function enqueueLeadsChanged(tx: Tx, organizationId: string, campaignIds: Iterable<string>, reason: LeadsChangedReason, actor: string): Promise<number> {
  const unique = [...new Set(campaignIds)];
  await enqueueCommands(
    tx,
    unique.map((campaignId) => ({
      organizationId,
      entityType: 'campaign_leads' as const,
      entityKey: campaignId,
      kind: 'leads_changed' as const,
      actor,
      payload: (commandId: string) => ({ commandId, reason }),
    })),
  );
  return unique.length;
}
