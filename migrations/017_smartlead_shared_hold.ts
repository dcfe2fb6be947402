/**
 * A 429's Retry-After holds back every process using the key (docs/decisions/016-smartlead-rate-budget.md, "A 429").
 * Until now the process that received a 429 held back its own calls with the key, and every other worker process
 * kept sending until Smartlead refused it too.
 *
 * - `smartlead_rate_budgets.hold_until` (epoch ms, null = none): no slot of the key is granted before it.
 * - `drason_smartlead_hold_budget(fingerprint, hold_ms)`: extends the key's hold to now + hold_ms (never shortens it)
 *   and returns the instant; the client calls it when Smartlead answers 429, with the Retry-After.
 * - `drason_smartlead_take_budget`: same signature and contract as migration 014's, and no slot before the hold.
 *   Code from before this migration calls it unchanged and obeys holds other processes record.
 *
 * Both are SECURITY INVOKER under the tenant setting, like migration 014's.
 */
import type { Knex } from 'knex';
import { TAKE_BUDGET_FUNCTION } from './014_smartlead_budget';

const TAKE_BUDGET_SIGNATURE = 'drason_smartlead_take_budget(text, int[], int[], double precision, double precision)';

/**
 * Migration 014's `drason_smartlead_take_budget`, changed in four places (each must apply, or the migration
 * fails): it replaces the function, declares `v_hold`, reads `hold_until` with the slots, and grants no slot before
 * the hold.
 */
function takeBudgetWithHold(): string {
  const edits: [from: string, to: string][] = [
    ['create function drason_smartlead_take_budget(', 'create or replace function drason_smartlead_take_budget('],
    ['      v_slots double precision[];\n', '      v_slots double precision[];\n      v_hold double precision;\n'],
    ['select slots into v_slots from smartlead_rate_budgets', 'select slots, hold_until into v_slots, v_hold from smartlead_rate_budgets'],
    [
      'v_at := greatest(v_now, coalesce(v_slots[v_n], v_now));',
      '-- Not before now, the last slot granted, or the hold of the last 429.\n      v_at := greatest(v_now, coalesce(v_slots[v_n], v_now), coalesce(v_hold, v_now));',
    ],
  ];
  return edits.reduce((sql, [from, to]) => {
    if (!sql.includes(from)) throw new Error(`017: migration 014's take_budget no longer contains ${JSON.stringify(from)}`);
    return sql.replace(from, to);
  }, TAKE_BUDGET_FUNCTION);
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table smartlead_rate_budgets add column hold_until double precision');
  await knex.raw(`comment on column smartlead_rate_budgets.hold_until is 'no slot before this instant (epoch ms): the Retry-After of the last 429'`);

  await knex.raw(`
    create function drason_smartlead_hold_budget(p_fingerprint text, p_hold_ms double precision)
    returns double precision
    language plpgsql security invoker set search_path = public as $$
    declare
      v_org uuid := drason_current_org();
      v_until double precision := extract(epoch from clock_timestamp()) * 1000 + greatest(p_hold_ms, 0);
    begin
      if v_org is null then raise exception 'drason_smartlead_hold_budget needs the tenant setting'; end if;
      insert into smartlead_rate_budgets as b (organization_id, key_fingerprint, hold_until) values (v_org, p_fingerprint, v_until)
        on conflict (organization_id, key_fingerprint)
        do update set hold_until = greatest(coalesce(b.hold_until, 0), excluded.hold_until), updated_at = now()
        returning b.hold_until into v_until;
      return v_until;
    end $$`);

  await knex.raw(takeBudgetWithHold());
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop function if exists ${TAKE_BUDGET_SIGNATURE}`);
  await knex.raw(TAKE_BUDGET_FUNCTION);
  await knex.raw('drop function if exists drason_smartlead_hold_budget(text, double precision)');
  await knex.raw('alter table smartlead_rate_budgets drop column if exists hold_until');
}
