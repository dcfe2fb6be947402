/**
 * Smartlead lead activities on a real database and the local Smartlead simulator: pushing leads exactly once
 * under 429 storms, 5xx bursts and answers lost after Smartlead committed, per-lead outcomes, pausing and resuming a
 * lead, and the safe paths of a revoked key and a deleted campaign. Activities run in MockActivityEnvironment;
 * `runLikeTemporal` retries a retryable failure with the last heartbeat, as Temporal's retry policy would.
 */
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, type Activities } from '../../src/activities';
import type { LeadToPush, PushLeadsInput, PushLeadsResult } from '../../src/activities/smartlead';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { createIntegrations, type Integrations } from '../../src/db/repositories/integrations';
import { withTenant } from '../../src/db/tenant';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { resetSmartleadRegistries } from '../../src/smartlead';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { FAST_SMARTLEAD_CLIENT } from '../support/smartlead';
import { createTestDatabase, type TestDatabase } from '../support/stack';

// A 1 s timeout lets "answer held past the client's timeout" faults finish quickly.
const FAST_CLIENT = { ...FAST_SMARTLEAD_CLIENT, timeoutMs: 1000 };
const LEADS_PATH = '^/campaigns/\\d+/leads$';

const makeLeads = (n: number, prefix: string): LeadToPush[] =>
  Array.from({ length: n }, (_, i) => ({ leadId: `${prefix}-${i}`, email: `${prefix}-${i}@prospects.example`, firstName: `Lead ${i}`, companyName: 'Acme' }));

const failureOf = (type: string, nonRetryable: boolean) => (error: unknown): boolean =>
  error instanceof ApplicationFailure && error.type === type && error.nonRetryable === nonRetryable;

