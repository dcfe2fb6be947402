/**
 * The campaign and domain workflows under time skipping, with fake activities: which mailboxes are members and what
 * the entity's counters hold is whatever the test says, and what the workflow decides to do is recorded instead of
 * done (test/integration/escalationHolds.test.ts runs the real activity against PostgreSQL and the simulator).
 */
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { ActOnEscalationDecisionInput, ActOnEscalationDecisionResult, EscalationInputRead, ReadEscalationInputRequest } from '../../src/activities/escalation';
import { DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import type { MailboxState } from '../../src/domain/mailboxMachine';
import type { Mode, Thresholds } from '../../src/domain/settings';
import { summarizeWindows, BUCKET_MS, type WindowCounts } from '../../src/domain/rollingWindows';
import { membershipChangedSignal, memberStateSignal } from '../../src/workflows/escalationSignals';
import { campaignWorkflow, domainWorkflow, escalationSnapshotQuery, type EscalationWorkflowState } from '../../src/workflows/escalationWorkflow';
import { campaignWorkflowId, domainWorkflowId } from '../../src/workflows/ids';
import { overrideSignal } from '../../src/workflows/mailboxSignals';
import { createTimeSkippingEnv } from '../support/timeSkipping';

const ORG = '00000000-0000-4000-8000-000000000009';
const OPS = 'api-key:ops';

interface World {
  /** The entity's own last-hour counts. */
  hour: WindowCounts;
  /** Which campaigns each mailbox sends for (membership); a mailbox absent here is no member of any campaign. */
  campaignsOf: Record<string, string[]>;
  mode: Mode;
  thresholds: Thresholds;
}

const counts = (sent: number, hardBounces = 0): WindowCounts => ({ sent, hardBounces, failures: 0, reputationBlocks: 0 });

describe('campaign and domain workflows (time-skipping)', function () {
  this.timeout(180_000);
  let env: TestWorkflowEnvironment;
  let acts: ActOnEscalationDecisionInput[];
  let world: World;
  let taskQueue = '';
  let n = 0;
  const started: string[] = [];

  before(async () => {
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  const fresh = (over: Partial<Thresholds> = {}, mode: Mode = 'enforce'): World => ({
    hour: counts(0),
    campaignsOf: { 'a@acme.io': ['100'], 'b@acme.io': ['100'], 'c@acme.io': ['200'], 'd@acme.io': ['100'] },
    mode,
    thresholds: { ...DEFAULT_THRESHOLDS, minSample: 20, sustainMinutes: 30, cooldownMinutes: 60, maxCooldownMinutes: 240, probationMinutes: 120, ...over },
  });

  async function withWorker<T>(fn: () => Promise<T>, w: World = fresh()): Promise<T> {
    n += 1;
    taskQueue = `escalation-test-${n}`;
    acts = [];
    world = w;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: {
        readEscalationInput: async (input: ReadEscalationInputRequest): Promise<EscalationInputRead> => {
          const bucket = Math.floor(input.at / BUCKET_MS) * BUCKET_MS;
          // The counts were sent before any resume or mailbox action the workflow counts from.
          const h = input.resumedAt === undefined ? world.hour : counts(0);
          const degraded = input.reported
            .map((r) => ({ mailbox: r.mailbox, state: r.state, campaigns: world.campaignsOf[r.mailbox] ?? [] }))
            .filter((d) => (input.kind === 'campaign' ? d.campaigns.includes(input.key) : d.mailbox.endsWith(`@${input.key}`)));
          return {
            windows: summarizeWindows({ buckets: [[bucket, h.sent, h.hardBounces, h.failures, 0]] }, input.at),
            sinceResume: counts(0),
            settings: { mode: world.mode, thresholds: world.thresholds, version: 1 },
            degraded,
            label: input.key,
          };
        },
        actOnEscalationDecision: async (input: ActOnEscalationDecisionInput): Promise<ActOnEscalationDecisionResult> => {
          acts.push(input);
          return { outcome: 'done', campaigns: [], alreadyRecorded: false };
        },
      },
    });
    try {
      return await worker.runUntil(fn);
    } finally {
      for (const id of started.splice(0)) await env.client.workflow.getHandle(id).terminate().catch(() => undefined);
    }
  }

  const startCampaign = (suffix: string, campaignId = '100', state?: EscalationWorkflowState) => {
    const workflowId = `${campaignWorkflowId(ORG, campaignId)}-${suffix}`;
    started.push(workflowId);
    return env.client.workflow.start(campaignWorkflow, {
      workflowId,
      taskQueue,
      args: [{ organizationId: ORG, campaignId, maxBatchesPerRun: 5, ...(state === undefined ? {} : { state }) }],
    });
  };
  const startDomain = (suffix: string) => {
    const workflowId = `${domainWorkflowId(ORG, 'acme.io')}-${suffix}`;
    started.push(workflowId);
    return env.client.workflow.start(domainWorkflow, { workflowId, taskQueue, args: [{ organizationId: ORG, domain: 'acme.io' }] });
  };
  type Handle = Awaited<ReturnType<typeof startCampaign>> | Awaited<ReturnType<typeof startDomain>>;

  const handled = async (handle: Handle): Promise<void> => {
    const latest = env.client.workflow.getHandle(handle.workflowId);
    while ((await latest.describe()).raw.pendingWorkflowTask != null) await new Promise((resolve) => setTimeout(resolve, 10));
    await env.sleep('1 second');
  };
  let commandSeq = 0;
  /** A mailbox's transition, as its act activity stores it and the relay delivers it. */
  const member = async (handle: Handle, mailbox: string, state: MailboxState, manual = false): Promise<void> => {
    commandSeq += 1;
    await handle.signal(memberStateSignal, { commandId: `c${commandSeq}`, mailbox, state, manual, at: commandSeq, decisionId: `mailbox#${commandSeq}` });
    await handled(handle);
  };
  const override = async (handle: Handle, action: 'pause' | 'resume'): Promise<void> => {
    commandSeq += 1;
    await handle.signal(overrideSignal, { commandId: `o${commandSeq}`, action, reason: 'checked by hand', actor: OPS, requestedAt: 0 });
    await handled(handle);
  };
  const snap = (handle: Handle) => env.client.workflow.getHandle(handle.workflowId).query(escalationSnapshotQuery);
  /** `from→to:commands` of each decision carried out. */
  const actions = () => acts.map((a) => `${a.explanation.from}→${a.explanation.to}:${a.commands.map((c) => c.kind).join('+')}`);

  // ---- Campaigns ----

  it('campaign: one degraded mailbox does not pause its campaign, even with the campaign\'s own windows at a pause threshold', async () => {
    await withWorker(async () => {
      world.hour = counts(100, 10);
      const handle = await startCampaign('one');
      await member(handle, 'a@acme.io', 'warning');
      await member(handle, 'a@acme.io', 'paused');
      await env.sleep('3 hours');
      assert.equal((await snap(handle)).state, 'warning');
      assert.deepEqual(actions(), ['healthy→warning:record'], 'a warning, never a pause');
      assert.match(acts[0]!.explanation.message, /a@acme\.io \(warning\) is already handled on its own/);
    });
  });

  it("campaign: a mailbox resumed after its own pause does not pause its campaign for the bounces that pause answered", async () => {
    await withWorker(async () => {
      world.hour = counts(80, 10);
      const handle = await startCampaign('answered');
      await member(handle, 'a@acme.io', 'warning');
      await member(handle, 'a@acme.io', 'paused');
      await env.sleep('20 minutes');
      await member(handle, 'a@acme.io', 'recovering');
      await env.sleep('3 hours');
      assert.ok(!actions().some((a) => a.includes('suspend')), `no pause: ${actions().join(', ')}`);
      assert.equal((await snap(handle)).state, 'healthy');
    });
  });

  it('campaign: two degraded mailboxes start the sustained window and pause the campaign when it ends, naming both', async () => {
    await withWorker(async () => {
      const handle = await startCampaign('two');
      await member(handle, 'a@acme.io', 'warning');
      await member(handle, 'b@acme.io', 'paused');
      assert.deepEqual(actions(), ['healthy→warning:record', 'warning→warning:record'], 'a warning, then the sustain starts');
      await env.sleep('29 minutes');
      assert.equal(acts.length, 2, 'nothing before the sustained window ends');
      await env.sleep('2 minutes');
      assert.deepEqual(actions().slice(2), ['warning→paused:suspend']);
      const pause = acts[2]!;
      assert.equal(pause.explanation.action, 'campaign_paused');
      assert.deepEqual(pause.explanation.trigger.mailboxes, ['a@acme.io', 'b@acme.io']);
      assert.deepEqual(pause.row.degradedMailboxes, ['a@acme.io', 'b@acme.io']);
      assert.match(pause.explanation.message, /^Paused campaign 100: 2 of its mailboxes are degraded \(a@acme\.io \(warning\), b@acme\.io \(paused\)\)/);
      assert.ok(pause.row.cooldownUntil !== null);
    });
  });

  it('campaign: a mailbox recovering before the sustained window ends cancels the pause; a manual pause of a mailbox does not count', async () => {
    await withWorker(async () => {
      const handle = await startCampaign('cancel');
      await member(handle, 'a@acme.io', 'warning');
      await member(handle, 'b@acme.io', 'paused', true);
      assert.deepEqual(actions(), ['healthy→warning:record'], 'a person pausing b is not degradation');
      await member(handle, 'b@acme.io', 'warning');
      await env.sleep('10 minutes');
      await member(handle, 'b@acme.io', 'recovering');
      await env.sleep('2 hours');
      assert.ok(!actions().some((a) => a.includes('suspend')), `no pause: ${actions().join(', ')}`);
      assert.equal((await snap(handle)).state, 'warning', 'one degraded mailbox left: warning');
    });
  });

  it('campaign: waits past its cooldown while its mailboxes are degraded, resumes once they recovered, and trusts it after probation', async () => {
    await withWorker(async () => {
      const handle = await startCampaign('recover');
      await member(handle, 'a@acme.io', 'paused');
      await member(handle, 'b@acme.io', 'paused');
      await env.sleep('31 minutes');
      assert.equal((await snap(handle)).state, 'paused');
      await env.sleep('2 hours');
      assert.equal((await snap(handle)).state, 'paused', 'the cooldown ended but both mailboxes are still paused');
      assert.equal(acts.filter((a) => a.commands.some((c) => c.kind === 'unsuspend')).length, 0);
      await member(handle, 'a@acme.io', 'recovering');
      await env.sleep('6 minutes');
      assert.equal((await snap(handle)).state, 'recovering', 'resumed at the next look once only one mailbox is degraded');
      assert.equal(acts.at(-1)!.explanation.action, 'campaign_resumed');
      await env.sleep('2 hours');
      assert.equal((await snap(handle)).state, 'warning', 'probation over with b still degraded: warning, not healthy');
      await member(handle, 'b@acme.io', 'healthy');
      assert.equal((await snap(handle)).state, 'healthy');
      assert.equal(acts.filter((a) => a.commands.some((c) => c.kind === 'suspend')).length, 1, 'paused exactly once');
      assert.equal(acts.filter((a) => a.commands.some((c) => c.kind === 'unsuspend')).length, 1, 'resumed exactly once');
    });
  });

  it('campaign: a relapse during probation pauses again with a doubled cooldown', async () => {
    await withWorker(async () => {
      const handle = await startCampaign('relapse');
      await member(handle, 'a@acme.io', 'paused');
      await member(handle, 'b@acme.io', 'paused');
      await env.sleep('31 minutes');
      await member(handle, 'a@acme.io', 'recovering');
      await member(handle, 'b@acme.io', 'recovering');
      await env.sleep('65 minutes');
      assert.equal((await snap(handle)).state, 'recovering');
      const resumedAt = Date.now();
      await member(handle, 'a@acme.io', 'warning');
      await member(handle, 'b@acme.io', 'warning');
      const relapse = acts.at(-1)!;
      assert.equal(relapse.explanation.action, 'campaign_paused');
      assert.match(relapse.explanation.message, /again \(relapse during probation\).*cooldown 2 hours/);
      assert.ok(relapse.row.cooldownUntil! - resumedAt >= 115 * 60_000);
    });
  });

  it('campaign: observe mode says what it would have done, suggest mode recommends, neither pauses', async () => {
    await withWorker(async () => {
      const handle = await startCampaign('observe');
      await member(handle, 'a@acme.io', 'paused');
      await member(handle, 'b@acme.io', 'paused');
      await env.sleep('31 minutes');
      assert.deepEqual(actions().at(-1), 'warning→paused:would_have');
      assert.equal(acts.at(-1)!.explanation.action, 'campaign_would_pause');
    }, fresh({}, 'observe'));
    await withWorker(async () => {
      const handle = await startCampaign('suggest');
      await member(handle, 'a@acme.io', 'paused');
      await member(handle, 'b@acme.io', 'paused');
      await env.sleep('31 minutes');
      assert.equal((await snap(handle)).state, 'warning');
      assert.deepEqual(actions().at(-1), 'warning→warning:recommend');
      assert.equal(acts.at(-1)!.explanation.action, 'campaign_pause_recommended');
    }, fresh({}, 'suggest'));
  });

  it('campaign: a manual pause holds past every cooldown until a manual resume', async () => {
    await withWorker(async () => {
      const handle = await startCampaign('manual');
      await override(handle, 'pause');
      await env.sleep('1 day');
      assert.equal((await snap(handle)).state, 'paused');
      assert.deepEqual(actions(), ['healthy→paused:suspend']);
      assert.equal(acts[0]!.explanation.action, 'campaign_paused_manually');
      assert.equal(acts[0]!.explanation.actor, OPS);
      await override(handle, 'resume');
      assert.deepEqual(actions().at(-1), 'paused→recovering:unsuspend');
    });
  });

  it('campaign: an escalation loop stops automation until a person resumes it, and says so', async () => {
    await withWorker(async () => {
      const handle = await startCampaign('loop');
      const cycle = async (): Promise<void> => {
        await member(handle, 'a@acme.io', 'paused');
        await member(handle, 'b@acme.io', 'paused');
        await env.sleep('31 minutes');
        await member(handle, 'a@acme.io', 'healthy');
        await member(handle, 'b@acme.io', 'healthy');
        await env.sleep('5 hours');
      };
      await cycle();
      await cycle();
      const stop = acts.filter((a) => a.commands.some((c) => c.kind === 'suspend')).at(-1)!;
      assert.equal(stop.explanation.action, 'campaign_automation_stopped');
      assert.match(stop.explanation.message, /pause 2 in a row.*escalation loop.*only a person resumes it/);
      assert.equal(stop.row.automationStopped?.reason, 'escalation loop: pause 2 in a row, each within 7 days of the previous one');
      assert.equal((await snap(handle)).state, 'paused', 'no automatic resume however long it waits');
      assert.equal(acts.filter((a) => a.commands.some((c) => c.kind === 'unsuspend')).length, 1, 'only the first pause was resumed automatically');
      await override(handle, 'resume');
      assert.equal((await snap(handle)).state, 'recovering');
      assert.equal((await snap(handle)).machine.automationStopped, undefined);
    }, fresh({ escalationLoopPauses: 2 }));
  });

  it('campaign: takes each member report once, forgets mailboxes unlinked from it, and carries its reports through continue-as-new', async () => {
    await withWorker(async () => {
      const handle = await startCampaign('carry');
      await member(handle, 'a@acme.io', 'paused');
      await handle.signal(memberStateSignal, { commandId: 'c-dup', mailbox: 'b@acme.io', state: 'paused', manual: false, at: 1e12, decisionId: 'm#1' });
      await handle.signal(memberStateSignal, { commandId: 'c-dup', mailbox: 'b@acme.io', state: 'healthy', manual: false, at: 2e12, decisionId: 'm#2' });
      await handled(handle);
      assert.deepEqual((await snap(handle)).degradedReports.map((r) => r.mailbox).sort(), ['a@acme.io', 'b@acme.io'], 'the redelivered command id was ignored');
      world.campaignsOf['b@acme.io'] = ['300'];
      await handle.signal(membershipChangedSignal, { commandId: 'm-1', detail: 'unlinked b@acme.io' });
      await handled(handle);
      for (let i = 0; i < 6; i += 1) await member(handle, 'c@acme.io', i % 2 === 0 ? 'warning' : 'healthy');
      await env.sleep('1 hour');
      const latest = env.client.workflow.getHandle(handle.workflowId);
      assert.notEqual((await latest.describe()).runId, handle.firstExecutionRunId, 'it continued-as-new');
      const s = await latest.query(escalationSnapshotQuery);
      assert.deepEqual(s.degradedReports.map((r) => r.mailbox).sort(), ['a@acme.io', 'b@acme.io'], 'reports travel with the state');
      assert.ok(!actions().some((a) => a.includes('suspend')), 'b no longer sends for campaign 100: only one degraded member');
    });
  });

  // ---- Domains ----

  it('domain: paused mailboxes confined to one campaign only warn; the same spread over two campaigns pauses after the sustained window', async () => {
    await withWorker(async () => {
      const handle = await startDomain('spread');
      await member(handle, 'a@acme.io', 'warning');
      await member(handle, 'b@acme.io', 'warning');
      assert.deepEqual(actions(), [], 'mailboxes in warning are the mailbox level\'s business');
      await member(handle, 'a@acme.io', 'paused');
      await member(handle, 'b@acme.io', 'paused');
      await env.sleep('2 hours');
      assert.deepEqual(actions(), ['healthy→warning:record'], 'one campaign: left to the campaign level');
      assert.match(acts[0]!.explanation.message, /all sending for campaign 100: left to the campaign level/);
      await member(handle, 'c@acme.io', 'paused');
      assert.equal(acts.length, 2, 'now across campaigns 100 and 200: the sustain starts');
      await env.sleep('31 minutes');
      const pause = acts.at(-1)!;
      assert.equal(pause.explanation.action, 'domain_paused');
      assert.deepEqual(pause.explanation.trigger.mailboxes, ['a@acme.io', 'b@acme.io', 'c@acme.io']);
      assert.match(pause.explanation.message, /^Paused domain acme\.io: 3 of its mailboxes are paused for their own bounces .* across campaigns 100, 200/);
    });
  });

  it('domain: a spread that eases before the sustained window ends never pauses; its own windows only warn', async () => {
    await withWorker(async () => {
      world.hour = counts(200, 40);
      const handle = await startDomain('eases');
      await handle.signal(membershipChangedSignal, { commandId: 'm-eases', detail: 'linked a@acme.io' });
      await handled(handle);
      assert.deepEqual(actions(), ['healthy→warning:record'], 'its own 20% hard-bounce rate warns, no more');
      await member(handle, 'a@acme.io', 'paused');
      await member(handle, 'c@acme.io', 'paused');
      await env.sleep('20 minutes');
      await member(handle, 'c@acme.io', 'recovering');
      await env.sleep('3 hours');
      assert.ok(!actions().some((a) => a.includes('suspend')), `no pause: ${actions().join(', ')}`);
    });
  });

  it('domain: recovers after its cooldown once its mailboxes are no longer paused, releasing only its own pause', async () => {
    await withWorker(async () => {
      const handle = await startDomain('recover');
      await member(handle, 'a@acme.io', 'paused');
      await member(handle, 'c@acme.io', 'paused');
      await env.sleep('31 minutes');
      assert.equal((await snap(handle)).state, 'paused');
      await member(handle, 'a@acme.io', 'recovering');
      await env.sleep('65 minutes');
      const resume = acts.at(-1)!;
      assert.equal(resume.explanation.action, 'domain_resumed');
      assert.deepEqual(resume.commands, [{ kind: 'unsuspend', via: 'automation' }], 'an automatic release: the activity releases only the domain\'s own holds');
      await env.sleep('2 hours');
      assert.equal((await snap(handle)).state, 'healthy');
    });
  });
});
