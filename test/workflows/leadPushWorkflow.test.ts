/** The lead push workflow under time skipping, with fake activities (docs/decisions/013-lead-pipeline.md). */
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { GateInputRead, ReadGateInputRequest, RecordGateOutcomeInput } from '../../src/activities/leadPipeline';
import type { PushLeadsInput, PushLeadsResult } from '../../src/activities/smartlead';
import type { Mode } from '../../src/domain/settings';
import { leadPushWorkflow, leadPushWorkflowId } from '../../src/workflows/leadPushWorkflow';
import { createTimeSkippingEnv } from '../support/timeSkipping';

const ORG = '00000000-0000-4000-8000-000000000013';

interface Lead {
  id: string;
  email: string;
  status: 'held' | 'active';
  reason: string;
}

describe('lead push workflow (time-skipping)', function () {
  this.timeout(120_000);
  let env: TestWorkflowEnvironment;
  let n = 0;
  let leads: Lead[];
  let pushes: string[];
  let domainPaused: boolean;
  let mode: Mode;

  before(async () => {
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  async function run(fn: () => Promise<void>): Promise<void> {
    n += 1;
    const taskQueue = `lead-push-test-${n}`;
    const workflowId = `${leadPushWorkflowId(ORG, '100')}-${n}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: {
        readGateInput: async (input: ReadGateInputRequest): Promise<GateInputRead> => {
          const held = leads.filter((l) => l.status === 'held');
          return {
            campaign: { id: input.campaignId, smartleadStatus: 'ACTIVE', deletedInSmartlead: false, state: 'healthy', riskScore: 10 },
            domains: [{ domain: 'storm.io', state: domainPaused ? 'paused' : 'healthy' }],
            mailboxes: [{ email: 'ann@storm.io', state: 'healthy', automationStopped: false, suspendedInSmartlead: false, messagePerDay: 50, dailySentCount: 0 }],
            mode,
            gateMaxRiskScore: 70,
            settingsVersion: 1,
            leads: held.slice(0, input.limit).map((l) => ({ leadId: l.id, email: l.email, holdReason: l.reason })),
            heldCount: held.length,
          };
        },
        pushLeadsToCampaign: async (input: PushLeadsInput): Promise<PushLeadsResult> => {
          pushes.push(...input.leads.map((l) => l.email));
          return {
            campaignId: input.campaignId,
            outcomes: input.leads.map((l) => ({ leadId: l.leadId, email: l.email, status: 'added', inCampaign: true, reason: 'added' })),
            counts: { added: input.leads.length },
          };
        },
        recordGateOutcome: async (input: RecordGateOutcomeInput) => {
          let activated = 0;
          for (const o of input.leads) {
            const lead = leads.find((l) => l.id === o.leadId)!;
            if (o.inCampaign && lead.status === 'held') {
              lead.status = 'active';
              activated += 1;
            } else if (!o.inCampaign) lead.reason = o.reason;
          }
          return { activated, reasonsChanged: 0 };
        },
      },
    });
    await worker.runUntil(async () => {
      await env.client.workflow.start(leadPushWorkflow, { workflowId, taskQueue, args: [{ organizationId: ORG, campaignId: '100', batchSize: 2 }] });
      try {
        await fn();
      } finally {
        await env.client.workflow.getHandle(workflowId).terminate().catch(() => undefined);
      }
    });
  }

  beforeEach(() => {
    leads = ['a', 'b', 'c'].map((x) => ({ id: `lead-${x}`, email: `${x}@x.io`, status: 'held', reason: 'awaiting the execution gate' }));
    pushes = [];
    domainPaused = false;
    mode = 'enforce';
  });

  it('pushes allowed leads once, in batches', async () => {
    await run(async () => {
      await env.sleep('1 minute');
      assert.deepEqual(pushes, ['a@x.io', 'b@x.io', 'c@x.io']);
      assert.ok(leads.every((l) => l.status === 'active'));
      await env.sleep('30 minutes');
      assert.deepEqual(pushes, ['a@x.io', 'b@x.io', 'c@x.io']);
    });
  });

  it('holds leads behind a paused domain with the reason and pushes them at the next check after it recovers', async () => {
    domainPaused = true;
    await run(async () => {
      await env.sleep('1 minute');
      assert.deepEqual(pushes, []);
      assert.ok(leads.slice(0, 2).every((l) => l.status === 'held' && l.reason.includes('domain storm.io is paused')));
      domainPaused = false;
      await env.sleep('6 minutes');
      assert.deepEqual(pushes, ['a@x.io', 'b@x.io', 'c@x.io']);
      assert.ok(leads.every((l) => l.status === 'active'));
    });
  });

  it('observe mode pushes nothing and records what it would do', async () => {
    mode = 'observe';
    await run(async () => {
      await env.sleep('12 minutes');
      assert.deepEqual(pushes, []);
      assert.ok(leads.slice(0, 2).every((l) => l.status === 'held' && l.reason.startsWith('observe mode: would push')));
    });
  });
});
