/**
 * The relay's two stages, as SQL (migrations/005_event_pipeline.ts has the tables). Both run inside `withTenant`.
 *
 * 1. Count: claim queued events (FOR UPDATE SKIP LOCKED, so relays in several processes never take the same row),
 *    add them to the counters, delete them from the queue and queue their bounces and failures for signalling —
 *    one statement in one transaction, so every stored event is counted exactly once.
 * 2. Signal: one relay per organization at a time (a transaction-scoped advisory lock) reads the bounces and
 *    failures waiting to be signalled, oldest first, skipping mailboxes that are backing off after a failed
 *    signal; the caller signals, then records which mailboxes were delivered and which failed.
 */
import type { Tx } from '../tenant';
import type { BounceClass, MonitoredEventType } from '../../domain/events';

/**
 * The channel the relay LISTENs on: the API notifies it after ingestion queued events or a command was stored
 * (src/services/relayWaker.ts), and rare writers of commands notify it at their commit (commands.ts).
 */
export const EVENTS_CHANNEL = 'drason_events';

/** Held shared by every count stage of an organization and exclusively by a counter rebuild. */
export async function lockCountersShared(tx: Tx, organizationId: string): Promise<void> {
  await tx.raw(`select pg_advisory_xact_lock_shared(hashtextextended('drason-counters:' || ?, 0))`, [organizationId]);
}

export async function lockCountersExclusive(tx: Tx, organizationId: string): Promise<void> {
  await tx.raw(`select pg_advisory_xact_lock(hashtextextended('drason-counters:' || ?, 0))`, [organizationId]);
}

export interface CountedBatch {
  /** Events claimed, counted and cleared. */
  counted: number;
  /** Of those, bounces and failures queued for their mailbox's workflow. */
  queuedForSignal: number;
  /** When each counted event was stored (epoch ms), for lag measurement. */
  receivedAtMs: number[];
  /** Pushed leads first marked list-bounced by this batch (their source's evidence). */
  listBounced: number;
  /** leads_changed commands (reason source_bounce) stored for their campaigns: one per campaign. */
  sourceCommands: number;
}

/**
 * Stage 1 as one statement (bound: the batch size): claim, delete from the queue, add to the counters (by the rule of
 * the `event_counter_contributions` view, applied to the claimed rows), note who sent for which campaign, mark the
 * pushed lead of each list-quality hard bounce list-bounced (storing one `leads_changed` 'source_bounce' command per
 * campaign), queue bounces and failures for signalling. Exported so a test can check its plan.
 */
