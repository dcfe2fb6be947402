/**
 * Campaign and domain engines' storage (docs/decisions/012-escalation.md):
 *
 * - `campaigns` and `domains` gain the engine's state beside the existing `state` / `pause_reason` (as mailboxes did
 *   in 006): risk score, cooldown end, when the state changed, the settings version of the decision, the mailboxes
 *   behind the last decision, and — when an escalation loop stopped automation — when and why.
 * - `mailboxes.automation_stopped_at` / `automation_stopped_reason`: the same loop guard for mailboxes.
 * - `campaign_holds`: who holds a campaign paused in Smartlead. A campaign is paused in Smartlead while it has at
 *   least one hold and started again only by the release of the last one. Holders: `campaign` (its own engine),
 *   `domain:<name>` (a domain engine), `manual` (an operator), `external` (it was already not running when Drason
 *   first paused it: a person paused it in Smartlead, and Drason never starts it).
 * - `entity_commands` kinds: `member_state` (a mailbox's state changed: from its act activity to its campaigns and
 *   domain) and `membership_changed` (the Smartlead sync linked or unlinked mailboxes of a campaign).
 */
import type { Knex } from 'knex';
import { enableTenantRls, grantApp } from './helpers';

export async function up(knex: Knex): Promise<void> {
  for (const table of ['campaigns', 'domains']) {
    await knex.schema.alterTable(table, (t) => {
      t.smallint('risk_score').notNullable().defaultTo(0).comment('ExecutionRiskScore 0–100 (src/domain/riskScore.ts)');
      t.timestamp('cooldown_until', { useTz: true });
      t.timestamp('state_changed_at', { useTz: true });
      t.integer('settings_version').comment('The settings version of the decision that set the state');
      t.specificType('degraded_mailboxes', 'text[]').notNullable().defaultTo('{}').comment('The mailboxes behind the last decision');
    });
    await knex.raw(`alter table ${table} add constraint ${table}_risk_score_check check (risk_score between 0 and 100)`);
  }
  for (const table of ['campaigns', 'domains', 'mailboxes']) {
    await knex.schema.alterTable(table, (t) => {
      t.timestamp('automation_stopped_at', { useTz: true }).comment('An escalation loop stopped automation; only a person resumes it');
      t.text('automation_stopped_reason');
    });
  }

  await knex.schema.createTable('campaign_holds', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.text('campaign_id').notNullable().comment("Smartlead's campaign id");
    t.text('holder').notNullable().comment('campaign | domain:<name> | manual | external');
    t.text('decision_id').notNullable().comment('The decision that took the hold');
    t.text('reason').notNullable().defaultTo('');
    t.boolean('applied').notNullable().defaultTo(false).comment('The Smartlead pause this hold asked for was confirmed');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'campaign_id', 'holder']);
  });
  await enableTenantRls(knex, 'campaign_holds');
  await grantApp(knex, 'campaign_holds', 'select, insert, update, delete');

  await knex.raw('alter table entity_commands drop constraint entity_commands_kind_check');
  await knex.raw(
    `alter table entity_commands add constraint entity_commands_kind_check check (kind in ('override', 'apply_recommendation', 'settings_changed', 'member_state', 'membership_changed'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex('entity_commands').whereIn('kind', ['member_state', 'membership_changed']).delete();
  await knex.raw('alter table entity_commands drop constraint entity_commands_kind_check');
  await knex.raw(`alter table entity_commands add constraint entity_commands_kind_check check (kind in ('override', 'apply_recommendation', 'settings_changed'))`);
  await knex.schema.dropTable('campaign_holds');
  for (const table of ['campaigns', 'domains', 'mailboxes']) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('automation_stopped_at');
      t.dropColumn('automation_stopped_reason');
    });
  }
  for (const table of ['campaigns', 'domains']) {
    await knex.raw(`alter table ${table} drop constraint ${table}_risk_score_check`);
    await knex.schema.alterTable(table, (t) => {
      for (const c of ['risk_score', 'cooldown_until', 'state_changed_at', 'settings_version', 'degraded_mailboxes']) t.dropColumn(c);
    });
  }
}
