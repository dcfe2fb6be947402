/**
 * What each scenario runs on: a fresh embedded PostgreSQL and Temporal dev server (as `npm start` starts them),
 * migrated, in a temporary folder; Drason's components; the baseline endpoint; and a cleanup list that stops
 * everything in reverse order, even when the scenario fails.
 */
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import pg from 'pg';
import { migrateLatest } from '../src/db/migrate';
import { APP_ROLE, startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../src/embedded/postgres';
import { startEmbeddedTemporal, type EmbeddedTemporalHandle } from '../src/embedded/temporal';
import { generateEncryptionKeySpec } from '../src/security/encryption';
import type { RuntimeSettings } from '../src/workers/components';
import { freePort } from '../test/support/ports';
import type { ChildProcess } from 'node:child_process';
import { forkTs, nextMessage, stopChild, tail } from './processes';
import { waitFor } from './stats';
import type { FromWorker, WorkerStats } from './workerProcess';
import { mailboxName } from './workload';

/** Stops what was started, last first; never throws (a failed stop is reported and the rest still run). */
export class Cleanup {
  /** Every cleanup with something left to stop, for `Cleanup.all()` on Ctrl-C. */
  private static readonly pending = new Set<Cleanup>();
  private readonly steps: { name: string; run: () => Promise<void> }[] = [];

  add(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
    Cleanup.pending.add(this);
  }

  async run(): Promise<void> {
    Cleanup.pending.delete(this);
    for (const step of this.steps.splice(0).reverse()) {
      await step.run().catch((error: unknown) => process.stderr.write(`bench: stopping ${step.name} failed: ${String(error)}\n`));
    }
  }

  /** Runs every pending cleanup (on SIGINT/SIGTERM, so nothing the bench started outlives it). */
  static async all(): Promise<void> {
    for (const c of [...Cleanup.pending]) await c.run();
  }
}

export interface Infra {
  dir: string;
  pg: EmbeddedPostgresHandle;
  temporal: EmbeddedTemporalHandle;
  /** Superuser URL of the Drason database: the bench's own checks read across tenants (RLS does not apply). */
  checkUrl: string;
  settings: RuntimeSettings;
  /** The postmaster's pid (its backends are its children). */
  postgresPid(): number | undefined;
}

export const TASK_QUEUE = 'bench';
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export async function startInfra(cleanup: Cleanup): Promise<Infra> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-bench-'));
  cleanup.add('temporary folder', async () => fs.rmSync(dir, { recursive: true, force: true }));
  const pgHandle = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), superuserPassword: 's', ownerPassword: 'o', appPassword: 'a' });
  cleanup.add('PostgreSQL', () => pgHandle.stop());
  // File-backed in the same folder, exactly as `npm start` runs it (an in-memory server would flatter Temporal's cost).
  const temporal = await startEmbeddedTemporal({ dataDir: dir, port: await freePort(), namespace: 'default', headless: true });
  cleanup.add('Temporal', () => temporal.stop());
  await migrateLatest({ ownerUrl: pgHandle.ownerUrl, appRole: APP_ROLE });
  const settings: RuntimeSettings = {
    databaseUrl: pgHandle.appUrl,
    poolMax: 10,
    temporal: { address: temporal.address, namespace: 'default', taskQueue: TASK_QUEUE },
    adminToken: ADMIN_TOKEN,
    host: '127.0.0.1',
    port: 0,
    encryptionKeys: generateEncryptionKeySpec(),
    // Measure Drason, not its rate limiter.
    rateLimits: { windowMs: 60_000, perKey: 100_000_000, perWebhookToken: 100_000_000, perIp: 100_000_000, failedAuthPerIp: 100_000_000 },
  };
  const postgresPid = (): number | undefined => {
    try {
      return Number(fs.readFileSync(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  return { dir, pg: pgHandle, temporal, checkUrl: pgHandle.superuserUrl.replace(/\/postgres$/, '/drason'), settings, postgresPid };
}

/** A superuser connection for the bench's own reads (closed by the cleanup). */
export async function checkClient(infra: Infra, cleanup: Cleanup): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: infra.checkUrl, application_name: 'drason-bench-check' });
  await client.connect();
  cleanup.add('check connection', () => client.end());
  return client;
}

