/**
 * The database an operator command (rotate-keys, rebuild-counters) works on: DATABASE_URL when set; otherwise the
 * embedded Postgres of the data folder — the running one if `npm start` is up, else started (and migrated) for the
 * duration of the command.
 */
import type { Config } from '../config';
import { createDb, pingDb } from '../db/knex';
import { migrateLatest } from '../db/migrate';
import { APP_ROLE, embeddedUrl, startEmbeddedPostgres } from '../embedded/postgres';
import { embeddedPostgresOptions, loadOrCreateSecrets, type EmbeddedSecrets } from '../embedded/secrets';

export interface CommandDatabase {
  databaseUrl: string;
  /** The data folder's generated secrets, when the embedded default is used. */
  secrets?: EmbeddedSecrets;
  /** Stops the embedded Postgres if this command started it. */
  release(): Promise<void>;
}

export async function commandDatabase(cfg: Config): Promise<CommandDatabase> {
  if (!cfg.embedded.postgres) return { databaseUrl: cfg.DATABASE_URL!, release: async () => undefined };
  const secrets = loadOrCreateSecrets(cfg.dataDir);
  const databaseUrl = embeddedUrl(APP_ROLE, secrets.appPassword, cfg.EMBEDDED_PG_PORT, 'drason');
  const probe = createDb({ url: databaseUrl, poolMax: 1 });
  const running = await pingDb(probe);
  await probe.destroy();
  if (running) return { databaseUrl, secrets, release: async () => undefined };
  const pg = await startEmbeddedPostgres(embeddedPostgresOptions(secrets, cfg.dataDir, cfg.EMBEDDED_PG_PORT));
  await migrateLatest({ ownerUrl: pg.ownerUrl, appRole: APP_ROLE });
  return { databaseUrl, secrets, release: () => pg.stop() };
}
