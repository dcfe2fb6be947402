/**
 * Real infrastructure for tests, started lazily once per test run and shared: an embedded Postgres (each suite
 * gets its own freshly migrated database) and an in-memory Temporal dev server. Stopped by the root hook.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb, type Db } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';
import { APP_ROLE, OWNER_ROLE, startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/embedded/postgres';
import { startEmbeddedTemporal, type EmbeddedTemporalHandle } from '../../src/embedded/temporal';
import { freePort } from './ports';

const PASSWORDS = { superuserPassword: 'test-super', ownerPassword: 'test-owner', appPassword: 'test-app' };

let postgres: Promise<{ handle: EmbeddedPostgresHandle; port: number; dir: string }> | undefined;
let temporal: Promise<EmbeddedTemporalHandle> | undefined;

export function testPostgres(): Promise<{ handle: EmbeddedPostgresHandle; port: number; dir: string }> {
  postgres ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-test-pg-'));
    const port = await freePort();
    const handle = await startEmbeddedPostgres({ dataDir: dir, port, ...PASSWORDS, database: 'drason_template' });
    return { handle, port, dir };
  })();
  return postgres;
}

export function testTemporal(): Promise<EmbeddedTemporalHandle> {
  temporal ??= (async () => startEmbeddedTemporal({ port: await freePort(), namespace: 'default', headless: true }))();
  return temporal;
}

export interface TestDatabase {
  name: string;
  ownerUrl: string;
  appUrl: string;
  /** Connected as the application role (RLS applies). */
  db: Db;
  /** Connected as the owner role. */
  ownerDb: Db;
  /** The superuser (bypasses row-level security): for tests that must look past it, never for the application. */
  superuserUrl: string;
  /** Closes the pools, ends every other connection to the database, and drops it. */
  drop(): Promise<void>;
}

let counter = 0;

async function asSuperuser<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, fully migrated database for one suite. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const { handle, port } = await testPostgres();
  counter += 1;
  const name = `drason_test_${process.pid}_${counter}`;
  const superuserUrl = handle.superuserUrl.replace(/\/postgres$/, `/${name}`);
  await asSuperuser(handle.superuserUrl, (admin) => admin.query(`create database ${name} owner ${OWNER_ROLE}`));
  await asSuperuser(superuserUrl, (client) => client.query('create extension if not exists citext'));
  const ownerUrl = `postgres://${OWNER_ROLE}:${PASSWORDS.ownerPassword}@127.0.0.1:${port}/${name}`;
  const appUrl = `postgres://${APP_ROLE}:${PASSWORDS.appPassword}@127.0.0.1:${port}/${name}`;
  if (options.migrate !== false) await migrateLatest({ ownerUrl, appRole: APP_ROLE });
  const db = createDb({ url: appUrl, poolMax: 5 });
  const ownerDb = createDb({ url: ownerUrl, poolMax: 2 });
  return {
    name,
    ownerUrl,
    appUrl,
    db,
    ownerDb,
    superuserUrl,
    drop: async () => {
      await db.destroy();
      await ownerDb.destroy();
      // Anything else still connected (a worker's pool, a test's own client) would keep the database alive.
      await asSuperuser(handle.superuserUrl, async (admin) => {
        await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
        await admin.query(`drop database if exists ${name} with (force)`);
      });
    },
  };
}

export async function stopTestStack(): Promise<void> {
  if (temporal !== undefined) await (await temporal).stop();
  if (postgres !== undefined) {
    const { handle, dir } = await postgres;
    await handle.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  temporal = undefined;
  postgres = undefined;
}
