/**
 * The event pipeline (docs/decisions/010-event-pipeline.md):
 *
 * - `drason_ingest_events(org, events)`: the whole request-path write in one round trip — mailboxes and domains
 *   seen for the first time, the events, and a relay-queue row per countable event, idempotent on (organization,
 *   source, key). It does not NOTIFY: a NOTIFY takes a database-wide lock at commit, which serialised every
 *   ingestion behind one WAL flush (measured: Lock:object was most of PostgreSQL's waiting). The API wakes the relay
 *   with its own throttled NOTIFY instead (src/services/relayWaker.ts).
 * - `event_queue`: stored events not yet counted. The relay claims rows with FOR UPDATE SKIP LOCKED, adds them to
 *   `entity_counters` and deletes them in one transaction (exactly once per stored event).
 * - `entity_counters`: 5-minute buckets of sends, hard bounces and delivery failures per mailbox, domain and
 *   campaign. Windows and velocity are computed from them by src/domain/rollingWindows.ts.
 * - `signal_queue` / `signal_backoff`: counted bounces and failures waiting to be signalled to their mailbox
 *   workflow; a mailbox whose signal failed backs off as a whole, so its events are never delivered out of order.
 * - One idempotency mechanism: the event store's unique (organization, source, key). The separate idempotency-key
 *   table and the dispatch outbox are gone; pending outbox rows move to the new queues and the counters are built
 *   from the stored events.
 */
import type { Knex } from 'knex';
import { allowOwnerDefinerRead, appRole, enableTenantRls, grantApp, restrictFunctionToApp } from './helpers';

/** Counter buckets are kept this long; frozen here as the backfill horizon (the runtime constant may change). */
const BACKFILL_DAYS = 30;

