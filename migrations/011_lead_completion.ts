/**
 * The lead lifecycle's storage beyond migration 010 (issue 10; src/db/repositories/leadLifecycle.ts):
 *
 * - Completion at ingestion. A Smartlead EMAIL_REPLY or LEAD_UNSUBSCRIBED webhook is stored under its own type by
 *   `drason_ingest_events` (src/ingestion/smartleadWebhook.ts); an AFTER INSERT row trigger on `events`, whose WHEN
 *   clause admits only those two types with a lead address, marks the lead(s) `completed` (completed_at = the event's
 *   time, completed_reason `replied` / `unsubscribed`, no pause causes left) and appends one audit row per lead, in
 *   the transaction that stores the event. Nothing else runs for any other event: an EmailSent row costs the WHEN
 *   test only (no function call, no extra round trip). A redelivered webhook is a duplicate event, which inserts no
 *   row, so the trigger does not fire again; the audit row is also keyed (`lead-completed:<lead id>`).
 *   Which leads: the lead with that address in the event's campaign; without a campaign id, every lead with that
 *   address. Leads already completed are left alone. The trigger runs as the caller (security invoker) under the
 *   tenant setting `drason_ingest_events` sets, so row-level security applies as for the event itself.
 * - Which leads a mailbox sent to. Pausing a mailbox pauses the leads it has been sending to (src/db/repositories/
 *   leadLifecycle.ts pauseLeadsFor). Migration 005 dropped every secondary index of `events` for ingestion's sake
 *   ("a feature that needs to search events adds the index it needs"): this partial index holds only EmailSent rows
 *   that name a lead and a campaign (Smartlead's EMAIL_SENT webhooks), keyed by mailbox and time, with the campaign
 *   and lead address included, so the lookup is an index-only range read of one mailbox's last 30 days.
 *   Cost: one B-tree insert per such EmailSent row (API events without a lead address do not pay it).
 */
import type { Knex } from 'knex';

/** The engine version the trigger's audit rows carry (src/domain/engineVersion.ts when this migration was written). */
const TRIGGER_ENGINE_VERSION = '2026.11.0';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `create index events_sent_to_leads on events (organization_id, mailbox_id, occurred_at) include (campaign_id, lead_email)
      where type = 'EmailSent' and lead_email is not null and campaign_id is not null`,
  );

  await knex.raw(`
    create function drason_complete_leads() returns trigger
    language plpgsql security invoker set search_path = public as $$
    declare
      v_reason text := case new.type when 'EMAIL_REPLY' then 'replied' else 'unsubscribed' end;
      v_what text := case new.type when 'EMAIL_REPLY' then 'the lead replied' else 'the lead unsubscribed' end;
    begin
      with done as (
        update leads l
           set status = 'completed', completed_at = new.occurred_at, completed_reason = v_reason, paused_by = '{}', updated_at = now()
         where l.organization_id = new.organization_id and l.email = new.lead_email
           and (new.campaign_id is null or l.assigned_campaign_id = new.campaign_id)
           and l.status <> 'completed'
        returning l.id, l.email, l.assigned_campaign_id, l.smartlead_paused
      )
      insert into audit_log (organization_id, entity_type, entity_id, action, actor, mode, trigger, engine_version, settings_version, message, idempotency_key)
      select new.organization_id, 'lead', d.id::text, 'lead_completed', 'smartlead', o.mode,
             jsonb_build_object('signals', jsonb_build_array(new.type), 'sequences', jsonb_build_object('first', new.id, 'last', new.id, 'count', 1)),
             '${TRIGGER_ENGINE_VERSION}',
             coalesce((select max(s.version) from organization_settings s where s.organization_id = new.organization_id), 1),
             'Lead ' || d.email || coalesce(' in campaign ' || d.assigned_campaign_id, '') || ' completed: ' || v_what
               || ' (Smartlead ' || new.type || ' webhook); its sequence is over, and Drason never pauses, resumes or pushes it again.',
             'lead-completed:' || d.id::text
        from done d join organizations o on o.id = new.organization_id
      on conflict (organization_id, idempotency_key) do nothing;
      return null;
    end $$`);
  await knex.raw(`
    create trigger events_complete_leads after insert on events
      for each row when (new.type in ('EMAIL_REPLY', 'LEAD_UNSUBSCRIBED') and new.lead_email is not null)
      execute function drason_complete_leads()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists events_complete_leads on events');
  await knex.raw('drop function if exists drason_complete_leads()');
  await knex.raw('drop index if exists events_sent_to_leads');
}
