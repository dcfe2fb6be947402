/**
 * Tenant scoping. Every query on a tenant table runs inside `withTenant`, which opens a transaction and sets
 * `drason.organization_id` for that transaction only (`set_config(..., true)`). The row-level-security policies
 * in migrations compare each row's organization_id with it, so a query that forgets its WHERE clause still
 * sees only the current organization's rows.
 */
import type { Knex } from 'knex';
import type { Db } from './knex';

export type Tx = Knex.Transaction;

export const TENANT_SETTING = 'drason.organization_id';

export async function withTenant<T>(db: Db, organizationId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.raw('select set_config(?, ?, true)', [TENANT_SETTING, organizationId]);
    return work(tx);
  });
}

/**
 * Cross-tenant background work starts here: a narrow SECURITY DEFINER function (see migrations) names the
 * organizations that have something to do, and the caller then works on each inside `withTenant`.
 */
export async function organizationsFrom(db: Db, definerFunction: `drason_orgs_with_${string}`, argument: string | number): Promise<string[]> {
  const result = await db.raw<{ rows: { organization_id: string }[] }>(`select organization_id from ${definerFunction}(?)`, [argument]);
  return result.rows.map((r) => r.organization_id);
}
