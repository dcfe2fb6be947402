/**
 * Keys the planner can use under row-level security, for entity reads (GET /v1/mailboxes, /v1/domains and their
 * details) and for ingestion's mailbox and domain lookups (drason_ingest_events, migrations/005_event_pipeline.ts).
 *
 * Mailbox emails and domain names are citext, and citext's comparison functions are not LEAKPROOF. PostgreSQL never
 * evaluates a non-leakproof condition before a table's row-level-security policy, so under FORCEd RLS `email = $1`
 * and `email > $cursor` are never index conditions: EXPLAIN shows "Index Cond: (organization_id = …)" and
 * "Filter: (email > …)". A lookup then reads every mailbox of the organization, and each keyset page every mailbox
 * before it.
 *
 * So each table gets a stored, generated lower-case text key — exactly the key the window counters use
 * (entity_counters.entity_key, migrations/005_event_pipeline.ts) — unique per organization. Text comparison is
 * leakproof, so lookups and pages ordered by the key are index range scans. A second index per table serves the
 * `?state=` filter in key order. Campaigns need nothing: campaign_id is text, and (organization_id, campaign_id) is
 * already unique.
 */
import type { Knex } from 'knex';

const KEYED = [
  { table: 'mailboxes', source: 'email', key: 'email_key' },
  { table: 'domains', source: 'name', key: 'name_key' },
] as const;

export async function up(knex: Knex): Promise<void> {
  for (const { table, source, key } of KEYED) {
    await knex.raw(`alter table ?? add column ?? text generated always as (lower(??::text)) stored`, [table, key, source]);
    // A utility statement takes no bind parameters: the text is a constant of this file.
    await knex.raw(`comment on column ??.?? is 'lower(${source}): the key of the window counters, and an index key usable under row-level security'`, [table, key]);
    await knex.raw(`create unique index ?? on ?? (organization_id, ??)`, [`${table}_${key}_unique`, table, key]);
    await knex.raw(`create index ?? on ?? (organization_id, state, ??)`, [`${table}_state_${key}`, table, key]);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const { table, key } of KEYED) {
    await knex.raw(`drop index if exists ??`, [`${table}_state_${key}`]);
    await knex.raw(`drop index if exists ??`, [`${table}_${key}_unique`]);
    await knex.raw(`alter table ?? drop column if exists ??`, [table, key]);
  }
}
