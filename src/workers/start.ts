/**
 * `npm start`: everything on one machine with nothing configured. Starts, in order, embedded PostgreSQL (unless
 * DATABASE_URL is set), the Temporal dev server with the Web UI (unless TEMPORAL_ADDRESS is set), migrations,
 * the worker and the API, then prints where everything is. Ctrl-C stops all of it, children included; the next
 * start reuses the same data folder.
 */
import { ConfigError, config } from '../config';
import { migrateLatest } from '../db/migrate';
import { embeddedPostgresOptions, loadOrCreateSecrets } from '../embedded/secrets';
import { APP_ROLE, startEmbeddedPostgres } from '../embedded/postgres';
import { startEmbeddedTemporal } from '../embedded/temporal';
import { logger } from '../lib/logger';
import { startApiComponent, startWorkerComponent, type RuntimeSettings, type Stoppable } from './components';
import { runMain } from './main';
import { temporalSettings } from './settings';

export async function startEverything(): Promise<Stoppable> {
  const cfg = config();
  const stack: Stoppable[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stack.reverse()) await s.stop().catch((error: unknown) => logger.warn('stop failed', { error: String(error) }));
  };
  try {
    const secrets = loadOrCreateSecrets(cfg.dataDir);

    let databaseUrl = cfg.DATABASE_URL;
    let ownerUrl = cfg.DATABASE_OWNER_URL;
    if (!cfg.embedded.postgres && ownerUrl === undefined) {
      throw new ConfigError([{ variable: 'DATABASE_OWNER_URL', message: 'required with DATABASE_URL: migrations run as the schema owner, the application as a separate non-owner role' }]);
    }
    if (cfg.embedded.postgres) {
      const pg = await startEmbeddedPostgres(embeddedPostgresOptions(secrets, cfg.dataDir, cfg.EMBEDDED_PG_PORT));
      stack.push(pg);
      databaseUrl = pg.appUrl;
      ownerUrl = pg.ownerUrl;
      logger.info(`embedded Postgres on 127.0.0.1:${cfg.EMBEDDED_PG_PORT} (data in ${cfg.dataDir}/postgres)`);
    }

    let temporalAddress = cfg.TEMPORAL_ADDRESS;
    let temporalUiUrl = cfg.TEMPORAL_UI_URL;
    if (cfg.embedded.temporal) {
      const temporal = await startEmbeddedTemporal({
        dataDir: cfg.dataDir,
        port: cfg.EMBEDDED_TEMPORAL_PORT,
        uiPort: cfg.EMBEDDED_TEMPORAL_UI_PORT,
        namespace: cfg.TEMPORAL_NAMESPACE,
        ...(cfg.TEMPORAL_CLI_PATH === undefined ? {} : { cliPath: cfg.TEMPORAL_CLI_PATH }),
      });
      stack.push(temporal);
      temporalAddress = temporal.address;
      temporalUiUrl ??= temporal.uiUrl;
    }

    const appRole = cfg.embedded.postgres ? APP_ROLE : decodeURIComponent(new URL(databaseUrl!).username);
    const applied = await migrateLatest({ ownerUrl: ownerUrl!, appRole });
    if (applied.length > 0) logger.info(`applied migrations: ${applied.join(', ')}`);

    const adminToken = cfg.DRASON_ADMIN_TOKEN ?? secrets.adminToken;
    const settings: RuntimeSettings = {
      databaseUrl: databaseUrl!,
      poolMax: cfg.DATABASE_POOL_MAX,
      temporal: temporalSettings(cfg, temporalAddress!),
      ...(temporalUiUrl === undefined ? {} : { temporalUiUrl }),
      adminToken,
      host: cfg.HOST,
      port: cfg.PORT,
      ...(cfg.PUBLIC_URL === undefined ? {} : { publicUrl: cfg.PUBLIC_URL }),
      encryptionKeys: cfg.DRASON_ENCRYPTION_KEYS ?? secrets.encryptionKeys,
      rateLimits: cfg.rateLimits,
      smartleadSyncIntervalMinutes: cfg.SMARTLEAD_SYNC_INTERVAL_MINUTES,
      smartleadRateLimit: cfg.smartleadRateLimit,
    };
    stack.push(await startWorkerComponent(settings));
    const api = await startApiComponent(settings);
    stack.push(api);

    const ui = temporalUiUrl === undefined || temporalUiUrl === '' ? '(external Temporal: see your cluster)' : temporalUiUrl;
    process.stdout.write(
      [
        '',
        'Drason is running.',
        `  API:               ${api.url}   (ready: ${api.url}/readyz, OpenAPI: ${api.url}/v1/openapi.json)`,
        `  Console:           ${api.url}/console/   (sign in with an organization's API key)`,
        `  Temporal Web UI:   ${ui}`,
        `  Platform admin token: ${adminToken}`,
        `  Data folder:       ${cfg.dataDir}`,
        'Press Ctrl-C to stop everything.',
        '',
      ].join('\n'),
    );
    return { stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

if (require.main === module) runMain('drason', startEverything);
