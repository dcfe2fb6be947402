/**
 * The mailbox workflow under time skipping, with fake activities: the windows it reads are whatever the test says
 * the counters hold, and what it decides to do is recorded instead of done (test/integration/mailboxEngine.test.ts
 * runs the real activity against PostgreSQL and the Smartlead simulator).
 */
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import type { RecordAuditInput } from '../../src/activities';
import type { ActOnMailboxDecisionInput, ActOnMailboxDecisionResult, MailboxDecisionInputRead, ReadDecisionInputRequest } from '../../src/activities/mailboxEngine';
import { DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import type { DeliveredEvent, MonitoredEvent } from '../../src/domain/events';
import type { Mode, Thresholds } from '../../src/domain/settings';
import { summarizeWindows, BUCKET_MS, type WindowCounts } from '../../src/domain/rollingWindows';
import { mailboxWorkflowId } from '../../src/workflows/ids';
import {
  applyRecommendationSignal,
  bouncesSignal,
  eventsSignal,
  mailboxWorkflow,
  overrideSignal,
  settingsChangedSignal,
  snapshotQuery,
  type MailboxSnapshot,
  type MailboxWorkflowState,
} from '../../src/workflows/mailboxWorkflow';
import { createTimeSkippingEnv } from '../support/timeSkipping';

const ORG = '00000000-0000-4000-8000-000000000001';
const MAILBOX = 'sam@acme-mail.com';
const MIN = 60_000;

/** What the fake counters hold: the last-hour counts (24h the same), and what was counted since the resume. */
interface World {
  hour: WindowCounts;
  sinceResume: WindowCounts;
  mode: Mode;
  thresholds: Thresholds;
  version: number;
  /** actOnMailboxDecision fails (retryably) this many more times. */
  actFailures: number;
}

const counts = (sent: number, hardBounces = 0, failures = 0): WindowCounts => ({ sent, hardBounces, failures, reputationBlocks: 0 });
const CLEAN = counts(100);
const WARN = counts(100, 3);
const STORM = counts(100, 10);

describe('mailboxWorkflow (time-skipping)', function () {
  this.timeout(180_000);
  let env: TestWorkflowEnvironment;
  let audits: RecordAuditInput[];
  let acts: ActOnMailboxDecisionInput[];
  let reads: ReadDecisionInputRequest[];
  let world: World;
  let taskQueue = '';
  let n = 0;

  before(async () => {
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  const fresh = (over: Partial<Thresholds> = {}, mode: Mode = 'enforce'): World => ({
    hour: CLEAN,
    sinceResume: counts(0),
    mode,
    thresholds: { ...DEFAULT_THRESHOLDS, minSample: 20, sustainMinutes: 30, cooldownMinutes: 60, maxCooldownMinutes: 240, probationMinutes: 120, ...over },
    version: 3,
    actFailures: 0,
  });

  async function withWorker<T>(fn: () => Promise<T>, w: World = fresh()): Promise<T> {
    n += 1;
    taskQueue = `mailbox-test-${n}`;
    audits = [];
    acts = [];
    reads = [];
    world = w;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: {
        recordAudit: async (input: RecordAuditInput) => {
          audits.push(input);
          return true;
        },
        readMailboxDecisionInput: async (input: ReadDecisionInputRequest): Promise<MailboxDecisionInputRead> => {
          reads.push(input);
          const bucket = Math.floor(input.at / BUCKET_MS) * BUCKET_MS;
          const h = world.hour;
          return {
            windows: summarizeWindows({ buckets: [[bucket, h.sent, h.hardBounces, h.failures, h.reputationBlocks ?? 0]] }, input.at),
            sinceResume: world.sinceResume,
            settings: { mode: world.mode, thresholds: world.thresholds, version: world.version },
          };
        },
        actOnMailboxDecision: async (input: ActOnMailboxDecisionInput): Promise<ActOnMailboxDecisionResult> => {
          if (world.actFailures > 0) {
            world.actFailures -= 1;
            throw ApplicationFailure.create({ message: 'Smartlead is unavailable (503)', type: 'SmartleadUnavailableError' });
          }
          acts.push(input);
          return { outcome: 'done', detail: {}, alreadyRecorded: false };
        },
      },
    });
    try {
      return await worker.runUntil(fn);
    } finally {
      // A workflow left running (a failed assertion) would hold the test server's clock for every later test.
      for (const id of started.splice(0)) await env.client.workflow.getHandle(id).terminate().catch(() => undefined);
    }
  }

  const started: string[] = [];
  const start = (suffix: string, extra: { maxBatchesPerRun?: number; state?: MailboxWorkflowState } = {}) => {
    const workflowId = `${mailboxWorkflowId(ORG, MAILBOX)}-${suffix}`;
    started.push(workflowId);
    return env.client.workflow.start(mailboxWorkflow, { workflowId, taskQueue, args: [{ organizationId: ORG, mailbox: MAILBOX, ...extra }] });
  };
  type Handle = Awaited<ReturnType<typeof start>>;
  let seq = 0;
  const bounce = (s: number, type: DeliveredEvent['type'] = 'HardBounce'): DeliveredEvent => ({ seq: s, type, occurredAt: 0 });
  /**
   * After a signal: waits until the workflow has taken it (no workflow task pending or running, so its local
   * activities and decision are done too), then lets a second of workflow time pass for what it scheduled.
   */
  const handled = async (handle: Handle): Promise<void> => {
    const latest = env.client.workflow.getHandle(handle.workflowId);
    while ((await latest.describe()).raw.pendingWorkflowTask != null) await new Promise((resolve) => setTimeout(resolve, 10));
    await env.sleep('1 second');
  };
  const storm = async (handle: Handle, hour: WindowCounts = STORM): Promise<void> => {
    world.hour = hour;
    seq += 1;
    await handle.signal(bouncesSignal, { events: [bounce(seq)] });
    await handled(handle);
  };
  const snap = (handle: Handle) => env.client.workflow.getHandle(handle.workflowId).query(snapshotQuery);
  const actions = () => acts.map((a) => `${a.explanation.from}→${a.explanation.to}:${a.commands.map((c) => c.kind).join('+')}`);
  /** The audit action of each decision carried out, e.g. `mailbox_warning`, `mailbox_paused`. */
  const auditActions = () => acts.map((a) => a.explanation.action);
  const OPS = 'api-key:ops';
  const override = async (handle: Handle, commandId: string, action: 'pause' | 'resume'): Promise<void> => {
    await handle.signal(overrideSignal, { commandId, action, reason: 'checked by hand', actor: OPS, requestedAt: 0 });
    await handled(handle);
  };
  const apply = async (handle: Handle, decisionId: string, commandId: string): Promise<void> => {
    await handle.signal(applyRecommendationSignal, { commandId, recommendationId: `r-${commandId}`, decisionId, actor: OPS, requestedAt: 0 });
    await handled(handle);
  };
  /** With sustain 0 and a 60-minute cooldown: a storm pauses at once (H4), the cooldown ends (P3), it is recovering. */
  const untilRecovering = async (handle: Handle): Promise<MailboxSnapshot> => {
    await storm(handle);
    await env.sleep('61 minutes');
    const s = await snap(handle);
    assert.equal(s.state, 'recovering');
    assert.deepEqual(actions(), ['healthy→paused:suspend', 'paused→recovering:unsuspend']);
    return s;
  };
  /** A workflow that has just taken its first storm. */
  const stormed = async (suffix: string, hour: WindowCounts = STORM): Promise<Handle> => {
    const handle = await start(suffix);
    await storm(handle, hour);
    return handle;
  };
  /** suggest mode, sustain 0: a storm gets a pause recommended, and the mailbox waits in warning for an operator. */
  const pauseRecommended = async (suffix: string): Promise<{ handle: Handle; decisionId: string }> => {
    const handle = await stormed(suffix);
    assert.equal((await snap(handle)).state, 'warning');
    assert.deepEqual(actions(), ['healthy→warning:recommend']);
    return { handle, decisionId: acts[0]!.explanation.decisionId };
  };
  /** Nothing was decided on a batch: its events_observed audit row says so. */
  const noActionTaken = (audit: RecordAuditInput | undefined): void => assert.match(audit?.message ?? '', /; no action taken\.$/);

  // ---- Delivery (unchanged by the engine) ----

  it('takes each bounce once by sequence number, reads its windows from the counters, and audits each batch once', async () => {
    await withWorker(async () => {
      world.hour = counts(40, 1);
      const handle = await start('dedupe');
      await handle.signal(bouncesSignal, { events: [bounce(11), bounce(12, 'DeliveryFailure')] });
      // The relay redelivers the same batch (its commit failed after the signal landed), plus one new bounce.
      await handle.signal(bouncesSignal, { events: [bounce(11), bounce(12, 'DeliveryFailure'), bounce(14)] });
      await handled(handle);
      const s = await handle.query(snapshotQuery);
      assert.deepEqual(s.received, { hardBounces: 2, failures: 1 });
      assert.equal(s.highWater, 14);
      assert.deepEqual(s.lastWindows?.windows['1h'], { sent: 40, hardBounces: 1, failures: 0, reputationBlocks: 0 });
      const audited = audits.reduce((sum, a) => sum + Number(/(\d+) hard bounce/.exec(a.message)?.[1] ?? 0), 0);
      assert.equal(audited, 2, 'two hard bounces audited, despite the redelivery');
      assert.equal(reads.length, audits.length, 'every audited batch read fresh windows');
      assert.match(audits[0]!.message, /last hour: 40 sends, 1 hard bounce, 0 delivery failures \(2\.5% hard-bounce rate\); the mailbox is warning \(decision .*#1\)\./);
      assert.ok(audits.every((a) => a.organizationId === ORG && a.entityId === MAILBOX && a.entityType === 'mailbox'));
      assert.equal(new Set(audits.map((a) => a.idempotencyKey)).size, audits.length, 'each audit write has its own idempotency key');
    });
  });

  it('carries under 64 KB through continue-as-new after 100,000 bounces, and its buffer stays bounded', async () => {
    await withWorker(async () => {
      const handle = await start('bounded', { maxBatchesPerRun: 20 });
      for (let s = 1; s <= 100_000; s += 500) {
        await handle.signal(bouncesSignal, { events: Array.from({ length: 500 }, (_, i) => bounce(s + i, i % 5 === 0 ? 'DeliveryFailure' : 'HardBounce')) });
      }
      await handled(handle);
      const latest = env.client.workflow.getHandle(handle.workflowId);
      const s = await latest.query(snapshotQuery);
      assert.deepEqual(s.received, { hardBounces: 80_000, failures: 20_000 });
      assert.equal(s.buffered, 0, 'everything received was judged');
      const history = await latest.fetchHistory();
      const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      assert.ok(input !== undefined && input !== null, 'the latest run started from carried state');
      assert.ok(input.length < 64 * 1024, `carried ${input.length} bytes`);
      if (process.env.REPORT_SIZES !== undefined) process.stdout.write(`      carried state after 100,000 bounces: ${input.length} bytes\n`);
      assert.notEqual((await latest.describe()).runId, handle.firstExecutionRunId, 'it continued-as-new on the way');
    });
  });

  it('still takes the pre-pipeline `events` signal and state, so runs started before it keep working', async () => {
    await withWorker(async () => {
      const legacy: MailboxWorkflowState = {
        counts: { buckets: [] },
        recentEventIds: ['old-1'],
        totalEvents: 43,
        batchesAudited: 7,
        pendingEvents: [{ id: 'p-1', type: 'HardBounce', occurredAt: 0 }],
      };
      const handle = await start('legacy', { state: legacy });
      const old = (id: string, type: MonitoredEvent['type']): MonitoredEvent => ({ id, type, occurredAt: 0 });
      await handle.signal(eventsSignal, { events: [old('old-1', 'HardBounce'), old('new-1', 'HardBounce'), old('s-1', 'EmailSent')] });
      await handled(handle);
      const messages = audits.map((a) => a.message).join(' | ');
      assert.match(messages, /1 hard bounce/, 'the carried pending bounce was judged');
      assert.match(messages, /1 send, 1 hard bounce/, 'the new legacy events were judged; the known id was dropped');
      await handle.signal(eventsSignal, { events: [old('s-2', 'EmailSent')] });
      await handled(handle);
      assert.equal(audits.length, 2, 'sends alone are not audited');
    });
  });

  // ---- The engine ----
  //
  // The transition table of src/domain/mailboxMachine.ts, row by row, and the test that runs it here:
  //   M1, M2  a manual pause holds in <mode> mode until a manual resume, which starts probation
  //   M3      M3 a manual resume while healthy or warning in <mode> mode unsuspends and leaves the state alone
  //   A1      suggest mode recommends, waits, and acts once the recommendation is applied
  //   A2      A2 suggest: the resume is recommended after the cooldown, and applying it resumes under probation
  //   A3      A3 applying a recommendation that no longer applies changes nothing and resolves it as superseded
  //   S1      S1 a pending recommendation is superseded when the mode changes to enforce, and enforce decides again
  //   H1      H1 no breach: healthy, nothing recorded (and: minimum sample: 19 sends that all bounced decide nothing)
  //   H2, W1  healthy → warning on a warning-level breach, and back to healthy once the windows decay, …
  //   H3, W5  a pause-level breach pauses only if still present when the sustained window ends (warning → paused)
  //   H4      H4 sustain 0 pauses at once, without a warning step
  //   W1      a breach that clears before the sustained window ends cancels the pause (audited)
  //   W2      W2 a warning-level breach in warning stays warning and records nothing
  //   W3      W3 a pause-level breach in warning starts the sustain, and it pauses when the sustain ends
  //           (sustain 0, pausing at once: S1)
  //   W4      W4 a breach while the sustain runs changes nothing, and the deadline stays where it was
  //   W6      W6 the sustain deadline with only a warning-level breach ends the sustain and stays warning
  //   P1, P2  P1 a manual hold survives the cooldown end: no automatic resume (P2: bounces during the cooldown)
  //   P3, C2  cooldown, probation judged only on what follows the resume, then healthy
  //   C1      a relapse during probation pauses again with a doubled cooldown, …
  //   C3      C3 probation over with a warning-level breach → warning
  //   C4      C4 recovering with nothing yet, or a warning-level breach, stays recovering until probation ends

  it('minimum sample: 19 sends that all bounced decide nothing', async () => {
    await withWorker(async () => {
      const handle = await start('sample');
      await storm(handle, counts(19, 19));
      await env.sleep('2 hours');
      assert.equal((await snap(handle)).state, 'healthy');
      assert.deepEqual(acts, []);
    });
  });

  it('healthy → warning on a warning-level breach, and back to healthy once the windows decay, without new events', async () => {
    await withWorker(async () => {
      const handle = await start('warn');
      await storm(handle, WARN);
      assert.equal((await snap(handle)).state, 'warning');
      world.hour = CLEAN; // the hour moves on: no new bounce, so no signal
      await env.sleep('6 minutes');
      assert.equal((await snap(handle)).state, 'healthy');
      assert.deepEqual(actions(), ['healthy→warning:record', 'warning→healthy:record']);
      assert.match(acts[0]!.explanation.message, /hard-bounce rate 3% \(3 of 100 sends, class list_quality.*\) over the last hour reached the warning threshold 2% \(settings version 3\)/);
    });
  });

  it('a pause-level breach pauses only if still present when the sustained window ends (warning → paused)', async () => {
    await withWorker(async () => {
      const handle = await start('sustain');
      await storm(handle);
      const warned = await snap(handle);
      assert.equal(warned.state, 'warning');
      assert.ok(warned.machine?.sustainUntil !== undefined);
      await env.sleep('29 minutes');
      assert.equal((await snap(handle)).state, 'warning', 'not before the deadline');
      await env.sleep('2 minutes');
      const paused = await snap(handle);
      assert.equal(paused.state, 'paused');
      assert.deepEqual(actions(), ['healthy→warning:record', 'warning→paused:suspend']);
      assert.equal(acts[1]!.row.cooldownUntil, paused.machine?.cooldownUntil);
      assert.deepEqual(acts[1]!.explanation.trigger.signals, ['deadline']);
    });
  });

  it('a breach that clears before the sustained window ends cancels the pause (audited)', async () => {
    await withWorker(async () => {
      const handle = await start('clears');
      await storm(handle);
      world.hour = CLEAN;
      await env.sleep('45 minutes');
      assert.equal((await snap(handle)).state, 'healthy');
      assert.deepEqual(actions(), ['healthy→warning:record', 'warning→healthy:record']);
      assert.equal(acts[1]!.explanation.action, 'mailbox_sustain_cancelled');
    });
  });

  it('cooldown, probation judged only on what follows the resume, then healthy', async () => {
    await withWorker(async () => {
      const handle = await start('recover');
      await storm(handle);
      assert.equal((await snap(handle)).state, 'paused', 'sustain 0 pauses at once');
      await env.sleep('59 minutes');
      assert.equal((await snap(handle)).state, 'paused');
      await env.sleep('2 minutes');
      const recovering = await snap(handle);
      assert.equal(recovering.state, 'recovering');
      const resumedAt = recovering.machine?.resumedAt;
      assert.ok(resumedAt !== undefined);
      world.sinceResume = counts(150, 1); // what it sent since the resume is fine, whatever the last 24 hours say
      await env.sleep('2 hours');
      assert.ok(reads.some((r) => r.resumedAt === resumedAt), 'the windows are read from the resume on');
      assert.equal((await snap(handle)).state, 'healthy');
      assert.deepEqual(actions(), ['healthy→paused:suspend', 'paused→recovering:unsuspend', 'recovering→healthy:record']);
    }, fresh({ sustainMinutes: 0 }));
  });

  it('a relapse during probation pauses again with a doubled cooldown, the growth stops at the cap, and the fifth pause in a row stops automation', async () => {
    await withWorker(async () => {
      const handle = await start('relapse');
      await storm(handle);
      const cooldowns: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        const paused = await snap(handle);
        assert.equal(paused.state, 'paused');
        cooldowns.push((paused.machine!.cooldownUntil! - paused.machine!.since) / MIN);
        await env.sleep(`${cooldowns[i]! + 1} minutes`);
        assert.equal((await snap(handle)).state, 'recovering');
        world.sinceResume = counts(40, 4); // relapse: 10% of what it sent since the resume
        seq += 1;
        await handle.signal(bouncesSignal, { events: [bounce(seq)] });
        await handled(handle);
        world.sinceResume = counts(0);
      }
      assert.deepEqual(cooldowns, [60, 120, 240, 240]);
      assert.match(acts.find((a) => a.explanation.from === 'recovering')!.explanation.message, /again \(relapse during probation\)/);
      // The fourth relapse was the fifth pause in a row: an escalation loop.
      const stop = acts.at(-1)!;
      assert.equal(stop.explanation.action, 'mailbox_automation_stopped');
      assert.match(stop.explanation.message, /pause 5 in a row.*only a person resumes it/);
      assert.equal(stop.row.cooldownUntil, null);
      await env.sleep('3 days');
      assert.equal((await snap(handle)).state, 'paused', 'no automatic resume after an escalation loop');
    }, fresh({ sustainMinutes: 0, escalationLoopPauses: 5 }));
  });

  it('continues-as-new in the middle of a cooldown and the deadline survives', async () => {
    await withWorker(async () => {
      const handle = await start('can-cooldown', { maxBatchesPerRun: 1 });
      await storm(handle);
      await env.sleep('10 minutes');
      const latest = env.client.workflow.getHandle(handle.workflowId);
      assert.notEqual((await latest.describe()).runId, handle.firstExecutionRunId, 'it continued-as-new');
      const s = await latest.query(snapshotQuery);
      assert.equal(s.state, 'paused');
      const until = s.machine!.cooldownUntil!;
      await env.sleep('45 minutes');
      assert.equal((await latest.query(snapshotQuery)).state, 'paused');
      await env.sleep('10 minutes');
      const after = await env.client.workflow.getHandle(handle.workflowId).query(snapshotQuery);
      assert.equal(after.state, 'recovering');
      assert.ok(after.machine!.resumedAt! >= until && after.machine!.resumedAt! < until + 6 * MIN, 'resumed when the carried cooldown ended');
      assert.equal(new Set(acts.map((a) => a.explanation.decisionId)).size, acts.length, 'decision ids stay unique across runs');
    }, fresh({ sustainMinutes: 0 }));
  });

  for (const mode of ['enforce', 'observe', 'suggest'] as const) {
    it(`a manual pause holds in ${mode} mode until a manual resume, which starts probation`, async () => {
      await withWorker(async () => {
        const handle = await start(`manual-${mode}`);
        const override = { reason: 'list looks bad', actor: 'api-key:ops', requestedAt: 0 };
        await handle.signal(overrideSignal, { commandId: 'c-1', action: 'pause', ...override });
        await handle.signal(overrideSignal, { commandId: 'c-1', action: 'pause', ...override }); // redelivered
        await env.sleep('3 days');
        assert.equal((await snap(handle)).state, 'paused');
        await handle.signal(overrideSignal, { commandId: 'c-2', action: 'resume', ...override });
        await handled(handle);
        const s = await snap(handle);
        assert.equal(s.state, 'recovering');
        assert.ok(s.machine?.resumedAt !== undefined);
        assert.deepEqual(actions(), ['healthy→paused:suspend', 'paused→recovering:unsuspend']);
        assert.ok(acts.every((a) => a.explanation.actor === 'api-key:ops' && a.explanation.mode === mode));
        await handle.terminate();
      }, fresh({}, mode));
    });
  }

  it('observe mode runs the same machine but only says what it would have done', async () => {
    await withWorker(async () => {
      const handle = await start('observe');
      await storm(handle);
      await env.sleep('61 minutes');
      assert.deepEqual(actions(), ['healthy→paused:would_have', 'paused→recovering:would_have']);
      assert.match(acts[0]!.explanation.message, /^Would have paused mailbox sam@acme-mail.com/);
    }, fresh({ sustainMinutes: 0 }, 'observe'));
  });

  it('suggest mode recommends, waits, and acts once the recommendation is applied', async () => {
    await withWorker(async () => {
      const handle = await start('suggest');
      await storm(handle);
      await env.sleep('2 hours');
      assert.equal((await snap(handle)).state, 'warning', 'it waits for an operator');
      assert.deepEqual(actions(), ['healthy→warning:recommend']);
      const decisionId = acts[0]!.explanation.decisionId;
      await apply(handle, decisionId, 'a-1');
      assert.equal((await snap(handle)).state, 'paused');
      assert.deepEqual(acts[1]!.commands, [
        { kind: 'suspend', via: 'recommendation' },
        { kind: 'resolve_recommendation', decisionId, status: 'applied', actor: 'api-key:ops' },
      ]);
    }, fresh({ sustainMinutes: 0 }, 'suggest'));
  });

  it('a settings change applies from the next decision', async () => {
    await withWorker(async () => {
      const handle = await start('settings');
      await storm(handle, WARN);
      assert.equal((await snap(handle)).state, 'warning');
      world.thresholds = { ...world.thresholds, hardBounceRate: { warning: 0.04, pause: 0.08 } };
      world.version = 4;
      await handle.signal(settingsChangedSignal, { version: 4 });
      await handled(handle);
      assert.equal((await snap(handle)).state, 'healthy');
      assert.equal(acts[1]!.explanation.settingsVersion, 4);
      assert.deepEqual(acts[1]!.explanation.trigger.signals, ['settings_changed']);
    });
  });

  it('keeps taking and counting bounces while a Smartlead failure is retried, and acts once it recovers', async () => {
    await withWorker(async () => {
      world.actFailures = 3;
      const handle = await start('retrying');
      await storm(handle);
      for (let i = 0; i < 3; i += 1) await storm(handle);
      const s = await snap(handle);
      assert.equal(s.received.hardBounces, 4, 'every bounce was taken while the action retried');
      assert.equal(audits.length, 4, 'every batch was audited while the action retried');
      await env.sleep('5 minutes');
      assert.deepEqual(actions(), ['healthy→paused:suspend'], 'carried out once, after the retries');
    }, fresh({ sustainMinutes: 0 }));
  });

  it('upserts its state, domain and risk score as search attributes on every transition', async () => {
    await withWorker(async () => {
      const handle = await start('attributes');
      await storm(handle);
      const attrs = (await handle.describe()).typedSearchAttributes;
      const get = (name: string): unknown => attrs.getAll().find((p) => p.key.name === name)?.value;
      assert.equal(get('DrasonState'), 'paused');
      assert.equal(get('DrasonDomain'), 'acme-mail.com');
      assert.equal(get('DrasonEntityId'), MAILBOX);
      assert.equal(typeof get('DrasonRiskScore'), 'number');
    }, fresh({ sustainMinutes: 0 }));
  });

  // ---- The transition table, the rows the tests above do not name ----

  it('H1 no breach: healthy, nothing recorded', async () => {
    await withWorker(async () => {
      const handle = await stormed('h1', counts(100, 1)); // 1%: under the 2% warning threshold
      await env.sleep('2 hours');
      const s = await snap(handle);
      assert.equal(s.state, 'healthy');
      assert.equal(s.machine?.decisions, 0);
      assert.deepEqual(acts, []);
      noActionTaken(audits[0]);
      assert.equal(reads.length, 1, 'a healthy mailbox decides only when something arrives');
    });
  });

  it('H4 sustain 0 pauses at once, without a warning step', async () => {
    await withWorker(async () => {
      const handle = await stormed('h4');
      const s = await snap(handle);
      assert.equal(s.state, 'paused');
      assert.equal(s.machine!.cooldownUntil! - s.machine!.since, 60 * MIN);
      assert.deepEqual(actions(), ['healthy→paused:suspend']);
      assert.deepEqual(auditActions(), ['mailbox_paused']);
      assert.deepEqual(acts[0]!.explanation.trigger.signals, ['HardBounce']);
      assert.match(audits[0]!.message, /the mailbox is paused \(decision .*#1\)\.$/);
    }, fresh({ sustainMinutes: 0 }));
  });

  it('W2 a warning-level breach in warning stays warning and records nothing', async () => {
    await withWorker(async () => {
      const handle = await stormed('w2', WARN); // H2
      await storm(handle, WARN); // W2, on new bounces
      await env.sleep('30 minutes'); // W2, on every re-check
      const s = await snap(handle);
      assert.equal(s.state, 'warning');
      assert.equal(s.machine?.sustainUntil, undefined, 'no sustain: nothing would pause it');
      assert.deepEqual(actions(), ['healthy→warning:record']);
      noActionTaken(audits[1]);
    });
  });

  it('W3 a pause-level breach in warning starts the sustain, and it pauses when the sustain ends', async () => {
    await withWorker(async () => {
      const handle = await stormed('w3', WARN); // H2
      await env.sleep('10 minutes');
      await storm(handle); // W3
      const s = await snap(handle);
      assert.equal(s.state, 'warning');
      assert.ok(s.machine?.sustainUntil !== undefined);
      assert.deepEqual(actions(), ['healthy→warning:record', 'warning→warning:record']);
      assert.deepEqual(auditActions(), ['mailbox_warning', 'mailbox_warning']);
      assert.match(acts[1]!.explanation.message, /stays in warning: hard-bounce rate 10% .* reached the pause threshold 5%; it will be paused if this lasts until/);
      await env.sleep('31 minutes'); // W5
      assert.equal((await snap(handle)).state, 'paused');
      assert.deepEqual(actions().slice(2), ['warning→paused:suspend']);
    });
  });

  it('W4 a breach while the sustain runs changes nothing, and the deadline stays where it was', async () => {
    await withWorker(async () => {
      const handle = await stormed('w4'); // H3
      const sustainUntil = (await snap(handle)).machine?.sustainUntil;
      assert.ok(sustainUntil !== undefined);
      await env.sleep('10 minutes');
      await storm(handle); // W4: still at pause level
      await env.sleep('10 minutes');
      await storm(handle, WARN); // W4: eased to warning level
      await env.sleep('5 minutes');
      const s = await snap(handle);
      assert.equal(s.state, 'warning');
      assert.equal(s.machine?.sustainUntil, sustainUntil, 'neither restarted nor ended');
      assert.deepEqual(actions(), ['healthy→warning:record']);
      audits.slice(1).forEach(noActionTaken);
    });
  });

  it('W6 the sustain deadline with only a warning-level breach ends the sustain and stays warning', async () => {
    await withWorker(async () => {
      const handle = await stormed('w6'); // H3
      world.hour = WARN; // eased without a new bounce
      await env.sleep('31 minutes');
      const s = await snap(handle);
      assert.equal(s.state, 'warning');
      assert.equal(s.machine?.sustainUntil, undefined);
      assert.deepEqual(actions(), ['healthy→warning:record', 'warning→warning:record']);
      assert.deepEqual(auditActions(), ['mailbox_warning', 'mailbox_sustain_ended']);
      assert.deepEqual(acts[1]!.explanation.trigger.signals, ['deadline']);
      assert.match(acts[1]!.explanation.message, /stays in warning without a pause: by .* the breach had eased to hard-bounce rate 3%/);
      await env.sleep('1 hour'); // W2 from now on
      assert.equal((await snap(handle)).state, 'warning');
      assert.equal(acts.length, 2);
    });
  });

  it('P1 a manual hold survives the cooldown end: no automatic resume', async () => {
    await withWorker(async () => {
      const handle = await stormed('p1'); // H4: paused, cooldown 60 minutes
      await env.sleep('10 minutes');
      await storm(handle); // P2: bounces during the cooldown change nothing
      assert.deepEqual(actions(), ['healthy→paused:suspend']);
      noActionTaken(audits[1]);
      await override(handle, 'c-1', 'pause'); // M1 on top of the automatic pause
      const held = (await snap(handle)).machine;
      assert.ok(held?.manualHold !== undefined);
      assert.equal(held.cooldownUntil, undefined, 'the hold replaces the cooldown');
      await env.sleep('2 hours'); // long past the end of the automatic cooldown
      await storm(handle, CLEAN); // P1: a decision taken while held
      assert.equal((await snap(handle)).state, 'paused');
      assert.deepEqual(actions(), ['healthy→paused:suspend', 'paused→paused:suspend']);
      assert.deepEqual(auditActions(), ['mailbox_paused', 'mailbox_paused_manually']);
      await override(handle, 'c-2', 'resume'); // only a manual resume ends it
      assert.equal((await snap(handle)).state, 'recovering');
    }, fresh({ sustainMinutes: 0 }));
  });

  it('C4 recovering with nothing yet, or a warning-level breach, stays recovering until probation ends', async () => {
    await withWorker(async () => {
      const handle = await start('c4');
      const recovering = await untilRecovering(handle);
      await env.sleep('30 minutes'); // nothing sent since the resume yet
      world.sinceResume = WARN; // warning level in probation: not a relapse
      await storm(handle, WARN);
      await env.sleep('75 minutes'); // still before the end of probation
      const s = await snap(handle);
      assert.equal(s.state, 'recovering');
      assert.equal(s.machine?.probationUntil, recovering.machine?.probationUntil);
      assert.equal(acts.length, 2, 'nothing recorded since the resume');
      noActionTaken(audits[1]);
    }, fresh({ sustainMinutes: 0 }));
  });

  it('C3 probation over with a warning-level breach → warning', async () => {
    await withWorker(async () => {
      const handle = await start('c3');
      const recovering = await untilRecovering(handle);
      world.sinceResume = WARN;
      world.hour = WARN; // the windows, clipped at the resume, see the same
      await env.sleep('2 hours');
      const s = await snap(handle);
      assert.equal(s.state, 'warning');
      assert.equal(s.machine?.probationUntil, undefined);
      assert.equal(s.machine?.resumedAt, recovering.machine?.resumedAt, 'the windows still count from the resume');
      assert.deepEqual(actions().slice(2), ['recovering→warning:record']);
      assert.deepEqual(auditActions().slice(2), ['mailbox_warning']);
      assert.match(acts[2]!.explanation.message, /finished probation in warning: hard-bounce rate 3% \(3 of 100 sends.*\) over probation \(since the resume at .*\) reached the warning threshold 2%/);
    }, fresh({ sustainMinutes: 0 }));
  });

  for (const mode of ['enforce', 'observe', 'suggest'] as const) {
    it(`M3 a manual resume while healthy or warning in ${mode} mode unsuspends and leaves the state alone`, async () => {
      await withWorker(async () => {
        const handle = await start(`m3-${mode}`);
        await override(handle, 'c-1', 'resume');
        assert.equal((await snap(handle)).state, 'healthy');
        await storm(handle, WARN); // H2
        const before = (await snap(handle)).machine!;
        await override(handle, 'c-2', 'resume');
        const after = (await snap(handle)).machine!;
        assert.equal(after.state, 'warning');
        assert.deepEqual({ ...after, decisions: before.decisions }, before, 'no resume, no probation: the state is unchanged');
        assert.deepEqual(actions(), ['healthy→healthy:unsuspend', 'healthy→warning:record', 'warning→warning:unsuspend']);
        assert.deepEqual(auditActions(), ['mailbox_resumed_manually', 'mailbox_warning', 'mailbox_resumed_manually']);
        assert.deepEqual(acts[2]!.commands, [{ kind: 'unsuspend', via: 'override' }]);
        assert.ok([acts[0]!, acts[2]!].every((a) => a.explanation.actor === OPS && a.explanation.mode === mode));
      }, fresh({}, mode));
    });
  }

  it('A2 suggest: the resume is recommended after the cooldown, and applying it resumes under probation', async () => {
    await withWorker(async () => {
      const { handle, decisionId: pauseId } = await pauseRecommended('a2');
      await apply(handle, pauseId, 'a-1'); // A1
      assert.equal((await snap(handle)).state, 'paused');
      await env.sleep('61 minutes'); // the cooldown ends: P3 in suggest mode recommends
      await storm(handle, CLEAN); // and it keeps waiting, whatever arrives
      await env.sleep('2 hours');
      const waiting = await snap(handle);
      assert.equal(waiting.state, 'paused', 'it waits for an operator');
      assert.deepEqual(actions(), ['healthy→warning:recommend', 'warning→paused:suspend+resolve_recommendation', 'paused→paused:recommend']);
      assert.equal(auditActions()[2], 'mailbox_resume_recommended');
      const decisionId = acts[2]!.explanation.decisionId;
      assert.deepEqual(waiting.machine?.pendingRecommendation, { decisionId, action: 'resume' });
      await apply(handle, decisionId, 'a-2'); // A2
      const s = await snap(handle);
      assert.equal(s.state, 'recovering');
      assert.equal(s.machine!.probationUntil, s.machine!.resumedAt! + 120 * MIN, 'probation judged from the applied resume');
      assert.equal(auditActions()[3], 'mailbox_resumed');
      assert.deepEqual(acts[3]!.commands, [
        { kind: 'unsuspend', via: 'recommendation' },
        { kind: 'resolve_recommendation', decisionId, status: 'applied', actor: OPS },
      ]);
    }, fresh({ sustainMinutes: 0 }, 'suggest'));
  });

  it('A3 applying a recommendation that no longer applies changes nothing and resolves it as superseded', async () => {
    await withWorker(async () => {
      const { handle, decisionId } = await pauseRecommended('a3');
      world.hour = CLEAN; // the breach clears before anyone applies it: healthy, the recommendation superseded
      await env.sleep('6 minutes');
      const before = (await snap(handle)).machine!;
      assert.equal(before.state, 'healthy');
      await apply(handle, decisionId, 'a-1');
      const after = (await snap(handle)).machine!;
      assert.deepEqual({ ...after, decisions: before.decisions }, before, 'nothing changed');
      assert.deepEqual(actions(), ['healthy→warning:recommend', 'warning→healthy:record+supersede_recommendation', 'healthy→healthy:resolve_recommendation']);
      assert.equal(auditActions()[2], 'recommendation_not_applicable');
      assert.deepEqual(acts[2]!.commands, [{ kind: 'resolve_recommendation', decisionId, status: 'superseded', actor: OPS }]);
    }, fresh({ sustainMinutes: 0 }, 'suggest'));
  });

  it('S1 a pending recommendation is superseded when the mode changes to enforce, and enforce decides again', async () => {
    await withWorker(async () => {
      const { handle, decisionId } = await pauseRecommended('s1');
      world.mode = 'enforce';
      world.version = 4;
      await handle.signal(settingsChangedSignal, { version: 4 });
      await handled(handle);
      const s = await snap(handle);
      assert.equal(s.state, 'paused', 'the breach is still there: enforce (sustain 0, W3) pauses at once');
      assert.equal(s.machine?.pendingRecommendation, undefined);
      assert.deepEqual(actions(), ['healthy→warning:recommend', 'warning→paused:suspend+supersede_recommendation']);
      assert.deepEqual(auditActions(), ['mailbox_pause_recommended', 'mailbox_paused']);
      assert.deepEqual(acts[1]!.commands, [
        { kind: 'suspend', via: 'automation' },
        { kind: 'supersede_recommendation', decisionId },
      ]);
      assert.equal(acts[1]!.explanation.mode, 'enforce');
      assert.equal(acts[1]!.explanation.settingsVersion, 4);
      assert.deepEqual(acts[1]!.explanation.trigger.signals, ['settings_changed']);
    }, fresh({ sustainMinutes: 0 }, 'suggest'));
  });
});
