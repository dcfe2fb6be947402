/**
 * The lead pipeline's storage beyond ingestion (issue 10, docs/decisions/013-lead-pipeline.md):
 *
 * - `leads`:
 *   - `routing_rule` / `routing_version`: the rule (by name) and rules version that routed the lead — the lead's
 *     source for list-quality attribution and quarantine;
 *   - `pushed_at`: when Smartlead first had it in its campaign (the denominator of its source's bounce rate);
 *   - `push_status`: the last per-lead push outcome (added, duplicate_elsewhere, invalid_email, unsubscribed, …);
 *     `push_refused_at`: Smartlead refuses it for good (invalid, unsubscribed, blocked): it stays held with its
 *     reason and the gate no longer reads it;
 *   - `paused_by`: every entity holding this lead paused (`mailbox:<email>`, `campaign:<id>`, `domain:<name>`); the
 *     lead is active again only when the last one lets go; `smartlead_paused`: Drason paused it at Smartlead
 *     (its campaign kept running) and must resume it there;
 *   - `completed_at` / `completed_reason`: the sequence finished, a reply or an unsubscribe ended it;
 *   - `list_bounced_at`: a list-quality hard bounce was seen for it (counted once per lead for its source).
 * - `mailboxes`: what the Smartlead sync reads of each email account for the gate: `message_per_day`,
 *   `daily_sent_count`, `suspended_in_smartlead`, `capacity_read_at`.
 * - `source_quarantines`: one row per organization and source (a routing rule's name): quarantined or released,
 *   the evidence, who released it and from when its evidence counts again (`counts_from`).
 * - `entity_commands`: kind `leads_changed` addressed to entity type `campaign_leads` (key: the campaign id), for
 *   the campaign's lead push workflow; a separate entity type keeps its delivery chain apart from the campaign
 *   engine's.
 * - `recommendations`: action `push_leads` (suggest mode: push held leads) and `quarantine_source` (entity type
 *   `source`).
 */
import type { Knex } from 'knex';
import { enableTenantRls, grantApp } from './helpers';

const KINDS_BEFORE = `('override', 'apply_recommendation', 'settings_changed', 'member_state', 'membership_changed')`;
const KINDS = `('override', 'apply_recommendation', 'settings_changed', 'member_state', 'membership_changed', 'leads_changed')`;
const COMMAND_TYPES_BEFORE = `('mailbox', 'domain', 'campaign', 'organization')`;
const COMMAND_TYPES = `('mailbox', 'domain', 'campaign', 'organization', 'campaign_leads')`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('leads', (t) => {
    t.text('routing_rule');
    t.integer('routing_version');
    t.timestamp('pushed_at', { useTz: true });
    t.text('push_status');
    t.timestamp('push_refused_at', { useTz: true });
    t.specificType('paused_by', 'text[]').notNullable().defaultTo('{}');
    t.boolean('smartlead_paused').notNullable().defaultTo(false);
    t.timestamp('completed_at', { useTz: true });
    t.text('completed_reason');
    t.timestamp('list_bounced_at', { useTz: true });
  });
  // The gate's read: a campaign's held leads, oldest first, not refused for good.
  await knex.raw(
    `create index leads_held_for_gate on leads (organization_id, assigned_campaign_id, created_at, id) where status = 'held' and push_refused_at is null`,
  );
  // A source's evidence: its pushed leads and their list bounces.
  await knex.raw(`create index leads_by_source on leads (organization_id, routing_rule, pushed_at) where pushed_at is not null`);
  // Pause bookkeeping: leads paused, or paused at Smartlead, per campaign.
  await knex.raw(`create index leads_paused on leads (organization_id, assigned_campaign_id) where status = 'paused' or smartlead_paused`);

  await knex.schema.alterTable('mailboxes', (t) => {
    t.integer('message_per_day');
    t.integer('daily_sent_count');
    t.boolean('suspended_in_smartlead').notNullable().defaultTo(false);
    t.timestamp('capacity_read_at', { useTz: true });
  });

  await knex.schema.createTable('source_quarantines', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.text('source_key').notNullable().comment('the routing rule name');
    t.text('state').notNullable().comment('quarantined | released');
    t.text('reason').notNullable();
    t.jsonb('evidence').notNullable().defaultTo('{}');
    t.text('mode').notNullable().comment('the mode the decision was taken in');
    t.timestamp('quarantined_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('released_at', { useTz: true });
    t.text('released_by');
    t.timestamp('counts_from', { useTz: true }).comment('evidence before this time no longer counts (set on release)');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'source_key']);
  });
  await knex.raw(`alter table source_quarantines add constraint source_quarantines_state_check check (state in ('quarantined', 'released'))`);
  await knex.raw(`alter table source_quarantines add constraint source_quarantines_mode_check check (mode in ('observe', 'suggest', 'enforce'))`);
  await enableTenantRls(knex, 'source_quarantines');
  await grantApp(knex, 'source_quarantines', 'select, insert, update');

  await knex.raw('alter table entity_commands drop constraint entity_commands_kind_check');
  await knex.raw(`alter table entity_commands add constraint entity_commands_kind_check check (kind in ${KINDS})`);
  await knex.raw('alter table entity_commands drop constraint entity_commands_entity_type_check');
  await knex.raw(`alter table entity_commands add constraint entity_commands_entity_type_check check (entity_type in ${COMMAND_TYPES})`);

  await knex.raw('alter table recommendations drop constraint recommendations_action_check');
  await knex.raw(`alter table recommendations add constraint recommendations_action_check check (action in ('pause', 'resume', 'push_leads', 'quarantine_source'))`);
  await knex.raw('alter table recommendations drop constraint recommendations_entity_type_check');
  await knex.raw(`alter table recommendations add constraint recommendations_entity_type_check check (entity_type in ('mailbox', 'domain', 'campaign', 'source'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex('recommendations').whereIn('action', ['push_leads', 'quarantine_source']).delete();
  await knex.raw('alter table recommendations drop constraint recommendations_entity_type_check');
  await knex.raw(`alter table recommendations add constraint recommendations_entity_type_check check (entity_type in ('mailbox', 'domain', 'campaign'))`);
  await knex.raw('alter table recommendations drop constraint recommendations_action_check');
  await knex.raw(`alter table recommendations add constraint recommendations_action_check check (action in ('pause', 'resume'))`);
  await knex('entity_commands').where({ kind: 'leads_changed' }).delete();
  await knex.raw('alter table entity_commands drop constraint entity_commands_entity_type_check');
  await knex.raw(`alter table entity_commands add constraint entity_commands_entity_type_check check (entity_type in ${COMMAND_TYPES_BEFORE})`);
  await knex.raw('alter table entity_commands drop constraint entity_commands_kind_check');
  await knex.raw(`alter table entity_commands add constraint entity_commands_kind_check check (kind in ${KINDS_BEFORE})`);
  await knex.schema.dropTable('source_quarantines');
  await knex.schema.alterTable('mailboxes', (t) => {
    t.dropColumns('message_per_day', 'daily_sent_count', 'suspended_in_smartlead', 'capacity_read_at');
  });
  await knex.raw('drop index leads_paused');
  await knex.raw('drop index leads_by_source');
  await knex.raw('drop index leads_held_for_gate');
  await knex.schema.alterTable('leads', (t) => {
    t.dropColumns(
      'routing_rule',
      'routing_version',
      'pushed_at',
      'push_status',
      'push_refused_at',
      'paused_by',
      'smartlead_paused',
      'completed_at',
      'completed_reason',
      'list_bounced_at',
    );
  });
}
