import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { RecordAuditInput } from '../../src/activities';
import type { DeliveredEvent, MonitoredEvent } from '../../src/domain/events';
import { summarizeWindows, BUCKET_MS, type WindowSummary } from '../../src/domain/rollingWindows';
import { mailboxWorkflowId } from '../../src/workflows/ids';
import { bouncesSignal, eventsSignal, mailboxWorkflow, snapshotQuery, type MailboxWorkflowState } from '../../src/workflows/mailboxWorkflow';
import { createTimeSkippingEnv } from '../support/timeSkipping';

const ORG = '00000000-0000-4000-8000-000000000001';
const MAILBOX = 'sam@acme-mail.com';

describe('mailboxWorkflow (time-skipping)', function () {
  this.timeout(180_000);
  let env: TestWorkflowEnvironment;
  let audits: RecordAuditInput[];
  let windowReads: number;
  let taskQueue = '';
  let n = 0;

  before(async () => {
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  /** What the counters say about the mailbox: 40 sends and 3 hard bounces in the last 5 minutes. */
  const windowsNow = (): WindowSummary => {
    const now = Date.now();
    return summarizeWindows({ buckets: [[Math.floor(now / BUCKET_MS) * BUCKET_MS, 40, 3, 0]] }, now);
  };

  async function withWorker<T>(fn: () => Promise<T>): Promise<T> {
    n += 1;
    taskQueue = `mailbox-test-${n}`;
    audits = [];
    windowReads = 0;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: {
        recordAudit: async (input: RecordAuditInput) => {
          audits.push(input);
          return true;
        },
        readMailboxWindows: async () => {
          windowReads += 1;
          return windowsNow();
        },
      },
    });
    return worker.runUntil(fn);
  }

  const start = (suffix: string, extra: { maxBatchesPerRun?: number; state?: MailboxWorkflowState } = {}) =>
    env.client.workflow.start(mailboxWorkflow, {
      workflowId: `${mailboxWorkflowId(ORG, MAILBOX)}-${suffix}`,
      taskQueue,
      args: [{ organizationId: ORG, mailbox: MAILBOX, ...extra }],
    });
  const bounce = (seq: number, type: DeliveredEvent['type'] = 'HardBounce'): DeliveredEvent => ({ seq, type, occurredAt: 0 });

  it('takes each bounce once by sequence number, reads its windows from the counters, and audits each batch once', async () => {
    await withWorker(async () => {
      const handle = await start('dedupe');
      await handle.signal(bouncesSignal, { events: [bounce(11), bounce(12, 'DeliveryFailure')] });
      // The relay redelivers the same batch (its commit failed after the signal landed), plus one new bounce.
      await handle.signal(bouncesSignal, { events: [bounce(11), bounce(12, 'DeliveryFailure'), bounce(14)] });
      await env.sleep('1 second');
      const snap = await handle.query(snapshotQuery);
      assert.deepEqual(snap.received, { hardBounces: 2, failures: 1 });
      assert.equal(snap.highWater, 14);
      assert.deepEqual(snap.lastWindows?.windows['1h'], { sent: 40, hardBounces: 3, failures: 0 });
      const audited = audits.reduce((sum, a) => sum + Number(/(\d+) hard bounce/.exec(a.message)?.[1] ?? 0), 0);
      assert.equal(audited, 2, 'two hard bounces audited, despite the redelivery');
      assert.equal(windowReads, audits.length, 'every audited batch read fresh windows');
      assert.match(audits[0]!.message, /last hour: 40 sends, 3 hard bounces, 0 delivery failures \(7\.5% hard-bounce rate\); no action taken\./);
      assert.ok(audits.every((a) => a.organizationId === ORG && a.entityId === MAILBOX && a.entityType === 'mailbox'));
      assert.equal(new Set(audits.map((a) => a.idempotencyKey)).size, audits.length, 'each audit write has its own idempotency key');
      await handle.terminate();
    });
  });

  it('continues-as-new after maxBatchesPerRun, still recognising a redelivery from the first run', async () => {
    await withWorker(async () => {
      const handle = await start('can', { maxBatchesPerRun: 2 });
      for (let i = 1; i <= 5; i += 1) {
        await handle.signal(bouncesSignal, { events: [bounce(i * 10)] });
        await env.sleep('1 second');
      }
      const latest = env.client.workflow.getHandle(handle.workflowId);
      await latest.signal(bouncesSignal, { events: [bounce(10)] });
      await env.sleep('1 second');
      const snap = await latest.query(snapshotQuery);
      assert.deepEqual(snap.received, { hardBounces: 5, failures: 0 });
      const first = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
      assert.equal(first.status.name, 'CONTINUED_AS_NEW');
      assert.equal(audits.length, 5, 'each batch audited exactly once across runs');
      await latest.terminate();
    });
  });

  it('carries under 64 KB through continue-as-new after 100,000 bounces, and its buffer stays bounded', async () => {
    await withWorker(async () => {
      const handle = await start('bounded', { maxBatchesPerRun: 20 });
      for (let s = 1; s <= 100_000; s += 500) {
        await handle.signal(bouncesSignal, { events: Array.from({ length: 500 }, (_, i) => bounce(s + i, i % 5 === 0 ? 'DeliveryFailure' : 'HardBounce')) });
      }
      await env.sleep('1 second');
      const latest = env.client.workflow.getHandle(handle.workflowId);
      const snap = await latest.query(snapshotQuery);
      assert.deepEqual(snap.received, { hardBounces: 80_000, failures: 20_000 });
      assert.equal(snap.buffered, 0, 'everything received was judged');
      const history = await latest.fetchHistory();
      const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
      assert.ok(input !== undefined && input !== null, 'the latest run started from carried state');
      assert.ok(input.length < 64 * 1024, `carried ${input.length} bytes`);
      if (process.env.REPORT_SIZES !== undefined) process.stdout.write(`      carried state after 100,000 bounces: ${input.length} bytes\n`);
      assert.notEqual((await latest.describe()).runId, handle.firstExecutionRunId, 'it continued-as-new on the way');
      await latest.terminate();
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
      await env.sleep('1 second');
      const messages = audits.map((a) => a.message).join(' | ');
      assert.match(messages, /1 hard bounce/, 'the carried pending bounce was judged');
      assert.match(messages, /1 send, 1 hard bounce/, 'the new legacy events were judged; the known id was dropped');
      await handle.signal(eventsSignal, { events: [old('s-2', 'EmailSent')] });
      await env.sleep('1 second');
      assert.equal(audits.length, 2, 'sends alone are not audited');
      await handle.terminate();
    });
  });
});
