/** SQL helpers shared by migrations: tenant row-level security and append-only tables. */
import type { Knex } from 'knex';

export function appRole(knex: Knex): string {
  const role = (knex.userParams as { appRole?: string }).appRole ?? 'drason_app';
  if (!/^[a-z_][a-z0-9_]*$/.test(role)) throw new Error(`Invalid application role name: ${role}`);
  return role;
}

/**
 * Enables and FORCEs row-level security on a tenant table: rows are visible and writable only when their
 * organization_id equals the transaction's `drason.organization_id` setting. Unset setting → no rows.
 */
export async function enableTenantRls(knex: Knex, table: string, column = 'organization_id'): Promise<void> {
  await knex.raw(`alter table ?? enable row level security`, [table]);
  await knex.raw(`alter table ?? force row level security`, [table]);
  await knex.raw(
    `create policy tenant_isolation on ?? using (?? = drason_current_org()) with check (?? = drason_current_org())`,
    [table, column, column],
  );
}

/** Grants the application role ordinary DML on a table. */
export async function grantApp(knex: Knex, table: string, privileges = 'select, insert, update, delete'): Promise<void> {
  await knex.raw(`grant ${privileges} on ?? to ${appRole(knex)}`, [table]);
}

/** Append-only: the application may only read and insert; a trigger refuses UPDATE, DELETE and TRUNCATE for anyone. */
export async function makeAppendOnly(knex: Knex, table: string): Promise<void> {
  await knex.raw(`grant select, insert on ?? to ${appRole(knex)}`, [table]);
  await knex.raw(
    `create trigger ${table}_append_only before update or delete on ?? for each statement execute function drason_refuse_change()`,
    [table],
  );
  await knex.raw(
    `create trigger ${table}_no_truncate before truncate on ?? for each statement execute function drason_refuse_change()`,
    [table],
  );
}

/** The role running the migration (the schema owner). */
export async function ownerRole(knex: Knex): Promise<string> {
  const result = (await knex.raw('select current_user as owner')) as { rows: { owner: string }[] };
  return result.rows[0]!.owner;
}

/**
 * FORCE applies row-level security to the owner too, so a SECURITY DEFINER function (which runs as the owner) sees
 * nothing unless the owner has a policy. This read-only policy is granted to the owner role only; the application
 * role is not the owner, so it gains nothing.
 */
export async function allowOwnerDefinerRead(knex: Knex, table: string): Promise<void> {
  await knex.raw(`create policy owner_definer_read on ?? for select to ?? using (true)`, [table, await ownerRole(knex)]);
}

/** A SECURITY DEFINER function is callable by the application role only (never by PUBLIC). */
export async function restrictFunctionToApp(knex: Knex, signature: string): Promise<void> {
  await knex.raw(`revoke all on function ${signature} from public`);
  await knex.raw(`grant execute on function ${signature} to ${appRole(knex)}`);
}
