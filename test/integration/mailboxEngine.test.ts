/**
 * actOnMailboxDecision against real PostgreSQL and the Smartlead simulator: exactly once per decision id, never a
 * second suspend after a lost recording, nothing called in observe mode, a recommendation in suggest mode, and
 * `impossible` for a mailbox Smartlead does not know.
 */
import assert from 'node:assert/strict';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import type { ActOnMailboxDecisionInput, ActOnMailboxDecisionResult } from '../../src/activities/mailboxEngine';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { ensureMailboxes } from '../../src/db/repositories/events';
import { withTenant } from '../../src/db/tenant';
import type { Command, Explanation } from '../../src/domain/mailboxMachine';
import type { Mode } from '../../src/domain/settings';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { resetSmartleadRegistries } from '../../src/smartlead';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { FAST_SMARTLEAD_CLIENT } from '../support/smartlead';
import { createTestDatabase, type TestDatabase } from '../support/stack';

const SAM = 'sam@acme-mail.com';
const NEW = 'new@acme-mail.com';

describe('actOnMailboxDecision (PostgreSQL + Smartlead simulator)', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let sim: SmartleadSimulator;
  let organizationId = '';
  let activities: ReturnType<typeof createActivities>;
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  let n = 0;

  before(async () => {
    resetSmartleadRegistries();
    database = await createTestDatabase();
    sim = createSmartleadSimulator({ apiKey: 'sim-key-engine' });
    await sim.start();
    sim.state.addEmailAccount({ id: 7001, fromEmail: SAM, campaignIds: [] });
    const integrations = createIntegrations(new Keyring(generateEncryptionKeySpec('k1')));
    organizationId = (await createOrganizationWithAdminKey(database.db, 'Engine')).organization.id;
    await withTenant(database.db, organizationId, async (tx) => {
      await integrations.saveSmartleadCredentials(tx, organizationId, { apiKey: 'sim-key-engine', baseUrl: sim.url });
      await ensureMailboxes(tx, organizationId, [SAM, NEW]);
      await tx('mailboxes').where({ email: SAM }).update({ smartlead_account_id: '7001' });
    });
    activities = createActivities({ db: database.db, integrations, clientOptions: FAST_SMARTLEAD_CLIENT });
  });
  after(async () => {
    await sim?.stop();
    await database?.drop();
  });

  const decision = (mode: Mode, commands: Command[], mailbox = SAM): ActOnMailboxDecisionInput => {
    n += 1;
    const explanation: Explanation = {
      decisionId: `mailbox/${organizationId}/${mailbox}@run#${n}`,
      action: mode === 'observe' ? 'mailbox_would_pause' : mode === 'suggest' ? 'mailbox_pause_recommended' : 'mailbox_paused',
      from: 'warning',
      to: mode === 'suggest' ? 'warning' : 'paused',
      message: `${mode === 'observe' ? 'Would have paused' : mode === 'suggest' ? 'Recommends pausing' : 'Paused'} mailbox ${mailbox}: hard-bounce rate 10% (10 of 100 sends) over the last hour reached the pause threshold 5% (settings version 1).`,
      trigger: { signals: ['HardBounce'], metric: 'hardBounceRate', observed: 0.1, threshold: 0.05, window: '1h', bounceClass: 'list_quality' },
      actor: 'system',
      mode,
      settingsVersion: 1,
      pauseReason: 'hard-bounce rate 10%',
    };
    return { organizationId, mailbox, explanation, commands, row: { state: explanation.to, riskScore: 55, cooldownUntil: Date.now() + 3_600_000, stateChangedAt: Date.now() } };
  };
  const audits = (decisionId: string) =>
    withTenant(database.db, organizationId, (tx) => tx('audit_log').where('idempotency_key', 'like', `${decisionId}%`).select('action', 'message', 'mode', 'trigger')) as Promise<
      { action: string; message: string; mode: string; trigger: Record<string, unknown> }[]
    >;
  const act = (d: ActOnMailboxDecisionInput): Promise<ActOnMailboxDecisionResult> => env.run(activities.actOnMailboxDecision, d);
  const suspendCalls = () => sim.calls.filter((c) => c.method === 'PUT' && c.path.includes('/email-accounts/suspend/'));

  it('suspends once and writes one audit entry, however often the same decision is carried out', async () => {
    sim.clearCalls();
    const d = decision('enforce', [{ kind: 'suspend', via: 'automation' }]);
    const first = await act(d);
    const second = await act(d);
    assert.deepEqual([first.outcome, first.alreadyRecorded, second.outcome, second.alreadyRecorded], ['done', false, 'done', true]);
    assert.equal(sim.state.emailAccounts.get(7001)?.isSuspended, true);
    assert.equal(suspendCalls().length, 1, 'one suspend reached Smartlead');
    const rows = await audits(d.explanation.decisionId);
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.message, /^Paused mailbox sam@acme-mail.com: hard-bounce rate 10% .* Suspended in Smartlead \(email account 7001\)\.$/);
    assert.deepEqual(rows[0]!.trigger, { ...d.explanation.trigger, outcome: 'done' }, 'the decision\'s trigger, with what came of it');
    const row = (await withTenant(database.db, organizationId, (tx) => tx('mailboxes').where({ email: SAM }).first('state', 'risk_score', 'pause_reason', 'settings_version'))) as Record<string, unknown>;
    assert.deepEqual(row, { state: 'paused', risk_score: 55, pause_reason: 'hard-bounce rate 10%', settings_version: 1 });
  });

  it('a retry after a crash between the call and its recording sends no second suspend', async () => {
    // The account is already suspended (the lost attempt's call landed); no ledger row says so.
    sim.clearCalls();
    const d = decision('enforce', [{ kind: 'suspend', via: 'automation' }]);
    const result = await act(d);
    assert.equal(result.outcome, 'done');
    assert.equal(result.detail.alreadyInState, true);
    assert.equal(suspendCalls().length, 0);
    assert.match((await audits(d.explanation.decisionId))[0]!.message, /It was already suspended in Smartlead, so nothing was sent\.$/);
  });

  it('in observe mode nothing is called and the audit says "would have"', async () => {
    sim.clearCalls();
    const d = decision('observe', [{ kind: 'would_have', action: 'pause' }]);
    const result = await act(d);
    assert.equal(result.outcome, 'would_have');
    assert.equal(sim.calls.length, 0, 'Smartlead was not called at all');
    const rows = await audits(d.explanation.decisionId);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.mode, 'observe');
    assert.match(rows[0]!.message, /^Would have paused mailbox/);
  });

  it('in suggest mode a pending recommendation is stored once, and a later decision can supersede it', async () => {
    sim.clearCalls();
    const d = decision('suggest', [{ kind: 'recommend', action: 'pause' }]);
    await act(d);
    await act(d);
    const recs = () => withTenant(database.db, organizationId, (tx) => tx('recommendations').where({ decision_id: d.explanation.decisionId }).select('status', 'action', 'entity_key'));
    assert.deepEqual(await recs(), [{ status: 'pending', action: 'pause', entity_key: SAM }]);
    assert.equal(sim.calls.length, 0);
    await act(decision('suggest', [{ kind: 'record' }, { kind: 'supersede_recommendation', decisionId: d.explanation.decisionId }]));
    assert.deepEqual((await recs()).map((r) => r.status), ['superseded']);
  });

  it('a mailbox unknown to Smartlead is `impossible`, audited, and not retried', async () => {
    sim.clearCalls();
    const d = decision('enforce', [{ kind: 'suspend', via: 'automation' }], NEW);
    const result = await act(d);
    assert.equal(result.outcome, 'impossible');
    assert.equal(sim.calls.length, 0);
    assert.match((await audits(d.explanation.decisionId))[0]!.message, /Drason could not pause it in Smartlead: the mailbox is not linked to a Smartlead email account/);
  });

  it('a Smartlead failure is rethrown for Temporal to retry, audited once however many attempts fail, and the client itself does not retry', async () => {
    sim.state.emailAccounts.get(7001)!.isSuspended = false;
    sim.clearCalls();
    const d = decision('enforce', [{ kind: 'suspend', via: 'automation' }]);
    sim.faults.serverError(2, { path: '/email-accounts/suspend' });
    await assert.rejects(act(d), /unavailable/);
    await assert.rejects(act(d), /unavailable/);
    assert.equal(suspendCalls().length, 2, 'one request per attempt');
    const result = await act(d);
    assert.equal(result.outcome, 'done');
    assert.equal(suspendCalls().filter((c) => c.status === 200).length, 1);
    const rows = await audits(d.explanation.decisionId);
    assert.deepEqual(rows.map((r) => r.action).sort(), ['mailbox_action_retrying', 'mailbox_paused']);
  });
});
