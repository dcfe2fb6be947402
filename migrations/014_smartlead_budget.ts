/**
 * Smartlead rate budget shared by every worker process (issue 12, decision 016).
 *
 * - `integration_credentials.rate_limit_per_minute` / `rate_limit_burst`: the integration's budget as saved through
 *   `PUT /v1/integrations/smartlead` (`rateLimit`); null = the deployment's default.
 * - `smartlead_rate_budgets`: one row per organization and Smartlead key fingerprint (a hash of base URL and key:
 *   a rotated key gets a fresh row), holding the slots granted in the longest window (epoch milliseconds, ascending).
 * - `drason_smartlead_take_budget(fingerprint, limits, windows_ms, max_wait_ms, margin_ms)`: ONE statement reserves
 *   the next slot for one request — the earliest instant, no earlier than now and than the last slot, at which every
 *   window (limits[i] per windows_ms[i]) holds fewer than its limit counting every earlier slot — and returns how long
 *   until it; a slot further than max_wait_ms is not reserved (granted false). The row is locked for the statement,
 *   so concurrent callers in any process queue in order. SECURITY INVOKER: row-level security applies.
 */
import type { Knex } from 'knex';
import { enableTenantRls, grantApp } from './helpers';

/**
 * The slot-reservation function as this migration defines it (`create function`). Exported so that migration 017's
 * `down` can put it back exactly.
 */
export const TAKE_BUDGET_FUNCTION = `
    create function drason_smartlead_take_budget(p_fingerprint text, p_limits int[], p_windows_ms int[], p_max_wait_ms double precision, p_margin_ms double precision)
    returns table (granted boolean, wait_ms double precision)
    language plpgsql security invoker set search_path = public as $$
    declare
      v_org uuid := drason_current_org();
      v_now double precision := extract(epoch from clock_timestamp()) * 1000;
      v_slots double precision[];
      v_at double precision;
      v_n int;
      v_keep_ms double precision := 0;
      v_keep_n int := 0;
      i int;
    begin
      if v_org is null then raise exception 'drason_smartlead_take_budget needs the tenant setting'; end if;
      if coalesce(array_length(p_limits, 1), 0) = 0 or array_length(p_limits, 1) <> array_length(p_windows_ms, 1) then
        raise exception 'drason_smartlead_take_budget needs as many limits as windows (at least one)';
      end if;
      insert into smartlead_rate_budgets (organization_id, key_fingerprint) values (v_org, p_fingerprint)
        on conflict (organization_id, key_fingerprint) do nothing;
      if found then
        -- A new key: forget the buckets of keys idle for a day (rotated away).
        delete from smartlead_rate_budgets
         where organization_id = v_org and key_fingerprint <> p_fingerprint and updated_at < now() - interval '1 day';
      end if;
      select slots into v_slots from smartlead_rate_budgets
       where organization_id = v_org and key_fingerprint = p_fingerprint for update;
      v_n := coalesce(array_length(v_slots, 1), 0);
      v_at := greatest(v_now, coalesce(v_slots[v_n], v_now));
      for i in 1 .. array_length(p_limits, 1) loop
        if p_limits[i] < 1 or p_windows_ms[i] < 1 then raise exception 'limits and windows must be positive'; end if;
        if v_n >= p_limits[i] then
          v_at := greatest(v_at, v_slots[v_n - p_limits[i] + 1] + p_windows_ms[i] + p_margin_ms);
        end if;
        v_keep_ms := greatest(v_keep_ms, p_windows_ms[i] + p_margin_ms);
        v_keep_n := greatest(v_keep_n, p_limits[i]);
      end loop;
      if v_at - v_now > p_max_wait_ms then
        return query select false, v_at - v_now;
        return;
      end if;
      v_slots := array(
        select s from (select s from unnest(v_slots || v_at) s where s > v_at - v_keep_ms order by s desc limit v_keep_n) kept order by s);
      update smartlead_rate_budgets set slots = v_slots, updated_at = now()
       where organization_id = v_org and key_fingerprint = p_fingerprint;
      return query select true, v_at - v_now;
    end $$`;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('integration_credentials', (t) => {
    t.integer('rate_limit_per_minute').nullable();
    t.integer('rate_limit_burst').nullable();
  });
  await knex.raw(`alter table integration_credentials add constraint integration_credentials_rate_limit_check check (
    (rate_limit_per_minute is null) = (rate_limit_burst is null)
    and (rate_limit_per_minute is null or (rate_limit_per_minute between 1 and 10000 and rate_limit_burst between 1 and rate_limit_per_minute)))`);

  await knex.schema.createTable('smartlead_rate_budgets', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.text('key_fingerprint').notNullable();
    t.specificType('slots', 'double precision[]').notNullable().defaultTo(knex.raw(`'{}'`)).comment('granted slots, epoch ms, ascending');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'key_fingerprint']);
  });
  await knex.raw(`alter table smartlead_rate_budgets add constraint smartlead_rate_budgets_fingerprint_check check (key_fingerprint ~ '^[0-9a-f]{32,64}$')`);
  await enableTenantRls(knex, 'smartlead_rate_budgets');
  await grantApp(knex, 'smartlead_rate_budgets');

  await knex.raw(TAKE_BUDGET_FUNCTION);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists drason_smartlead_take_budget(text, int[], int[], double precision, double precision)');
  await knex.schema.dropTableIfExists('smartlead_rate_budgets');
  await knex.raw('alter table integration_credentials drop constraint if exists integration_credentials_rate_limit_check');
  await knex.schema.alterTable('integration_credentials', (t) => {
    t.dropColumn('rate_limit_per_minute');
    t.dropColumn('rate_limit_burst');
  });
}
