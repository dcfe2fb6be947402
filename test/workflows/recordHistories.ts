/**
 * Records the workflow histories that test/workflows/replay.test.ts replays: run
 * `npm run histories:record -- <name>` BEFORE changing a workflow, so the fixture holds what the running version
 * wrote. Each recorder drives one workflow through the paths its fixture must cover in the time-skipping test server
 * and writes histories/<name>.json when <name> is one it owns (`mailboxWorkflow-<version>`, or the fixed name of the
 * sync, campaign and lead push fixtures); it also replays what it recorded as a first check.
 *
 * Not part of `npm test` (its glob is *.test.ts): a recording is evidence only when it comes from the previous code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { bouncesSignal, mailboxWorkflow, snapshotQuery } from '../../src/workflows/mailboxWorkflow';
import { summarizeWindows } from '../../src/domain/rollingWindows';
import { DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import { smartleadSyncWorkflow } from '../../src/workflows/smartleadSyncWorkflow';
import { campaignWorkflow, escalationSnapshotQuery } from '../../src/workflows/escalationWorkflow';
import { memberStateSignal } from '../../src/workflows/escalationSignals';
import type { EscalationInputRead, ReadEscalationInputRequest } from '../../src/activities/escalation';
import { leadPushWorkflow } from '../../src/workflows/leadPushWorkflow';
import { leadPushSnapshotQuery, leadsChangedSignal } from '../../src/workflows/leadPushSignals';
import type { GateInputRead, ReadGateInputRequest, RecordGateOutcomeInput } from '../../src/activities/leadPipeline';
import type { PushLeadsInput, PushLeadsResult } from '../../src/activities/smartlead';
import { until } from '../support/processes';
import { createTimeSkippingEnv } from '../support/timeSkipping';

const HISTORIES = path.join(__dirname, 'histories');

let recorded: string | undefined;
/** Writes `history` as histories/<RECORD_HISTORIES>.json when that name is this recorder's (`owns`), and only then. */
function recordIfAsked(owns: (name: string) => boolean, history: unknown): void {
  const name = process.env.RECORD_HISTORIES;
  if (name === undefined || !/^[\w.-]+$/.test(name) || !owns(name)) return;
  fs.mkdirSync(HISTORIES, { recursive: true });
  fs.writeFileSync(path.join(HISTORIES, `${name}.json`), JSON.stringify(history, null, 1));
  recorded = name;
}
const workflowsPath = require.resolve('../../src/workflows');

