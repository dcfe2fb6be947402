/** Audit §22 "duplicate webhook flood": many concurrent deliveries of one Smartlead event are stored and counted once. */
import assert from 'node:assert/strict';
import { withTenant } from '../../src/db/tenant';
import { startTestApi, type TestApi } from '../support/api';

describe('duplicate webhook flood', function () {
  this.timeout(60_000);
  let api: TestApi;
  before(async () => {
    api = await startTestApi({ rateLimits: { perWebhookToken: 100_000 } });
  });
  after(async () => {
    await api?.stop();
  });

  it('stores one event and reports every other copy as a duplicate', async () => {
    const org = await api.createOrganization('Flood');
    const saved = await api.call('PUT', '/v1/integrations/smartlead', { token: org.adminKey, body: { apiKey: 'sl-key', baseUrl: 'http://127.0.0.1:9/api/v1' } });
    const path = new URL(saved.json.webhookUrl).pathname;
    const body = {
      event_type: 'EMAIL_BOUNCE',
      campaign_id: 1001,
      from_email: 'sam@flood.test',
      to_email: 'lead@prospect.example',
      event_timestamp: new Date().toISOString(),
      stats_id: 'stats-flood-1',
      sl_email_lead_id: 77,
      bounce_message: '550 5.1.1 The email account that you tried to reach does not exist.',
    };
    const replies = await Promise.all(Array.from({ length: 60 }, () => api.call('POST', path, { body })));
    assert.ok(replies.every((r) => r.status === 202), JSON.stringify(replies.map((r) => r.status)));
    assert.equal(replies.filter((r) => r.json.duplicate === false).length, 1, 'exactly one copy was new');
    const stored = await withTenant(api.database.db, org.id, (tx) => tx('events').where({ source: 'smartlead' }).count('* as n').first());
    assert.equal(Number((stored as { n: number }).n), 1);
    const queued = await withTenant(api.database.db, org.id, (tx) => tx('event_queue').count('* as n').first());
    assert.equal(Number((queued as { n: number }).n), 1, 'counted (and signalled) once');
  });
});
