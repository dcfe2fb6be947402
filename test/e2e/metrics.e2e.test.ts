/**
 * /metrics after the end-to-end flow (issue 12, Must show): the real API and worker in this process on PostgreSQL and
 * Temporal, the Smartlead simulator as the integration, in enforce mode. A Clay lead is routed and pushed to its
 * campaign; a bounce storm from one mailbox pauses it (suspended in Smartlead). The scrape then finds every metric
 * of the list in the README with values the flow explains, and no label value that is an email, a URL or a secret.
 * Then a worker process started as the README documents (src/workers/worker.ts, METRICS_PORT and
 * TEMPORAL_METRICS_PORT) serves its own metrics and the Temporal SDK's, and logs JSON.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createSmartleadSimulator, type SmartleadSimulator, type WebhookEventInput } from '../../src/smartlead/simulator';
import { generateEncryptionKeySpec } from '../../src/security/encryption';
import { callJson, expectJson, organizationOnSimulator, startEngineStack, type EngineStack, type Json } from '../support/api';
import { forbiddenLabels, parseMetrics, present, total, TEMPORAL_SDK_METRICS, type Sample } from '../support/observability';
import { freePort } from '../support/ports';
import { runEntryPoint, until, type Running } from '../support/processes';
import { createTestDatabase, testTemporal, type TestDatabase } from '../support/stack';

const DOMAIN = 'metrics-sends.com';
const BOXES = [
  { id: 8101, email: `max@${DOMAIN}`, degraded: true },
  { id: 8102, email: `mia@${DOMAIN}`, degraded: false },
];
const CAMPAIGN = 7001;
const SETTINGS = { mode: 'enforce', thresholds: { minSample: 20, sustainMinutes: 0.25, cooldownMinutes: 30, probationMinutes: 30 } };
const USER_UNKNOWN = '550 5.1.1 <nobody@prospect.example>: Recipient address rejected: User unknown in virtual mailbox table';

describe('/metrics after the end-to-end flow (storm pauses a mailbox, a Clay lead is pushed)', function () {
  this.timeout(300_000);
  let stack: EngineStack;
  let sim: SmartleadSimulator;
  let key = '';
  const platformToken = `platform-${crypto.randomUUID()}`;

  const call = (method: string, path: string, body?: unknown, expected = 200): Promise<Json> => expectJson(stack.apiUrl, key, method, path, body, expected);

  before(async () => {
    stack = await startEngineStack(platformToken, 'metrics-e2e');
    sim = createSmartleadSimulator({ rateLimit: { maxRequests: 10, perMs: 2000 } });
    sim.state.addCampaign({ id: CAMPAIGN, name: 'Metrics', status: 'ACTIVE' });
    for (const b of BOXES) sim.state.addEmailAccount({ id: b.id, fromEmail: b.email, campaignIds: [CAMPAIGN] });
    await sim.start(0);
    ({ key } = await organizationOnSimulator(stack.apiUrl, platformToken, sim, { name: 'Metrics', mailboxes: BOXES.length, settings: SETTINGS }));
    await until(async () => ((await callJson(stack.apiUrl, 'GET', `/v1/campaigns/${CAMPAIGN}`, key)).status === 200 ? true : undefined), 60_000, 'the sync to read the campaign');
    await call('PUT', '/v1/routing-rules', [{ name: 'CTOs', when: { persona: 'CTO' }, campaignId: String(CAMPAIGN) }]);

    // A Clay lead, routed and pushed to the campaign.
    const leadId = (await call('POST', '/v1/webhooks/clay', { email: 'Jane@Acme.example', persona: 'CTO', lead_score: 88, workable: true }, 202)).leadId as string;
    await until(async () => ((await call('GET', `/v1/leads/${leadId}`)).status === 'active' ? true : undefined), 120_000, 'the Clay lead to be pushed');

    // The storm: one mailbox bounces a third of its sends, and is paused (suspended in Smartlead).
    const events: WebhookEventInput[] = [];
    for (let i = 0; i < 30; i += 1) for (const b of BOXES) events.push({ type: 'EMAIL_SENT', fromEmail: b.email, toEmail: `lead${i}.${b.id}@prospect.example`, campaignId: CAMPAIGN });
    for (let i = 0; i < 10; i += 1) events.push({ type: 'EMAIL_BOUNCE', fromEmail: BOXES[0]!.email, toEmail: `lead${i}.8101@prospect.example`, campaignId: CAMPAIGN, bounce: { message: USER_UNKNOWN } });
    const delivered = await sim.emitMany(events);
    assert.deepEqual(delivered.filter((d) => d.status !== 202).map((d) => `${d.eventType} ${d.status}`), []);
    await until(async () => (sim.state.findEmailAccountByEmail(BOXES[0]!.email)?.isSuspended === true ? true : undefined), 120_000, 'the stormy mailbox to be suspended');
    await until(async () => ((await call('GET', `/v1/mailboxes/${BOXES[0]!.email}`)).state === 'paused' ? true : undefined), 60_000, 'the mailbox to read as paused');
  });

  after(async () => {
    await stack?.stop();
    await sim?.stop();
  });

  it('finds each metric with values the flow explains, and no email, URL or secret as a label value', async () => {
    const reply = await fetch(`${stack.apiUrl}/metrics`);
    assert.equal(reply.status, 200);
    const text = await reply.text();
    const m: Sample[] = parseMetrics(text);
    const atLeast = (n: number, name: string, labels: Record<string, string> = {}): void => {
      const v = total(m, name, labels);
      assert.ok(v >= n, `${name}${JSON.stringify(labels)} = ${v}, expected ≥ ${n}`);
    };

    // Ingestion, by source and type.
    atLeast(60, 'drason_events_ingested_total', { source: 'smartlead', type: 'EmailSent', duplicate: 'false' });
    atLeast(10, 'drason_events_ingested_total', { source: 'smartlead', type: 'HardBounce', duplicate: 'false' });
    atLeast(1, 'drason_events_ingested_total', { source: 'clay', type: 'Lead', duplicate: 'false' });
    // Request latency by method, route template and status class.
    atLeast(70, 'drason_http_request_duration_seconds_count', { method: 'POST', route: '/v1/webhooks/smartlead/:token', status_class: '2xx' });
    atLeast(1, 'drason_http_request_duration_seconds_count', { method: 'POST', route: '/v1/webhooks/clay', status_class: '2xx' });
    atLeast(1, 'drason_http_request_duration_seconds_bucket', { route: '/v1/webhooks/clay', le: '+Inf' });
    // The relay: rounds, counted events, delivery lag, signals, backlog gauges.
    atLeast(1, 'drason_relay_rounds_total', { stage: 'count' });
    atLeast(1, 'drason_relay_rounds_total', { stage: 'signal' });
    atLeast(70, 'drason_relay_events_counted_total');
    atLeast(70, 'drason_relay_lag_seconds_count', { stage: 'count' });
    atLeast(10, 'drason_relay_lag_seconds_count', { stage: 'signal' });
    atLeast(1, 'drason_relay_signals_total', { outcome: 'delivered' });
    for (const queue of ['events', 'signals', 'signals_backing_off', 'commands']) {
      const gauge = m.filter((s) => s.name === 'drason_relay_backlog' && s.labels.queue === queue);
      assert.equal(gauge.length, 1, `drason_relay_backlog{queue="${queue}"}`);
      assert.ok(gauge[0]!.value >= 0);
    }
    // Decisions and escalations by level and action: the mailbox's pause, done in Smartlead.
    atLeast(1, 'drason_decisions_total', { level: 'mailbox', action: 'paused', outcome: 'done' });
    atLeast(1, 'drason_escalations_total', { level: 'mailbox', action: 'paused' });
    // Smartlead calls by endpoint template and status, their latency, and the circuit breaker.
    atLeast(1, 'drason_smartlead_calls_total', { method: 'PUT', endpoint: '/email-accounts/suspend/:id', status: '2xx' });
    atLeast(1, 'drason_smartlead_calls_total', { method: 'POST', endpoint: '/campaigns/:id/leads', status: '2xx' });
    atLeast(1, 'drason_smartlead_calls_total', { method: 'GET', endpoint: '/campaigns', status: '2xx' });
    atLeast(3, 'drason_smartlead_call_duration_seconds_count');
    atLeast(1, 'drason_smartlead_circuit_breakers', { state: 'closed' });
    assert.equal(total(m, 'drason_smartlead_circuit_breakers', { state: 'open' }), 0);
    assert.ok(text.includes('# TYPE drason_smartlead_rate_budget_wait_seconds histogram'), 'the rate budget wait histogram is registered');
    // Database query latency by operation.
    atLeast(10, 'drason_db_query_duration_seconds_count', { operation: 'select', outcome: 'ok' });
    atLeast(1, 'drason_db_query_duration_seconds_count', { operation: 'insert', outcome: 'ok' });
    atLeast(1, 'drason_db_query_duration_seconds_count', { operation: 'update', outcome: 'ok' });
    // Leads by status (across organizations): the pushed lead is active — or paused with its mailbox's campaign.
    assert.ok(total(m, 'drason_leads', { status: 'active' }) + total(m, 'drason_leads', { status: 'paused' }) >= 1, 'the pushed lead is counted');
    assert.equal(total(m, 'drason_integrations_broken', { provider: 'smartlead' }), 0);
    // Node.js runtime metrics are there too.
    assert.ok(present(m, 'process_resident_memory_bytes'));

    assert.deepEqual(forbiddenLabels(m), []);
    for (const s of m) for (const v of Object.values(s.labels)) assert.ok(!v.includes(DOMAIN) && !v.includes('acme.example') && !/^\/.*\/\d+/.test(v), `${s.name}: ${v}`);
  });

  describe('a worker process configured only by environment variables', () => {
    let database: TestDatabase;
    let worker: Running | undefined;
    before(async () => {
      database = await createTestDatabase();
    });
    after(async () => {
      if (worker !== undefined && worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill('SIGTERM');
        await worker.exited;
      }
      await database?.drop();
    });

    it('serves its own metrics on METRICS_PORT and the Temporal SDK\'s on TEMPORAL_METRICS_PORT, and logs JSON lines', async () => {
      const temporal = await testTemporal();
      const [metricsPort, temporalMetricsPort] = [await freePort(), await freePort()];
      worker = runEntryPoint('src/workers/worker.ts', {
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        DATABASE_URL: database.appUrl,
        DATABASE_OWNER_URL: database.ownerUrl,
        TEMPORAL_ADDRESS: temporal.address,
        TEMPORAL_TASK_QUEUE: `metrics-worker-${crypto.randomUUID()}`,
        DRASON_ENCRYPTION_KEYS: generateEncryptionKeySpec('k1'),
        METRICS_PORT: String(metricsPort),
        METRICS_HOST: '127.0.0.1',
        TEMPORAL_METRICS_PORT: String(temporalMetricsPort),
        TEMPORAL_METRICS_HOST: '127.0.0.1',
      });
      await worker.waitFor(/worker polling task queue/, 120_000);

      const own = await until(
        async () => {
          const samples = parseMetrics(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
          return total(samples, 'drason_relay_rounds_total', { stage: 'count' }) > 0 ? samples : undefined;
        },
        60_000,
        'the worker to report a relay round',
      );
      assert.ok(total(own, 'drason_db_query_duration_seconds_count') > 0, 'its database queries are timed');
      assert.deepEqual(forbiddenLabels(own), []);

      const sdk = await until(
        async () => {
          const samples = parseMetrics(await (await fetch(`http://127.0.0.1:${temporalMetricsPort}/metrics`)).text());
          return present(samples, 'temporal_worker_task_slots_available') ? samples : undefined;
        },
        60_000,
        'the Temporal SDK exporter to report the worker',
      );
      const sdkNames = new Set(sdk.map((s) => s.name));
      assert.ok([...sdkNames].some((n) => n.startsWith('temporal_')), [...sdkNames].join(', '));
      // The names the ops files use: failure counters appear at their first failure, so only their family is checked.
      assert.ok(sdkNames.has(TEMPORAL_SDK_METRICS[0]!), `${TEMPORAL_SDK_METRICS[0]} in ${[...sdkNames].join(', ')}`);

      const lines = worker.output().split('\n').filter((l) => l.trim() !== '');
      const json = lines.map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      });
      assert.deepEqual(lines.filter((_l, i) => json[i] === undefined), [], 'every log line is JSON');
      assert.ok(json.some((e) => e?.component === 'drason' && /worker polling task queue/.test(String(e.message))), lines.join('\n'));
    });
  });
});
