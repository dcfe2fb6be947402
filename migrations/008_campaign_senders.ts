/**
 * `campaign_senders`: which mailbox sent for which campaign, and when last (to the hour), kept by the relay's count
 * stage from the events it counts (src/db/repositories/relay.ts). The campaign and domain engines read membership
 * from it together with the Smartlead sync's links (src/db/repositories/membership.ts): the events table has no index
 * by mailbox (every index there costs each ingestion, 005), so a lookup by mailbox must not scan it.
 * Backfilled from the last 7 days of events. Bounded by the mailbox–campaign pairs that exist; a pair older than 7 days
 * is no longer read as membership (kept: it is one row per pair).
 */
import type { Knex } from 'knex';
import { enableTenantRls, grantApp } from './helpers';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('campaign_senders', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.text('campaign_id').notNullable().comment("Smartlead's campaign id, as the events carry it");
    t.uuid('mailbox_id').notNullable();
    t.timestamp('last_seen_at', { useTz: true }).notNullable().comment('The latest event of the pair, kept to the hour');
    t.primary(['organization_id', 'mailbox_id', 'campaign_id']);
    t.foreign(['organization_id', 'mailbox_id']).references(['organization_id', 'id']).inTable('mailboxes').onDelete('CASCADE');
  });
  await enableTenantRls(knex, 'campaign_senders');
  await grantApp(knex, 'campaign_senders', 'select, insert, update, delete');
  await knex.raw('alter table events no force row level security');
  await knex.raw(`
    insert into campaign_senders (organization_id, campaign_id, mailbox_id, last_seen_at)
    select organization_id, campaign_id, mailbox_id, max(occurred_at) from events
     where campaign_id is not null and mailbox_id is not null and occurred_at >= now() - interval '7 days'
     group by 1, 2, 3`);
  await knex.raw('alter table events force row level security');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('campaign_senders');
}
