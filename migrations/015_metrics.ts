/**
 * Metrics collected on scrape (src/lib/metrics.ts): relay backlog, leads by status and broken integrations, counted
 * across organizations by ONE narrow SECURITY DEFINER function. It returns counts only (no id, no organization, no
 * row content), so the application role learns nothing about any tenant it could not already infer from a total.
 */
import type { Knex } from 'knex';
import { allowOwnerDefinerRead, restrictFunctionToApp } from './helpers';

export async function up(knex: Knex): Promise<void> {
  // event_queue, signal_queue, signal_backoff (005), entity_commands (006) and integration_credentials (002) already
  // have their read policy.
  await allowOwnerDefinerRead(knex, 'leads');
  await knex.raw(`
    create function drason_metrics_snapshot()
    returns table (metric text, label text, value bigint)
    language sql stable security definer set search_path = public as $$
      select 'events_queued', '', count(*) from event_queue
      union all
      select 'signals_pending', '', count(*) from signal_queue
      union all
      select 'signals_backing_off', '', count(*) from signal_backoff
      union all
      select 'commands_pending', '', count(*) from entity_commands
      union all
      select 'leads', l.status, count(*) from leads l group by l.status
      union all
      select 'integrations_broken', c.provider, count(*) from integration_credentials c where c.status = 'broken' group by c.provider
    $$`);
  await restrictFunctionToApp(knex, 'drason_metrics_snapshot()');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists drason_metrics_snapshot()');
  await knex.raw('drop policy if exists owner_definer_read on leads');
}
