/**
 * Drason's configuration: parsed once from the environment with zod, frozen, and cached.
 *
 * Every variable has a one-line description (the README's configuration table mirrors it).
 * A bad value fails at start with a message naming the variable (see `ConfigError`).
 * Unset DATABASE_URL / TEMPORAL_ADDRESS select the embedded defaults started by `npm start`.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseEncryptionKeys } from '../security/encryption';

const port = z.coerce.number().int().min(0).max(65535);
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();
/** A port that may be left unset (or empty): undefined then. */
const optionalPort = (min: number) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().int().min(min).max(65535).optional());
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The root of the checkout: src/config/ (or dist/src/config/) sits two or three levels below it. */
export function projectRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i += 1) {
    if (require('node:fs').existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development')
    .describe('Runtime environment; `production` turns off dev conveniences.'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info')
    .describe('Winston log level.'),
  PORT: port.default(3000).describe('HTTP port of the API (0 picks a free port).'),
  HOST: z.string().default('127.0.0.1').describe('Address the API listens on.'),
  PUBLIC_URL: optionalString.describe('Base URL the API is reached at, used in webhook URLs (default http://HOST:PORT).'),
  DRASON_DATA_DIR: optionalString.describe('Folder for embedded data: Postgres, Temporal SQLite, generated secrets (default ./.data).'),
  DRASON_ADMIN_TOKEN: optionalString.describe('Platform admin token for POST /v1/organizations (embedded default generates and keeps one).'),
  DRASON_ENCRYPTION_KEYS: optionalString.describe(
    'Keys that encrypt stored secrets (AES-256-GCM): `id:base64,id:base64`, 32-byte keys, current first; older ones still decrypt until `npm run rotate-keys` (embedded default generates and keeps one).',
  ),
  SMARTLEAD_SYNC_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(1440).default(15)
    .describe('How often each organization is reconciled with Smartlead (campaigns, email accounts, links).'),
  SMARTLEAD_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(60)
    .describe("Default Smartlead budget per API key, shared by every worker process: requests in any minute (Smartlead's standard plan: 60). An integration's own `rateLimit` overrides it."),
  SMARTLEAD_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(10_000).default(10)
    .describe("Default Smartlead budget per API key: requests in any one second (standard plan: 10); at most SMARTLEAD_RATE_LIMIT_PER_MINUTE."),
  SMARTLEAD_RATE_LIMIT_REQUESTS: z.coerce.number().int().min(1).max(1000).default(10)
    .describe('In-process guard only: Smartlead calls per window per API key from one process, spaced evenly (the shared budget above is the limit across processes).'),
  SMARTLEAD_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).max(600_000).default(2000)
    .describe('Length of the in-process guard window in milliseconds.'),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(60).describe('Length of the rate-limit window in seconds.'),
  RATE_LIMIT_PER_KEY: z.coerce.number().int().min(1).default(1200).describe('Requests per window for one API key.'),
  RATE_LIMIT_PER_WEBHOOK_TOKEN: z.coerce.number().int().min(1).default(6000).describe('Requests per window for one Smartlead webhook token (one event per request).'),
  RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(300).describe('Requests per window from one IP on endpoints without an API key (platform bootstrap, OpenAPI).'),
  RATE_LIMIT_FAILED_AUTH_PER_IP: z.coerce.number().int().min(1).default(300)
    .describe('Unauthenticated failures (401, unknown webhook token) per window from one IP before its failing requests get 429s; valid keys and tokens from it are never refused.'),
  DATABASE_URL: optionalString.describe('Postgres URL of the application (non-owner) role. Unset: embedded Postgres.'),
  DATABASE_OWNER_URL: optionalString.describe('Postgres URL of the schema owner role that runs migrations; required with DATABASE_URL, and a different role.'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10).describe('Max Postgres connections per process.'),
  EMBEDDED_PG_PORT: port.default(54329).describe('Port of the embedded Postgres.'),
  TEMPORAL_ADDRESS: optionalString.describe('host:port of the Temporal frontend. Unset: embedded dev server.'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('Temporal namespace.'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('drason-entities').describe('Task queue of the Drason worker.'),
  TEMPORAL_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(10).max(100_000).default(1000)
    .describe("Workflows a worker keeps in memory between tasks (about 0.5 MB each); an evicted one is replayed from its history at its next task. Bounds the worker's RSS with many live entities."),
  TEMPORAL_TLS: bool.describe('Use TLS to reach Temporal (true when TEMPORAL_TLS_CERT is set).'),
  TEMPORAL_TLS_CERT: optionalString.describe('Path to the client certificate (mTLS, e.g. Temporal Cloud).'),
  TEMPORAL_TLS_KEY: optionalString.describe('Path to the client private key (mTLS).'),
  TEMPORAL_API_KEY: optionalString.describe('Temporal Cloud API key (implies TLS).'),
  TEMPORAL_UI_URL: optionalString.describe('Base URL of the Temporal Web UI, used in links (embedded: http://127.0.0.1:TEMPORAL_UI_PORT).'),
  EMBEDDED_TEMPORAL_PORT: port.default(7233).describe('Frontend port of the embedded Temporal dev server.'),
  EMBEDDED_TEMPORAL_UI_PORT: port.default(8233).describe('Web UI port of the embedded Temporal dev server.'),
  TEMPORAL_CLI_PATH: optionalString.describe('Path to the `temporal` CLI (else PATH, else .tools/).'),
  TEMPORAL_TEST_SERVER_PATH: optionalString.describe('Path to the time-skipping test server (else PATH, else .tools/).'),
  METRICS_PORT: optionalPort(0).describe("Worker processes: serve this process's Drason metrics at http://METRICS_HOST:METRICS_PORT/metrics (unset: not served)."),
  METRICS_HOST: z.string().trim().min(1).default('0.0.0.0').describe('Address the worker metrics server listens on.'),
  TEMPORAL_METRICS_PORT: optionalPort(1).describe("Worker processes: the Temporal SDK's worker metrics (temporal_*) in Prometheus format on this port (unset: not exported)."),
  TEMPORAL_METRICS_HOST: z.string().trim().min(1).default('0.0.0.0').describe("Address the Temporal SDK's metrics exporter listens on."),
});

export type RawConfig = z.infer<typeof configSchema>;

/** Requests allowed per window, by who is calling (see src/api/rateLimit.ts). */
export interface RateLimitSettings {
  windowMs: number;
  perKey: number;
  perWebhookToken: number;
  perIp: number;
  failedAuthPerIp: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = { windowMs: 60_000, perKey: 1200, perWebhookToken: 6000, perIp: 300, failedAuthPerIp: 300 };

export interface Config extends RawConfig {
  dataDir: string;
  rateLimits: RateLimitSettings;
  /** The Smartlead client's in-process guard per API key (per process). */
  smartleadRateLimit: { maxRequests: number; perMs: number };
  /** The default Smartlead budget per API key across processes, for integrations that set none (decision 016). */
  smartleadBudget: { requestsPerMinute: number; burst: number };
  embedded: { postgres: boolean; temporal: boolean };
  temporalTls: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
  }
}

/** Parse an environment (default process.env). Throws ConfigError naming each bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        message: issue.message,
      })),
    );
  }
  const raw = result.data;
  const problems: { variable: string; message: string }[] = [];
  for (const [name, value] of [
    ['DATABASE_URL', raw.DATABASE_URL],
    ['DATABASE_OWNER_URL', raw.DATABASE_OWNER_URL],
  ] as const) {
    if (value !== undefined && !/^postgres(ql)?:\/\//.test(value)) {
      problems.push({ variable: name, message: 'must be a postgres:// or postgresql:// URL' });
    }
  }
  if (raw.TEMPORAL_ADDRESS !== undefined && !/^[^\s:/]+:\d{1,5}$/.test(raw.TEMPORAL_ADDRESS)) {
    problems.push({ variable: 'TEMPORAL_ADDRESS', message: 'must be host:port, e.g. localhost:7233' });
  }
  if ((raw.TEMPORAL_TLS_CERT === undefined) !== (raw.TEMPORAL_TLS_KEY === undefined)) {
    problems.push({
      variable: raw.TEMPORAL_TLS_CERT === undefined ? 'TEMPORAL_TLS_CERT' : 'TEMPORAL_TLS_KEY',
      message: 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together',
    });
  }
  if (raw.DRASON_ADMIN_TOKEN !== undefined && raw.DRASON_ADMIN_TOKEN.length < 24) {
    problems.push({ variable: 'DRASON_ADMIN_TOKEN', message: 'must be at least 24 characters' });
  }
  if (raw.DRASON_ENCRYPTION_KEYS !== undefined) {
    try {
      parseEncryptionKeys(raw.DRASON_ENCRYPTION_KEYS);
    } catch (error) {
      problems.push({ variable: 'DRASON_ENCRYPTION_KEYS', message: (error as Error).message });
    }
  }
  if (raw.SMARTLEAD_RATE_LIMIT_BURST > raw.SMARTLEAD_RATE_LIMIT_PER_MINUTE) {
    problems.push({ variable: 'SMARTLEAD_RATE_LIMIT_BURST', message: 'must be at most SMARTLEAD_RATE_LIMIT_PER_MINUTE' });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    ...raw,
    dataDir: path.resolve(raw.DRASON_DATA_DIR ?? path.join(projectRoot(), '.data')),
    rateLimits: {
      windowMs: raw.RATE_LIMIT_WINDOW_SECONDS * 1000,
      perKey: raw.RATE_LIMIT_PER_KEY,
      perWebhookToken: raw.RATE_LIMIT_PER_WEBHOOK_TOKEN,
      perIp: raw.RATE_LIMIT_PER_IP,
      failedAuthPerIp: raw.RATE_LIMIT_FAILED_AUTH_PER_IP,
    },
    smartleadRateLimit: { maxRequests: raw.SMARTLEAD_RATE_LIMIT_REQUESTS, perMs: raw.SMARTLEAD_RATE_LIMIT_WINDOW_MS },
    smartleadBudget: { requestsPerMinute: raw.SMARTLEAD_RATE_LIMIT_PER_MINUTE, burst: raw.SMARTLEAD_RATE_LIMIT_BURST },
    embedded: { postgres: raw.DATABASE_URL === undefined, temporal: raw.TEMPORAL_ADDRESS === undefined },
    temporalTls:
      raw.TEMPORAL_TLS || raw.TEMPORAL_TLS_CERT !== undefined || raw.TEMPORAL_API_KEY !== undefined,
  });
}

let cached: Config | undefined;

/** The process's configuration, parsed on first use. */
export function config(): Config {
  cached ??= parseConfig();
  return cached;
}
