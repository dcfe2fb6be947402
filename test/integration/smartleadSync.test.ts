/**
 * Smartlead integration end to end, in process: real Postgres, real Temporal (dev server), the real worker and API,
 * and the local Smartlead simulator. Covers sync on save, reconciliation of external changes, revoked credentials,
 * and resilience under 429/5xx storms.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { DefaultLogger, Worker } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../src/activities';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { resetSmartleadRegistries, SmartleadClient } from '../../src/smartlead';
import { connectClient } from '../../src/temporal/connection';
import { startApiComponent, installTemporalRuntime } from '../../src/workers/components';
import { smartleadSyncScheduleId } from '../../src/workflows/ids';
import { withTenant } from '../../src/db/tenant';
import { FAST_SMARTLEAD_CLIENT } from '../support/smartlead';
import { callJson } from '../support/api';
import { createTestDatabase, testTemporal, type TestDatabase } from '../support/stack';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- responses are read as arbitrary JSON
type Json = any;

const FAST_CLIENT = FAST_SMARTLEAD_CLIENT;

describe('Smartlead integration: sync, reconciliation, revoked keys, storms', function () {
  this.timeout(180_000);
  let database: TestDatabase;
  let sim: SmartleadSimulator;
  let api: Awaited<ReturnType<typeof startApiComponent>>;
  let worker: Worker;
  let workerRun: Promise<void>;
  let temporal: Client;
  let closeTemporal: () => Promise<void>;
  let organizationId = '';
  let key = '';
  const taskQueue = `smartlead-sync-test-${crypto.randomUUID()}`;
  const encryptionKeys = generateEncryptionKeySpec('k1');
  const platformToken = `platform-${crypto.randomUUID()}`;

  const call = (method: string, path: string, body?: unknown, token = key): Promise<{ status: number; json: Json }> => callJson(api.url, method, path, token, body);
  const auditActions = async (): Promise<{ action: string; entityId: string; message: string }[]> =>
    (await call('GET', '/v1/audit?limit=500')).json.items;
  const syncResult = (workflowId: string): Promise<Json> => temporal.workflow.getHandle(workflowId).result();

  before(async () => {
    installTemporalRuntime('ERROR');
    resetSmartleadRegistries();
    database = await createTestDatabase();
    const server = await testTemporal();
    sim = createSmartleadSimulator({ apiKey: 'sim-key-1', rateLimit: { maxRequests: 5, perMs: 500 } });
    await sim.start();
    for (const [id, name] of [[1001, 'Founders US'], [1002, 'Agencies EU'], [1003, 'Draft']] as const) {
      sim.state.addCampaign({ id, name, status: id === 1003 ? 'DRAFTED' : 'ACTIVE' });
    }
    sim.state.addEmailAccount({ id: 5001, fromEmail: 'alex@mail-a.com', campaignIds: [1001] });
    sim.state.addEmailAccount({ id: 5002, fromEmail: 'sam@mail-a.com', campaignIds: [1001, 1002] });
    sim.state.addEmailAccount({ id: 5003, fromEmail: 'quinn@mail-b.com', campaignIds: [] });

    const settings = {
      databaseUrl: database.appUrl,
      poolMax: 5,
      temporal: { address: server.address, namespace: 'default', taskQueue },
      adminToken: platformToken,
      host: '127.0.0.1',
      port: 0,
      encryptionKeys,
    };
    worker = await Worker.create({
      connection: await (await import('@temporalio/worker')).NativeConnection.connect({ address: server.address }),
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: createActivities({ db: database.db, integrations: createIntegrations(new Keyring(encryptionKeys)), clientOptions: FAST_CLIENT }),
    });
    workerRun = worker.run();
    api = await startApiComponent(settings, { db: database.db });
    const connected = await connectClient(settings.temporal);
    temporal = connected.client;
    closeTemporal = () => connected.connection.close();

    const created = await call('POST', '/v1/organizations', { name: 'Sync Co' }, platformToken);
    organizationId = created.json.organization.id;
    key = created.json.apiKey.key;
  });

  after(async () => {
    await temporal?.schedule.getHandle(smartleadSyncScheduleId(organizationId)).delete().catch(() => undefined);
    await closeTemporal?.();
    await api?.stop();
    worker?.shutdown();
    await workerRun;
    await sim?.stop();
    await database?.drop();
  });

  it('syncs campaigns, email accounts and their links when the integration is saved, and schedules re-syncs', async () => {
    const saved = await call('PUT', '/v1/integrations/smartlead', { apiKey: 'sim-key-1', baseUrl: sim.url });
    assert.equal(saved.status, 200, JSON.stringify(saved.json));
    assert.match(saved.json.webhookUrl, /\/v1\/webhooks\/smartlead\/whk_/);
    const result = await syncResult(saved.json.syncWorkflowId);
    assert.deepEqual({ campaigns: result.campaigns, mailboxes: result.mailboxes, links: result.links }, { campaigns: 3, mailboxes: 3, links: 3 });

    const campaigns = await withTenant(database.db, organizationId, (tx) => tx('campaigns').orderBy('campaign_id').select('campaign_id', 'name', 'status'));
    assert.deepEqual(campaigns, [
      { campaign_id: '1001', name: 'Founders US', status: 'ACTIVE' },
      { campaign_id: '1002', name: 'Agencies EU', status: 'ACTIVE' },
      { campaign_id: '1003', name: 'Draft', status: 'DRAFTED' },
    ]);
    const mailboxes = await withTenant(database.db, organizationId, (tx) => tx('mailboxes').orderBy('email').select('email', 'smartlead_account_id'));
    assert.deepEqual(mailboxes, [
      { email: 'alex@mail-a.com', smartlead_account_id: '5001' },
      { email: 'quinn@mail-b.com', smartlead_account_id: '5003' },
      { email: 'sam@mail-a.com', smartlead_account_id: '5002' },
    ]);
    const actions = (await auditActions()).map((a) => a.action);
    assert.equal(actions.filter((a) => a === 'smartlead_campaign_added').length, 3);
    assert.equal(actions.filter((a) => a === 'smartlead_mailbox_added').length, 3);
    assert.equal(actions.filter((a) => a === 'smartlead_link_added').length, 3);

    const scheduleHandle = temporal.schedule.getHandle(smartleadSyncScheduleId(organizationId));
    const schedule = await scheduleHandle.describe();
    assert.equal(schedule.action.type, 'startWorkflow');
    assert.deepEqual(schedule.spec.intervals?.map((i) => i.every), [15 * 60 * 1000]);
    // The schedule's action really runs a sync (triggered now rather than waiting 15 minutes).
    await scheduleHandle.trigger();
    let recent: { action: { workflow: { workflowId: string } } }[] = [];
    for (let i = 0; i < 40 && recent.length === 0; i += 1) {
      await new Promise((r) => setTimeout(r, 250));
      recent = (await scheduleHandle.describe()).info.recentActions as unknown as typeof recent;
    }
    const scheduled = await syncResult(recent[0]!.action.workflow.workflowId);
    assert.deepEqual(scheduled.changes, [], 'a scheduled sync right after the first one finds nothing new');
  });

  it('refuses a base URL that is not Smartlead (or loopback outside production), and keeps the saved one when omitted', async () => {
    const refused = await call('PUT', '/v1/integrations/smartlead', { apiKey: 'sim-key-1', baseUrl: 'http://169.254.169.254/latest' });
    assert.equal(refused.status, 422);
    assert.equal(refused.json.errors[0].path, 'baseUrl');
    const resaved = await call('PUT', '/v1/integrations/smartlead', { apiKey: 'sim-key-1' });
    assert.equal(resaved.status, 200);
    assert.equal((await call('GET', '/v1/integrations/smartlead')).json.baseUrl, sim.url, 'a re-save without baseUrl keeps the configured one');
    await syncResult(resaved.json.syncWorkflowId);
  });

  it('records campaigns deleted, renamed and paused, and email accounts removed, behind Drason\'s back', async () => {
    sim.deleteCampaign(1002);
    sim.removeEmailAccount(5003);
    sim.state.setCampaignStatus(1001, 'PAUSED');
    sim.state.campaigns.get(1001)!.name = 'Founders US (renamed)';
    const started = await call('POST', '/v1/integrations/smartlead/sync');
    assert.equal(started.status, 202);
    const result = await syncResult(started.json.syncWorkflowId);
    // sam's link to 1002 goes with the campaign and is not reported separately.
    assert.deepEqual(result.changes.sort(), ['campaign_deleted', 'campaign_renamed', 'campaign_status_changed', 'mailbox_removed']);

    const audit = await auditActions();
    const deleted = audit.find((a) => a.action === 'smartlead_campaign_deleted');
    assert.equal(deleted?.entityId, '1002');
    assert.match(deleted!.message, /no longer exists in Smartlead; leads routed to it stay held/);
    assert.match(audit.find((a) => a.action === 'smartlead_campaign_renamed')!.message, /renamed in Smartlead from "Founders US" to "Founders US \(renamed\)"/);
    const removed = audit.find((a) => a.action === 'smartlead_mailbox_removed');
    assert.equal(removed?.entityId, 'quinn@mail-b.com');
    assert.match(removed!.message, /removed from Smartlead/);

    const overview = await call('GET', '/v1/overview');
    assert.ok(overview.json.attention.some((line: string) => line.includes('(1002) was deleted in Smartlead')));
    assert.ok(overview.json.attention.some((line: string) => line.includes('quinn@mail-b.com was removed from Smartlead')));
    assert.ok(overview.json.pausedCampaigns.some((c: { campaignId: string }) => c.campaignId === '1001'));

    const again = await syncResult((await call('POST', '/v1/integrations/smartlead/sync')).json.syncWorkflowId);
    assert.deepEqual(again.changes, [], 'a second sync finds nothing left to change');
  });

  it('does not mark everything deleted when Smartlead suddenly lists an empty account', async () => {
    const activities = createActivities({ db: database.db, integrations: createIntegrations(new Keyring(encryptionKeys)), clientOptions: FAST_CLIENT });
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    sim.faults.inject({ kind: 'malformed', count: 1, path: '^/campaigns$', method: 'GET', body: '[]' });
    sim.faults.inject({ kind: 'malformed', count: 1, path: '^/email-accounts', method: 'GET', body: '[]' });
    const before = (await auditActions()).length;
    await assert.rejects(env.run(activities.syncSmartlead, { organizationId, reason: 'manual' }), (e: unknown) => e instanceof ApplicationFailure && e.type === 'SmartleadEmptyAccount' && !e.nonRetryable);
    const campaigns = (await withTenant(database.db, organizationId, (tx) => tx('campaigns').whereNull('deleted_externally_at').count('* as n').first())) as { n: number };
    assert.ok(Number(campaigns.n) > 0, 'no campaign was marked deleted');
    assert.equal((await auditActions()).length, before, 'nothing was audited as deleted');
  });

  it('survives a 429 storm and a 5xx burst without exceeding the rate limit, and completes once Smartlead recovers', async () => {
    sim.clearCalls();
    sim.faults.rateLimit(3, { path: '/email-accounts' });
    sim.faults.serverError(6, { path: '/campaigns' });
    const started = await call('POST', '/v1/integrations/smartlead/sync');
    const result = await syncResult(started.json.syncWorkflowId);
    assert.equal(result.campaigns, 2);
    assert.deepEqual(sim.overLimit, [], 'no request arrived faster than the configured limit');
    assert.ok(sim.calls.some((c) => c.status === 429) && sim.calls.some((c) => (c.status ?? 0) >= 500), 'the storm really happened');
  });

  it('pauses a campaign through its activity under 5xx and 429, exactly once, and marks a deleted campaign safely', async () => {
    const activities = createActivities({ db: database.db, integrations: createIntegrations(new Keyring(encryptionKeys)), clientOptions: FAST_CLIENT });
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    sim.state.setCampaignStatus(1001, 'ACTIVE');
    await withTenant(database.db, organizationId, (tx) => tx('campaigns').where({ campaign_id: '1001' }).update({ status: 'ACTIVE' }));
    sim.faults.serverError(2, { path: '/status' });
    sim.faults.rateLimit(1, { path: '/status' });
    sim.clearCalls();
    const paused = await env.run(activities.pauseSmartleadCampaign, { organizationId, campaignId: '1001', reason: 'test' });
    assert.deepEqual(paused, { changed: true });
    assert.equal(sim.state.campaigns.get(1001)?.status, 'PAUSED');
    const successfulStatusCalls = sim.calls.filter((c) => c.path.endsWith('/campaigns/1001/status') && c.status === 200);
    assert.equal(successfulStatusCalls.length, 1, 'the pause reached Smartlead once');
    assert.deepEqual(await env.run(activities.pauseSmartleadCampaign, { organizationId, campaignId: '1001', reason: 'again' }), { changed: false });

    await assert.rejects(
      env.run(activities.resumeSmartleadCampaign, { organizationId, campaignId: '1002', reason: 'test' }),
      (error: unknown) => error instanceof ApplicationFailure && error.type === 'SmartleadNotFoundError' && error.nonRetryable === true,
    );
  });

  it('does not break a newly saved key when a call on the old key fails with 401 afterwards', async () => {
    const integrations = createIntegrations(new Keyring(encryptionKeys));
    const activities = createActivities({ db: database.db, integrations, clientOptions: FAST_CLIENT });
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    // Queue calls on the same key so the activity's request waits in the client's rate limiter, holding the old key.
    const filler = new SmartleadClient({ apiKey: 'sim-key-1', baseUrl: sim.url, ...FAST_CLIENT });
    const fillers = Array.from({ length: 8 }, () => filler.listCampaigns().catch(() => undefined));
    const inFlight = env.run(activities.resumeSmartleadCampaign, { organizationId, campaignId: '1001', reason: 'old key in flight' });
    await new Promise((r) => setTimeout(r, 150));
    // While the call waits on the old key, the customer rotates it in Smartlead and saves the new one in Drason.
    const rotated = sim.rotateKey('sim-key-rotated');
    await withTenant(database.db, organizationId, (tx) => integrations.saveSmartleadCredentials(tx, organizationId, { apiKey: rotated, baseUrl: sim.url }));
    await assert.rejects(inFlight, (error: unknown) => error instanceof ApplicationFailure && error.type === 'SmartleadKeyChanged' && !error.nonRetryable);
    await Promise.all(fillers);
    assert.equal((await call('GET', '/v1/integrations/smartlead')).json.status, 'configured', 'the new key is not marked broken');
    // The retry (Temporal would run it) succeeds with the new key.
    assert.deepEqual(await env.run(activities.resumeSmartleadCampaign, { organizationId, campaignId: '1001', reason: 'retry' }), { changed: true });
    sim.rotateKey('sim-key-1');
    await withTenant(database.db, organizationId, (tx) => integrations.saveSmartleadCredentials(tx, organizationId, { apiKey: 'sim-key-1', baseUrl: sim.url }));
  });

  it('with the key revoked: marks the integration broken once, never retries in a loop, and resumes with a new key', async () => {
    sim.revokeKey();
    sim.clearCalls();
    const started = await call('POST', '/v1/integrations/smartlead/sync');
    await assert.rejects(syncResult(started.json.syncWorkflowId), /rejected the API key|WorkflowFailedError|failed/i);
    assert.equal(sim.calls.length, 1, 'a 401 is not retried');

    const status = await call('GET', '/v1/integrations/smartlead');
    assert.equal(status.json.status, 'broken');
    assert.match(status.json.brokenReason, /Smartlead rejected the API key \(HTTP 401\).*Save a new key/);
    const overview = await call('GET', '/v1/overview');
    assert.equal(overview.json.integrations.smartlead.status, 'broken');
    assert.ok(overview.json.attention[0].startsWith('Smartlead integration is broken'));

    // A second attempt fails fast without calling Smartlead, and is not audited again.
    await assert.rejects(syncResult((await call('POST', '/v1/integrations/smartlead/sync')).json.syncWorkflowId));
    assert.equal(sim.calls.length, 1);
    assert.equal((await auditActions()).filter((a) => a.action === 'integration_broken').length, 1);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    assert.match(metrics, /drason_smartlead_failures_total\{kind="credentials_revoked"\} [1-9]/);

    const newKey = sim.rotateKey('sim-key-2');
    const saved = await call('PUT', '/v1/integrations/smartlead', { apiKey: newKey, baseUrl: sim.url });
    await syncResult(saved.json.syncWorkflowId);
    assert.equal((await call('GET', '/v1/integrations/smartlead')).json.status, 'configured');
    assert.ok(!JSON.stringify(await auditActions()).includes(newKey), 'the key never appears in the audit log');
  });
});
