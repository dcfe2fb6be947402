/** GET / PUT /v1/settings through the real API: defaults, partial updates, versions, and their audit rows. */
import assert from 'node:assert/strict';
import { DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import { appendAudit } from '../../src/db/repositories/audit';
import { withTenant } from '../../src/db/tenant';
import { startTestApi, type Json, type TestApi, type TestOrganization } from '../support/api';

describe('settings API', function () {
  this.timeout(60_000);
  let api: TestApi;
  let org: TestOrganization;
  const put = (body: unknown) => api.call('PUT', '/v1/settings', { token: org.adminKey, body });
  const audit = async (query: string): Promise<Json[]> => (await api.call('GET', `/v1/audit?${query}`, { token: org.adminKey })).json.items;

  before(async () => {
    api = await startTestApi();
    org = await api.createOrganization('Tuned');
  });
  after(async () => {
    await api?.stop();
  });

  it('starts at version 1 in observe mode with the documented defaults', async () => {
    const got = await api.call('GET', '/v1/settings', { token: org.adminKey });
    assert.equal(got.status, 200);
    assert.deepEqual([got.json.mode, got.json.settingsVersion, got.json.thresholds], ['observe', 1, DEFAULT_THRESHOLDS]);
  });

  it('applies a partial update, bumps the version and audits before/after in plain English', async () => {
    const changed = await put({ thresholds: { hardBounceRate: { pause: 0.04 }, sustainMinutes: 0 } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.json.settingsVersion, 2);
    assert.deepEqual(changed.json.thresholds.hardBounceRate, { warning: 0.02, pause: 0.04 });
    assert.equal(changed.json.thresholds.sustainMinutes, 0);
    assert.equal(changed.json.thresholds.minSample, DEFAULT_THRESHOLDS.minSample);
    const [row] = await audit('entityType=settings');
    assert.equal(row.action, 'settings_changed');
    assert.equal(row.settingsVersion, 2);
    assert.equal(row.actor, `api-key:${org.adminKeyId}`);
    assert.deepEqual(row.trigger.before, { 'thresholds.hardBounceRate.pause': 0.05, 'thresholds.sustainMinutes': 30 });
    assert.deepEqual(row.trigger.after, { 'thresholds.hardBounceRate.pause': 0.04, 'thresholds.sustainMinutes': 0 });
    assert.equal(
      row.message,
      'Settings version 2 by API key "bootstrap admin key": the hard-bounce pause threshold changed from 5% to 4%; the time a breach must last before it escalates changed from 30 minutes to 0 minutes (at once).',
    );
  });

  it('audits a mode change on its own, and later audit rows carry the new mode and version', async () => {
    const changed = await put({ mode: 'enforce' });
    assert.deepEqual([changed.json.mode, changed.json.settingsVersion], ['enforce', 3]);
    const [row] = await audit('entityType=organization&action=mode_changed');
    assert.equal(row.action, 'mode_changed');
    assert.match(row.message, /^Mode changed from observe to enforce by API key "bootstrap admin key": from now on Drason will pause/);
    assert.deepEqual([row.mode, row.settingsVersion], ['enforce', 3]);
    await withTenant(api.database.db, org.id, (tx) =>
      appendAudit(tx, { organizationId: org.id, entityType: 'mailbox', entityId: 'm@x.com', action: 'probe', actor: 'test', message: 'Probe.', engineVersion: 't' }),
    );
    const [probe] = await audit('entityType=mailbox');
    assert.deepEqual([probe.mode, probe.settingsVersion], ['enforce', 3], 'every audit row records the settings it was decided under');
  });

  it('changes nothing (no version, no audit) when the update changes nothing', async () => {
    const before = (await audit('entityType=settings')).length;
    const same = await put({ mode: 'enforce', thresholds: { sustainMinutes: 0 } });
    assert.equal(same.json.settingsVersion, 3);
    assert.equal((await audit('entityType=settings')).length, before);
  });

  it('refuses inconsistent or unknown settings with 422 naming each field, and keeps the old version', async () => {
    const inconsistent = await put({ thresholds: { failureRate: { warning: 0.5 } } });
    assert.equal(inconsistent.status, 422);
    assert.deepEqual(inconsistent.json.errors.map((e: Json) => e.path), ['thresholds.failureRate.warning']);
    const unknown = await put({ thresholds: { bounceRate: 0.1 }, mode: 'yolo' });
    assert.equal(unknown.status, 422);
    assert.ok(unknown.json.errors.some((e: Json) => e.path === 'mode'));
    assert.equal((await api.call('GET', '/v1/settings', { token: org.adminKey })).json.settingsVersion, 3);
  });

  it('serialises concurrent updates: each gets its own version', async () => {
    const results = await Promise.all([put({ thresholds: { minSample: 40 } }), put({ thresholds: { gateMaxRiskScore: 50 } })]);
    assert.deepEqual(results.map((r) => r.status), [200, 200]);
    assert.deepEqual(results.map((r) => r.json.settingsVersion).sort(), [4, 5]);
    const final = await api.call('GET', '/v1/settings', { token: org.adminKey });
    assert.deepEqual([final.json.thresholds.minSample, final.json.thresholds.gateMaxRiskScore], [40, 50], 'neither update was lost');
  });

  it('a mode change gives every campaign with held leads another pass of its lead push workflow, and no other campaign', async () => {
    await withTenant(api.database.db, org.id, async (tx) => {
      await tx('campaigns').insert(['31', '32'].map((id) => ({ organization_id: org.id, campaign_id: id, name: `Campaign ${id}`, status: 'ACTIVE' })));
      await tx('leads').insert([
        { organization_id: org.id, email: 'held@x.com', persona: 'CTO', lead_score: 90, status: 'held', assigned_campaign_id: '31' },
        { organization_id: org.id, email: 'active@x.com', persona: 'CTO', lead_score: 90, status: 'active', assigned_campaign_id: '32' },
      ]);
    });
    const changed = await put({ mode: 'suggest' });
    assert.equal(changed.json.mode, 'suggest');
    const commands = (await withTenant(api.database.db, org.id, (tx) =>
      tx('entity_commands').where({ kind: 'leads_changed' }).select('entity_type', 'entity_key', 'payload'),
    )) as Json[];
    assert.deepEqual(
      commands.map((c) => [c.entity_type, c.entity_key, (c.payload as Json).reason]),
      [['campaign_leads', '31', 'mode_changed']],
    );
    await put({ mode: 'enforce' });
  });
});