describe('workflow history recorders', function () {
  this.timeout(120_000);
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
    const asked = process.env.RECORD_HISTORIES;
    if (asked !== undefined && recorded !== asked) throw new Error(`no recorder owns the history name "${asked}" (mailboxWorkflow-<version>, smartleadSyncWorkflow-basic, campaignWorkflow-escalation-v1, leadPushWorkflow-v1)`);
    if (recorded !== undefined) console.log(`recorded test/workflows/histories/${recorded}.json`);
  });

  it('records a fresh mailbox history (bounce signals, a pause decision and its action, batch audits, continue-as-new) without nondeterminism', async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'replay',
      workflowsPath,
      activities: {
        recordAudit: async () => true,
        readMailboxWindows: async () => summarizeWindows({ buckets: [] }, Date.now()),
        // 10% hard bounces in the last hour: the first batch pauses at once (sustain 0), so the history holds a decision.
        readMailboxDecisionInput: async (input: { at: number }) => ({
          windows: summarizeWindows({ buckets: [[input.at - 60_000, 100, 10, 0, 0]] }, input.at),
          sinceResume: { sent: 0, hardBounces: 0, failures: 0, reputationBlocks: 0 },
          settings: { mode: 'enforce' as const, thresholds: { ...DEFAULT_THRESHOLDS, sustainMinutes: 0 }, version: 1 },
        }),
        actOnMailboxDecision: async () => ({ outcome: 'done' as const, detail: {}, alreadyRecorded: false }),
      },
    });
    const history = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(mailboxWorkflow, {
        workflowId: 'mailbox/replay-org/replay@example.com',
        taskQueue: 'replay',
        args: [{ organizationId: '00000000-0000-4000-8000-0000000000aa', mailbox: 'replay@example.com', maxBatchesPerRun: 2 }],
      });
      const t = await env.currentTimeMs();
      await handle.signal(bouncesSignal, { events: [{ seq: 1, type: 'HardBounce', occurredAt: t }] });
      await env.sleep('1 second');
      await handle.signal(bouncesSignal, { events: [{ seq: 2, type: 'HardBounce', occurredAt: t }, { seq: 1, type: 'HardBounce', occurredAt: t }] });
      await env.sleep('1 second');
      await handle.signal(bouncesSignal, { events: [{ seq: 3, type: 'DeliveryFailure', occurredAt: t }] });
      await env.sleep('1 second');
      const latest = env.client.workflow.getHandle(handle.workflowId);
      assert.deepEqual((await latest.query(snapshotQuery)).received, { hardBounces: 2, failures: 1 });
      await latest.terminate();
      // The first run: two batches, then continue-as-new.
      return env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
    });
    recordIfAsked((name) => name.startsWith('mailboxWorkflow-'), history);
    await Worker.runReplayHistory({ workflowsPath }, history);
  });

  it('replays a Smartlead sync history', async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'replay-sync',
      workflowsPath,
      activities: { syncSmartlead: async () => ({ campaigns: 1, mailboxes: 2, links: 2, changes: ['campaign_added'] }) },
    });
    const history = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(smartleadSyncWorkflow, {
        workflowId: 'smartlead-sync/replay-org/on-demand',
        taskQueue: 'replay-sync',
        args: [{ organizationId: '00000000-0000-4000-8000-0000000000aa', reason: 'manual' }],
      });
      assert.equal((await handle.result()).campaigns, 1);
      return handle.fetchHistory();
    });
    recordIfAsked((name) => name === 'smartleadSyncWorkflow-basic', history);
    await Worker.runReplayHistory({ workflowsPath }, history);
  });

  it('records a fresh campaign history (member reports, a sustained pause, the cooldown, the wait for recovery, the resume)', async () => {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'replay-campaign',
      workflowsPath,
      activities: {
        readEscalationInput: async (input: ReadEscalationInputRequest): Promise<EscalationInputRead> => ({
          windows: summarizeWindows({ buckets: [] }, input.at),
          sinceResume: { sent: 0, hardBounces: 0, failures: 0, reputationBlocks: 0 },
          settings: { mode: 'enforce', thresholds: { ...DEFAULT_THRESHOLDS, sustainMinutes: 5, cooldownMinutes: 10, probationMinutes: 10 }, version: 1 },
          degraded: input.reported.map((r) => ({ ...r, campaigns: ['42'] })),
          label: '42',
        }),
        actOnEscalationDecision: async () => ({ outcome: 'done' as const, campaigns: [], alreadyRecorded: false }),
      },
    });
    const history = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(campaignWorkflow, {
        workflowId: 'campaign/replay-org/42',
        taskQueue: 'replay-campaign',
        args: [{ organizationId: '00000000-0000-4000-8000-0000000000aa', campaignId: '42', maxBatchesPerRun: 50 }],
      });
      const member = (n: number, mailbox: string, state: 'paused' | 'recovering') =>
        handle.signal(memberStateSignal, { commandId: `c${n}`, mailbox, state, manual: false, at: n, decisionId: `m#${n}` });
      await member(1, 'a@replay.io', 'paused');
      await member(2, 'b@replay.io', 'paused');
      await env.sleep('20 minutes');
      await member(3, 'a@replay.io', 'recovering');
      await env.sleep('10 minutes');
      assert.equal((await handle.query(escalationSnapshotQuery)).state, 'recovering');
      await handle.terminate();
      return handle.fetchHistory();
    });
    recordIfAsked((name) => name === 'campaignWorkflow-escalation-v1', history);
    await Worker.runReplayHistory({ workflowsPath }, history);
  });

  it('records a fresh lead push history (a pass held by a quarantined source, a push, a refused lead, a recheck, a leadsChanged signal)', async () => {
    let held = ['l1', 'l2', 'l3'];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'replay-lead-push',
      workflowsPath,
      activities: {
        reviewSources: async () => ({ quarantined: [] }),
        readGateInput: async (input: ReadGateInputRequest): Promise<GateInputRead> => ({
          campaign: { id: input.campaignId, smartleadStatus: 'ACTIVE', deletedInSmartlead: false, state: 'healthy', riskScore: 5 },
          domains: [{ domain: 'replay.io', state: 'healthy' }],
          mailboxes: [{ email: 'a@replay.io', state: 'healthy', automationStopped: false, suspendedInSmartlead: false, messagePerDay: 50, dailySentCount: 3 }],
          mode: 'enforce',
          gateMaxRiskScore: 70,
          settingsVersion: 1,
          leads: held.map((id, i) => ({ leadId: id, email: `${id}@lead.io`, holdReason: null, source: i === 2 ? 'Bad list' : 'Good list', createdAtMs: i })),
          heldCount: held.length,
          quarantined: [{ source: 'Bad list', since: 0, reason: 'too many bad addresses' }],
          approvedUntil: null,
          pausesToSync: held.length === 1 ? 1 : 0,
        }),
        pushLeadsToCampaign: async (input: PushLeadsInput): Promise<PushLeadsResult> => ({
          campaignId: input.campaignId,
          outcomes: input.leads.map((l, i) => ({ leadId: l.leadId, email: l.email, status: i === 0 ? ('added' as const) : ('invalid_email' as const), inCampaign: i === 0, reason: i === 0 ? 'added' : 'invalid' })),
          counts: {},
        }),
        recordGateOutcome: async (input: RecordGateOutcomeInput) => {
          held = held.filter((id) => !input.leads.some((l) => l.leadId === id && (l.inCampaign || l.pushStatus === 'invalid_email')));
          return { activated: 1, refused: 1, reasonsChanged: 1 };
        },
        syncLeadPauses: async () => ({ paused: 1, resumed: 0, completed: 0, pending: 0 }),
      },
    });
    const history = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(leadPushWorkflow, {
        workflowId: 'leadPush/replay-org/77',
        taskQueue: 'replay-lead-push',
        args: [{ organizationId: '00000000-0000-4000-8000-0000000000aa', campaignId: '77' }],
      });
      // Time moves only while the workflow waits on its own timer: each pass (activities with heartbeat and
      // start-to-close timeouts) finishes before the clock is skipped, however slowly a loaded machine runs it.
      const passesDone = (n: number) =>
        until(
          async () => {
            const d = await handle.describe();
            if (d.raw.pendingWorkflowTask != null || (d.raw.pendingActivities?.length ?? 0) > 0) return undefined;
            return (await handle.query(leadPushSnapshotQuery)).passes >= n ? true : undefined;
          },
          60_000,
          `pass ${n} of the lead push workflow`,
        );
      try {
        await passesDone(1);
        // The 5-minute re-check (leads are still held). env.sleep would skip time only with the server's lock
        // counter at 1, which it is not always here (it then waits in real time), so time is let run free until the
        // re-check's pass starts and locked again at once: a pass or two more may run, never a continue-as-new.
        const testService = env.connection.testService;
        assert.ok(testService, 'a time-skipping test server');
        await testService.unlockTimeSkipping({});
        try {
          // Polled often: while time runs free, every poll interval lets more passes go by.
          await until(async () => ((await handle.query(leadPushSnapshotQuery)).passes >= 2 ? true : undefined), 60_000, 'the re-check pass', 10);
        } finally {
          await testService.lockTimeSkipping({});
        }
        await passesDone(2);
        const before = (await handle.query(leadPushSnapshotQuery)).passes;
        await handle.signal(leadsChangedSignal, { commandId: 'c1', reason: 'domain_recovered' });
        await passesDone(before + 1);
        return await handle.fetchHistory();
      } finally {
        await handle.terminate().catch(() => undefined);
      }
    });
    recordIfAsked((name) => name === 'leadPushWorkflow-v1', history);
    await Worker.runReplayHistory({ workflowsPath }, history);
  });

});