export const COUNT_QUEUED_SQL = `with claimed as (
       select q.event_id from event_queue q where q.organization_id = drason_current_org()
        order by q.event_id limit ? for update skip locked
     ), gone as (
       delete from event_queue q using claimed c
        where q.organization_id = drason_current_org() and q.event_id = c.event_id
       returning q.event_id
     ), counted as (
       -- The claimed events, read once by primary key (the claimed ids as an array, not a join: the planner then
       -- fetches exactly these, however many are stored) and materialized: everything below reads this.
       select e.id, e.type, e.mailbox_id, e.received_at, e.campaign_id, e.occurred_at, e.flags, e.bounce_class, e.lead_email from events e
        where e.organization_id = drason_current_org() and e.id = any(array(select event_id from gone))
     ), summed as (
       -- What each event adds to its mailbox, domain and campaign: the same rule as the event_counter_contributions
       -- view that rebuilds use (the rebuild test checks they agree), driven from the claimed rows so the plan cannot
       -- re-read the event store once per domain.
       select k.entity_type, k.entity_key, drason_bucket_start(c.occurred_at) as bucket_start,
              sum((c.type = 'EmailSent')::int)::int as sent, sum((c.type = 'HardBounce')::int)::int as hard_bounces,
              sum((c.type = 'DeliveryFailure')::int)::int as failures,
              sum((c.type = 'DeliveryFailure' and c.bounce_class = 'reputation')::int)::int as reputation_blocks
         from counted c
         join mailboxes m on m.organization_id = drason_current_org() and m.id = c.mailbox_id
         join domains d on d.organization_id = drason_current_org() and d.id = m.domain_id
         cross join lateral (values ('mailbox', lower(m.email::text)), ('domain', lower(d.name::text)), ('campaign', c.campaign_id)) as k(entity_type, entity_key)
        where drason_event_is_counted(c.type, c.mailbox_id, c.flags) and k.entity_key is not null
        group by 1, 2, 3
     ), upserted as (
       insert into entity_counters as t (organization_id, entity_type, entity_key, bucket_start, sent, hard_bounces, failures, reputation_blocks)
       select drason_current_org(), s.entity_type, s.entity_key, s.bucket_start, s.sent, s.hard_bounces, s.failures, s.reputation_blocks
         from summed s order by s.entity_type, s.entity_key, s.bucket_start
       on conflict (organization_id, entity_type, entity_key, bucket_start) do update
         set sent = t.sent + excluded.sent, hard_bounces = t.hard_bounces + excluded.hard_bounces, failures = t.failures + excluded.failures,
             reputation_blocks = t.reputation_blocks + excluded.reputation_blocks
       returning 1
     ), senders as (
       -- Which mailbox sends for which campaign (membership for the campaign and domain engines), to the hour:
       -- a pair already seen within the hour is not written again.
       insert into campaign_senders as p (organization_id, campaign_id, mailbox_id, last_seen_at)
       select drason_current_org(), c.campaign_id, c.mailbox_id, date_trunc('hour', max(c.occurred_at)) from counted c
        where c.campaign_id is not null and c.mailbox_id is not null
        group by c.mailbox_id, c.campaign_id order by c.mailbox_id, c.campaign_id
       on conflict (organization_id, mailbox_id, campaign_id) do update set last_seen_at = excluded.last_seen_at
        where p.last_seen_at < excluded.last_seen_at
       returning 1
     ), bounced_leads as (
       -- Source quality (src/domain/sourceQuality.ts): a list-quality hard bounce is the list's fault. The pushed lead
       -- it names in its campaign is marked list-bounced (once: its first such bounce), locked in id order so two
       -- relays never deadlock on the same leads. Only HardBounce rows with a lead reach the join: sends cost nothing.
       select l.id from leads l
         join (select distinct c.campaign_id, c.lead_email from counted c
                where c.type = 'HardBounce' and c.bounce_class = 'list_quality' and c.lead_email is not null and c.campaign_id is not null) b
           on l.organization_id = drason_current_org() and l.email = b.lead_email and l.assigned_campaign_id = b.campaign_id
        where l.pushed_at is not null and l.list_bounced_at is null
        order by l.id for update of l
     ), list_bounced as (
       update leads l set list_bounced_at = now(), updated_at = now() from bounced_leads b
        where l.organization_id = drason_current_org() and l.id = b.id and l.list_bounced_at is null
       returning l.assigned_campaign_id
     ), source_bounce as (
       -- One leads_changed command per campaign per batch (as enqueueLeadsChanged in commands.ts stores them), so its
       -- lead push workflow judges the lead's source again.
       insert into entity_commands (organization_id, command_id, entity_type, entity_key, kind, payload, actor)
       select drason_current_org(), s.command_id, 'campaign_leads', s.campaign_id, 'leads_changed',
              jsonb_build_object('commandId', s.command_id, 'reason', 'source_bounce'), 'system'
         from (select d.campaign_id, gen_random_uuid() as command_id
                 from (select distinct assigned_campaign_id as campaign_id from list_bounced) d order by d.campaign_id) s
       returning 1
     ), to_signal as (
       insert into signal_queue (organization_id, event_id, mailbox_id)
       select drason_current_org(), c.id, c.mailbox_id from counted c where c.type in ('HardBounce', 'DeliveryFailure')
       returning 1
     )
     select (select count(*) from counted)::int as counted,
            (select count(*) from to_signal)::int as queued,
            (select count(*) from upserted)::int as counters,
            (select count(*) from senders)::int as senders,
            (select count(*) from list_bounced)::int as list_bounced,
            (select count(*) from source_bounce)::int as source_commands,
            (select array_agg((extract(epoch from received_at) * 1000)::bigint) from counted) as received`;

/** Stage 1 for the current organization: counts up to `limit` queued events. */
export async function countQueuedEvents(tx: Tx, organizationId: string, limit: number): Promise<CountedBatch> {
  await lockCountersShared(tx, organizationId);
  const { rows } = await tx.raw<{ rows: { counted: number; queued: number; received: number[] | null; list_bounced: number; source_commands: number }[] }>(COUNT_QUEUED_SQL,
    [limit],
  );
  const row = rows[0]!;
  return {
    counted: row.counted,
    queuedForSignal: row.queued,
    receivedAtMs: (row.received ?? []).map(Number),
    listBounced: row.list_bounced,
    sourceCommands: row.source_commands,
  };
}

