/** Prometheus metrics (prom-client), exposed at GET /metrics. */
import client from 'prom-client';

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
  help: 'Events accepted into the event store, by source and whether they were duplicates.',
  labelNames: ['source', 'duplicate'] as const,
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
