/**
 * /metrics and correlated logs against the real API and database (no worker: what is ingested stays queued, which
 * makes the backlog gauge exact): request latency by route template, events by type, database query latency by
 * operation, the cross-organization backlog and lead gauges (migration 015), X-Request-Id, and log lines that carry
 * the request id and organization but neither the API key nor a raw email.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startTestApi, type TestApi, type TestOrganization } from '../support/api';
import { captureLogs, forbiddenLabels, parseMetrics, present, total, type Sample } from '../support/observability';

describe('/metrics and correlated logs (API and database)', function () {
  this.timeout(120_000);
  let api: TestApi;
  let org: TestOrganization;

  before(async () => {
    api = await startTestApi();
    org = await api.createOrganization('Metrics');
  });
  after(async () => {
    await api?.stop();
  });

  const scrape = async (): Promise<Sample[]> => {
    const reply = await fetch(`${api.url}/metrics`);
    assert.equal(reply.status, 200);
    return parseMetrics(await reply.text());
  };

  it('counts requests by route template and status class, events by type, queries by operation; backlog and leads gauges are read across organizations', async () => {
    const before = await scrape();
    const run = crypto.randomUUID().slice(0, 8);
    const events = [
      { id: `s-${run}`, type: 'EmailSent', occurredAt: new Date().toISOString(), mailbox: `sam.${run}@acme-mail.test`, leadEmail: `lead.${run}@prospect.test` },
      { id: `b-${run}`, type: 'HardBounce', occurredAt: new Date().toISOString(), mailbox: `sam.${run}@acme-mail.test`, leadEmail: `lead.${run}@prospect.test` },
    ];
    const posted = await api.call('POST', '/v1/events', { token: org.adminKey, body: { events } });
    assert.equal(posted.status, 202, posted.text);
    const again = await api.call('POST', '/v1/events', { token: org.adminKey, body: { events } });
    assert.deepEqual(again.json, { accepted: 0, duplicates: 2 });
    assert.equal((await api.call('GET', `/v1/mailboxes/${encodeURIComponent(`sam.${run}@acme-mail.test`)}`, { token: org.adminKey })).status, 200);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>): number => total(after, name, labels) - total(before, name, labels);
    assert.equal(delta('drason_http_request_duration_seconds_count', { method: 'POST', route: '/v1/events', status_class: '2xx' }), 2);
    assert.equal(delta('drason_http_request_duration_seconds_count', { method: 'GET', route: '/v1/mailboxes/:email', status_class: '2xx' }), 1);
    assert.equal(delta('drason_events_ingested_total', { source: 'api', type: 'HardBounce', duplicate: 'false' }), 1);
    assert.equal(delta('drason_events_ingested_total', { source: 'api', type: 'EmailSent', duplicate: 'true' }), 1);
    assert.ok(delta('drason_db_query_duration_seconds_count', { operation: 'select', outcome: 'ok' }) > 0, 'selects timed');
    assert.ok(total(after, 'drason_db_query_duration_seconds_count', { operation: 'insert' }) + total(after, 'drason_db_query_duration_seconds_count', { operation: 'other' }) > 0);
    // No worker runs here: both stored events wait in the relay's queue (sends and bounces are both counted).
    assert.equal(total(after, 'drason_relay_backlog', { queue: 'events' }), 2);
    for (const queue of ['signals', 'signals_backing_off', 'commands']) assert.ok(present(after.filter((s) => s.labels.queue === queue), 'drason_relay_backlog'), queue);
    for (const status of ['held', 'active', 'paused', 'completed']) assert.equal(total(after, 'drason_leads', { status }), 0, status);
    assert.equal(total(after, 'drason_integrations_broken', { provider: 'smartlead' }), 0);
    assert.deepEqual(forbiddenLabels(after), []);
  });

  it('echoes a given X-Request-Id, makes one otherwise, and tags the request\'s log lines with it and the organization, never with the key or an email', async () => {
    const entries = await captureLogs(async () => {
      const given = `req-${crypto.randomUUID()}`;
      const run = crypto.randomUUID().slice(0, 8);
      const mailbox = `pat.${run}@acme-mail.test`;
      const posted = await api.call('POST', '/v1/events', {
        token: org.adminKey,
        headers: { 'x-request-id': given },
        body: { events: [{ id: `b-${run}`, type: 'HardBounce', occurredAt: new Date().toISOString(), mailbox, leadEmail: `lead.${run}@prospect.test` }] },
      });
      assert.equal(posted.status, 202);
      assert.equal(posted.headers.get('x-request-id'), given);
      const made = await api.call('GET', '/healthz');
      assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
      // A refused key is logged by the failed-authentication path: the key itself must not be.
      const wrongKey = `drk_${crypto.randomBytes(24).toString('base64url')}`;
      assert.equal((await api.call('GET', `/v1/mailboxes/${encodeURIComponent(mailbox)}`, { token: wrongKey })).status, 401);
      assert.equal((await api.call('GET', `/v1/mailboxes/${encodeURIComponent(mailbox)}`, { token: org.adminKey })).status, 200);
    });
    const request = entries.find((e) => e.message === 'request' && e.route === '/v1/events');
    assert.ok(request !== undefined, `a request line for /v1/events in ${JSON.stringify(entries)}`);
    assert.match(String(request.requestId), /^req-/);
    assert.equal(request.organizationId, org.id);
    const all = entries.map((e) => JSON.stringify(e)).join('\n');
    assert.ok(!all.includes(org.adminKey), 'the API key is never logged');
    assert.ok(!/drk_[A-Za-z0-9_-]{8,}/.test(all), 'no Drason key is logged');
    assert.ok(!/[a-z0-9.]+\.[0-9a-f]{8}@(acme-mail|prospect)\.test/.test(all), `no raw email is logged:\n${all}`);
  });
});
