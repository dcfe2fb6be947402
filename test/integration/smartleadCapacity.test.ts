/**
 * Mailbox suspension and daily capacity from Smartlead (issue 10): the sync stores `is_suspended`,
 * `message_per_day` and `daily_sent_count` of every email account for the execution gate, and stores a
 * `leads_changed` command for campaigns with held leads when a campaign becomes ACTIVE in Smartlead or one of its
 * mailboxes sends again (the day's turn, a suspension lifted). Real PostgreSQL and the local Smartlead simulator;
 * activities run in MockActivityEnvironment.
 */
import assert from 'node:assert/strict';
import { Client as PgClient, type Notification } from 'pg';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createLeadPipelineActivities } from '../../src/activities/leadPipeline';
import { createSmartleadActivities } from '../../src/activities/smartlead';
import { pendingCommands } from '../../src/db/repositories/commands';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { EVENTS_CHANNEL } from '../../src/db/repositories/relay';
import { withTenant } from '../../src/db/tenant';
import { evaluateGate } from '../../src/domain/executionGate';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { resetSmartleadRegistries } from '../../src/smartlead';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { FAST_SMARTLEAD_CLIENT } from '../support/smartlead';
import { createTestDatabase, type TestDatabase } from '../support/stack';

const ANN = 'ann@cap-a.io'; // 6001, campaign 3001, 40 a day
const BOB = 'bob@cap-a.io'; // 6002, campaigns 3001 and 3003, 30 a day
const CID = 'cid@cap-b.io'; // 6003, campaign 3002 (PAUSED), suspended
const DEE = 'dee@cap-b.io'; // 6004, campaign 3003, capacity not reported

interface MailboxRow {
  email: string;
  suspended_in_smartlead: boolean;
  message_per_day: number | null;
  daily_sent_count: number | null;
  capacity_read_at: Date | null;
}