describe('Smartlead lead activities (simulator, real Postgres)', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let sim: SmartleadSimulator;
  let integrations: Integrations;
  let activities: Activities;
  let organizationId = '';
  const logger = new DefaultLogger('ERROR');

  /** Runs one activity attempt (typed: MockActivityEnvironment.run does not infer the result). */
  const run = <I, R>(activity: (input: I) => Promise<R>, input: I, environment = new MockActivityEnvironment(undefined, { logger })): Promise<R> =>
    environment.run(activity, input) as Promise<R>;

  /** Runs a push like Temporal would: a retryable failure is retried (up to 5 attempts) with the last heartbeat. */
  async function runLikeTemporal(input: PushLeadsInput): Promise<{ result: PushLeadsResult; attempts: number }> {
    let heartbeatDetails: unknown;
    for (let attempt = 1; ; attempt += 1) {
      const attemptEnv = new MockActivityEnvironment({ attempt, heartbeatDetails }, { logger });
      attemptEnv.on('heartbeat', (details: unknown) => {
        heartbeatDetails = details;
      });
      try {
        return { result: await run(activities.pushLeadsToCampaign, input, attemptEnv), attempts: attempt };
      } catch (error) {
        if (!(error instanceof ApplicationFailure) || error.nonRetryable || attempt >= 5) throw error;
      }
    }
  }

  const emailsIn = (campaignId: number): string[] => sim.state.leadsOfCampaign(campaignId).map((l) => l.email);
  const leadPosts = (): typeof sim.calls => sim.calls.filter((c) => c.method === 'POST' && /\/leads$/.test(c.path));

  /** Every lead in the campaign exactly once, every outcome "in the campaign", no request over the rate limit. */
  function assertPushedOnce(campaignId: number, leads: LeadToPush[], result: PushLeadsResult): void {
    const emails = emailsIn(campaignId);
    assert.equal(emails.length, leads.length);
    assert.deepEqual(new Set(emails), new Set(leads.map((l) => l.email)));
    assert.equal(new Set(sim.state.leadsOfCampaign(campaignId).map((l) => l.id)).size, leads.length, 'one Smartlead lead per email');
    assert.deepEqual(result.outcomes.map((o) => o.leadId), leads.map((l) => l.leadId), 'one outcome per lead, in order');
    assert.ok(result.outcomes.every((o) => o.inCampaign), JSON.stringify(result.counts));
    assert.deepEqual(sim.overLimit, [], 'no request arrived faster than the rate limit');
    for (const post of leadPosts()) {
      assert.deepEqual((post.body as { settings: unknown }).settings, {
        ignore_global_block_list: false,
        ignore_unsubscribe_list: false,
        ignore_duplicate_leads_in_other_campaign: false,
      }, "every upload asks for Smartlead's duplicate protection");
    }
  }

  before(async () => {
    resetSmartleadRegistries();
    database = await createTestDatabase();
    organizationId = (await createOrganizationWithAdminKey(database.db, 'Leads Co')).organization.id;
    sim = createSmartleadSimulator({ apiKey: 'sim-leads-key', rateLimit: { maxRequests: 5, perMs: 500 } });
    await sim.start();
    for (const id of [2001, 2002, 2003, 2004]) sim.state.addCampaign({ id, name: `Campaign ${id}` });
    integrations = createIntegrations(new Keyring(generateEncryptionKeySpec()));
    await withTenant(database.db, organizationId, (tx) => integrations.saveSmartleadCredentials(tx, organizationId, { apiKey: 'sim-leads-key', baseUrl: sim.url }));
    activities = createActivities({ db: database.db, integrations, clientOptions: FAST_CLIENT });
    await run(activities.syncSmartlead, { organizationId, reason: 'test setup' });
  });

  beforeEach(() => {
    sim.faults.clear();
    sim.clearCalls();
  });

  after(async () => {
    await sim?.stop();
    await database?.drop();
  });

  it('pushes 250 leads exactly once through a 429 storm and a 5xx burst; pushing them again adds none', async () => {
    const leads = makeLeads(250, 'storm');
    sim.faults.rateLimit(3, { retryAfterSeconds: 0.2 });
    sim.faults.serverError(3, { path: LEADS_PATH, status: 503 });
    sim.faults.rateLimit(2, { path: LEADS_PATH, retryAfterSeconds: 0.2 });
    const { result, attempts } = await runLikeTemporal({ organizationId, campaignId: '2001', leads });
    assertPushedOnce(2001, leads, result);
    assert.deepEqual(result.counts, { added: 250 });
    assert.ok(attempts >= 2, 'the storm outlasted the client\'s own retries: the activity failed retryably and was run again');
    assert.ok(sim.calls.filter((c) => c.status === 429).length >= 5 && sim.calls.some((c) => c.status === 503), 'the storm really happened');

    sim.clearCalls();
    const again = await run(activities.pushLeadsToCampaign, { organizationId, campaignId: '2001', leads });
    assert.deepEqual(again.counts, { already_in_campaign: 250 });
    assert.equal(leadPosts().length, 3, 'three uploads of at most 100, and no lookups');
    assertPushedOnce(2001, leads, again);
  });

  it('pushes 250 leads exactly once when Smartlead commits an upload and the answer is lost (502, reset, timeout)', async () => {
    const leads = makeLeads(250, 'lost');
    sim.faults.dropAfterCommit(1, { path: LEADS_PATH, status: 502 });
    sim.faults.dropAfterCommit(1, { path: LEADS_PATH });
    sim.faults.dropAfterCommit(1, { path: LEADS_PATH, delayMs: 5000 });
    const { result } = await runLikeTemporal({ organizationId, campaignId: '2002', leads });
    assertPushedOnce(2002, leads, result);
    const lost = leadPosts().filter((c) => c.droppedStatus === 200);
    assert.equal(lost.length, 3, 'three uploads were committed and their answers lost');
    assert.deepEqual(result.counts, { already_in_campaign: 100, added: 150 }, 'the first 100 were re-sent, and Smartlead added none of them again');

    sim.clearCalls();
    const again = await run(activities.pushLeadsToCampaign, { organizationId, campaignId: '2002', leads });
    assert.deepEqual(again.counts, { already_in_campaign: 250 });
    assertPushedOnce(2002, leads, again);
  });

  it('a retried push resumes after the last answered upload', async () => {
    const leads = makeLeads(250, 'resume');
    const first = new MockActivityEnvironment(undefined, { logger });
    let checkpoint: unknown;
    first.on('heartbeat', (details: unknown) => {
      if (checkpoint === undefined) sim.faults.serverError('always', { path: LEADS_PATH }); // Smartlead goes down after upload 1
      checkpoint = details;
    });
    await assert.rejects(run(activities.pushLeadsToCampaign, { organizationId, campaignId: '2003', leads }, first), failureOf('SmartleadUnavailableError', false));
    assert.equal(emailsIn(2003).length, 100);

    sim.faults.clear();
    sim.clearCalls();
    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: checkpoint }, { logger });
    const result = await run(activities.pushLeadsToCampaign, { organizationId, campaignId: '2003', leads }, retry);
    assert.equal(leadPosts().length, 2, 'upload 1 is not sent again');
    assert.deepEqual(result.counts, { added: 250 }, 'its outcomes come from the checkpoint');
    assertPushedOnce(2003, leads, result);
  });

  it('says per lead why it was not added: invalid, blocked, unsubscribed, in another campaign', async () => {
    sim.state.blockList.add('competitor.example');
    sim.state.unsubscribed.add('gone@prospects.example');
    const leads: LeadToPush[] = [
      { leadId: 'new', email: 'fresh@prospects.example' },
      { leadId: 'again', email: 'storm-0@prospects.example' }, // in campaign 2001: duplicate protection keeps it out
      { leadId: 'blocked', email: 'ceo@competitor.example' },
      { leadId: 'unsub', email: 'gone@prospects.example' },
      { leadId: 'invalid', email: 'not-an-email' },
      { leadId: 'local-invalid', email: ' ' },
      { leadId: 'twin', email: 'FRESH@prospects.example' },
    ];
    const result = await run(activities.pushLeadsToCampaign, { organizationId, campaignId: '2004', leads });
    assert.deepEqual(
      result.outcomes.map((o) => [o.leadId, o.status, o.inCampaign]),
      [
        ['new', 'added', true],
        ['again', 'in_other_campaign', false],
        ['blocked', 'blocked', false],
        ['unsub', 'unsubscribed', false],
        ['invalid', 'invalid_email', false],
        ['local-invalid', 'invalid_email', false],
        ['twin', 'added', true],
      ],
    );
    assert.match(result.outcomes[2]!.reason, /global block list/);
    assert.deepEqual(emailsIn(2004), ['fresh@prospects.example']);
    assert.equal(leadPosts().length, 1, 'one upload; the two leads sharing an email are sent once');
  });

  it('finds a lead, pauses and resumes it in its campaign, and takes the not-found path for a lead not in it', async () => {
    const found = await run(activities.findSmartleadLead, { organizationId, email: 'Storm-7@prospects.example' });
    assert.equal(found?.email, 'storm-7@prospects.example');
    assert.deepEqual(found?.campaigns.map((c) => c.campaignId), ['2001']);
    assert.equal(await run(activities.findSmartleadLead, { organizationId, email: 'nobody@prospects.example' }), null);
    await assert.rejects(run(activities.findSmartleadLead, { organizationId, email: ' ' }), failureOf('InvalidLeadEmail', true));

    const status = (): string | undefined => sim.state.campaignLeads.get(2001)?.get(Number(found?.id))?.status;
    const input = { organizationId, campaignId: '2001', email: 'storm-7@prospects.example' };
    sim.faults.serverError(1, { path: '/pause$' });
    assert.deepEqual(await run(activities.pauseSmartleadLead, input), { smartleadLeadId: found?.id });
    assert.equal(status(), 'PAUSED');
    assert.deepEqual(await run(activities.pauseSmartleadLead, input), { smartleadLeadId: found?.id }, 'pausing again is harmless');
    assert.equal(status(), 'PAUSED');
    await run(activities.resumeSmartleadLead, input);
    assert.equal(status(), 'INPROGRESS');

    for (const missing of [{ ...input, email: 'nobody@prospects.example' }, { ...input, campaignId: '2002' }]) {
      await assert.rejects(run(activities.pauseSmartleadLead, missing), (e: unknown) => failureOf('SmartleadNotFoundError', true)(e) && /is not in Smartlead campaign/.test((e as Error).message));
    }
    const campaign = await withTenant(database.db, organizationId, (tx) => tx('campaigns').where({ campaign_id: '2002' }).first('deleted_externally_at'));
    assert.equal(campaign?.deleted_externally_at, null, 'a lead missing from a campaign does not make the campaign deleted');
  });

  it('a campaign deleted in Smartlead takes the not-found path: marked deleted once, audited, not retried', async () => {
    sim.deleteCampaign(2004);
    await assert.rejects(
      run(activities.pushLeadsToCampaign, { organizationId, campaignId: '2004', leads: makeLeads(3, 'late') }),
      failureOf('SmartleadNotFoundError', true),
    );
    assert.equal(leadPosts().length, 1, 'a 404 is not retried');
    await assert.rejects(run(activities.resumeSmartleadLead, { organizationId, campaignId: '2004', email: 'fresh@prospects.example' }), failureOf('SmartleadNotFoundError', true));
    const { campaign, audits } = await withTenant(database.db, organizationId, async (tx) => ({
      campaign: await tx('campaigns').where({ campaign_id: '2004' }).first('deleted_externally_at'),
      audits: await tx('audit_log').where({ entity_type: 'campaign', entity_id: '2004', action: 'deleted_externally' }).select('message'),
    }));
    assert.ok(campaign?.deleted_externally_at instanceof Date);
    assert.equal(audits.length, 1);
    assert.match(audits[0].message, /no longer exists in Smartlead \(found while trying to add leads to campaign 2004\); leads routed to it stay held/);
  });

  it('a revoked key breaks the integration (non-retryable); later calls fail fast without calling Smartlead', async () => {
    sim.revokeKey();
    await assert.rejects(
      run(activities.pushLeadsToCampaign, { organizationId, campaignId: '2001', leads: makeLeads(3, 'revoked') }),
      failureOf('SmartleadAuthError', true),
    );
    assert.equal(sim.calls.length, 1, 'a 401 is not retried');
    const credentials = await withTenant(database.db, organizationId, (tx) => integrations.loadSmartleadCredentials(tx, organizationId));
    assert.equal(credentials?.status, 'broken');
    assert.match(credentials?.brokenReason ?? '', /rejected the API key \(HTTP 401\) while trying to add leads to campaign 2001/);

    await assert.rejects(run(activities.pauseSmartleadLead, { organizationId, campaignId: '2001', email: 'storm-1@prospects.example' }), failureOf('SmartleadIntegrationBroken', true));
    await assert.rejects(run(activities.findSmartleadLead, { organizationId, email: 'storm-1@prospects.example' }), failureOf('SmartleadIntegrationBroken', true));
    assert.equal(sim.calls.length, 1);
  });
});
