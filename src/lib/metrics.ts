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

export const eventDispatchFailures = new client.Counter({
  name: 'drason_event_dispatch_failures_total',
  help: 'Events whose signal to their entity workflow failed and were left queued for retry.',
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
