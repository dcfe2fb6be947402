/** Prometheus metrics (prom-client), exposed at GET /metrics. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import { config, type Config } from '../config';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

export const httpRequests = new client.Counter({
  name: 'drason_http_requests_total',
  help: 'HTTP requests by method, route and status.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const eventsIngested = new client.Counter({
  name: 'drason_events_ingested_total',
  help: 'Events received by the event store, by source (api, smartlead), type (EmailSent, HardBounce, …) and whether they were duplicates (true, false; partial for a batch of several events of which only some were new).',
  labelNames: ['source', 'type', 'duplicate'] as const,
  registers: [registry],
});

export const relayEventsCounted = new client.Counter({
  name: 'drason_relay_events_counted_total',
  help: 'Stored events the relay added to the window counters.',
  registers: [registry],
});

export const relaySignals = new client.Counter({
  name: 'drason_relay_signals_total',
  help: 'Signals the relay sent to entity workflows (one per mailbox per round), by outcome (delivered, failed).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const relayCommands = new client.Counter({
  name: 'drason_relay_commands_total',
  help: 'Commands the relay delivered to entity workflows (override, apply_recommendation, settings_changed: one per mailbox signalled), by kind and outcome (delivered, failed).',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});

export const relayLag = new client.Histogram({
  name: 'drason_relay_lag_seconds',
  help: 'Time from an event being stored to it being counted (stage=count) or signalled to its workflow (stage=signal).',
  labelNames: ['stage'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60, 300],
  registers: [registry],
});

export const webhookRejections = new client.Counter({
  name: 'drason_webhook_rejections_total',
  help: 'Webhook deliveries refused after the token matched (e.g. a missing or wrong secret_key), by reason.',
  labelNames: ['provider', 'reason'] as const,
  registers: [registry],
});

export const smartleadFailures = new client.Counter({
  name: 'drason_smartlead_failures_total',
  help: 'Smartlead calls that failed after the client gave up, by kind (credentials_revoked, not_found, rate_limited, unavailable, rejected).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const smartleadBudgetWait = new client.Histogram({
  name: 'drason_smartlead_rate_budget_wait_seconds',
  help: "Time a Smartlead request waited for a slot of its key's shared rate budget, by outcome (granted, refused: no slot within the bound, cancelled).",
  labelNames: ['outcome'] as const,
  buckets: [0, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  registers: [registry],
});

// ---------------------------------------------------------------------------------------------------------------
// Issue 12: request latency, decisions, Smartlead calls, database queries, backlog and leads (collected on scrape),
// and the Temporal SDK's own metrics. Labels are templates, entity types and actions: never a URL, an id, an email.
// ---------------------------------------------------------------------------------------------------------------

export const httpRequestDuration = new client.Histogram({
  name: 'drason_http_request_duration_seconds',
  help: 'HTTP request latency by method, route template and status class (2xx, 4xx, 5xx).',
  labelNames: ['method', 'route', 'status_class'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** 200 → "2xx". */
export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

export const decisions = new client.Counter({
  name: 'drason_decisions_total',
  help: 'Engine decisions recorded (one per decision id), by level (mailbox, campaign, domain), action (paused, warning, resumed, automation_stopped, …) and outcome (done, would_have, recommended, impossible).',
  labelNames: ['level', 'action', 'outcome'] as const,
  registers: [registry],
});

export const escalations = new client.Counter({
  name: 'drason_escalations_total',
  help: 'Decisions that escalate (pause, pause recommended or would pause, automation stopped by an escalation loop), by level and action.',
  labelNames: ['level', 'action'] as const,
  registers: [registry],
});

const ESCALATING_ACTIONS = new Set(['paused', 'would_pause', 'pause_recommended', 'automation_stopped', 'would_stop_automation']);

/** Counts one recorded decision: `action` is the audit action (`mailbox_paused`), labelled without its level prefix. */
export function recordDecision(level: string, auditAction: string, outcome: string): void {
  const action = auditAction.startsWith(`${level}_`) ? auditAction.slice(level.length + 1) : auditAction;
  decisions.inc({ level, action, outcome });
  if (ESCALATING_ACTIONS.has(action)) escalations.inc({ level, action });
}

