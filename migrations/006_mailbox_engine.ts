/**
 * The mailbox engine's storage (docs/decisions/011-mailbox-engine.md):
 *
 * - `events.bounce_class`: what a HardBounce or DeliveryFailure says about the mailbox (src/domain/bounceClass.ts),
 *   set at ingestion. Existing bounces get the class their type implies (HardBounce → list_quality, DeliveryFailure →
 *   unknown: the old mapping put every non-address bounce there, so nothing more can be told from the type).
 * - `entity_counters.reputation_blocks`: DeliveryFailures classed `reputation`, per bucket, kept by the same three
 *   statements as the other counts (the contributions view, the relay's count, the rebuild). Existing buckets: 0,
 *   since no stored event was classed `reputation` before this migration.
 * - `drason_ingest_events` stores the class (a bounce without one gets its type's default, so every bounce is
 *   classed) and resolves a Smartlead email account id to the mailbox synced with it, in the same call. An id that
 *   names no mailbox still stores the event: without a mailbox, flagged `unresolved_account`, the id kept in
 *   `detail.smartleadAccountId`; it is not counted (no mailbox to count it for) but never lost.
 * - `mailboxes`: the engine's state beside the existing `state` / `pause_reason`, written only by its activity.
 * - `entity_commands`: commands for entity workflows (override, apply_recommendation, settings_changed) stored by the
 *   API and delivered by the relay, like bounces, so a request never waits for Temporal.
 * - `recommendations` (suggest mode) and `entity_actions` (the decision ledger that makes acting exactly-once).
 */
import type { Knex } from 'knex';
import { allowOwnerDefinerRead, appRole, enableTenantRls, grantApp, restrictFunctionToApp } from './helpers';

const BOUNCE_CLASSES = `('list_quality', 'reputation', 'transient', 'account', 'unknown')`;
const ENTITY_TYPES = `('mailbox', 'domain', 'campaign')`;

