/**
 * The lead lifecycle (issue 10) on real PostgreSQL and the Smartlead simulator: a mailbox's pause pauses the leads
 * it sent to (in Drason and, through syncLeadPauses, in Smartlead) and its resume brings them back; a lead held by
 * two causes resumes only when both let go; a campaign's pause pauses its leads without a single Smartlead lead
 * call; a reply webhook completes a lead for good; a resume Smartlead refuses with 500 (last step) completes it.
 */
import assert from 'node:assert/strict';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type Activities } from '../../src/activities';
import type { ActOnEscalationDecisionInput } from '../../src/activities/escalation';
import type { ActOnMailboxDecisionInput } from '../../src/activities/mailboxEngine';
import type { SyncLeadPausesResult } from '../../src/activities/leadLifecycle';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { ingestEvents } from '../../src/db/repositories/events';
import { pendingCommands } from '../../src/db/repositories/commands';
import { withTenant } from '../../src/db/tenant';
import type { Command, Explanation, MailboxState } from '../../src/domain/mailboxMachine';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { resetSmartleadRegistries } from '../../src/smartlead';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { FAST_SMARTLEAD_CLIENT } from '../support/smartlead';
import { createTestDatabase, type TestDatabase } from '../support/stack';

const SAM = 'sam@acme-mail.com';
const ALEX = 'alex@acme-mail.com';
const CASEY = 'casey@other-mail.com';

