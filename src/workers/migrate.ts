/** Runs database migrations as the owner role (DATABASE_OWNER_URL). Safe to run concurrently. */
import { ConfigError, config } from '../config';
import { migrateLatest } from '../db/migrate';
import { logger } from '../lib/logger';
import { runMain } from './main';

runMain('drason-migrate', async () => {
  const cfg = config();
  const ownerUrl = cfg.DATABASE_OWNER_URL;
  if (ownerUrl === undefined) throw new ConfigError([{ variable: 'DATABASE_OWNER_URL', message: 'set it to the schema owner role to migrate an external database' }]);
  const appRole = cfg.DATABASE_URL === undefined ? 'drason_app' : decodeURIComponent(new URL(cfg.DATABASE_URL).username);
  const applied = await migrateLatest({ ownerUrl, appRole });
  logger.info(applied.length === 0 ? 'database is up to date' : `applied migrations: ${applied.join(', ')}`);
  return { stop: async () => undefined };
});
