/**
 * Knex instances. The application connects as a non-owner role subject to row-level security;
 * migrations connect as the owner role. Repositories return plain objects, never query builders.
 */
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// Return bigint counts and numeric values as JS numbers and timestamps as Date (default), never strings we forget to parse.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export type Db = Knex;

export interface DbOptions {
  url: string;
  poolMax?: number;
  /** Role that the application connects as; migrations grant it privileges. */
  appRole?: string;
}

export function createDb(options: DbOptions): Db {
  const db = knexFactory({
    client: 'pg',
    connection: { connectionString: options.url, application_name: 'drason' },
    pool: { min: 0, max: options.poolMax ?? 10, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 10_000,
  });
  return db.withUserParams({ appRole: options.appRole ?? 'drason_app' });
}

/** True when a simple query answers within the timeout. */
export async function pingDb(db: Db, timeoutMs = 2000): Promise<boolean> {
  try {
    await db.raw('select 1').timeout(timeoutMs, { cancel: true });
    return true;
  } catch {
    return false;
  }
}
