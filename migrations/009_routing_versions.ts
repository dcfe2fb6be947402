/**
 * `routing_rule_versions`: every accepted `PUT /v1/routing-rules` as one numbered version per organization (the
 * whole ordered list, who changed it, when), so a lead's routing can always be traced to the rules it was routed by.
 * `routing_rules` stays the current list the router reads by position; this table is its history. Append-only for
 * the application (select, insert). Organizations that already have rules get them as version 1.
 */
import type { Knex } from 'knex';
import { enableTenantRls, grantApp } from './helpers';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('routing_rule_versions', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.integer('version').notNullable();
    t.jsonb('rules').notNullable().comment('The ordered list as accepted: [{name, when, campaignId}]');
    t.text('actor').notNullable().comment('Who changed the rules: api-key:<id>, or migration');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'version']);
  });
  await knex.raw(`alter table routing_rule_versions add constraint routing_rule_versions_version_check check (version >= 1)`);
  await knex.raw(`alter table routing_rule_versions add constraint routing_rule_versions_rules_check check (jsonb_typeof(rules) = 'array')`);
  await enableTenantRls(knex, 'routing_rule_versions');
  await grantApp(knex, 'routing_rule_versions', 'select, insert');
  // Rules that exist already become version 1 (read past row-level security, as the schema owner).
  await knex.raw('alter table routing_rules no force row level security');
  await knex.raw('alter table routing_rule_versions no force row level security');
  await knex.raw(`
    insert into routing_rule_versions (organization_id, version, rules, actor)
    select organization_id, 1,
           jsonb_agg(jsonb_build_object('name', name, 'when', "when", 'campaignId', campaign_id) order by position),
           'migration'
      from routing_rules group by organization_id`);
  await knex.raw('alter table routing_rule_versions force row level security');
  await knex.raw('alter table routing_rules force row level security');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('routing_rule_versions');
}
