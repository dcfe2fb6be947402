/**
 * Foundation schema: organizations, API keys, domains, mailboxes, the append-only event store with its
 * dispatch outbox, and the append-only audit log. Every tenant table carries organization_id and is
 * protected by FORCEd row-level security; children reference parents by (organization_id, id).
 */
import type { Knex } from 'knex';
import { appRole, enableTenantRls, grantApp, makeAppendOnly } from './helpers';

export async function up(knex: Knex): Promise<void> {
  const app = appRole(knex);
  await knex.raw('create extension if not exists citext');

  await knex.raw(`
    create or replace function drason_current_org() returns uuid language sql stable as $$
      select nullif(current_setting('drason.organization_id', true), '')::uuid
    $$`);
  await knex.raw(`
    create or replace function drason_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'table % is append-only: % is not allowed', tg_table_name, tg_op
        using errcode = 'insufficient_privilege';
    end $$`);

  await knex.schema.createTable('organizations', (t) => {
    t.uuid('id').primary();
    t.text('name').notNullable();
    t.text('mode').notNullable().defaultTo('observe');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table organizations add constraint organizations_mode_check check (mode in ('observe','suggest','enforce'))`);
  await enableTenantRls(knex, 'organizations', 'id');
  await grantApp(knex, 'organizations', 'select, insert, update');

  await knex.schema.createTable('api_keys', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.uuid('id').notNullable().primary();
    t.text('name').notNullable();
    t.text('role').notNullable();
    t.text('prefix').notNullable();
    t.text('key_hash').notNullable().unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.unique(['organization_id', 'id']);
    t.index(['organization_id']);
  });
  await knex.raw(`alter table api_keys add constraint api_keys_role_check check (role in ('admin','operator','viewer','ingest'))`);
  await enableTenantRls(knex, 'api_keys');
  await grantApp(knex, 'api_keys', 'select, insert, update');

  await knex.schema.createTable('domains', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.uuid('id').notNullable().primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.specificType('name', 'citext').notNullable();
    t.text('state').notNullable().defaultTo('healthy');
    t.text('pause_reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'id']);
    t.unique(['organization_id', 'name']);
    t.index(['organization_id']);
  });
  await enableTenantRls(knex, 'domains');
  await grantApp(knex, 'domains');

  await knex.schema.createTable('mailboxes', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.uuid('id').notNullable().primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.specificType('email', 'citext').notNullable();
    t.uuid('domain_id').notNullable();
    t.text('state').notNullable().defaultTo('healthy');
    t.text('pause_reason');
    t.timestamp('last_activity_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'id']);
    t.unique(['organization_id', 'email']);
    t.foreign(['organization_id', 'domain_id']).references(['organization_id', 'id']).inTable('domains');
    t.index(['organization_id']);
  });
  await enableTenantRls(knex, 'mailboxes');
  await grantApp(knex, 'mailboxes');

  // The event store: every accepted event, stored before any processing. Append-only.
  await knex.schema.createTable('events', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.bigIncrements('id').primary();
    t.text('idempotency_key').notNullable();
    t.text('type').notNullable();
    t.text('source').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid('mailbox_id');
    t.text('campaign_id');
    t.specificType('lead_email', 'citext');
    t.jsonb('detail').notNullable().defaultTo('{}');
    t.unique(['organization_id', 'idempotency_key']);
    t.unique(['organization_id', 'id']);
    t.foreign(['organization_id', 'mailbox_id']).references(['organization_id', 'id']).inTable('mailboxes');
    t.index(['organization_id', 'mailbox_id', 'occurred_at']);
    t.index(['organization_id', 'campaign_id']);
    t.index(['organization_id', 'occurred_at']);
  });
  await enableTenantRls(knex, 'events');
  await makeAppendOnly(knex, 'events');
  await knex.raw(`grant usage on sequence events_id_seq to ${app}`);

  // Events stored but not yet signalled to their entity workflow. Rows are removed once the signal is accepted.
  await knex.schema.createTable('event_dispatch_outbox', (t) => {
    t.uuid('organization_id').notNullable();
    t.bigInteger('event_id').notNullable();
    t.specificType('mailbox_email', 'citext').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // The API signals at once after commit; the background loop only picks up rows this old.
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.raw("now() + interval '10 seconds'"));
    t.primary(['organization_id', 'event_id']);
    t.foreign(['organization_id', 'event_id']).references(['organization_id', 'id']).inTable('events');
    t.index(['next_attempt_at']);
  });
  await enableTenantRls(knex, 'event_dispatch_outbox');
  await grantApp(knex, 'event_dispatch_outbox');

  // The audit log: one human-readable row per action, automated or manual. Append-only.
  await knex.schema.createTable('audit_log', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.bigIncrements('id').primary();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('entity_type').notNullable();
    t.text('entity_id').notNullable();
    t.text('action').notNullable();
    t.text('actor').notNullable();
    t.text('mode').notNullable();
    t.jsonb('trigger').notNullable().defaultTo('{}');
    t.text('engine_version').notNullable();
    t.integer('settings_version').notNullable().defaultTo(1);
    t.text('message').notNullable();
    // Set by activities so a retried write is recorded once.
    t.text('idempotency_key');
    t.unique(['organization_id', 'idempotency_key']);
    t.index(['organization_id', 'at']);
    t.index(['organization_id', 'entity_type', 'entity_id', 'at']);
  });
  await enableTenantRls(knex, 'audit_log');
  await makeAppendOnly(knex, 'audit_log');
  await knex.raw(`grant usage on sequence audit_log_id_seq to ${app}`);

  // Narrow, audited-by-design exceptions to tenant isolation, owned by the owner role (SECURITY DEFINER):
  // resolving an API key to its organization before the tenant is known, and finding which organizations
  // have undispatched events. Each returns only what its caller needs.
  await knex.raw(`
    create or replace function drason_resolve_api_key(p_key_hash text)
    returns table (id uuid, organization_id uuid, role text, revoked boolean)
    language sql stable security definer set search_path = public as $$
      select k.id, k.organization_id, k.role, k.revoked_at is not null from api_keys k where k.key_hash = p_key_hash
    $$`);
  await knex.raw(`
    create or replace function drason_orgs_with_pending_dispatch(p_limit int)
    returns table (organization_id uuid)
    language sql stable security definer set search_path = public as $$
      select distinct o.organization_id from event_dispatch_outbox o where o.next_attempt_at <= now() limit p_limit
    $$`);
  // FORCE applies RLS to the owner too; these read-only policies let the definer functions (which run as the
  // owner) see across tenants. The application role is not the owner, so they grant it nothing.
  const owner = ((await knex.raw('select current_user as owner')) as { rows: { owner: string }[] }).rows[0]!.owner;
  for (const table of ['api_keys', 'event_dispatch_outbox']) {
    await knex.raw(`create policy owner_definer_read on ?? for select to ?? using (true)`, [table, owner]);
  }
  for (const fn of ['drason_resolve_api_key(text)', 'drason_orgs_with_pending_dispatch(int)']) {
    await knex.raw(`revoke all on function ${fn} from public`);
    await knex.raw(`grant execute on function ${fn} to ${app}`);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists drason_orgs_with_pending_dispatch(int)');
  await knex.raw('drop function if exists drason_resolve_api_key(text)');
  for (const table of ['audit_log', 'event_dispatch_outbox', 'events', 'mailboxes', 'domains', 'api_keys', 'organizations']) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.raw('drop function if exists drason_refuse_change()');
  await knex.raw('drop function if exists drason_current_org()');
}