export const smartleadCalls = new client.Counter({
  name: 'drason_smartlead_calls_total',
  help: 'HTTP requests sent to Smartlead (each attempt), by method, endpoint template (/campaigns/:id/leads) and status (2xx, 4xx, 429, 5xx, or timeout, network).',
  labelNames: ['method', 'endpoint', 'status'] as const,
  registers: [registry],
});

export const smartleadCallDuration = new client.Histogram({
  name: 'drason_smartlead_call_duration_seconds',
  help: 'Latency of HTTP requests to Smartlead (each attempt, without the rate-limit wait), by method and endpoint template.',
  labelNames: ['method', 'endpoint'] as const,
  buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
  registers: [registry],
});

/** Path segments kept as they are in an endpoint template; every other segment (ids) becomes `:id`. */
const SMARTLEAD_PATH_WORDS = new Set(['campaigns', 'email-accounts', 'leads', 'status', 'suspend', 'unsuspend', 'pause', 'resume', 'statistics', 'webhooks', 'sequences', 'schedule', 'settings']);

/** `/campaigns/123/leads` → `/campaigns/:id/leads`; a query string is dropped. Never an id, an email or a key. */
export function smartleadEndpointTemplate(path: string): string {
  const segments = path.split('?')[0]!.split('/').filter((s) => s !== '');
  return `/${segments.map((s) => (SMARTLEAD_PATH_WORDS.has(s) ? s : ':id')).join('/')}`;
}

/** One request to Smartlead: `status` is the HTTP status, or the error code when none came back (timeout, network). */
export function recordSmartleadCall(method: string, path: string, status: number | string, seconds: number): void {
  const endpoint = smartleadEndpointTemplate(path);
  const label = typeof status === 'number' ? (status === 429 ? '429' : statusClass(status)) : status;
  smartleadCalls.inc({ method, endpoint, status: label });
  smartleadCallDuration.observe({ method, endpoint }, seconds);
}

/** Set by src/smartlead/resilience.ts: how many per-organization circuit breakers are in each state. */
let breakerStates: () => Record<string, number> = () => ({});
export function reportCircuitBreakersWith(states: () => Record<string, number>): void {
  breakerStates = states;
}

new client.Gauge({
  name: 'drason_smartlead_circuit_breakers',
  help: 'Smartlead circuit breakers (one per organization) in this process, by state (closed, open, half_open, isolated).',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    const counts = { closed: 0, open: 0, half_open: 0, isolated: 0, ...breakerStates() };
    for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
  },
});

