/**
 * Tenant isolation rests on the application role being subject to row-level security. A role that is a superuser,
 * has BYPASSRLS, or owns the tables (and so can read through the owner-only policies) would silently see every
 * organization's rows. The worker and the API refuse to start on such a role.
 */
import { AppError } from '../lib/errors';
import type { Db } from './knex';

export class UnsafeDatabaseRoleError extends AppError {
  constructor(message: string) {
    super('unsafe_database_role', message, 500, { catastrophic: true });
  }
}

export async function assertApplicationRoleIsolated(db: Db): Promise<void> {
  const { rows } = await db.raw<{ rows: { role: string; rolsuper: boolean; rolbypassrls: boolean; owns_events: boolean }[] }>(`
    select current_user as role, r.rolsuper, r.rolbypassrls,
           coalesce((select tableowner = current_user from pg_tables where schemaname = 'public' and tablename = 'events'), false) as owns_events
      from pg_roles r where r.rolname = current_user`);
  const me = rows[0];
  if (me === undefined) return;
  const problems = [
    me.rolsuper ? 'is a superuser' : undefined,
    me.rolbypassrls ? 'has BYPASSRLS' : undefined,
    me.owns_events ? 'owns the tables (it is the migration/owner role)' : undefined,
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0) {
    throw new UnsafeDatabaseRoleError(
      `DATABASE_URL connects as "${me.role}", which ${problems.join(' and ')}: row-level security would not isolate organizations. ` +
        'Connect the application as a non-owner role without BYPASSRLS (see README, "Create the two roles"), and run migrations with DATABASE_OWNER_URL.',
    );
  }
}
