/**
 * Tenancy: the rest of the data model (PRD §5, audit §3–§6), every table owned by exactly one organization.
 *
 * - leads, campaigns (Smartlead's campaign id as text), campaign ↔ mailbox links, ordered routing rules,
 *   risk snapshots, versioned organization settings (append-only), Smartlead credentials (encrypted),
 *   per-organization webhook tokens, and idempotency keys with an expiry (replay protection).
 * - Every tenant row has organization_id; parents are unique on (organization_id, id) or (organization_id,
 *   natural id) and children reference them with composite foreign keys, so a row can only ever point at a row
 *   of its own organization, whatever the application does.
 * - FORCEd row-level security on every table; the application role gets only the privileges it needs.
 *   See docs/decisions/004-tenant-isolation-rls.md.
 */
import type { Knex } from 'knex';
import { allowOwnerDefinerRead, appRole, enableTenantRls, grantApp, makeAppendOnly, restrictFunctionToApp } from './helpers';

const ENTITY_STATES = `('healthy','warning','paused','recovering')`;

/**
 * Thresholds written for organizations that existed before settings were versioned. Frozen here on purpose: the
 * defaults in src/domain/defaultSettings.ts may change later, and a migration must mean the same thing forever.
 */
const INITIAL_THRESHOLDS =
  '{"minSample":30,"hardBounceRate":{"warning":0.02,"pause":0.05},"failureRate":{"warning":0.05,"pause":0.1},"velocity":{"warning":0.02},"sustainMinutes":30,"cooldownMinutes":360,"probationMinutes":120,"campaignDegradedMailboxes":2,"domainDegradedMailboxes":2,"gateMaxRiskScore":70}';