export const dbQueryDuration = new client.Histogram({
  name: 'drason_db_query_duration_seconds',
  help: 'PostgreSQL query latency seen by the application, by operation (select, insert, update, delete, other) and outcome (ok, error).',
  labelNames: ['operation', 'outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

/** The operation of a statement, from its first keyword only (the SQL text itself is never a label). */
export function queryOperation(method: string | undefined, sql: string | undefined): string {
  const m = (method ?? '').toLowerCase();
  if (m === 'select' || m === 'first' || m === 'pluck') return 'select';
  if (m === 'insert' || m === 'update' || m === 'del' || m === 'delete') return m === 'del' ? 'delete' : m;
  const word = /^\s*(?:with\b[\s\S]*?\)\s*)?(select|insert|update|delete)\b/i.exec(sql ?? '')?.[1]?.toLowerCase();
  return word ?? 'other';
}

export const relayRounds = new client.Counter({
  name: 'drason_relay_rounds_total',
  help: 'Relay rounds run by this worker process (stage=count or signal), whether or not they found work: a worker that stops counting rounds is down or stuck.',
  labelNames: ['stage'] as const,
  registers: [registry],
});

// ---- Collected on scrape, across organizations, through drason_metrics_snapshot() (migration 015) ----

export interface SnapshotRow {
  metric: string;
  label: string;
  value: number;
}
let snapshotSource: (() => Promise<SnapshotRow[]>) | undefined;
let inFlight: Promise<SnapshotRow[] | undefined> | undefined;

/**
 * Where the backlog and lead gauges come from: a process that serves /metrics registers its database here. One
 * query per scrape whatever the number of gauges reading it.
 */
export function collectSnapshotWith(source: (() => Promise<SnapshotRow[]>) | undefined): void {
  snapshotSource = source;
}

function snapshot(): Promise<SnapshotRow[] | undefined> {
  if (snapshotSource === undefined) return Promise.resolve(undefined);
  inFlight ??= snapshotSource()
    .catch(() => undefined) // unreachable database: the gauges keep no value this scrape (readyz says why)
    .finally(() => setImmediate(() => (inFlight = undefined)));
  return inFlight;
}

new client.Gauge({
  name: 'drason_relay_backlog',
  help: 'Relay work waiting, across organizations: queue=events (stored, not yet counted), signals (bounces and failures not yet signalled), signals_backing_off (mailboxes whose last signal failed), commands (entity commands not yet delivered).',
  labelNames: ['queue'] as const,
  registers: [registry],
  async collect() {
    const rows = await snapshot();
    if (rows === undefined) return;
    const queues: Record<string, string> = { events_queued: 'events', signals_pending: 'signals', signals_backing_off: 'signals_backing_off', commands_pending: 'commands' };
    for (const row of rows) if (queues[row.metric] !== undefined) this.set({ queue: queues[row.metric]! }, row.value);
  },
});

new client.Gauge({
  name: 'drason_leads',
  help: 'Leads across organizations by status (held, active, paused, completed).',
  labelNames: ['status'] as const,
  registers: [registry],
  async collect() {
    const rows = await snapshot();
    if (rows === undefined) return;
    const counts: Record<string, number> = { held: 0, active: 0, paused: 0, completed: 0 };
    for (const row of rows) if (row.metric === 'leads') counts[row.label] = row.value;
    for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
  },
});

new client.Gauge({
  name: 'drason_integrations_broken',
  help: 'Integrations whose credentials the provider rejected (a revoked or rotated key), across organizations, by provider.',
  labelNames: ['provider'] as const,
  registers: [registry],
  async collect() {
    const rows = await snapshot();
    if (rows === undefined) return;
    let smartlead = 0;
    for (const row of rows) if (row.metric === 'integrations_broken' && row.label === 'smartlead') smartlead = row.value;
    this.set({ provider: 'smartlead' }, smartlead);
  },
});

// ---- The Temporal SDK's worker metrics ----

/**
 * TEMPORAL_METRICS_PORT: the Temporal SDK (its Rust core) serves its own worker metrics (`temporal_*`: task slots,
 * poll and task latencies, sticky cache, activity and workflow task failures) in Prometheus format at
 * `http://<TEMPORAL_METRICS_HOST or 0.0.0.0>:<port>/metrics` in each worker process. Unset: not exported.
 */
export function temporalMetricsBindAddress(cfg: Pick<Config, 'TEMPORAL_METRICS_PORT' | 'TEMPORAL_METRICS_HOST'> = config()): string | undefined {
  return cfg.TEMPORAL_METRICS_PORT === undefined ? undefined : `${cfg.TEMPORAL_METRICS_HOST}:${cfg.TEMPORAL_METRICS_PORT}`;
}

/**
 * METRICS_PORT (worker processes): Drason's own metrics of the process (relay, decisions, Smartlead calls, database)
 * at `http://<METRICS_HOST or 0.0.0.0>:<port>/metrics`. The API serves them on its own port at /metrics; a worker
 * has no HTTP server otherwise. Unset: not served.
 */
export function workerMetricsAddress(cfg: Pick<Config, 'METRICS_PORT' | 'METRICS_HOST'> = config()): { host: string; port: number } | undefined {
  return cfg.METRICS_PORT === undefined ? undefined : { host: cfg.METRICS_HOST, port: cfg.METRICS_PORT };
}

/** Serves GET /metrics (this registry) and nothing else; resolves once listening. */
export async function startMetricsServer(address: { host: string; port: number }): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${address.host === '0.0.0.0' ? '127.0.0.1' : address.host}:${port}/metrics`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
