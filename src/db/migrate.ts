/**
 * Runs knex migrations as the owner role. Two instances starting at once are serialised by a Postgres
 * advisory lock held on a dedicated connection, so the second waits and then finds nothing to do
 * (knex's own lock table would make it fail instead).
 */
import pg from 'pg';
import type { Knex } from 'knex';
import { createDb } from './knex';
import { UnsafeDatabaseRoleError } from './roleCheck';
import { migrations } from '../../migrations';

const MIGRATION_LOCK_KEY = 7_331_001; // arbitrary, stable: "drason migrations"

class ListMigrationSource implements Knex.MigrationSource<string> {
  getMigrations(): Promise<string[]> {
    return Promise.resolve(migrations.map((m) => m.name));
  }
  getMigrationName(name: string): string {
    return name;
  }
  getMigration(name: string): Promise<Knex.Migration> {
    const found = migrations.find((m) => m.name === name);
    if (found === undefined) throw new Error(`Unknown migration ${name}`);
    return Promise.resolve(found);
  }
}

export interface MigrateOptions {
  ownerUrl: string;
  appRole: string;
}

export async function migrateLatest(options: MigrateOptions): Promise<string[]> {
  const lockClient = new pg.Client({ connectionString: options.ownerUrl, application_name: 'drason-migrate-lock' });
  await lockClient.connect();
  const db = createDb({ url: options.ownerUrl, poolMax: 2, appRole: options.appRole });
  try {
    const { rows } = await lockClient.query<{ role: string }>('select current_user as role');
    if (rows[0]?.role === options.appRole) {
      throw new UnsafeDatabaseRoleError(
        `Migrations are connecting as the application role "${options.appRole}". Run them as the schema owner (DATABASE_OWNER_URL), a different role from the one in DATABASE_URL, or tenant isolation cannot hold.`,
      );
    }
    await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const [, applied] = (await db.migrate.latest({ migrationSource: new ListMigrationSource() })) as [number, string[]];
    return applied;
  } finally {
    await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lockClient.end().catch(() => undefined);
    await db.destroy();
  }
}