export async function createOrganization(apiUrl: string): Promise<{ key: string; organizationId: string }> {
  const res = await fetch(`${apiUrl}/v1/organizations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (res.status !== 201) throw new Error(`creating the organization failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { apiKey: { key: string }; organization: { id: string } };
  return { key: body.apiKey.key, organizationId: body.organization.id };
}

/** The relay's queues across all organizations (superuser: no RLS). */
export async function backlog(check: pg.Client): Promise<{ toCount: number; toSignal: number }> {
  const { rows } = await check.query<{ to_count: string; to_signal: string }>(
    'select (select count(*) from event_queue) as to_count, (select count(*) from signal_queue) as to_signal',
  );
  return { toCount: Number(rows[0]!.to_count), toSignal: Number(rows[0]!.to_signal) };
}

/**
 * The baseline: a bare Express app with express.json doing exactly one INSERT of the body into a table of the same
 * PostgreSQL through a pg pool of Drason's size, answering like Drason does (202 with accepted/duplicates).
 */
export async function startBaselineServer(infra: Infra, cleanup: Cleanup): Promise<{ url: string }> {
  const owner = new pg.Client({ connectionString: infra.pg.ownerUrl });
  await owner.connect();
  try {
    await owner.query('create table if not exists bench_baseline (id bigserial primary key, body jsonb not null, received_at timestamptz not null default now())');
  } finally {
    await owner.end();
  }
  const pool = new pg.Pool({ connectionString: infra.pg.ownerUrl, max: infra.settings.poolMax, application_name: 'drason-bench-baseline' });
  cleanup.add('baseline pool', () => pool.end());
  const app = express();
  app.use(express.json({ limit: '2mb' }));
  app.post('/ingest', async (req, res) => {
    await pool.query('insert into bench_baseline (body) values ($1)', [req.body]);
    const events = (req.body as { events?: unknown[] }).events;
    res.status(202).json({ accepted: Array.isArray(events) ? events.length : 0, duplicates: 0 });
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  cleanup.add('baseline server', () => closeServer(server));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest` };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5_000).unref();
  });
}

/** Waits (at most `timeoutMs`) until the relay's queues are empty; the time it took, or undefined if they were not. */
export async function waitDrained(check: pg.Client, timeoutMs: number): Promise<number | undefined> {
  const started = performance.now();
  for (;;) {
    const b = await backlog(check);
    if (b.toCount === 0 && b.toSignal === 0) return Math.round(performance.now() - started);
    if (performance.now() - started > timeoutMs) return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Steady state, as in production: every mailbox of the workload already has its long-lived workflow running (a
 * workflow starts at its mailbox's first bounce and then lives on). One hard bounce per mailbox, posted in batches,
 * then wait until each mailbox's workflow has audited it. Not measured; the scenarios say they do it.
 */
export async function primeMailboxWorkflows(
  apiUrl: string,
  key: string,
  check: pg.Client,
  organizationId: string,
  mailboxes: number,
  prefix = 'prime',
  /** Another workload's mailbox names and campaigns (default: bench/workload.ts's, all campaign 1000; undefined: none), and a longer wait. */
  o: { mailbox?: (m: number) => string; campaignId?: (m: number) => string | undefined; timeoutMs?: number } = {},
): Promise<void> {
  const since = new Date();
  const occurredAt = since.toISOString();
  for (let first = 0; first < mailboxes; first += 500) {
    const events = Array.from({ length: Math.min(500, mailboxes - first) }, (_, i) => {
      const campaignId = o.campaignId === undefined ? '1000' : o.campaignId(first + i);
      return { id: `${prefix}-${first + i}`, type: 'HardBounce', occurredAt, mailbox: (o.mailbox ?? mailboxName)(first + i), ...(campaignId === undefined ? {} : { campaignId }) };
    });
    const res = await fetch(`${apiUrl}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    if (res.status !== 202) throw new Error(`priming mailboxes: POST /v1/events answered ${res.status}: ${await res.text()}`);
  }
  await waitFor(`all ${mailboxes} mailbox workflows to be running`, o.timeoutMs ?? 300_000, 250, async () => {
    const { rows } = await check.query<{ n: string }>(
      `select count(distinct entity_id) as n from audit_log
        where organization_id = $1 and entity_type = 'mailbox' and action = 'events_observed' and at >= $2`,
      [organizationId, since],
    );
    return Number(rows[0]!.n) >= mailboxes ? true : undefined;
  });
}

export interface WorkerHandle {
  child: ChildProcess;
  logFile: string;
  stats(): Promise<WorkerStats>;
}

/** A production worker process (bench/workerProcess.ts) on the bench's database, Temporal and task queue. */
export async function startWorkerProcess(infra: Infra, index: number, cleanup: Cleanup): Promise<WorkerHandle> {
  const logFile = path.join(infra.dir, `worker-${index}.log`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: infra.settings.databaseUrl,
    DATABASE_POOL_MAX: String(infra.settings.poolMax),
    TEMPORAL_ADDRESS: infra.temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    DRASON_ENCRYPTION_KEYS: infra.settings.encryptionKeys,
  };
  delete env.DATABASE_OWNER_URL;
  const child = forkTs(path.join(__dirname, 'workerProcess.ts'), { env, logFile });
  cleanup.add(`worker process ${index}`, () => stopChild(child, 40_000));
  await nextMessage(child, `starting worker process ${index}`, 180_000, (m: FromWorker) => (m.type === 'ready' ? true : undefined)).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${tail(logFile)}`);
  });
  return {
    child,
    logFile,
    stats: () => {
      const answer = nextMessage(child, `stats of worker process ${index}`, 30_000, (m: FromWorker) => (m.type === 'stats' ? m.stats : undefined));
      child.send({ type: 'stats' });
      return answer;
    },
  };
}

