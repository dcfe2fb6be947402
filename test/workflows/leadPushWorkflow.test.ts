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
  source: string;
  createdAtMs: number;
  refused?: boolean;
}

describe('lead push workflow (time-skipping)', function () {
  this.timeout(120_000);
  let env: TestWorkflowEnvironment;
  let n = 0;
  let leads: Lead[];
  let pushes: string[];
  let domainPaused: boolean;
  let mode: Mode;
  let quarantined: string[];
  let approvedUntil: number | null;
  let refuse: Set<string>;
  let recommended: { leads: number; summary: string }[];

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
          const held = leads.filter((l) => l.status === 'held' && l.refused !== true);
          return {
            campaign: { id: input.campaignId, smartleadStatus: 'ACTIVE', deletedInSmartlead: false, state: 'healthy', riskScore: 10 },
            domains: [{ domain: 'storm.io', state: domainPaused ? 'paused' : 'healthy' }],
            mailboxes: [{ email: 'ann@storm.io', state: 'healthy', automationStopped: false, suspendedInSmartlead: false, messagePerDay: 50, dailySentCount: 0 }],
            mode,
            gateMaxRiskScore: 70,
            settingsVersion: 1,
            leads: held.slice(0, input.limit).map((l) => ({ leadId: l.id, email: l.email, holdReason: l.reason, source: l.source, createdAtMs: l.createdAtMs })),
            heldCount: held.length,
            quarantined: quarantined.map((source) => ({ source, since: 0, reason: '30% of its pushed leads hard-bounced as bad addresses' })),
            approvedUntil,
            pausesToSync: 0,
          };
        },
        reviewSources: async () => ({ quarantined: [] }),
        syncLeadPauses: async () => ({ paused: 0, resumed: 0, completed: 0, pending: 0 }),
        pushLeadsToCampaign: async (input: PushLeadsInput): Promise<PushLeadsResult> => {
          pushes.push(...input.leads.map((l) => l.email));
          return {
            campaignId: input.campaignId,
            outcomes: input.leads.map((l) =>
              refuse.has(l.email)
                ? { leadId: l.leadId, email: l.email, status: 'invalid_email' as const, inCampaign: false, reason: 'Smartlead refused the address as invalid' }
                : { leadId: l.leadId, email: l.email, status: 'added' as const, inCampaign: true, reason: 'added' },
            ),
            counts: {},
          };
        },
        recordGateOutcome: async (input: RecordGateOutcomeInput) => {
          let activated = 0;
          let refused = 0;
          for (const o of input.leads) {
            const lead = leads.find((l) => l.id === o.leadId)!;
            if (o.inCampaign && lead.status === 'held') {
              lead.status = 'active';
              activated += 1;
            } else if (!o.inCampaign) {
              lead.reason = o.reason;
              if (o.pushStatus === 'invalid_email' && lead.refused !== true) {
                lead.refused = true;
                refused += 1;
              }
            }
          }
          if (input.recommendPush !== undefined) recommended.push(input.recommendPush);
          return { activated, refused, reasonsChanged: 0 };
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
    leads = ['a', 'b', 'c'].map((x, i) => ({ id: `lead-${x}`, email: `${x}@x.io`, status: 'held', reason: 'awaiting the execution gate', source: 'Rule A', createdAtMs: 1000 + i }));
    pushes = [];
    domainPaused = false;
    mode = 'enforce';
    quarantined = [];
    approvedUntil = null;
    refuse = new Set();
    recommended = [];
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

  it('holds the leads of a quarantined source with the source-quality reason and pushes the others', async () => {
    leads[1]!.source = 'Bad list';
    quarantined = ['Bad list'];
    await run(async () => {
      await env.sleep('1 minute');
      assert.deepEqual(pushes, ['a@x.io', 'c@x.io']);
      assert.equal(leads[1]!.status, 'held');
      assert.match(leads[1]!.reason, /source quality.*Bad list.*a person must release it/);
    });
  });

  it('suggest mode recommends the push, pushes nothing until a person applies it, then only the leads held until then', async () => {
    mode = 'suggest';
    await run(async () => {
      await env.sleep('1 minute');
      assert.deepEqual(pushes, []);
      assert.ok(recommended.length > 0 && recommended[0]!.leads === 3, JSON.stringify(recommended));
      assert.ok(leads.slice(0, 2).every((l) => l.status === 'held' && l.reason.startsWith('suggest mode: would recommend pushing')));
      approvedUntil = 1001; // applied after a and b arrived, before c
      await env.sleep('6 minutes');
      assert.deepEqual(pushes, ['a@x.io', 'b@x.io']);
      assert.equal(leads[2]!.status, 'held');
    });
  });

  it('never offers again a lead Smartlead refused for good, and keeps pushing the rest', async () => {
    refuse = new Set(['a@x.io']);
    await run(async () => {
      await env.sleep('20 minutes');
      assert.deepEqual(pushes, ['a@x.io', 'b@x.io', 'c@x.io']);
      assert.deepEqual(
        leads.map((l) => l.status),
        ['held', 'active', 'active'],
      );
      assert.match(leads[0]!.reason, /invalid/);
    });
  });
});