export async function up(knex: Knex): Promise<void> {
  const app = appRole(knex);

  // ---- Bounce classes and reputation blocks ----
  await knex.schema.alterTable('events', (t) => t.text('bounce_class'));
  await knex.raw(`alter table events add constraint events_bounce_class_check check (bounce_class in ${BOUNCE_CLASSES})`);
  await knex.schema.alterTable('entity_counters', (t) => t.integer('reputation_blocks').notNullable().defaultTo(0));

  // The view gains a column at its end (CREATE OR REPLACE keeps the others as they are).
  await knex.raw(`
    create or replace view event_counter_contributions with (security_invoker = true) as
    select e.organization_id, e.id as event_id, k.entity_type, k.entity_key, drason_bucket_start(e.occurred_at) as bucket_start,
           (e.type = 'EmailSent')::int as sent, (e.type = 'HardBounce')::int as hard_bounces, (e.type = 'DeliveryFailure')::int as failures,
           (e.type = 'DeliveryFailure' and e.bounce_class = 'reputation')::int as reputation_blocks
      from events e
      join mailboxes m on m.organization_id = e.organization_id and m.id = e.mailbox_id
      join domains d on d.organization_id = m.organization_id and d.id = m.domain_id
      cross join lateral (values ('mailbox', lower(m.email::text)), ('domain', lower(d.name::text)), ('campaign', e.campaign_id)) as k(entity_type, entity_key)
     where drason_event_is_counted(e.type, e.mailbox_id, e.flags) and k.entity_key is not null`);

  // Resolving a Smartlead account id is an index lookup (text equality is leakproof, so usable under RLS).
  await knex.raw(`create index mailboxes_smartlead_account on mailboxes (organization_id, smartlead_account_id) where smartlead_account_id is not null`);

  // ---- Ingestion: the class, and a mailbox named by its Smartlead account id ----
  // Same contract as 005 (one round trip, SECURITY INVOKER under row-level security, returns what was stored), with
  // two more optional inputs per event: "bounceClass" and "mailboxAccountId" (used only when "mailbox" is absent).
  await knex.raw(`
    create or replace function drason_ingest_events(p_org uuid, p_events jsonb)
    returns table (source text, key text, queued boolean)
    language plpgsql security invoker set search_path = public as $$
    #variable_conflict use_column
    begin
      perform set_config('drason.organization_id', p_org::text, true);
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
      return query
      with input as (
        select x.* from jsonb_to_recordset(p_events) as x(
          key text, type text, source text, "occurredAt" timestamptz, mailbox text, "mailboxAccountId" text, "campaignId" text,
          "leadEmail" text, "bounceClass" text, detail jsonb, flags text[])
      ), resolved as (
        select i.*, coalesce(m.id, a.id) as mailbox_id,
               (i.mailbox is null and i."mailboxAccountId" is not null and a.id is null) as unresolved
          from input i
          left join mailboxes m on m.organization_id = p_org and m.email_key = i.mailbox
          -- A mailbox still in Smartlead wins over one removed from it that once had the same id.
          left join lateral (select a.id from mailboxes a
                              where i.mailbox is null and a.organization_id = p_org and a.smartlead_account_id = i."mailboxAccountId"
                              order by a.deleted_externally_at nulls first, a.id limit 1) a on true
      ), stored as (
        insert into events (organization_id, idempotency_key, type, source, occurred_at, mailbox_id, campaign_id, lead_email, bounce_class, detail, flags)
        select p_org, r.key, r.type, r.source, r."occurredAt", r.mailbox_id, r."campaignId", r."leadEmail",
               case when r.type in ('HardBounce', 'DeliveryFailure')
                    then coalesce(r."bounceClass", case r.type when 'HardBounce' then 'list_quality' else 'unknown' end) end,
               coalesce(r.detail, '{}'::jsonb) || case when r.unresolved then jsonb_build_object('smartleadAccountId', r."mailboxAccountId") else '{}'::jsonb end,
               coalesce(r.flags, '{}') || case when r.unresolved then array['unresolved_account'] else '{}'::text[] end
          from resolved r
        on conflict (organization_id, source, idempotency_key) do nothing
        returning id, events.source, idempotency_key, drason_event_is_counted(type, mailbox_id, flags) as counted
      ), queued as (
        insert into event_queue (organization_id, event_id)
        select p_org, st.id from stored st where st.counted
      )
      select st.source, st.idempotency_key, st.counted from stored st;
    end $$`);

  // ---- The engine's state on each mailbox (written by its activity; the API reads it) ----
  await knex.schema.alterTable('mailboxes', (t) => {
    t.smallint('risk_score').notNullable().defaultTo(0).comment('ExecutionRiskScore 0–100 (src/domain/riskScore.ts)');
    t.timestamp('cooldown_until', { useTz: true });
    t.timestamp('state_changed_at', { useTz: true });
    t.integer('settings_version').comment('The settings version of the decision that set the state');
  });
  await knex.raw('alter table mailboxes add constraint mailboxes_risk_score_check check (risk_score between 0 and 100)');

  // ---- Commands for entity workflows, delivered by the relay ----
  await knex.schema.createTable('entity_commands', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.bigIncrements('id', { primaryKey: false });
    t.uuid('command_id').notNullable();
    t.text('entity_type').notNullable();
    t.text('entity_key').notNullable().comment('mailbox email (lower-case), domain name, campaign id, or the organization id for settings_changed');
    t.text('kind').notNullable();
    t.jsonb('payload').notNullable();
    t.text('actor').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('last_error');
    t.primary(['organization_id', 'id']);
    t.unique(['organization_id', 'command_id']);
  });
  await knex.raw(`alter table entity_commands add constraint entity_commands_kind_check check (kind in ('override', 'apply_recommendation', 'settings_changed'))`);
  await knex.raw(`alter table entity_commands add constraint entity_commands_entity_type_check check (entity_type in ('mailbox', 'domain', 'campaign', 'organization'))`);
  await enableTenantRls(knex, 'entity_commands');
  await grantApp(knex, 'entity_commands');
  await knex.raw(`grant usage on sequence entity_commands_id_seq to ${app}`);

  // ---- Recommendations (suggest mode) ----
  await knex.schema.createTable('recommendations', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.uuid('id').notNullable().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('entity_type').notNullable();
    t.text('entity_key').notNullable();
    t.text('action').notNullable();
    t.text('decision_id').notNullable();
    t.text('status').notNullable().defaultTo('pending');
    t.text('message').notNullable();
    t.jsonb('trigger').notNullable().defaultTo('{}');
    t.integer('settings_version');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('applied_at', { useTz: true });
    t.text('applied_by');
    t.primary(['organization_id', 'id']);
    t.unique(['organization_id', 'decision_id']);
  });
  await knex.raw(`alter table recommendations add constraint recommendations_entity_type_check check (entity_type in ${ENTITY_TYPES})`);
  await knex.raw(`alter table recommendations add constraint recommendations_action_check check (action in ('pause', 'resume'))`);
  await knex.raw(`alter table recommendations add constraint recommendations_status_check check (status in ('pending', 'applied', 'superseded'))`);
  // GET /v1/recommendations: newest first, optionally of one status.
  await knex.raw('create index recommendations_created on recommendations (organization_id, created_at desc, id desc)');
  await knex.raw('create index recommendations_status_created on recommendations (organization_id, status, created_at desc, id desc)');
  await knex.raw(`create index recommendations_entity on recommendations (organization_id, entity_type, entity_key) where status = 'pending'`);
  await enableTenantRls(knex, 'recommendations');
  await grantApp(knex, 'recommendations');

  // ---- The decision ledger ----
  await knex.schema.createTable('entity_actions', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.text('decision_id').notNullable();
    t.text('entity_type').notNullable();
    t.text('entity_key').notNullable();
    t.text('action').notNullable();
    t.text('mode').notNullable();
    t.text('outcome').notNullable();
    t.jsonb('detail').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'decision_id']);
  });
  await knex.raw(`alter table entity_actions add constraint entity_actions_entity_type_check check (entity_type in ${ENTITY_TYPES})`);
  await knex.raw(`alter table entity_actions add constraint entity_actions_mode_check check (mode in ('observe', 'suggest', 'enforce'))`);
  await knex.raw(`alter table entity_actions add constraint entity_actions_outcome_check check (outcome in ('done', 'would_have', 'recommended', 'impossible'))`);
  await enableTenantRls(knex, 'entity_actions');
  await grantApp(knex, 'entity_actions');

  // ---- Which organizations have relay work: now also commands that are due ----
  await allowOwnerDefinerRead(knex, 'entity_commands');
  await knex.raw(`
    create or replace function drason_orgs_with_relay_work(p_limit int)
    returns table (organization_id uuid)
    language sql stable security definer set search_path = public as $$
      (select distinct q.organization_id from event_queue q limit p_limit)
      union
      (select distinct s.organization_id from signal_queue s
        where not exists (select 1 from signal_backoff b
                           where b.organization_id = s.organization_id and b.mailbox_id = s.mailbox_id and b.next_attempt_at > now())
        limit p_limit)
      union
      (select distinct c.organization_id from entity_commands c where c.next_attempt_at <= now() limit p_limit)
    $$`);
  await restrictFunctionToApp(knex, 'drason_orgs_with_relay_work(int)');

  // ---- Backfill, as the owner: row-level security and the append-only trigger lifted for these statements only ----
  await knex.raw('alter table events no force row level security');
  await knex.raw('alter table events disable trigger events_append_only');
  await knex.raw(`
    update events set bounce_class = case type when 'HardBounce' then 'list_quality' else 'unknown' end
     where type in ('HardBounce', 'DeliveryFailure') and bounce_class is null`);
  await knex.raw('alter table events enable trigger events_append_only');
  await knex.raw('alter table events force row level security');
}

/**
 * Not reversible, like 005_event_pipeline: 005 dropped the outbox and idempotency keys, so nothing before 006 can be
 * restored by a down migration either. Restore from a backup taken before upgrading.
 */
export async function down(): Promise<void> {
  throw new Error('006_mailbox_engine is not reversible (nor is 005_event_pipeline before it): restore from a backup taken before it.');
}
