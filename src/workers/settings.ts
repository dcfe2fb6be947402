/** Turns the parsed configuration into runtime settings for an external deployment (no embedded children). */
import { ConfigError, type Config } from '../config';
import type { RuntimeSettings } from './components';

export function externalSettings(cfg: Config): RuntimeSettings {
  const missing: { variable: string; message: string }[] = [];
  if (cfg.DATABASE_URL === undefined) missing.push({ variable: 'DATABASE_URL', message: 'required for the production entry points (npm start runs an embedded Postgres instead)' });
  if (cfg.TEMPORAL_ADDRESS === undefined) missing.push({ variable: 'TEMPORAL_ADDRESS', message: 'required for the production entry points (npm start runs an embedded Temporal instead)' });
  if (cfg.DRASON_ENCRYPTION_KEYS === undefined) {
    missing.push({ variable: 'DRASON_ENCRYPTION_KEYS', message: 'required for the production entry points: the key(s) that encrypt stored Smartlead credentials (id:base64 of 32 bytes)' });
  }
  if (missing.length > 0) throw new ConfigError(missing);
  return {
    databaseUrl: cfg.DATABASE_URL!,
    poolMax: cfg.DATABASE_POOL_MAX,
    temporal: temporalSettings(cfg, cfg.TEMPORAL_ADDRESS!),
    ...(cfg.TEMPORAL_UI_URL === undefined ? {} : { temporalUiUrl: cfg.TEMPORAL_UI_URL }),
    ...(cfg.DRASON_ADMIN_TOKEN === undefined ? {} : { adminToken: cfg.DRASON_ADMIN_TOKEN }),
    host: cfg.HOST,
    port: cfg.PORT,
    ...(cfg.PUBLIC_URL === undefined ? {} : { publicUrl: cfg.PUBLIC_URL }),
    encryptionKeys: cfg.DRASON_ENCRYPTION_KEYS!,
    rateLimits: cfg.rateLimits,
    smartleadSyncIntervalMinutes: cfg.SMARTLEAD_SYNC_INTERVAL_MINUTES,
    smartleadRateLimit: cfg.smartleadRateLimit,
  };
}

export function temporalSettings(cfg: Config, address: string): RuntimeSettings['temporal'] {
  return {
    address,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: cfg.TEMPORAL_TASK_QUEUE,
    maxCachedWorkflows: cfg.TEMPORAL_MAX_CACHED_WORKFLOWS,
    tls: cfg.temporalTls,
    ...(cfg.TEMPORAL_TLS_CERT === undefined ? {} : { tlsCertPath: cfg.TEMPORAL_TLS_CERT }),
    ...(cfg.TEMPORAL_TLS_KEY === undefined ? {} : { tlsKeyPath: cfg.TEMPORAL_TLS_KEY }),
    ...(cfg.TEMPORAL_API_KEY === undefined ? {} : { apiKey: cfg.TEMPORAL_API_KEY }),
  };
}