describe('Smartlead mailbox capacity and suspension (simulator, PostgreSQL)', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let sim: SmartleadSimulator;
  let organizationId = '';
  let smartlead: ReturnType<typeof createSmartleadActivities>;
  let pipeline: ReturnType<typeof createLeadPipelineActivities>;
  let listener: PgClient;
  const notifications: Notification[] = [];
  const logger = new DefaultLogger('ERROR');

  const run = <I, R>(activity: (input: I) => Promise<R>, input: I): Promise<R> =>
    new MockActivityEnvironment(undefined, { logger }).run(activity, input) as Promise<R>;
  const sync = () => run(smartlead.syncSmartlead, { organizationId, reason: 'test' });
  const tenant = <T>(work: Parameters<typeof withTenant<T>>[2]): Promise<T> => withTenant(database.db, organizationId, work);
  const mailboxes = (): Promise<MailboxRow[]> =>
    tenant((tx) => tx('mailboxes').orderBy('email').select('email', 'suspended_in_smartlead', 'message_per_day', 'daily_sent_count', 'capacity_read_at'));
  const sending = async (): Promise<[string, boolean, number | null, number | null][]> =>
    (await mailboxes()).map((m) => [m.email, m.suspended_in_smartlead, m.message_per_day, m.daily_sent_count]);
  const leadsChanged = async (): Promise<[string, unknown][]> =>
    (await tenant((tx) => pendingCommands(tx))).filter((c) => c.kind === 'leads_changed').map((c) => [c.entityKey, c.payload.reason]);
  const clearCommands = (): Promise<number> => tenant((tx) => tx('entity_commands').delete());
  /** Resolves at the next relay wake-up (a NOTIFY on the relay's channel), or at once if one arrived since `from`. */
  const relayWoken = (from: number): Promise<void> =>
    new Promise((resolve) => {
      if (notifications.length > from) return resolve();
      listener.once('notification', () => resolve());
    });

  before(async () => {
    resetSmartleadRegistries();
    database = await createTestDatabase();
    organizationId = (await createOrganizationWithAdminKey(database.db, 'Capacity Co')).organization.id;
    sim = createSmartleadSimulator({ apiKey: 'sim-capacity-key', rateLimit: false });
    await sim.start();
    sim.state.addCampaign({ id: 3001, name: 'Founders', status: 'ACTIVE' });
    sim.state.addCampaign({ id: 3002, name: 'Paused one', status: 'PAUSED' });
    sim.state.addCampaign({ id: 3003, name: 'Nothing held', status: 'ACTIVE' });
    sim.state.addEmailAccount({ id: 6001, fromEmail: ANN, messagePerDay: 40, campaignIds: [3001] });
    sim.state.addEmailAccount({ id: 6002, fromEmail: BOB, messagePerDay: 30, dailySentCount: 12, campaignIds: [3001, 3003] });
    sim.state.addEmailAccount({ id: 6003, fromEmail: CID, isSuspended: true, campaignIds: [3002] });
    sim.state.addEmailAccount({ id: 6004, fromEmail: DEE, messagePerDay: null, dailySentCount: null, campaignIds: [3003] });
    const integrations = createIntegrations(new Keyring(generateEncryptionKeySpec()));
    await tenant((tx) => integrations.saveSmartleadCredentials(tx, organizationId, { apiKey: 'sim-capacity-key', baseUrl: sim.url }));
    smartlead = createSmartleadActivities({ db: database.db, integrations, clientOptions: FAST_SMARTLEAD_CLIENT });
    pipeline = createLeadPipelineActivities({ db: database.db });
    await sync();
    // Held leads wait for campaigns 3001 and 3002; 3003 has none.
    await tenant(async (tx) => {
      for (const [campaign, email] of [['3001', 'x1@prospects.example'], ['3001', 'x2@prospects.example'], ['3002', 'y1@prospects.example']] as const) {
        await tx('leads').insert({ organization_id: organizationId, email, persona: 'cto', lead_score: 50, assigned_campaign_id: campaign, hold_reason: 'awaiting the execution gate' });
      }
    });
    listener = new PgClient({ connectionString: database.appUrl });
    await listener.connect();
    listener.on('notification', (n) => notifications.push(n));
    await listener.query(`listen ${EVENTS_CHANNEL}`);
  });

  beforeEach(async () => {
    await clearCommands();
  });

  after(async () => {
    await listener?.end();
    await sim?.stop();
    await database?.drop();
  });

  it('stores suspension and daily capacity of every email account, unreported numbers as unknown', async () => {
    assert.deepEqual(await sending(), [
      [ANN, false, 40, 0],
      [BOB, false, 30, 12],
      [CID, true, 50, 0],
      [DEE, false, null, null],
    ]);
    assert.ok((await mailboxes()).every((m) => m.capacity_read_at instanceof Date), 'capacity_read_at set by the sync');

    // The simulator's sends grow daily_sent_count; a suspend through Smartlead's API shows as is_suspended.
    const traffic = sim.webhooks.startTraffic({ campaignId: 3001, ratePerSecond: 1000, maxSends: 7, perMailbox: { [ANN]: {} } });
    assert.equal((await traffic.done).sends, 7);
    await run(smartlead.pauseSmartleadMailbox, { organizationId, email: BOB });
    sim.state.setEmailAccountCapacity(6004, { messagePerDay: 25 });
    await sync();
    assert.deepEqual(await sending(), [
      [ANN, false, 40, 7],
      [BOB, true, 30, 12],
      [CID, true, 50, 0],
      [DEE, false, 25, null],
    ]);
    await run(smartlead.resumeSmartleadMailbox, { organizationId, email: BOB });
    await sync();
    assert.equal((await mailboxes()).find((m) => m.email === BOB)?.suspended_in_smartlead, false);
  });

  it('a mailbox at its daily capacity is unavailable to the execution gate', async () => {
    sim.state.setEmailAccountCapacity(6001, { dailySentCount: 40 });
    await sync();
    const read = await pipeline.readGateInput({ organizationId, campaignId: '3001' });
    const ann = read.mailboxes.find((m) => m.email === ANN);
    assert.deepEqual(ann, { email: ANN, state: 'healthy', automationStopped: false, suspendedInSmartlead: false, messagePerDay: 40, dailySentCount: 40 });
    const gate = (mailboxes: typeof read.mailboxes) =>
      evaluateGate({
        campaign: read.campaign!,
        domains: read.domains,
        mailboxes,
        source: { ruleId: 'rule', quarantine: null },
        mode: 'enforce',
        thresholds: { gateMaxRiskScore: read.gateMaxRiskScore },
        now: 0,
      });
    assert.equal(gate([ann!]).action, 'hold');
    assert.match(gate([ann!]).failed.map((f) => f.reason).join(' '), /daily capacity \(1 of 1 at 40\/40\)/);
    assert.equal(gate(read.mailboxes).action, 'push', 'bob still has room (12/30)');

    sim.state.setEmailAccountCapacity(6002, { dailySentCount: 31 });
    await sync();
    const full = await pipeline.readGateInput({ organizationId, campaignId: '3001' });
    assert.deepEqual(full.mailboxes.map((m) => [m.email, m.dailySentCount, m.messagePerDay]).sort(), [[ANN, 40, 40], [BOB, 31, 30]]);
    assert.equal(gate(full.mailboxes).failed[0]?.condition, 'mailbox');
    assert.deepEqual(await leadsChanged(), [], 'filling up frees nothing');
  });

  it("the day's turn stores leads_changed (capacity_changed) for the campaigns with held leads, and wakes the relay", async () => {
    // From the previous test: ann 40/40 and bob 31/30, both at capacity.
    const seen = notifications.length;
    sim.state.turnDay();
    const result = await sync();
    assert.deepEqual(result.changes, [], 'no reconciliation change: only the counts moved');
    assert.deepEqual(await leadsChanged(), [['3001', 'capacity_changed']], 'campaign 3003 (bob) holds no lead');
    await relayWoken(seen);
    const read = await pipeline.readGateInput({ organizationId, campaignId: '3001' });
    assert.deepEqual(read.mailboxes.map((m) => m.dailySentCount), [0, 0]);

    await clearCommands();
    await sync();
    assert.deepEqual(await leadsChanged(), [], 'a sync that finds nothing freed stores nothing');
  });

  it('a suspension lifted in Smartlead stores capacity_changed for its campaigns', async () => {
    sim.state.setEmailAccountSuspended(6003, false);
    await sync();
    assert.deepEqual(await leadsChanged(), [['3002', 'capacity_changed']]);
  });

  it('a campaign resumed in Smartlead stores leads_changed (campaign_resumed), once', async () => {
    const seen = notifications.length;
    sim.state.setCampaignStatus(3002, 'ACTIVE');
    const result = await sync();
    assert.deepEqual(result.changes, ['campaign_status_changed']);
    assert.deepEqual(await leadsChanged(), [['3002', 'campaign_resumed']]);
    await relayWoken(seen);

    await clearCommands();
    sim.state.setCampaignStatus(3003, 'PAUSED');
    await sync();
    sim.state.setCampaignStatus(3003, 'ACTIVE');
    await sync();
    assert.deepEqual(await leadsChanged(), [], 'campaign 3003 holds no lead: nothing to re-check');
  });

  it('a resumed campaign whose mailbox also freed gets one reason, campaign_resumed', async () => {
    sim.state.setCampaignStatus(3001, 'PAUSED');
    sim.state.setEmailAccountCapacity(6001, { dailySentCount: 40 });
    await sync();
    await clearCommands();
    sim.state.setCampaignStatus(3001, 'ACTIVE');
    sim.state.turnDay();
    await sync();
    assert.deepEqual(await leadsChanged(), [['3001', 'campaign_resumed']]);
  });

  it('numbers Smartlead reports badly are stored as unknown, never failing the sync', async () => {
    sim.faults.clear();
    const account = sim.state.emailAccounts.get(6004)!;
    const json = sim.state.emailAccountJson.bind(sim.state);
    sim.state.emailAccountJson = (a) => (a.id === account.id ? { ...json(a), message_per_day: 12.5, daily_sent_count: -3 } : json(a));
    try {
      await sync();
    } finally {
      sim.state.emailAccountJson = json;
    }
    assert.deepEqual((await sending()).find(([email]) => email === DEE), [DEE, false, null, null]);
  });
});