describe('lead lifecycle (PostgreSQL + Smartlead simulator)', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let sim: SmartleadSimulator;
  let organizationId = '';
  let activities: Activities;
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  let n = 0;

  const tenant = <T>(work: Parameters<typeof withTenant<T>>[2]): Promise<T> => withTenant(database.db, organizationId, work);

  /** A lead of the campaign, active in Drason and enrolled in the simulator's campaign; optionally sent to by a mailbox. */
  async function activeLead(email: string, campaignId: number, sentBy?: string): Promise<string> {
    sim.state.enrollLead(campaignId, sim.state.upsertLead({ email }).id);
    const [row] = (await tenant((tx) =>
      tx('leads')
        .insert({ organization_id: organizationId, email, persona: 'cto', lead_score: 80, status: 'active', health_state: 'healthy', assigned_campaign_id: String(campaignId), pushed_at: new Date() })
        .returning('id'),
    )) as { id: string }[];
    if (sentBy !== undefined) {
      await ingestEvents(database.db, organizationId, [
        { idempotencyKey: `sent:${sentBy}:${email}:${campaignId}`, type: 'EmailSent', source: 'smartlead', occurredAt: new Date(), mailbox: sentBy, campaignId: String(campaignId), leadEmail: email },
      ]);
    }
    return row!.id;
  }

  const lead = async (id: string) =>
    (await tenant((tx) => tx('leads').where({ id }).first('status', 'paused_by', 'smartlead_paused', 'completed_reason', 'completed_at'))) as {
      status: string;
      paused_by: string[];
      smartlead_paused: boolean;
      completed_reason: string | null;
      completed_at: Date | null;
    };
  const smartleadStatus = (email: string, campaignId: number) => sim.state.leadsOfCampaign(campaignId).find((l) => l.email === email)?.status;
  const leadCalls = () => sim.calls.filter((c) => /\/leads\/\d+\/(pause|resume)$/.test(c.path));
  const leadAudits = async (id: string) =>
    (await tenant((tx) => tx('audit_log').where({ entity_type: 'lead', entity_id: id }).orderBy('id').select('action', 'message'))) as { action: string; message: string }[];

  function explanation(entity: string, mode: 'enforce' | 'observe', from: MailboxState, to: MailboxState, action: string): Explanation {
    n += 1;
    return {
      decisionId: `${entity}@run#${n}`,
      action,
      from,
      to,
      message: `${action} ${entity} (test).`,
      trigger: { signals: ['HardBounce'] },
      actor: 'system',
      mode,
      settingsVersion: 1,
      pauseReason: to === 'paused' ? 'hard-bounce rate 10% over the last hour' : null,
    };
  }
  const row = (state: MailboxState) => ({ state, riskScore: state === 'paused' ? 60 : 0, cooldownUntil: null, stateChangedAt: Date.now() });

  async function mailboxDecision(mailbox: string, pause: boolean): Promise<void> {
    const e = pause ? explanation(`mailbox/${mailbox}`, 'enforce', 'warning', 'paused', 'mailbox_paused') : explanation(`mailbox/${mailbox}`, 'enforce', 'paused', 'recovering', 'mailbox_resumed');
    const commands: Command[] = [{ kind: pause ? 'suspend' : 'unsuspend', via: 'automation' }];
    const input: ActOnMailboxDecisionInput = { organizationId, mailbox, explanation: e, commands, row: row(e.to) };
    const result = (await env.run(activities.actOnMailboxDecision, input)) as { outcome: string };
    assert.equal(result.outcome, 'done');
  }

  async function campaignDecision(campaignId: string, pause: boolean): Promise<void> {
    const e = pause ? explanation(`campaign/${campaignId}`, 'enforce', 'warning', 'paused', 'campaign_paused') : explanation(`campaign/${campaignId}`, 'enforce', 'paused', 'recovering', 'campaign_resumed');
    const input: ActOnEscalationDecisionInput = {
      organizationId,
      kind: 'campaign',
      key: campaignId,
      explanation: e,
      commands: [{ kind: pause ? 'suspend' : 'unsuspend', via: 'automation' }],
      row: { ...row(e.to), degradedMailboxes: [], automationStopped: null },
    };
    const result = (await env.run(activities.actOnEscalationDecision, input)) as { outcome: string };
    assert.equal(result.outcome, 'done');
  }

  /** syncLeadPauses until nothing is pending (as the lead push workflow's passes would), summed. */
  async function syncUntilSettled(campaignId: number): Promise<SyncLeadPausesResult> {
    const total: SyncLeadPausesResult = { paused: 0, resumed: 0, completed: 0, pending: 0 };
    for (let pass = 0; pass < 10; pass += 1) {
      const r = (await env.run(activities.syncLeadPauses, { organizationId, campaignId: String(campaignId), limit: 2 })) as SyncLeadPausesResult;
      total.paused += r.paused;
      total.resumed += r.resumed;
      total.completed += r.completed;
      total.pending = r.pending;
      if (r.pending === 0) return total;
    }
    throw new Error(`leads of campaign ${campaignId} still pending after 10 passes`);
  }

  before(async () => {
    resetSmartleadRegistries();
    database = await createTestDatabase();
    // Generous: the client's own budget (FAST_SMARTLEAD_CLIENT) paces the calls; the act activities do not retry a 429 themselves.
    sim = createSmartleadSimulator({ apiKey: 'sim-key-lifecycle', rateLimit: { maxRequests: 1000, perMs: 1000 } });
    await sim.start();
    for (const id of [3001, 3002, 3003, 3004]) sim.state.addCampaign({ id, name: `Campaign ${id}`, status: 'ACTIVE' });
    sim.state.addEmailAccount({ id: 7101, fromEmail: SAM, campaignIds: [3001, 3002, 3004] });
    sim.state.addEmailAccount({ id: 7102, fromEmail: ALEX, campaignIds: [3001] });
    sim.state.addEmailAccount({ id: 7103, fromEmail: CASEY, campaignIds: [3003] });
    const integrations = createIntegrations(new Keyring(generateEncryptionKeySpec('k1')));
    organizationId = (await createOrganizationWithAdminKey(database.db, 'Lifecycle')).organization.id;
    await tenant((tx) => integrations.saveSmartleadCredentials(tx, organizationId, { apiKey: 'sim-key-lifecycle', baseUrl: sim.url }));
    activities = createActivities({ db: database.db, integrations, clientOptions: FAST_SMARTLEAD_CLIENT });
    await env.run(activities.syncSmartlead, { organizationId, reason: 'test setup' });
  });
  after(async () => {
    await sim?.stop();
    await database?.drop();
  });
  beforeEach(() => {
    sim.faults.clear();
    sim.clearCalls();
  });

  it("a mailbox's pause pauses the leads it sent to, in Drason and in Smartlead; its resume brings them back", async () => {
    const a = await activeLead('ann@prospect.example', 3001, SAM);
    const b = await activeLead('bob@prospect.example', 3001, SAM);
    const other = await activeLead('otto@prospect.example', 3001, ALEX);

    await mailboxDecision(SAM, true);
    for (const id of [a, b]) assert.deepEqual({ ...(await lead(id)) }, { status: 'paused', paused_by: [`mailbox:${SAM}`], smartlead_paused: false, completed_reason: null, completed_at: null });
    assert.equal((await lead(other)).status, 'active', 'a lead another mailbox sends to is untouched');
    assert.match((await leadAudits(a))[0]!.message, /^Lead ann@prospect\.example in campaign 3001 paused: mailbox sam@acme-mail\.com, which has been sending to it, was paused \(hard-bounce rate 10%/);
    const commands = await tenant((tx) => pendingCommands(tx));
    assert.ok(commands.some((c) => c.kind === 'leads_changed' && c.entityKey === '3001' && c.payload.reason === 'leads_paused'));

    const paused = await syncUntilSettled(3001);
    assert.equal(paused.paused, 2);
    assert.equal(smartleadStatus('ann@prospect.example', 3001), 'PAUSED');
    assert.equal(smartleadStatus('bob@prospect.example', 3001), 'PAUSED');
    assert.notEqual(smartleadStatus('otto@prospect.example', 3001), 'PAUSED');
    assert.equal((await lead(a)).smartlead_paused, true);

    sim.clearCalls();
    assert.equal((await syncUntilSettled(3001)).paused, 0, 'a second pass pauses nobody again');
    assert.equal(leadCalls().length, 0);

    await mailboxDecision(SAM, false);
    for (const id of [a, b]) assert.deepEqual([(await lead(id)).status, (await lead(id)).paused_by], ['active', []]);
    const resumed = await syncUntilSettled(3001);
    assert.equal(resumed.resumed, 2);
    assert.equal(smartleadStatus('ann@prospect.example', 3001), 'INPROGRESS');
    assert.equal((await lead(a)).smartlead_paused, false);
    assert.deepEqual((await leadAudits(a)).map((r) => r.action), ['lead_paused', 'lead_resumed']);
    const reasons = (await tenant((tx) => pendingCommands(tx))).filter((c) => c.kind === 'leads_changed').map((c) => `${c.entityKey}:${String(c.payload.reason)}`);
    for (const expected of ['3001:leads_resumed', '3001:mailbox_recovered', '3002:mailbox_recovered', '3004:mailbox_recovered']) assert.ok(reasons.includes(expected), `${expected} in ${reasons.join(', ')}`);
  });

  it('a lead paused by its mailbox and its campaign resumes only when both let go', async () => {
    const c = await activeLead('cleo@prospect.example', 3002, SAM);
    await mailboxDecision(SAM, true);
    await campaignDecision('3002', true);
    assert.deepEqual((await lead(c)).paused_by, [`mailbox:${SAM}`, 'campaign:3002']);
    assert.match((await leadAudits(c)).at(-1)!.message, /stays paused: its campaign 3002, was paused .* as well/);

    await mailboxDecision(SAM, false);
    assert.deepEqual([(await lead(c)).status, (await lead(c)).paused_by], ['paused', ['campaign:3002']]);
    await campaignDecision('3002', false);
    assert.deepEqual([(await lead(c)).status, (await lead(c)).paused_by], ['active', []]);
  });

  it("a campaign's pause pauses its leads in Drason and makes no Smartlead lead call", async () => {
    const d = await activeLead('dora@prospect.example', 3003);
    await campaignDecision('3003', true);
    assert.equal(sim.state.campaigns.get(3003)?.status, 'PAUSED', 'the campaign itself is paused in Smartlead');
    assert.deepEqual([(await lead(d)).status, (await lead(d)).paused_by], ['paused', ['campaign:3003']]);
    sim.clearCalls();
    assert.deepEqual(await syncUntilSettled(3003), { paused: 0, resumed: 0, completed: 0, pending: 0 });
    assert.equal(leadCalls().length, 0);
    assert.equal(smartleadStatus('dora@prospect.example', 3003), 'STARTED');
    await campaignDecision('3003', false);
    assert.equal((await lead(d)).status, 'active');
  });

  it('a reply webhook completes the lead, and it is never paused again', async () => {
    const e = await activeLead('eve@prospect.example', 3004, SAM);
    await ingestEvents(database.db, organizationId, [
      { idempotencyKey: 'EMAIL_REPLY:eve-1', type: 'EMAIL_REPLY', source: 'smartlead', occurredAt: new Date(), campaignId: '3004', leadEmail: 'eve@prospect.example' },
    ]);
    const done = await lead(e);
    assert.equal(done.status, 'completed');
    assert.equal(done.completed_reason, 'replied');
    assert.ok(done.completed_at instanceof Date);
    const audits = await leadAudits(e);
    assert.equal(audits.length, 1);
    assert.match(audits[0]!.message, /^Lead eve@prospect\.example in campaign 3004 completed: the lead replied \(Smartlead EMAIL_REPLY webhook\)/);

    // The same webhook again changes nothing; the mailbox's pause and resume pass it by.
    await ingestEvents(database.db, organizationId, [
      { idempotencyKey: 'EMAIL_REPLY:eve-1', type: 'EMAIL_REPLY', source: 'smartlead', occurredAt: new Date(), campaignId: '3004', leadEmail: 'eve@prospect.example' },
    ]);
    await mailboxDecision(SAM, true);
    assert.deepEqual([(await lead(e)).status, (await lead(e)).paused_by], ['completed', []]);
    sim.clearCalls();
    await syncUntilSettled(3004);
    assert.equal(leadCalls().length, 0);
    await mailboxDecision(SAM, false);
    assert.equal((await lead(e)).status, 'completed');
    assert.equal((await leadAudits(e)).length, 1);
  });

  it('an unsubscribe webhook completes the lead as unsubscribed', async () => {
    const u = await activeLead('uma@prospect.example', 3001);
    await ingestEvents(database.db, organizationId, [
      { idempotencyKey: 'LEAD_UNSUBSCRIBED:uma', type: 'LEAD_UNSUBSCRIBED', source: 'smartlead', occurredAt: new Date(), campaignId: '3001', leadEmail: 'uma@prospect.example' },
    ]);
    assert.deepEqual([(await lead(u)).status, (await lead(u)).completed_reason], ['completed', 'unsubscribed']);
  });

  it('Smartlead refusing a resume with 500 (last step) completes the lead instead of failing', async () => {
    const f = await activeLead('finn@prospect.example', 3004, SAM);
    await mailboxDecision(SAM, true);
    assert.equal((await syncUntilSettled(3004)).paused, 1);
    assert.equal(smartleadStatus('finn@prospect.example', 3004), 'PAUSED');
    await mailboxDecision(SAM, false);
    sim.faults.serverError('always', { path: '/leads/\\d+/resume$', status: 500 });
    const r = await syncUntilSettled(3004);
    assert.deepEqual([r.completed, r.resumed], [1, 0]);
    const done = await lead(f);
    assert.deepEqual([done.status, done.completed_reason, done.smartlead_paused], ['completed', 'sequence finished', false]);
    assert.match((await leadAudits(f)).at(-1)!.message, /completed: sequence finished/);
    sim.faults.clear();
    sim.clearCalls();
    await syncUntilSettled(3004);
    assert.equal(leadCalls().length, 0, 'a completed lead is not resumed again');
  });
});
