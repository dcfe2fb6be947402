/**
 * Retention: expired idempotency keys are purged per organization by the worker's maintenance loop. This narrow
 * SECURITY DEFINER function tells it which organizations have any (and nothing else).
 */
import type { Knex } from 'knex';
import { allowOwnerDefinerRead, restrictFunctionToApp } from './helpers';

export async function up(knex: Knex): Promise<void> {
  await allowOwnerDefinerRead(knex, 'idempotency_keys');
  await knex.raw(`
    create or replace function drason_orgs_with_expired_idempotency_keys(p_limit int)
    returns table (organization_id uuid)
    language sql stable security definer set search_path = public as $$
      select distinct k.organization_id from idempotency_keys k where k.expires_at <= now() limit p_limit
    $$`);
  await restrictFunctionToApp(knex, 'drason_orgs_with_expired_idempotency_keys(int)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists drason_orgs_with_expired_idempotency_keys(int)');
  await knex.raw('drop policy if exists owner_definer_read on idempotency_keys');
}