export interface PendingSignal {
  seq: number;
  mailboxId: string;
  mailbox: string;
  type: Extract<MonitoredEventType, 'HardBounce' | 'DeliveryFailure'>;
  occurredAtMs: number;
  receivedAtMs: number;
  campaignId?: string;
  /** Null for bounces stored before migration 006 that it could not class (none: it backfilled them all). */
  bounceClass?: BounceClass;
}

/**
 * Stage 2 for the current organization: the oldest bounces and failures waiting to be signalled, or undefined when
 * another relay is signalling for this organization right now (it will also pick up what is waiting).
 */
export async function claimPendingSignals(tx: Tx, organizationId: string, limit: number): Promise<PendingSignal[] | undefined> {
  const lock = await tx.raw<{ rows: { locked: boolean }[] }>(`select pg_try_advisory_xact_lock(hashtextextended('drason-signal:' || ?, 0)) as locked`, [
    organizationId,
  ]);
  if (lock.rows[0]?.locked !== true) return undefined;
  const { rows } = await tx.raw<{
    rows: {
      event_id: number;
      mailbox_id: string;
      email: string;
      type: PendingSignal['type'];
      occurred_at: Date;
      received_at: Date;
      campaign_id: string | null;
      bounce_class: BounceClass | null;
    }[];
  }>(
    `select s.event_id, s.mailbox_id, lower(m.email::text) as email, e.type, e.occurred_at, e.received_at, e.campaign_id, e.bounce_class
       from signal_queue s
       join events e on e.organization_id = s.organization_id and e.id = s.event_id
       join mailboxes m on m.organization_id = s.organization_id and m.id = s.mailbox_id
      where s.organization_id = drason_current_org()
        and not exists (select 1 from signal_backoff b
                         where b.organization_id = s.organization_id and b.mailbox_id = s.mailbox_id and b.next_attempt_at > now())
      order by s.event_id limit ?`,
    [limit],
  );
  return rows.map((r) => ({
    seq: r.event_id,
    mailboxId: r.mailbox_id,
    mailbox: r.email,
    type: r.type,
    occurredAtMs: r.occurred_at.getTime(),
    receivedAtMs: r.received_at.getTime(),
    ...(r.campaign_id === null ? {} : { campaignId: r.campaign_id }),
    ...(r.bounce_class === null ? {} : { bounceClass: r.bounce_class }),
  }));
}

/** Delivered events leave the queue (and their mailbox's back-off ends); failed mailboxes back off, doubling to 5 minutes. */
export async function completeSignals(
  tx: Tx,
  organizationId: string,
  outcome: { deliveredSeqs: number[]; deliveredMailboxIds: string[]; failed: { mailboxId: string; error: string }[] },
): Promise<void> {
  if (outcome.deliveredSeqs.length > 0) {
    await tx('signal_queue').whereIn('event_id', outcome.deliveredSeqs).delete();
    await tx('signal_backoff').whereIn('mailbox_id', outcome.deliveredMailboxIds).delete();
  }
  if (outcome.failed.length > 0) {
    await tx('signal_backoff')
      .insert(
        outcome.failed.map((f) => ({
          organization_id: organizationId,
          mailbox_id: f.mailboxId,
          attempts: 1,
          next_attempt_at: tx.raw(`now() + interval '5 seconds'`),
          last_error: f.error.slice(0, 500),
        })),
      )
      .onConflict(['organization_id', 'mailbox_id'])
      .merge({
        attempts: tx.raw('signal_backoff.attempts + 1'),
        next_attempt_at: tx.raw(`now() + least(interval '5 minutes', interval '5 seconds' * power(2, signal_backoff.attempts))`),
        last_error: tx.raw('excluded.last_error'),
      });
  }
}

/** How much is waiting to be counted and to be signalled (the current organization's backlog). */
export async function relayBacklog(tx: Tx): Promise<{ toCount: number; toSignal: number }> {
  const { rows } = await tx.raw<{ rows: { to_count: number; to_signal: number }[] }>(
    `select (select count(*) from event_queue)::int as to_count, (select count(*) from signal_queue)::int as to_signal`,
  );
  return { toCount: rows[0]!.to_count, toSignal: rows[0]!.to_signal };
}
