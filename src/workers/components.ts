/**
 * The two runnable components, each started from resolved settings and returning a handle to stop it:
 * - the worker: Temporal worker (entity workflows + activities), the event relay (the only code that signals entity
 *   workflows), the maintenance loop and the audit sealer (hash chain of the audit log);
 * - the API: Express on its port.
 * Production runs each in its own process (worker.ts, api.ts); `npm start` runs both in one (start.ts).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Client } from '@temporalio/client';
import { makeTelemetryFilterString, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createApp } from '../api/app';
import { answerClientErrors } from '../api/clientErrors';
import { DEFAULT_RATE_LIMITS, type RateLimitSettings } from '../config';
import { createDb, type Db } from '../db/knex';
import { assertApplicationRoleIsolated, UnsafeDatabaseRoleError } from '../db/roleCheck';
import { createIntegrations } from '../db/repositories/integrations';
import { componentLogger, temporalLogger } from '../lib/logger';
import { startMetricsServer, temporalMetricsBindAddress, workerMetricsAddress } from '../lib/metrics';
import { Keyring } from '../security/encryption';
import type { RateLimitOptions } from '../smartlead';
import { startEventRelay, type RelayOptions } from '../services/eventRelay';
import { IngestBatcher } from '../services/ingestBatcher';
import { RelayWaker } from '../services/relayWaker';
import { startMaintenanceLoop } from '../services/maintenance';
import { startAuditSealer } from '../services/auditSealer';
import { connectClient, connectWorkerConnection, type TemporalSettings } from '../temporal/connection';

const log = componentLogger('drason');

export interface RuntimeSettings {
  databaseUrl: string;
  poolMax: number;
  temporal: TemporalSettings;
  temporalUiUrl?: string;
  adminToken?: string;
  host: string;
  port: number;
  publicUrl?: string;
  /** DRASON_ENCRYPTION_KEYS: `id:base64,…`, current key first. */
  encryptionKeys: string;
  /** Defaults to DEFAULT_RATE_LIMITS. */
  rateLimits?: RateLimitSettings;
  /** Defaults to 15. */
  smartleadSyncIntervalMinutes?: number;
  /** The Smartlead client's budget per API key in this process. Defaults to DEFAULT_RATE_LIMIT (10 per 2 s). */
  smartleadRateLimit?: RateLimitOptions;
}

let runtimeInstalled = false;
/** Temporal's Rust core: quiet logs, and no signal handlers of its own (our entry points own shutdown). */
export function installTemporalRuntime(level: LogLevel = 'WARN'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const metricsAt = temporalMetricsBindAddress(); // TEMPORAL_METRICS_PORT: the SDK's worker metrics (temporal_*)
  try {
    Runtime.install({
      logger: temporalLogger(level), // the SDK's and its core's logs, through winston
      shutdownSignals: [],
      telemetryOptions: {
        logging: { forward: {}, filter: makeTelemetryFilterString({ core: level, other: level }) },
        ...(metricsAt === undefined ? {} : { metrics: { prometheus: { bindAddress: metricsAt, useSecondsForDurations: true } } }),
      },
    });
  } catch {
    // Already installed by a test harness; keep theirs.
  }
}

export interface Stoppable {
  stop(): Promise<void>;
}

export interface WorkerComponentOptions {
  db?: Db;
  /** Passed to the event relay (e.g. benchmark instrumentation: onCounted, onSignalled). */
  relay?: RelayOptions;
}

export async function startWorkerComponent(settings: RuntimeSettings, options: WorkerComponentOptions = {}): Promise<Stoppable> {
  installTemporalRuntime();
  const db = options.db ?? createDb({ url: settings.databaseUrl, poolMax: settings.poolMax });
  await assertApplicationRoleIsolated(db);
  const connection = await connectWorkerConnection(settings.temporal);
  const worker = await Worker.create({
    connection,
    namespace: settings.temporal.namespace,
    taskQueue: settings.temporal.taskQueue,
    ...(settings.temporal.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: settings.temporal.maxCachedWorkflows }),
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({
      db,
      integrations: createIntegrations(new Keyring(settings.encryptionKeys)),
      ...(settings.smartleadRateLimit === undefined ? {} : { clientOptions: { rateLimit: settings.smartleadRateLimit } }),
    }),
  });
  const running = worker.run();
  // The relay signals through the worker's own native (Rust) connection: no second connection, and no grpc-js encoding
  // on this process's event loop for every bounce signalled (measured: grpc-js was a few % of the loop under load).
  const client = new Client({ connection, namespace: settings.temporal.namespace });
  const relay = startEventRelay({ db, client, taskQueue: settings.temporal.taskQueue, databaseUrl: settings.databaseUrl }, options.relay);
  const maintenance = startMaintenanceLoop(db);
  const sealer = startAuditSealer(db);
  const metricsAt = workerMetricsAddress(); // METRICS_PORT: this process's /metrics (the API serves its own)
  const metrics = metricsAt === undefined ? undefined : await startMetricsServer(metricsAt);
  log.info(`worker polling task queue ${settings.temporal.taskQueue} on ${settings.temporal.address}${metrics === undefined ? '' : `; metrics at ${metrics.url}`}`);
  return {
    stop: async () => {
      await relay.stop();
      await maintenance.stop();
      await sealer.stop();
      await metrics?.stop();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch((error: unknown) => log.error('worker stopped with an error', { error: String(error) }));
      await connection.close();
      if (options.db === undefined) await db.destroy();
    },
  };
}

export async function startApiComponent(
  settings: RuntimeSettings,
  options: { db?: Db } = {},
): Promise<Stoppable & { url: string; server: Server }> {
  const db = options.db ?? createDb({ url: settings.databaseUrl, poolMax: settings.poolMax });
  // Refuse an unsafe role; an unreachable database is not fatal here (the API starts and /readyz says 503).
  await assertApplicationRoleIsolated(db).catch((error: unknown) => {
    if (error instanceof UnsafeDatabaseRoleError) throw error;
  });
  const { client, connection } = await connectClient(settings.temporal);
  const deps = {
    db,
    temporal: client,
    taskQueue: settings.temporal.taskQueue,
    adminToken: settings.adminToken,
    temporalUiUrl: settings.temporalUiUrl,
    publicUrl: settings.publicUrl ?? '',
    integrations: createIntegrations(new Keyring(settings.encryptionKeys)),
    rateLimits: settings.rateLimits ?? DEFAULT_RATE_LIMITS,
    smartleadSyncIntervalMinutes: settings.smartleadSyncIntervalMinutes ?? 15,
    ingest: new IngestBatcher(db),
    relayWaker: new RelayWaker(db),
  };
  const { app } = createApp(deps);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(settings.port, settings.host, () => resolve(s));
    s.once('error', reject);
  });
  answerClientErrors(server);
  const { port } = server.address() as AddressInfo;
  const url = `http://${settings.host}:${port}`;
  deps.publicUrl = settings.publicUrl ?? url;
  log.info(`API listening on ${url}`);
  return {
    url,
    server,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests still running after 10 s (a hung dependency) are cut so the rest of shutdown can proceed.
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      deps.relayWaker.stop();
      await connection.close();
      if (options.db === undefined) await db.destroy();
    },
  };
}
