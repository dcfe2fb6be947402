/**
 * actOnEscalationDecision against real PostgreSQL and the Smartlead simulator: campaigns are paused by the first hold
 * and started by the release of the last one; a campaign a person paused in Smartlead is never started by Drason; a
 * domain pauses every campaign its mailboxes send for and, when it recovers, releases only its own holds; exactly
 * once per decision id; and readEscalationInput counts only degraded mailboxes that are still members.
 */
import assert from 'node:assert/strict';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import type { ActOnEscalationDecisionInput, ActOnEscalationDecisionResult, EscalationInputRead, ReadEscalationInputRequest } from '../../src/activities/escalation';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { ensureMailboxes, storeEvents } from '../../src/db/repositories/events';
import { countQueuedEvents } from '../../src/db/repositories/relay';
import { withTenant } from '../../src/db/tenant';
import type { EscalationKind } from '../../src/domain/escalationMachine';
import type { Command, MailboxState } from '../../src/domain/mailboxMachine';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { resetSmartleadRegistries } from '../../src/smartlead';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { FAST_SMARTLEAD_CLIENT } from '../support/smartlead';
import { createTestDatabase, type TestDatabase } from '../support/stack';

const ANN = 'ann@storm.io';
const BOB = 'bob@storm.io';
const CAT = 'cat@calm.io';