export async function up(knex: Knex): Promise<void> {
  const app = appRole(knex);
  const timestamps = (t: Knex.CreateTableBuilder): void => {
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  };
  const orgColumn = (t: Knex.CreateTableBuilder): void => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
  };

  // ---- Existing tables: what the new model needs from them ----
  await knex.schema.alterTable('api_keys', (t) => {
    t.uuid('created_by_key_id');
    t.uuid('revoked_by_key_id');
  });
  await knex.schema.alterTable('mailboxes', (t) => {
    t.text('smartlead_account_id');
    t.timestamp('deleted_externally_at', { useTz: true });
    t.index(['organization_id', 'domain_id']);
  });
  await knex.raw(`alter table mailboxes add constraint mailboxes_state_check check (state in ${ENTITY_STATES})`);
  await knex.raw(`alter table domains add constraint domains_state_check check (state in ${ENTITY_STATES})`);
  // Clock-skew and staleness notes on stored events ('stale': older than the longest window, stored, not counted;
  // 'future_clamped': the sender's timestamp was ahead of ours and was replaced by the receive time).
  await knex.schema.alterTable('events', (t) => {
    t.specificType('flags', 'text[]').notNullable().defaultTo('{}');
    t.index(['organization_id', 'lead_email']);
  });

  // ---- Campaigns (reference data from Smartlead; Drason keeps its own health state beside Smartlead's status) ----
  await knex.schema.createTable('campaigns', (t) => {
    orgColumn(t);
    t.uuid('id').notNullable().primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('campaign_id').notNullable().comment("Smartlead's campaign id, as text");
    t.text('name').notNullable().defaultTo('');
    t.text('status').notNullable().defaultTo('unknown').comment("Smartlead's status, verbatim (ACTIVE, PAUSED, ...)");
    t.text('state').notNullable().defaultTo('healthy').comment("Drason's health state");
    t.text('pause_reason');
    t.timestamp('deleted_externally_at', { useTz: true });
    t.timestamp('last_synced_at', { useTz: true });
    timestamps(t);
    t.unique(['organization_id', 'id']);
    t.unique(['organization_id', 'campaign_id']);
  });
  await knex.raw(`alter table campaigns add constraint campaigns_state_check check (state in ${ENTITY_STATES})`);
  await enableTenantRls(knex, 'campaigns');
  await grantApp(knex, 'campaigns');

  await knex.schema.createTable('campaign_mailboxes', (t) => {
    orgColumn(t);
    t.text('campaign_id').notNullable();
    t.uuid('mailbox_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_synced_at', { useTz: true });
    t.primary(['organization_id', 'campaign_id', 'mailbox_id']);
    t.foreign(['organization_id', 'campaign_id']).references(['organization_id', 'campaign_id']).inTable('campaigns').onDelete('CASCADE');
    t.foreign(['organization_id', 'mailbox_id']).references(['organization_id', 'id']).inTable('mailboxes').onDelete('CASCADE');
    t.index(['organization_id', 'mailbox_id']);
  });
  await enableTenantRls(knex, 'campaign_mailboxes');
  await grantApp(knex, 'campaign_mailboxes');

  // ---- Leads (from Clay) ----
  await knex.schema.createTable('leads', (t) => {
    orgColumn(t);
    t.uuid('id').notNullable().primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.specificType('email', 'citext').notNullable().comment('normalized: trimmed, lower-case');
    t.text('external_id');
    t.text('persona').notNullable();
    t.integer('lead_score').notNullable();
    t.text('source').notNullable().defaultTo('clay');
    t.text('status').notNullable().defaultTo('held');
    t.text('health_state').notNullable().defaultTo('healthy');
    t.text('assigned_campaign_id');
    t.text('hold_reason');
    t.jsonb('raw').notNullable().defaultTo('{}').comment('the payload as received');
    timestamps(t);
    t.unique(['organization_id', 'id']);
    t.foreign(['organization_id', 'assigned_campaign_id']).references(['organization_id', 'campaign_id']).inTable('campaigns');
    t.index(['organization_id', 'status', 'created_at']);
    t.index(['organization_id', 'assigned_campaign_id']);
  });
  await knex.raw(`alter table leads add constraint leads_status_check check (status in ('held','active','paused','completed'))`);
  await knex.raw(`alter table leads add constraint leads_health_state_check check (health_state in ('healthy','warning','paused'))`);
  // One lead per campaign per organization (audit §6.2); doubles as the (organization_id, email, campaign_id) index.
  await knex.raw('create unique index leads_one_per_campaign on leads (organization_id, email, assigned_campaign_id)');
  // Ingestion idempotency (API.md): on external_id when Clay sends one, else on the normalized email.
  await knex.raw('create unique index leads_external_id_unique on leads (organization_id, external_id) where external_id is not null');
  await knex.raw('create unique index leads_email_unique_without_external_id on leads (organization_id, email) where external_id is null');
  await enableTenantRls(knex, 'leads');
  await grantApp(knex, 'leads');

  // ---- Routing rules (ordered; first match wins) ----
  await knex.schema.createTable('routing_rules', (t) => {
    orgColumn(t);
    t.uuid('id').notNullable().primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.integer('position').notNullable();
    t.text('name').notNullable();
    t.jsonb('when').notNullable().defaultTo('{}');
    t.text('campaign_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'id']);
    t.unique(['organization_id', 'position']);
    t.foreign(['organization_id', 'campaign_id']).references(['organization_id', 'campaign_id']).inTable('campaigns');
    t.index(['organization_id', 'campaign_id']);
  });
  await knex.raw(`alter table routing_rules add constraint routing_rules_position_check check (position >= 0)`);
  await knex.raw(`alter table routing_rules add constraint routing_rules_when_check check (jsonb_typeof("when") = 'object')`);
  await enableTenantRls(knex, 'routing_rules');
  await grantApp(knex, 'routing_rules');

  // ---- Risk snapshots (history of computed risk; deletable by retention, never rewritten) ----
  await knex.schema.createTable('risk_snapshots', (t) => {
    orgColumn(t);
    t.bigIncrements('id').primary();
    t.text('entity_type').notNullable();
    t.text('entity_id').notNullable();
    t.decimal('risk_score', 5, 2).notNullable();
    t.text('state').notNullable();
    t.jsonb('metrics').notNullable().defaultTo('{}');
    t.integer('settings_version').notNullable();
    t.text('engine_version').notNullable();
    t.timestamp('taken_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['organization_id', 'id']);
    t.index(['organization_id', 'entity_type', 'entity_id', 'taken_at']);
  });
  await knex.raw(`alter table risk_snapshots add constraint risk_snapshots_entity_type_check check (entity_type in ('mailbox','domain','campaign'))`);
  await knex.raw(`alter table risk_snapshots add constraint risk_snapshots_score_check check (risk_score between 0 and 100)`);
  await knex.raw(`alter table risk_snapshots add constraint risk_snapshots_state_check check (state in ${ENTITY_STATES})`);
  await enableTenantRls(knex, 'risk_snapshots');
  await grantApp(knex, 'risk_snapshots', 'select, insert, delete');
  await knex.raw(`grant usage on sequence risk_snapshots_id_seq to ${app}`);

  // ---- Organization settings: one row per version, the current one is the highest; append-only ----
  await knex.schema.createTable('organization_settings', (t) => {
    orgColumn(t);
    t.integer('version').notNullable();
    t.text('mode').notNullable();
    t.jsonb('thresholds').notNullable();
    t.text('actor').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'version']);
  });
  await knex.raw(`alter table organization_settings add constraint organization_settings_version_check check (version >= 1)`);
  await knex.raw(`alter table organization_settings add constraint organization_settings_mode_check check (mode in ('observe','suggest','enforce'))`);
  // Backfill version 1 for existing organizations. FORCEd RLS hides every organization from the owner, so lift it
  // for this statement only (we are inside the migration's transaction).
  await knex.raw('alter table organizations no force row level security');
  await knex.raw(
    `insert into organization_settings (organization_id, version, mode, thresholds, actor)
     select id, 1, mode, ?::jsonb, 'migration' from organizations`,
    [INITIAL_THRESHOLDS],
  );
  await knex.raw('alter table organizations force row level security');
  await enableTenantRls(knex, 'organization_settings');
  await makeAppendOnly(knex, 'organization_settings');

  // ---- Integration credentials (Smartlead API key, AES-256-GCM; the key id says which key encrypted it) ----
  await knex.schema.createTable('integration_credentials', (t) => {
    orgColumn(t);
    t.uuid('id').notNullable().primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('provider').notNullable();
    t.text('api_key_ciphertext').notNullable();
    t.text('encryption_key_id').notNullable();
    t.text('base_url').notNullable();
    t.text('status').notNullable().defaultTo('configured');
    t.text('broken_reason');
    t.timestamp('broken_at', { useTz: true });
    timestamps(t);
    t.unique(['organization_id', 'id']);
    t.unique(['organization_id', 'provider']);
  });
  await knex.raw(`alter table integration_credentials add constraint integration_credentials_provider_check check (provider in ('smartlead'))`);
  await knex.raw(`alter table integration_credentials add constraint integration_credentials_status_check check (status in ('configured','broken'))`);
  await enableTenantRls(knex, 'integration_credentials');
  await grantApp(knex, 'integration_credentials', 'select, insert, update');

  // ---- Webhook tokens: the unguessable path segment of an organization's Smartlead webhook URL ----
  // Looked up by hash; also kept encrypted so Drason can show the URL again and register it with Smartlead.
  // The optional secret_key (Smartlead puts it in every body) is verified by hash.
  await knex.schema.createTable('webhook_tokens', (t) => {
    orgColumn(t);
    t.uuid('id').notNullable().primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('provider').notNullable();
    t.text('token_hash').notNullable().unique();
    t.text('token_ciphertext').notNullable();
    t.text('secret_key_hash');
    t.text('secret_key_ciphertext');
    t.text('encryption_key_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).comment('set on rotation: the old token keeps working until then');
    t.timestamp('revoked_at', { useTz: true });
    t.unique(['organization_id', 'id']);
    t.index(['organization_id', 'provider']);
  });
  await knex.raw(`alter table webhook_tokens add constraint webhook_tokens_provider_check check (provider in ('smartlead'))`);
  await enableTenantRls(knex, 'webhook_tokens');
  await grantApp(knex, 'webhook_tokens', 'select, insert, update');

  // ---- Idempotency keys: replay protection that outlives any sender's retry window, independent of event retention ----
  await knex.schema.createTable('idempotency_keys', (t) => {
    orgColumn(t);
    t.text('scope').notNullable();
    t.text('key').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['organization_id', 'scope', 'key']);
    t.index(['organization_id', 'expires_at']);
  });
  await enableTenantRls(knex, 'idempotency_keys');
  await grantApp(knex, 'idempotency_keys', 'select, insert, delete');

  // ---- Narrow cross-tenant lookups (SECURITY DEFINER, owned by the owner role) ----
  await knex.raw(`
    create or replace function drason_resolve_webhook_token(p_token_hash text)
    returns table (id uuid, organization_id uuid, provider text)
    language sql stable security definer set search_path = public as $$
      select w.id, w.organization_id, w.provider from webhook_tokens w
       where w.token_hash = p_token_hash and w.revoked_at is null and (w.expires_at is null or w.expires_at > now())
    $$`);
  await knex.raw(`
    create or replace function drason_orgs_with_secrets_not_under(p_key_id text)
    returns table (organization_id uuid)
    language sql stable security definer set search_path = public as $$
      select c.organization_id from integration_credentials c where c.encryption_key_id <> p_key_id
      union
      select w.organization_id from webhook_tokens w where w.encryption_key_id <> p_key_id
    $$`);
  for (const table of ['webhook_tokens', 'integration_credentials']) await allowOwnerDefinerRead(knex, table);
  for (const fn of ['drason_resolve_webhook_token(text)', 'drason_orgs_with_secrets_not_under(text)']) await restrictFunctionToApp(knex, fn);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists drason_orgs_with_secrets_not_under(text)');
  await knex.raw('drop function if exists drason_resolve_webhook_token(text)');
  for (const table of [
    'idempotency_keys',
    'webhook_tokens',
    'integration_credentials',
    'organization_settings',
    'risk_snapshots',
    'routing_rules',
    'leads',
    'campaign_mailboxes',
    'campaigns',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.schema.alterTable('events', (t) => {
    t.dropIndex(['organization_id', 'lead_email']);
    t.dropColumn('flags');
  });
  await knex.raw('alter table domains drop constraint if exists domains_state_check');
  await knex.raw('alter table mailboxes drop constraint if exists mailboxes_state_check');
  await knex.schema.alterTable('mailboxes', (t) => {
    t.dropIndex(['organization_id', 'domain_id']);
    t.dropColumn('deleted_externally_at');
    t.dropColumn('smartlead_account_id');
  });
  await knex.schema.alterTable('api_keys', (t) => {
    t.dropColumn('revoked_by_key_id');
    t.dropColumn('created_by_key_id');
  });
}
