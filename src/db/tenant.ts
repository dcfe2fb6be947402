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