describe('actOnEscalationDecision (PostgreSQL + Smartlead simulator)', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let sim: SmartleadSimulator;
  let organizationId = '';
  let activities: ReturnType<typeof createActivities>;
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  let n = 0;
  /** Simulator campaign ids: A and B send from storm.io; C only from calm.io; P from storm.io, paused by a person. */
  const ids = { A: '', B: '', C: '', P: '' };

  before(async () => {
    resetSmartleadRegistries();
    database = await createTestDatabase();
    // The client's own budget (FAST_SMARTLEAD_CLIENT) is the simulator's: a domain touching several campaigns stays inside it.
    sim = createSmartleadSimulator({ apiKey: 'sim-key-holds', rateLimit: { maxRequests: 5, perMs: 500 } });
    await sim.start();
    for (const name of ['A', 'B', 'C', 'P'] as const) ids[name] = String(sim.state.addCampaign({ name: `Campaign ${name}` }).id);
    sim.state.setCampaignStatus(Number(ids.P), 'PAUSED');
    const integrations = createIntegrations(new Keyring(generateEncryptionKeySpec('k1')));
    organizationId = (await createOrganizationWithAdminKey(database.db, 'Holds')).organization.id;
    await withTenant(database.db, organizationId, async (tx) => {
      await integrations.saveSmartleadCredentials(tx, organizationId, { apiKey: 'sim-key-holds', baseUrl: sim.url });
      const mailboxIds = await ensureMailboxes(tx, organizationId, [ANN, BOB, CAT]);
      for (const [campaign, name] of Object.entries(ids).map(([k, v]) => [v, k] as const)) {
        await tx('campaigns').insert({ organization_id: organizationId, campaign_id: campaign, name: `Campaign ${name}`, status: name === 'P' ? 'PAUSED' : 'ACTIVE' });
      }
      const link = (campaign: string, email: string) => ({ organization_id: organizationId, campaign_id: campaign, mailbox_id: mailboxIds.get(email) });
      // Synced links: ann → A and P, cat → C. Bob's link to B is known only from his events.
      await tx('campaign_mailboxes').insert([link(ids.A, ANN), link(ids.P, ANN), link(ids.C, CAT)]);
    });
    const stored = await storeEvents(database.db, organizationId, [
      { idempotencyKey: 'bob-sent-1', type: 'EmailSent', source: 'smartlead', occurredAt: new Date(), mailbox: BOB, campaignId: ids.B },
    ]);
    assert.equal(stored.size, 1);
    // The relay's count stage records that bob sent for B (campaign_senders).
    await withTenant(database.db, organizationId, (tx) => countQueuedEvents(tx, organizationId, 100));
    activities = createActivities({ db: database.db, integrations, clientOptions: FAST_SMARTLEAD_CLIENT });
  });
  after(async () => {
    await sim?.stop();
    await database?.drop();
  });

  const decision = (kind: EscalationKind, key: string, command: Command, to: MailboxState): ActOnEscalationDecisionInput => {
    n += 1;
    const pausing = command.kind === 'suspend';
    return {
      organizationId,
      kind,
      key,
      commands: [command],
      explanation: {
        decisionId: `${kind}/${organizationId}/${key}@run#${n}`,
        action: `${kind}_${pausing ? 'paused' : 'resumed'}`,
        from: pausing ? 'warning' : 'paused',
        to,
        message: `${pausing ? 'Paused' : 'Resumed'} ${kind} ${key}: 2 of its mailboxes are degraded (settings version 1).`,
        trigger: { signals: ['memberState'], metric: 'degradedMailboxes', observed: 2, threshold: 2, window: 'members', mailboxes: [ANN, BOB] },
        actor: command.kind === 'suspend' && command.via === 'override' ? 'api-key:ops' : 'system',
        mode: 'enforce',
        settingsVersion: 1,
        pauseReason: pausing ? '2 of its mailboxes are degraded' : null,
      },
      row: { state: to, riskScore: 40, cooldownUntil: pausing ? Date.now() + 3_600_000 : null, stateChangedAt: Date.now(), degradedMailboxes: [ANN, BOB], automationStopped: null },
    };
  };
  const act = (d: ActOnEscalationDecisionInput): Promise<ActOnEscalationDecisionResult> => env.run(activities.actOnEscalationDecision, d);
  const read = (input: ReadEscalationInputRequest): Promise<EscalationInputRead> => env.run(activities.readEscalationInput, input);
  const statusCalls = (campaign: string, status: 'PAUSED' | 'START') =>
    sim.calls.filter((c) => c.method === 'POST' && c.path === `/campaigns/${campaign}/status` && (c.body as { status?: string } | undefined)?.status === status).length;
  const holds = (campaign: string) =>
    withTenant(database.db, organizationId, (tx) => tx('campaign_holds').where({ campaign_id: campaign }).orderBy('holder').pluck('holder')) as Promise<string[]>;
  const auditOf = (decisionId: string) =>
    withTenant(database.db, organizationId, (tx) => tx('audit_log').where({ idempotency_key: decisionId }).first('message', 'action')) as Promise<{ message: string; action: string }>;
  const status = (campaign: string) => sim.state.campaigns.get(Number(campaign))?.status;

  it('a campaign engine pauses its campaign once, however often the decision is carried out, and says so in the audit', async () => {
    sim.clearCalls();
    const d = decision('campaign', ids.C, { kind: 'suspend', via: 'automation' }, 'paused');
    const first = await act(d);
    const again = await act(d);
    assert.deepEqual([first.alreadyRecorded, again.alreadyRecorded], [false, true]);
    assert.deepEqual(first.campaigns, [{ campaignId: ids.C, result: 'paused' }]);
    assert.equal(status(ids.C), 'PAUSED');
    assert.equal(statusCalls(ids.C, 'PAUSED'), 1);
    assert.deepEqual(await holds(ids.C), ['campaign']);
    assert.match((await auditOf(d.explanation.decisionId)).message, /Campaign \d+ paused in Smartlead\.$/);
    const row = (await withTenant(database.db, organizationId, (tx) => tx('campaigns').where({ campaign_id: ids.C }).first('state', 'degraded_mailboxes', 'risk_score'))) as Record<string, unknown>;
    assert.deepEqual(row, { state: 'paused', degraded_mailboxes: [ANN, BOB], risk_score: 40 });
  });

  it('a domain pauses every campaign its mailboxes send for (synced links and events), and leaves the one a person paused alone', async () => {
    sim.clearCalls();
    const d = decision('domain', 'storm.io', { kind: 'suspend', via: 'automation' }, 'paused');
    const result = await act(d);
    const byCampaign = Object.fromEntries(result.campaigns.map((c) => [c.campaignId, c.result]));
    assert.deepEqual(byCampaign, { [ids.A]: 'paused', [ids.B]: 'paused', [ids.P]: 'not_running' });
    assert.equal(status(ids.A), 'PAUSED');
    assert.equal(status(ids.B), 'PAUSED');
    assert.equal(statusCalls(ids.P, 'PAUSED'), 0, 'no call for the campaign a person had paused');
    assert.deepEqual(await holds(ids.P), ['domain:storm.io', 'external']);
    assert.equal(status(ids.C), 'PAUSED', 'calm.io\'s campaign is not the domain\'s business (still paused by its own engine)');
    assert.match((await auditOf(d.explanation.decisionId)).message, /was not running in Smartlead \(status PAUSED\) before Drason's pause, so Drason will never start it/);
  });

  it('a campaign held by its own engine and a domain stays paused until both released it; the domain releases only its own holds', async () => {
    sim.clearCalls();
    // Campaign A's own engine pauses it too (the domain already holds it: no second call).
    const own = await act(decision('campaign', ids.A, { kind: 'suspend', via: 'automation' }, 'paused'));
    assert.deepEqual(own.campaigns, [{ campaignId: ids.A, result: 'held_already_paused', detail: 'domain:storm.io' }]);
    assert.equal(statusCalls(ids.A, 'PAUSED'), 0);

    const recovered = await act(decision('domain', 'storm.io', { kind: 'unsuspend', via: 'automation' }, 'recovering'));
    const byCampaign = Object.fromEntries(recovered.campaigns.map((c) => [c.campaignId, `${c.result}${c.detail === undefined ? '' : ` (${c.detail})`}`]));
    assert.deepEqual(byCampaign, { [ids.A]: 'still_held (campaign)', [ids.B]: 'started', [ids.P]: 'still_held (external)' });
    assert.equal(status(ids.A), 'PAUSED', "campaign A's own engine still holds it");
    assert.equal(status(ids.B), 'ACTIVE');
    assert.equal(status(ids.P), 'PAUSED', 'never started: a person paused it');
    assert.equal(statusCalls(ids.P, 'START'), 0);

    await act(decision('campaign', ids.A, { kind: 'unsuspend', via: 'automation' }, 'recovering'));
    assert.equal(status(ids.A), 'ACTIVE', 'the last hold released: started');
    assert.equal(statusCalls(ids.A, 'START'), 1);
  });

  it("a person's resume of a campaign releases every hold, the external one included", async () => {
    sim.clearCalls();
    const d = decision('campaign', ids.P, { kind: 'unsuspend', via: 'override' }, 'recovering');
    const result = await act(d);
    assert.deepEqual(result.campaigns, [{ campaignId: ids.P, result: 'started' }]);
    assert.equal(status(ids.P), 'ACTIVE');
    assert.deepEqual(await holds(ids.P), []);
  });

  it('a Smartlead outage is retried by Temporal and audited once; the pause goes through afterwards', async () => {
    sim.clearCalls();
    sim.faults.serverError(1, { status: 503, path: '/status' });
    const d = decision('campaign', ids.B, { kind: 'suspend', via: 'automation' }, 'paused');
    await assert.rejects(act(d), /unavailable/i);
    const retried = await act(d);
    assert.equal(retried.outcome, 'done');
    assert.equal(status(ids.B), 'PAUSED');
    const rows = (await withTenant(database.db, organizationId, (tx) => tx('audit_log').where('idempotency_key', 'like', `${d.explanation.decisionId}%`).pluck('action'))) as string[];
    assert.deepEqual(rows.sort(), ['campaign_action_retrying', 'campaign_paused']);
  });

  it('reads only degraded mailboxes that are still members, with the campaigns each sends for', async () => {
    const reported = [
      { mailbox: ANN, state: 'paused' as const },
      { mailbox: BOB, state: 'paused' as const },
      { mailbox: CAT, state: 'paused' as const },
    ];
    const at = Date.now();
    const forA = await read({ organizationId, kind: 'campaign', key: ids.A, at, reported });
    assert.deepEqual(forA.degraded.map((d) => d.mailbox), [ANN]);
    assert.equal(forA.label, `${ids.A} ("Campaign A")`);
    const forDomain = await read({ organizationId, kind: 'domain', key: 'storm.io', at, reported });
    assert.deepEqual(
      forDomain.degraded.map((d) => [d.mailbox, d.campaigns]),
      [
        [ANN, [ids.A, ids.P].sort()],
        [BOB, [ids.B]],
      ],
    );
  });
});
