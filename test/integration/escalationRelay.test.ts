/**
 * What the campaign and domain engines hear, on real PostgreSQL, Temporal and the Smartlead simulator: a mailbox
 * decision that changes its state tells its domain and every campaign it sends for (once per decision, however
 * often the activity is retried), a sync that links or unlinks mailboxes tells their campaigns and domains, and the
 * relay delivers each to the entity's own workflow in the order stored, never to another organization's.
 *
 * No worker polls this suite's task queue: a workflow the relay started keeps every signal in its history, which
 * is what these tests read (what the engines then do is test/workflows/escalationWorkflow.test.ts's subject).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import type { ActOnMailboxDecisionInput, ActOnMailboxDecisionResult } from '../../src/activities/mailboxEngine';
import { enqueueCommand, pendingCommands, type CommandEntityType } from '../../src/db/repositories/commands';
import { ensureMailboxes, ingestEvents } from '../../src/db/repositories/events';
import { countQueuedEvents } from '../../src/db/repositories/relay';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { withTenant } from '../../src/db/tenant';
import type { Command, Explanation, MailboxState } from '../../src/domain/mailboxMachine';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { relayOnce, relayOrganization, startEventRelay } from '../../src/services/eventRelay';
import { resetSmartleadRegistries } from '../../src/smartlead';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { connectClient } from '../../src/temporal/connection';
import { installTemporalRuntime } from '../../src/workers/components';
import type { MemberStateCommand } from '../../src/workflows/escalationSignals';
import { campaignWorkflowId, domainWorkflowId } from '../../src/workflows/ids';
import { until } from '../support/processes';
import { FAST_SMARTLEAD_CLIENT } from '../support/smartlead';
import { createTestDatabase, testTemporal, type TestDatabase } from '../support/stack';

const DAY_MS = 24 * 3600_000;

describe('campaign and domain commands: member states, membership changes, delivery (real Postgres, Temporal, Smartlead simulator)', function () {
  this.timeout(120_000);
  let t: TestDatabase;
  let client: Client;
  let close: () => Promise<void>;
  let sim: SmartleadSimulator;
  let activities: ReturnType<typeof createActivities>;
  const integrations = createIntegrations(new Keyring(generateEncryptionKeySpec('k1')));
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const taskQueue = `escalation-relay-${crypto.randomUUID()}`;
  let n = 0;

  before(async () => {
    installTemporalRuntime('ERROR');
    resetSmartleadRegistries();
    t = await createTestDatabase();
    const server = await testTemporal();
    const connected = await connectClient({ address: server.address, namespace: 'default', taskQueue });
    client = connected.client;
    close = () => connected.connection.close();
    sim = createSmartleadSimulator({ apiKey: 'sim-key-escalation' });
    await sim.start();
    activities = createActivities({ db: t.db, integrations, clientOptions: FAST_SMARTLEAD_CLIENT });
  });
  after(async () => {
    await sim?.stop();
    await close?.();
    await t?.drop();
  });

  const newOrg = async (name: string): Promise<string> => (await createOrganizationWithAdminKey(t.db, name)).organization.id;
  const deps = () => ({ db: t.db, client, taskQueue });
  const commandsOf = (org: string) => withTenant(t.db, org, (tx) => pendingCommands(tx));
  /** The signals a workflow has received, in order, by name with their argument. */
  const signalsOf = async (workflowId: string): Promise<{ name: string; arg: Record<string, unknown> }[]> =>
    ((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).flatMap((e) => {
      const s = e.workflowExecutionSignaledEventAttributes;
      const payload = s?.input?.payloads?.[0];
      return s == null ? [] : [{ name: s.signalName ?? '', arg: payload == null ? {} : defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload) }];
    });
  const signalsOnceThere = (workflowId: string, count: number) =>
    until(async () => {
      const got = await signalsOf(workflowId);
      return got.length >= count ? got : undefined;
    }, 30_000, `${count} signal(s) in ${workflowId}'s history`);

  /** Links a mailbox to campaigns as the Smartlead sync stores them. */
  const linkAsSynced = (org: string, mailbox: string, campaignIds: string[]) =>
    withTenant(t.db, org, async (tx) => {
      const ids = await ensureMailboxes(tx, org, [mailbox]);
      for (const campaignId of campaignIds) {
        await tx('campaigns').insert({ organization_id: org, campaign_id: campaignId, name: `Campaign ${campaignId}` }).onConflict(['organization_id', 'campaign_id']).ignore();
        await tx('campaign_mailboxes').insert({ organization_id: org, campaign_id: campaignId, mailbox_id: ids.get(mailbox) });
      }
    });

  /** A mailbox decision in observe mode (no Smartlead call), from one state to another. */
  const decision = (
    org: string,
    mailbox: string,
    from: MailboxState,
    to: MailboxState,
    extra: { commands?: Command[]; signals?: string[]; manual?: boolean; automationStopped?: ActOnMailboxDecisionInput['row']['automationStopped'] } = {},
  ): ActOnMailboxDecisionInput => {
    n += 1;
    const explanation: Explanation = {
      decisionId: `mailbox/${org}/${mailbox}@run#${n}`,
      action: to === 'paused' ? 'mailbox_would_pause' : `mailbox_${to}`,
      from,
      to,
      message: `Mailbox ${mailbox} went from ${from} to ${to}.`,
      trigger: { signals: extra.signals ?? ['HardBounce'] },
      actor: 'system',
      mode: 'observe',
      settingsVersion: 1,
      pauseReason: to === 'paused' ? 'hard-bounce rate 10%' : null,
    };
    return {
      organizationId: org,
      mailbox,
      explanation,
      commands: extra.commands ?? (to === 'paused' ? [{ kind: 'would_have', action: 'pause' }] : [{ kind: 'would_have', action: 'resume' }]),
      row: {
        state: to,
        riskScore: 40,
        cooldownUntil: null,
        stateChangedAt: Date.now() - 1000,
        ...(extra.manual === undefined ? {} : { manual: extra.manual }),
        ...(extra.automationStopped === undefined ? {} : { automationStopped: extra.automationStopped }),
      },
    };
  };
  const act = (d: ActOnMailboxDecisionInput): Promise<ActOnMailboxDecisionResult> => env.run(activities.actOnMailboxDecision, d);
  const memberStates = async (org: string) =>
    (await commandsOf(org)).filter((c) => c.kind === 'member_state').map((c) => [c.entityType, c.entityKey, c.payload as unknown as MemberStateCommand] as const);
  const storeMemberState = (org: string, entityType: CommandEntityType, entityKey: string, mailbox: string, state: MailboxState) =>
    withTenant(t.db, org, (tx) =>
      enqueueCommand(tx, {
        organizationId: org,
        entityType,
        entityKey,
        kind: 'member_state',
        actor: 'system',
        payload: (commandId): MemberStateCommand => ({ commandId, mailbox, state, manual: false, at: Date.now(), decisionId: `d-${commandId}` }),
      }),
    );

  describe('the mailbox act activity', () => {
    it('tells the domain and every campaign the mailbox sends for (synced links and campaigns of its last 7 days of events) once, however often the decision is retried', async () => {
      const org = await newOrg('Member state');
      const mailbox = 'sam@member-mail.com';
      await linkAsSynced(org, mailbox, ['101', '102']);
      await ingestEvents(t.db, org, [
        { idempotencyKey: 'sent-202', type: 'EmailSent', source: 'api', occurredAt: new Date(Date.now() - 2 * DAY_MS), mailbox, campaignId: '202' },
        { idempotencyKey: 'sent-101', type: 'EmailSent', source: 'api', occurredAt: new Date(), mailbox, campaignId: '101' },
        { idempotencyKey: 'old-303', type: 'EmailSent', source: 'api', occurredAt: new Date(Date.now() - 8 * DAY_MS), mailbox, campaignId: '303', flags: ['stale'] },
        { idempotencyKey: 'other-404', type: 'EmailSent', source: 'api', occurredAt: new Date(), mailbox: 'alex@member-mail.com', campaignId: '404' },
      ]);
      // The relay's count stage records who sent for which campaign (campaign_senders).
      await withTenant(t.db, org, (tx) => countQueuedEvents(tx, org, 1000));

      const d = decision(org, 'Sam@Member-Mail.com', 'warning', 'paused');
      // Two attempts at once (a retry started while the first still ran), then one more after both.
      const overlapping = await Promise.all([act(d), act(d)]);
      const again = await act(d);
      assert.deepEqual(overlapping.map((r) => r.alreadyRecorded).sort(), [false, true], 'one attempt recorded the decision, the other found it recorded');
      assert.equal(again.alreadyRecorded, true, 'the retry found the decision carried out');

      const told = await memberStates(org);
      assert.deepEqual(
        told.map(([type, key]) => [type, key]),
        [
          ['domain', 'member-mail.com'],
          ['campaign', '101'],
          ['campaign', '102'],
          ['campaign', '202'],
        ],
        'its domain, the campaigns it is linked to and the one it sent for two days ago; not one it last sent for 8 days ago, nor another mailbox\'s',
      );
      for (const [, , payload] of told) {
        assert.deepEqual(
          { ...payload, commandId: typeof payload.commandId },
          { commandId: 'string', mailbox, state: 'paused', manual: false, at: d.row.stateChangedAt, decisionId: d.explanation.decisionId },
        );
      }
      assert.equal(new Set(told.map(([, , p]) => p.commandId)).size, 4, 'each command has its own id');
    });

    it('stores nothing for a decision that leaves the state as it was, and reports a manual hold taken on a paused mailbox', async () => {
      const org = await newOrg('No change');
      const mailbox = 'quinn@same-mail.com';
      await linkAsSynced(org, mailbox, ['7']);
      await act(decision(org, mailbox, 'warning', 'warning', { commands: [{ kind: 'recommend', action: 'pause' }] }));
      await act(decision(org, mailbox, 'paused', 'paused', { commands: [{ kind: 'would_have', action: 'pause' }] }));
      assert.deepEqual(await commandsOf(org), [], 'no state changed: no campaign or domain is told');

      const held = decision(org, mailbox, 'paused', 'paused', { signals: ['override'], manual: true, commands: [{ kind: 'suspend', via: 'override' }] });
      // Not linked to a Smartlead account: the suspend is impossible, and the hold still counts.
      assert.equal((await act(held)).outcome, 'impossible');
      assert.deepEqual(
        (await memberStates(org)).map(([type, key, p]) => [type, key, p.state, p.manual]),
        [
          ['domain', 'same-mail.com', 'paused', true],
          ['campaign', '7', 'paused', true],
        ],
      );
    });

    it('records and clears the escalation-loop stop on the mailbox row', async () => {
      const org = await newOrg('Loop stop');
      const mailbox = 'lee@loop-mail.com';
      await withTenant(t.db, org, (tx) => ensureMailboxes(tx, org, [mailbox]));
      const row = () => withTenant(t.db, org, (tx) => tx('mailboxes').where({ email: mailbox }).first('automation_stopped_at', 'automation_stopped_reason'));
      const at = Date.UTC(2026, 0, 5, 10, 0, 0);
      await act(decision(org, mailbox, 'recovering', 'paused', { automationStopped: { at, reason: 'paused 3 times in 24 hours' } }));
      assert.deepEqual(await row(), { automation_stopped_at: new Date(at), automation_stopped_reason: 'paused 3 times in 24 hours' });
      await act(decision(org, mailbox, 'paused', 'recovering'));
      assert.deepEqual(await row(), { automation_stopped_at: new Date(at), automation_stopped_reason: 'paused 3 times in 24 hours' }, 'a workflow that says nothing of it leaves it');
      await act(decision(org, mailbox, 'recovering', 'healthy', { automationStopped: null }));
      assert.deepEqual(await row(), { automation_stopped_at: null, automation_stopped_reason: null });
    });
  });

  describe('the Smartlead sync', () => {
    it('tells each campaign and domain whose links changed, naming what changed, and nothing when none did', async () => {
      const org = await newOrg('Membership');
      await withTenant(t.db, org, (tx) => integrations.saveSmartleadCredentials(tx, org, { apiKey: 'sim-key-escalation', baseUrl: sim.url }));
      const campaign = sim.state.addCampaign({ name: 'Founders', status: 'ACTIVE' });
      const alex = sim.state.addEmailAccount({ fromEmail: 'alex@link-a.com', campaignIds: [campaign.id] });
      sim.state.addEmailAccount({ fromEmail: 'sam@link-b.com', campaignIds: [] });
      const sync = () => env.run(activities.syncSmartlead, { organizationId: org, reason: 'test' });
      const membership = async () =>
        (await commandsOf(org)).filter((c) => c.kind === 'membership_changed').map((c) => [c.entityType, c.entityKey, c.payload.detail]);

      await sync();
      const id = String(campaign.id);
      assert.deepEqual(await membership(), [
        ['campaign', id, 'linked alex@link-a.com'],
        ['domain', 'link-a.com', `linked alex@link-a.com to campaign ${id}`],
      ]);
      await withTenant(t.db, org, (tx) => tx('entity_commands').delete());

      sim.state.unlinkEmailAccount(campaign.id, alex.id);
      const sam = sim.state.findEmailAccountByEmail('sam@link-b.com')!;
      sim.state.linkEmailAccount(campaign.id, sam.id);
      await sync();
      assert.deepEqual(
        await membership(),
        [
          ['campaign', id, 'linked sam@link-b.com; unlinked alex@link-a.com'],
          ['domain', 'link-b.com', `linked sam@link-b.com to campaign ${id}`],
          ['domain', 'link-a.com', `unlinked alex@link-a.com from campaign ${id}`],
        ],
        'one command for the campaign names both changes; each domain hears of its own mailbox',
      );
      await withTenant(t.db, org, (tx) => tx('entity_commands').delete());
      await sync();
      assert.deepEqual(await membership(), [], 'a sync that changes no link tells nobody');
    });
  });

  describe('the relay', () => {
    it("delivers a mailbox's member state to its campaign's and domain's workflows (started with their search attributes), woken by the activity's commit", async () => {
      const org = await newOrg('Delivery');
      const mailbox = 'ops@deliver-mail.com';
      await linkAsSynced(org, mailbox, ['55']);
      while ((await relayOnce(deps())).commands > 0);
      const relay = startEventRelay({ ...deps(), databaseUrl: t.appUrl }, { pollMs: 3_600_000 });
      try {
        const listening = `select 1 from pg_stat_activity where application_name = 'drason-relay-listener' and query ilike 'listen%'`;
        await until(async () => ((await t.db.raw(listening)).rows.length > 0 ? true : undefined), 30_000, 'the listener');
        const d = decision(org, mailbox, 'healthy', 'warning', { commands: [{ kind: 'would_have', action: 'pause' }] });
        await act(d);
        await until(async () => ((await commandsOf(org)).length === 0 ? true : undefined), 30_000, 'both commands delivered without waiting for the poll');
      } finally {
        await relay.stop();
      }
      for (const [workflowId, type, key] of [
        [campaignWorkflowId(org, '55'), 'campaign', '55'],
        [domainWorkflowId(org, 'deliver-mail.com'), 'domain', 'deliver-mail.com'],
      ] as const) {
        assert.equal(workflowId, `${type}/${org}/${key}`);
        const signals = await signalsOnceThere(workflowId, 1);
        assert.deepEqual(
          signals.map((s) => [s.name, s.arg.mailbox, s.arg.state]),
          [['memberState', mailbox, 'warning']],
        );
        const described = await client.workflow.getHandle(workflowId).describe();
        assert.equal(described.type, type === 'campaign' ? 'campaignWorkflow' : 'domainWorkflow');
        assert.deepEqual(
          ['DrasonOrganizationId', 'DrasonEntityType', 'DrasonEntityId'].map((k) => described.searchAttributes[k]),
          [[org], [type], [key]],
        );
      }
    });

    it("keeps each entity's commands in the order stored behind a failed one, while other entities go on", async () => {
      const org = await newOrg('Order');
      const mailbox = 'kim@order-mail.com';
      const paused = await storeMemberState(org, 'campaign', '9', mailbox, 'paused');
      const recovering = await storeMemberState(org, 'campaign', '9', mailbox, 'recovering');
      const domain = await storeMemberState(org, 'domain', 'order-mail.com', mailbox, 'paused');
      // Temporal refuses signals to campaigns only.
      const campaignsDown = {
        connection: client.connection,
        workflow: {
          signalWithStart: (type: string, options: { workflowId: string }) =>
            options.workflowId.startsWith('campaign/') ? Promise.reject(new Error('14 UNAVAILABLE')) : client.workflow.signalWithStart(type, options as never),
        },
      } as unknown as Client;

      const down = await relayOrganization({ ...deps(), client: campaignsDown }, org);
      assert.deepEqual([down.commands, down.failedCommands], [1, 1], 'the domain got its command; the campaign\'s first failed and its second was not tried');
      assert.deepEqual(
        (await commandsOf(org)).map((c) => [c.entityKey, c.payload.state, c.attempts]),
        [
          ['9', 'paused', 1],
          ['9', 'recovering', 0],
        ],
      );
      assert.deepEqual((await relayOrganization(deps(), org)).commands, 0, 'the second waits while the first backs off');

      await withTenant(t.db, org, (tx) => tx('entity_commands').update({ next_attempt_at: tx.raw("now() - interval '1 second'") }));
      assert.deepEqual((await relayOrganization(deps(), org)).commands, 2);
      assert.deepEqual(await commandsOf(org), []);
      const signals = await signalsOnceThere(campaignWorkflowId(org, '9'), 2);
      assert.deepEqual(
        signals.map((s) => [s.name, s.arg.commandId, s.arg.state]),
        [
          ['memberState', paused, 'paused'],
          ['memberState', recovering, 'recovering'],
        ],
        'the pause reached the campaign before the recovery, each once',
      );
      assert.deepEqual((await signalsOnceThere(domainWorkflowId(org, 'order-mail.com'), 1)).map((s) => s.arg.commandId), [domain]);
    });

    it("never delivers one organization's commands to another's workflows", async () => {
      const [a, b] = [await newOrg('Tenant A'), await newOrg('Tenant B')];
      const mailbox = 'pat@shared-mail.com';
      await linkAsSynced(a, mailbox, ['42']);
      await linkAsSynced(b, mailbox, ['42']);
      await act(decision(a, mailbox, 'warning', 'paused'));
      assert.deepEqual(await commandsOf(b), [], "A's decision stored nothing for B");
      const fromB = await storeMemberState(b, 'campaign', '42', mailbox, 'warning');
      const fromA = (await commandsOf(a)).map((c) => c.payload.commandId);

      while ((await relayOnce(deps())).commands > 0);
      assert.deepEqual([await commandsOf(a), await commandsOf(b)], [[], []]);
      const ofA = (await signalsOnceThere(campaignWorkflowId(a, '42'), 1)).concat(await signalsOnceThere(domainWorkflowId(a, 'shared-mail.com'), 1));
      assert.deepEqual(ofA.map((s) => s.arg.commandId).sort(), [...fromA].sort());
      assert.deepEqual((await signalsOnceThere(campaignWorkflowId(b, '42'), 1)).map((s) => [s.arg.commandId, s.arg.state]), [[fromB, 'warning']]);
      await assert.rejects(client.workflow.getHandle(domainWorkflowId(b, 'shared-mail.com')).describe(), /not found/i, "B's domain heard nothing");
    });

    it('fans a settings change out to the campaigns and domains whose decision it could change, after the mailboxes, a bounded page per round', async () => {
      const org = await newOrg('Fan-out');
      await withTenant(t.db, org, async (tx) => {
        await ensureMailboxes(tx, org, ['a@fan-quiet.com', 'b@fan-bounced.com', 'c@fan-paused.com']);
        await tx('domains').where({ name: 'fan-paused.com' }).update({ state: 'paused' });
        await tx('campaigns').insert(
          ['c-paused', 'c-quiet', 'c-recommended'].map((campaign_id) => ({ organization_id: org, campaign_id, name: campaign_id, state: campaign_id === 'c-paused' ? 'warning' : 'healthy' })),
        );
        await tx('recommendations').insert({
          organization_id: org,
          entity_type: 'campaign',
          entity_key: 'c-recommended',
          action: 'resume',
          decision_id: 'campaign-decision-1',
          status: 'pending',
          message: 'Recommends resuming campaign c-recommended.',
          trigger: JSON.stringify({ signals: ['deadline'] }),
          settings_version: 1,
        });
      });
      // A bounce on fan-bounced.com: its mailbox and its domain have something a new threshold could judge.
      await ingestEvents(t.db, org, [{ idempotencyKey: 'fb-1', type: 'HardBounce', source: 'api', occurredAt: new Date(), mailbox: 'b@fan-bounced.com' }]);
      await withTenant(t.db, org, (tx) =>
        enqueueCommand(tx, { organizationId: org, entityType: 'organization', entityKey: org, kind: 'settings_changed', actor: 'api-key:test', payload: () => ({ version: 4 }) }),
      );
      const rounds: number[] = [];
      const places: unknown[] = [];
      for (;;) {
        const r = await relayOrganization(deps(), org, { fanOutBatch: 2 });
        rounds.push(r.commands);
        const left = (await commandsOf(org)).filter((c) => c.kind === 'settings_changed');
        if (left.length === 0) break;
        places.push([left[0]!.payload.stage, left[0]!.payload.after]);
      }
      // Two entities a round: the bounced mailbox and c-paused; c-recommended and fan-bounced.com; fan-paused.com.
      assert.deepEqual(rounds, [2, 2, 1]);
      assert.deepEqual(places, [['campaign', 'c-paused'], ['domain', 'fan-bounced.com']], 'the fan-out keeps its place across types');
      for (const [workflowId] of [
        [campaignWorkflowId(org, 'c-paused')],
        [campaignWorkflowId(org, 'c-recommended')],
        [domainWorkflowId(org, 'fan-bounced.com')],
        [domainWorkflowId(org, 'fan-paused.com')],
      ]) {
        assert.deepEqual((await signalsOnceThere(workflowId!, 1)).map((s) => [s.name, s.arg.version]), [['settingsChanged', 4]], `${workflowId} told once`);
      }
      for (const workflowId of [campaignWorkflowId(org, 'c-quiet'), domainWorkflowId(org, 'fan-quiet.com')]) {
        await assert.rejects(client.workflow.getHandle(workflowId).describe(), /not found/i, `${workflowId} has nothing to re-decide`);
      }
    });
  });
});
