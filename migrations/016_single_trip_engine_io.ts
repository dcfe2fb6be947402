/**
 * The mailbox engine's per-bounce database work in one round trip each (docs/decisions/010-event-pipeline.md,
 * "Cost per bounce"). Every bounce batch a mailbox workflow takes reads its decision input and writes one audit
 * row; through `withTenant` those were ten round trips (BEGIN, set_config, two reads, COMMIT; BEGIN, set_config, a
 * mode lookup, the insert, COMMIT). Measured in the ingest benchmark, they were most of the worker's database
 * traffic under load. Each is now one statement, a SECURITY INVOKER function that scopes itself to its organization
 * like `drason_ingest_events` does, so row-level security applies exactly as before:
 *
 * - `drason_entity_decision_input(org, entity type, key, after)`: the entity's counter buckets starting after `after`
 *   (ascending, each `[start epoch ms, sent, hard bounces, failures, reputation blocks]`) and the organization's
 *   current settings row (`null` when it has none). Read-only.
 * - `drason_append_audit(org, entry)`: THE audit insert (src/db/repositories/audit.ts appendAudit calls it, inside or
 *   outside a transaction): mode and settings version default to the organization's current ones, and an entry
 *   whose idempotency key is already stored is not written again (returns false).
 *
 * Both refuse (SQLSTATE 42501) when called inside a transaction already scoped to another organization.
 */
import type { Knex } from 'knex';
import { appRole } from './helpers';

export async function up(knex: Knex): Promise<void> {
  const app = appRole(knex);
  // Scopes the calling transaction to p_org, unless it is already scoped to another organization: then it refuses
  // (as row-level security's WITH CHECK did for the statements these functions replace), so a caller can never
  // write or read another tenant's rows through them. No SET clause, so the setting outlives this call.
  await knex.raw(`
    create function drason_enter_tenant(p_org uuid) returns void
    language plpgsql volatile security invoker as $$
    begin
      if coalesce(nullif(pg_catalog.current_setting('drason.organization_id', true), ''), p_org::text) <> p_org::text then
        raise exception 'drason: called for organization % inside a transaction scoped to another', p_org using errcode = '42501';
      end if;
      perform pg_catalog.set_config('drason.organization_id', p_org::text, true);
    end $$`);
  await knex.raw('revoke all on function drason_enter_tenant(uuid) from public');
  await knex.raw(`grant execute on function drason_enter_tenant(uuid) to ${app}`);

  await knex.raw(`
    create function drason_entity_decision_input(p_org uuid, p_entity_type text, p_entity_key text, p_after timestamptz)
    returns table (buckets jsonb, settings jsonb)
    language plpgsql volatile security invoker set search_path = public as $$
    begin
      perform drason_enter_tenant(p_org);
      return query select
        (select coalesce(jsonb_agg(jsonb_build_array((extract(epoch from c.bucket_start) * 1000)::bigint, c.sent, c.hard_bounces, c.failures, c.reputation_blocks)
                                   order by c.bucket_start), '[]'::jsonb)
           from entity_counters c
          where c.organization_id = p_org and c.entity_type = p_entity_type and c.entity_key = p_entity_key and c.bucket_start > p_after),
        (select jsonb_build_object('version', s.version, 'mode', s.mode, 'thresholds', s.thresholds, 'createdAt', s.created_at)
           from organization_settings s where s.organization_id = p_org order by s.version desc limit 1);
    end $$`);
  await knex.raw('revoke all on function drason_entity_decision_input(uuid, text, text, timestamptz) from public');
  await knex.raw(`grant execute on function drason_entity_decision_input(uuid, text, text, timestamptz) to ${app}`);

  await knex.raw(`
    create function drason_append_audit(p_org uuid, p_entry jsonb)
    returns boolean
    language plpgsql volatile security invoker set search_path = public as $$
    declare
      v_mode text := p_entry->>'mode';
      v_version int := (p_entry->>'settingsVersion')::int;
      v_id bigint;
    begin
      perform drason_enter_tenant(p_org);
      if v_mode is null or v_version is null then
        select coalesce(v_mode, o.mode), coalesce(v_version, (select max(s.version) from organization_settings s where s.organization_id = o.id))
          into v_mode, v_version from organizations o where o.id = p_org;
      end if;
      insert into audit_log (organization_id, entity_type, entity_id, action, actor, mode, trigger, engine_version, settings_version, message, idempotency_key)
      values (p_org, p_entry->>'entityType', p_entry->>'entityId', p_entry->>'action', p_entry->>'actor', coalesce(v_mode, 'observe'),
              coalesce(p_entry->'trigger', '{}'::jsonb), p_entry->>'engineVersion', coalesce(v_version, 1), p_entry->>'message', p_entry->>'idempotencyKey')
      on conflict (organization_id, idempotency_key) do nothing
      returning id into v_id;
      return v_id is not null;
    end $$`);
  await knex.raw('revoke all on function drason_append_audit(uuid, jsonb) from public');
  await knex.raw(`grant execute on function drason_append_audit(uuid, jsonb) to ${app}`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists drason_append_audit(uuid, jsonb)');
  await knex.raw('drop function if exists drason_entity_decision_input(uuid, text, text, timestamptz)');
  await knex.raw('drop function if exists drason_enter_tenant(uuid)');
}
