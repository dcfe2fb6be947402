/**
 * The audit log made tamper-evident (docs/decisions/014-audit-chain.md): a hash chain per organization, sealed
 * asynchronously by the worker's sealer so no audit insert waits on another.
 *
 * - `audit_chain`: one link per sealed audit row, append-only, tenant-isolated like every tenant table.
 *   hash = sha256(prev_hash || canonical JSON of the row's content columns); seq counts links per organization.
 * - Audit ids are taken by `drason_audit_next_id()`, which first gives the inserting transaction its xid. A
 *   transaction holding an id therefore always shows in the in-progress list of a snapshot taken after the id was
 *   handed out: the sealer uses that to seal only ids no running transaction can still commit (no gaps filled
 *   later, so a row that appears below the sealed ones was put there by hand).
 * - `drason_orgs_with_unsealed_audit(p_through)`: the narrow cross-tenant lookup of organizations with rows to seal.
 */
import type { Knex } from 'knex';
import { allowOwnerDefinerRead, appRole, enableTenantRls, makeAppendOnly, restrictFunctionToApp } from './helpers';

export async function up(knex: Knex): Promise<void> {
  const app = appRole(knex);
  await knex.schema.createTable('audit_chain', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.bigInteger('seq').notNullable();
    t.bigInteger('audit_id').notNullable();
    t.text('prev_hash').notNullable();
    t.text('hash').notNullable();
    t.timestamp('sealed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['organization_id', 'seq']);
    t.unique(['organization_id', 'audit_id']);
  });
  await knex.raw(`alter table audit_chain add constraint audit_chain_hash_check check (hash ~ '^[0-9a-f]{64}$' and prev_hash ~ '^[0-9a-f]{64}$' and seq >= 1)`);
  await enableTenantRls(knex, 'audit_chain');
  await makeAppendOnly(knex, 'audit_chain');

  // Finding an organization's unsealed tail, and listing its log newest first, by (organization, id).
  await knex.raw('create index audit_log_organization_id_id_index on audit_log (organization_id, id)');

  await knex.raw(`
    create function drason_audit_next_id() returns bigint language plpgsql volatile as $$
    begin
      perform pg_current_xact_id();
      return nextval('audit_log_id_seq');
    end $$`);
  await knex.raw(`alter table audit_log alter column id set default drason_audit_next_id()`);
  await knex.raw(`grant execute on function drason_audit_next_id() to ${app}`);
  // The sealer reads the sequence's last value (not transactional) to place its horizon.
  await knex.raw(`grant select on sequence audit_log_id_seq to ${app}`);

  await allowOwnerDefinerRead(knex, 'audit_log');
  await allowOwnerDefinerRead(knex, 'audit_chain');
  await knex.raw(`
    create function drason_orgs_with_unsealed_audit(p_through bigint)
    returns table (organization_id uuid)
    language sql stable security definer set search_path = public as $$
      select o.id from organizations o
       where exists (select 1 from audit_log a
                      where a.organization_id = o.id and a.id <= p_through
                        and a.id > coalesce((select max(c.audit_id) from audit_chain c where c.organization_id = o.id), 0))
       order by o.id
    $$`);
  await restrictFunctionToApp(knex, 'drason_orgs_with_unsealed_audit(bigint)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists drason_orgs_with_unsealed_audit(bigint)');
  await knex.raw('drop policy if exists owner_definer_read on audit_log');
  await knex.raw(`alter table audit_log alter column id set default nextval('audit_log_id_seq')`);
  await knex.raw('drop function if exists drason_audit_next_id()');
  await knex.raw('drop index if exists audit_log_organization_id_id_index');
  await knex.schema.dropTableIfExists('audit_chain');
}