export async function up(knex: Knex): Promise<void> {
  const app = appRole(knex);

  // ---- One idempotency mechanism, namespaced by source ----
  await knex.raw('alter table events drop constraint events_organization_id_idempotency_key_unique');
  await knex.raw('alter table events add constraint events_source_key_unique unique (organization_id, source, idempotency_key)');
  // Every index costs each ingestion (measured: these four were 40% of PostgreSQL's CPU per stored event) and nothing
  // reads events by them: windows come from the counters, the relay and the rebuild read by id and organization.
  // A feature that needs to search events adds the index it needs.
  for (const columns of [['mailbox_id', 'occurred_at'], ['campaign_id'], ['occurred_at'], ['lead_email']]) {
    await knex.schema.alterTable('events', (t) => t.dropIndex(['organization_id', ...columns]));
  }

  // Which stored events count toward windows: monitored types with a mailbox, not stored as stale history.
  // The single definition; ingestion, the relay and the rebuild all use it.
  await knex.raw(`
    create function drason_event_is_counted(p_type text, p_mailbox_id uuid, p_flags text[]) returns boolean
    language sql immutable parallel safe as $$
      select p_type in ('EmailSent', 'HardBounce', 'DeliveryFailure') and p_mailbox_id is not null and not ('stale' = any(p_flags))
    $$`);
  // 5-minute buckets (src/domain/rollingWindows.ts BUCKET_MS; a test checks they agree).
  await knex.raw(`
    create function drason_bucket_start(p_at timestamptz) returns timestamptz
    language sql immutable parallel safe as $$
      select to_timestamp(floor(extract(epoch from p_at) / 300) * 300)
    $$`);

  // ---- Counters ----
  await knex.schema.createTable('entity_counters', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.text('entity_type').notNullable();
    t.text('entity_key').notNullable().comment('mailbox email or domain name (lower-case), or Smartlead campaign id');
    t.timestamp('bucket_start', { useTz: true }).notNullable();
    t.integer('sent').notNullable().defaultTo(0);
    t.integer('hard_bounces').notNullable().defaultTo(0);
    t.integer('failures').notNullable().defaultTo(0);
    t.primary(['organization_id', 'entity_type', 'entity_key', 'bucket_start']);
  });
  await knex.raw(`alter table entity_counters add constraint entity_counters_entity_type_check check (entity_type in ('mailbox','domain','campaign'))`);
  await knex.raw('create index entity_counters_bucket on entity_counters (organization_id, bucket_start)');
  await enableTenantRls(knex, 'entity_counters');
  await grantApp(knex, 'entity_counters');

  // What each counted event adds to which counter. The relay sums it for the events it claims; the rebuild sums it
  // for every counted event no longer queued. security_invoker: row-level security applies as the caller.
  await knex.raw(`
    create view event_counter_contributions with (security_invoker = true) as
    select e.organization_id, e.id as event_id, k.entity_type, k.entity_key, drason_bucket_start(e.occurred_at) as bucket_start,
           (e.type = 'EmailSent')::int as sent, (e.type = 'HardBounce')::int as hard_bounces, (e.type = 'DeliveryFailure')::int as failures
      from events e
      join mailboxes m on m.organization_id = e.organization_id and m.id = e.mailbox_id
      join domains d on d.organization_id = m.organization_id and d.id = m.domain_id
      cross join lateral (values ('mailbox', lower(m.email::text)), ('domain', lower(d.name::text)), ('campaign', e.campaign_id)) as k(entity_type, entity_key)
     where drason_event_is_counted(e.type, e.mailbox_id, e.flags) and k.entity_key is not null`);
  await knex.raw(`grant select on event_counter_contributions to ${app}`);

  // ---- Relay queues ----
  // No foreign key to events on either queue: each row is written in the transaction that stores its event (or by
  // the relay from one), and row-level security keeps it in its organization. Measured under 32 concurrent
  // ingestions, the key's check (a FOR KEY SHARE lookup per row) nearly doubled PostgreSQL's CPU per stored event.
  await knex.schema.createTable('event_queue', (t) => {
    t.uuid('organization_id').notNullable();
    t.bigInteger('event_id').notNullable();
    t.primary(['organization_id', 'event_id']);
  });
  await enableTenantRls(knex, 'event_queue');
  // UPDATE only because SELECT … FOR UPDATE needs it; rows are never updated.
  await grantApp(knex, 'event_queue', 'select, insert, update, delete');

  await knex.schema.createTable('signal_queue', (t) => {
    t.uuid('organization_id').notNullable();
    t.bigInteger('event_id').notNullable();
    t.uuid('mailbox_id').notNullable();
    t.primary(['organization_id', 'event_id']);
    t.foreign(['organization_id', 'mailbox_id']).references(['organization_id', 'id']).inTable('mailboxes');
  });
  await enableTenantRls(knex, 'signal_queue');
  await grantApp(knex, 'signal_queue', 'select, insert, delete');

  await knex.schema.createTable('signal_backoff', (t) => {
    t.uuid('organization_id').notNullable();
    t.uuid('mailbox_id').notNullable();
    t.integer('attempts').notNullable();
    t.timestamp('next_attempt_at', { useTz: true }).notNullable();
    t.text('last_error');
    t.primary(['organization_id', 'mailbox_id']);
    t.foreign(['organization_id', 'mailbox_id']).references(['organization_id', 'id']).inTable('mailboxes');
  });
  await enableTenantRls(knex, 'signal_backoff');
  await grantApp(knex, 'signal_backoff');

  // ---- The request path: one call, one round trip ----
  // SECURITY INVOKER: it runs as the application role under row-level security, scoped to p_org for this
  // transaction only. Returns the (source, key) of each event it stored, so a caller that stored several requests'
  // events in one call (src/services/ingestBatcher.ts) can tell each request what was new. Input: a JSON array of {key, type, source, occurredAt, mailbox?, domain?, campaignId?,
  // leadEmail?, detail, flags}; mailbox and domain arrive normalized (src/workflows/ids.ts owns that rule), so they are
  // looked up by the lower-case keys of 004_entity_keys: citext comparisons are not leakproof and so never index
  // conditions under FORCEd row-level security.
  await knex.raw(`
    create function drason_ingest_events(p_org uuid, p_events jsonb)
    returns table (source text, key text, queued boolean)
    language plpgsql security invoker set search_path = public as $$
    #variable_conflict use_column
    begin
      perform set_config('drason.organization_id', p_org::text, true);
      -- First sightings only: skipping the speculative insert for known rows keeps the common case to index lookups.
      insert into domains (organization_id, name)
        select distinct p_org, x.domain from jsonb_to_recordset(p_events) as x(domain text)
         where x.domain is not null
           and not exists (select 1 from domains d where d.organization_id = p_org and d.name_key = x.domain)
        order by 2 on conflict do nothing;
      insert into mailboxes (organization_id, email, domain_id)
        select distinct on (x.mailbox) p_org, x.mailbox, d.id
          from jsonb_to_recordset(p_events) as x(mailbox text, domain text)
          join domains d on d.organization_id = p_org and d.name_key = x.domain
         where x.mailbox is not null
           and not exists (select 1 from mailboxes m where m.organization_id = p_org and m.email_key = x.mailbox)
         order by x.mailbox on conflict do nothing;
      -- What was stored (a repeat of a stored (source, key) is not), and whether it was queued for counting.
      return query
      with input as (
        select x.* from jsonb_to_recordset(p_events) as x(
          key text, type text, source text, "occurredAt" timestamptz, mailbox text, "campaignId" text, "leadEmail" text, detail jsonb, flags text[])
      ), stored as (
        insert into events (organization_id, idempotency_key, type, source, occurred_at, mailbox_id, campaign_id, lead_email, detail, flags)
        select p_org, i.key, i.type, i.source, i."occurredAt", m.id, i."campaignId", i."leadEmail", coalesce(i.detail, '{}'::jsonb), coalesce(i.flags, '{}')
          from input i left join mailboxes m on m.organization_id = p_org and m.email_key = i.mailbox
        on conflict (organization_id, source, idempotency_key) do nothing
        returning id, events.source, idempotency_key, drason_event_is_counted(type, mailbox_id, flags) as counted
      ), queued as (
        insert into event_queue (organization_id, event_id)
        select p_org, st.id from stored st where st.counted
      )
      select st.source, st.idempotency_key, st.counted from stored st;
    end $$`);
  await knex.raw(`revoke all on function drason_ingest_events(uuid, jsonb) from public`);
  await knex.raw(`grant execute on function drason_ingest_events(uuid, jsonb) to ${app}`);

  // ---- Webhook authentication in one lookup: the token's organization and its secret_key hash ----
  await knex.raw('drop function drason_resolve_webhook_token(text)');
  await knex.raw(`
    create function drason_resolve_webhook_token(p_token_hash text)
    returns table (id uuid, organization_id uuid, provider text, secret_key_hash text)
    language sql stable security definer set search_path = public as $$
      select w.id, w.organization_id, w.provider, w.secret_key_hash from webhook_tokens w
       where w.token_hash = p_token_hash and w.revoked_at is null and (w.expires_at is null or w.expires_at > now())
    $$`);
  await restrictFunctionToApp(knex, 'drason_resolve_webhook_token(text)');

  // ---- Which organizations have relay work (narrow cross-tenant lookup, SECURITY DEFINER) ----
  for (const table of ['event_queue', 'signal_queue', 'signal_backoff']) await allowOwnerDefinerRead(knex, table);
  await knex.raw(`
    create function drason_orgs_with_relay_work(p_limit int)
    returns table (organization_id uuid)
    language sql stable security definer set search_path = public as $$
      (select distinct q.organization_id from event_queue q limit p_limit)
      union
      (select distinct s.organization_id from signal_queue s
        where not exists (select 1 from signal_backoff b
                           where b.organization_id = s.organization_id and b.mailbox_id = s.mailbox_id and b.next_attempt_at > now())
        limit p_limit)
    $$`);
  await restrictFunctionToApp(knex, 'drason_orgs_with_relay_work(int)');
  await knex.raw(`
    create function drason_orgs_with_counters_before(p_before timestamptz)
    returns table (organization_id uuid)
    language sql stable security definer set search_path = public as $$
      select distinct c.organization_id from entity_counters c where c.bucket_start < p_before
    $$`);
  await allowOwnerDefinerRead(knex, 'entity_counters');
  await restrictFunctionToApp(knex, 'drason_orgs_with_counters_before(timestamptz)');
  // The counter rebuild visits every organization that has events or counters.
  for (const table of ['organizations', 'events']) await allowOwnerDefinerRead(knex, table);
  await knex.raw(`
    create function drason_orgs_with_counted_data(p_limit int)
    returns table (organization_id uuid)
    language sql stable security definer set search_path = public as $$
      select o.id from organizations o
       where exists (select 1 from events e where e.organization_id = o.id)
          or exists (select 1 from entity_counters c where c.organization_id = o.id)
       order by o.id limit p_limit
    $$`);
  await restrictFunctionToApp(knex, 'drason_orgs_with_counted_data(int)');

  // ---- Backfill (as the owner: lift FORCEd RLS for these statements only, inside the migration's transaction) ----
  const backfilled = ['events', 'mailboxes', 'domains', 'event_dispatch_outbox', 'entity_counters', 'signal_queue'];
  for (const table of backfilled) await knex.raw('alter table ?? no force row level security', [table]);
  await knex.raw(
    `insert into entity_counters (organization_id, entity_type, entity_key, bucket_start, sent, hard_bounces, failures)
     select organization_id, entity_type, entity_key, bucket_start, sum(sent), sum(hard_bounces), sum(failures)
       from event_counter_contributions where bucket_start >= now() - ? * interval '1 day'
      group by 1, 2, 3, 4`,
    [BACKFILL_DAYS],
  );
  // Events still waiting in the old outbox had not reached their workflow: bounces and failures are signalled.
  await knex.raw(`
    insert into signal_queue (organization_id, event_id, mailbox_id)
    select e.organization_id, e.id, e.mailbox_id from event_dispatch_outbox o
      join events e on e.organization_id = o.organization_id and e.id = o.event_id
     where e.type in ('HardBounce', 'DeliveryFailure') and e.mailbox_id is not null`);
  for (const table of backfilled) await knex.raw('alter table ?? force row level security', [table]);

  await knex.raw('drop function if exists drason_orgs_with_pending_dispatch(int)');
  await knex.raw('drop function if exists drason_orgs_with_expired_idempotency_keys(int)');
  await knex.schema.dropTable('event_dispatch_outbox');
  await knex.schema.dropTable('idempotency_keys');
}

export async function down(): Promise<void> {
  throw new Error('005_event_pipeline is not reversible: restore from a backup taken before it (the dropped outbox and idempotency keys are not kept).');
}
