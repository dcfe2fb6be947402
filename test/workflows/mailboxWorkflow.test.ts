import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { RecordAuditInput } from '../../src/activities';
import type { MonitoredEvent } from '../../src/domain/events';
import { mailboxWorkflowId } from '../../src/workflows/ids';
import { eventsSignal, mailboxWorkflow, snapshotQuery, type MailboxWorkflowState } from '../../src/workflows/mailboxWorkflow';
import { createTimeSkippingEnv } from '../support/timeSkipping';

const ORG = '00000000-0000-4000-8000-000000000001';
const MAILBOX = 'sam@acme-mail.com';

describe('mailboxWorkflow (time-skipping)', function () {
  this.timeout(120_000);
  let env: TestWorkflowEnvironment;
  let audits: RecordAuditInput[];
  let worker: Worker;
  let taskQueue = '';
  let n = 0;

  before(async () => {
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  async function withWorker<T>(fn: () => Promise<T>): Promise<T> {
    n += 1;
    taskQueue = `mailbox-test-${n}`;
    audits = [];
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: {
        recordAudit: async (input: RecordAuditInput) => {
          audits.push(input);
          return true;
        },
      },
    });
    return worker.runUntil(fn);
  }

  const event = (id: string, type: MonitoredEvent['type'], occurredAt: number): MonitoredEvent => ({ id, type, occurredAt });

  it('records each signalled batch once, ignoring redelivered events', async () => {
    await withWorker(async () => {
      const handle = await env.client.workflow.start(mailboxWorkflow, {
        workflowId: mailboxWorkflowId(ORG, MAILBOX),
        taskQueue,
        args: [{ organizationId: ORG, mailbox: MAILBOX }],
      });
      const t0 = await env.currentTimeMs();
      await handle.signal(eventsSignal, { events: [event('a', 'EmailSent', t0), event('b', 'HardBounce', t0)] });
      // The same events again (at-least-once delivery) plus one new one.
      await handle.signal(eventsSignal, { events: [event('a', 'EmailSent', t0), event('b', 'HardBounce', t0), event('c', 'EmailSent', t0)] });
      await env.sleep('1 second');
      const snap = await handle.query(snapshotQuery);
      assert.equal(snap.totalEvents, 3);
      assert.deepEqual(snap.windows['1h'], { sent: 2, hardBounces: 1, failures: 0 });
      const audited = audits.flatMap((a) => a.trigger?.signals ?? []);
      assert.equal(audited.filter((t) => t === 'HardBounce').length, 1, 'the bounce is audited once despite redelivery');
      assert.ok(audits.every((a) => a.organizationId === ORG && a.entityId === MAILBOX && a.entityType === 'mailbox'));
      assert.match(audits[0]!.message, /1 hard bounce/);
      assert.equal(new Set(audits.map((a) => a.idempotencyKey)).size, audits.length, 'each audit write has its own idempotency key');
      await handle.terminate();
    });
  });

  it('counts sends silently and audits only batches with a bounce or a failure', async () => {
    await withWorker(async () => {
      const handle = await env.client.workflow.start(mailboxWorkflow, {
        workflowId: `${mailboxWorkflowId(ORG, MAILBOX)}-quiet`,
        taskQueue,
        args: [{ organizationId: ORG, mailbox: MAILBOX }],
      });
      const t0 = await env.currentTimeMs();
      await handle.signal(eventsSignal, { events: [event('s1', 'EmailSent', t0), event('s2', 'EmailSent', t0)] });
      await env.sleep('1 second');
      assert.equal((await handle.query(snapshotQuery)).windows['1h'].sent, 2);
      assert.equal(audits.length, 0, 'sends alone write no audit row');
      await handle.signal(eventsSignal, { events: [event('f1', 'DeliveryFailure', t0)] });
      await env.sleep('1 second');
      assert.equal(audits.length, 1);
      assert.match(audits[0]!.message, /1 delivery failure for mailbox sam@acme-mail\.com; last hour: 2 sends, 0 hard bounces, 1 delivery failure/);
      await handle.terminate();
    });
  });

  it('lets events age out of the 1h window as (skipped) time passes, keeping them in 24h', async () => {
    await withWorker(async () => {
      const handle = await env.client.workflow.start(mailboxWorkflow, {
        workflowId: `${mailboxWorkflowId(ORG, MAILBOX)}-aging`,
        taskQueue,
        args: [{ organizationId: ORG, mailbox: MAILBOX }],
      });
      const t0 = await env.currentTimeMs();
      await handle.signal(eventsSignal, { events: [event('x', 'HardBounce', t0), event('y', 'EmailSent', t0)] });
      await env.sleep('1 second');
      assert.equal((await handle.query(snapshotQuery)).windows['1h'].hardBounces, 1);
      await env.sleep('2 hours');
      // Wake the workflow so the query sees the new workflow time.
      await handle.signal(eventsSignal, { events: [event('z', 'EmailSent', await env.currentTimeMs())] });
      await env.sleep('1 second');
      const snap = await handle.query(snapshotQuery);
      assert.deepEqual(snap.windows['1h'], { sent: 1, hardBounces: 0, failures: 0 });
      assert.deepEqual(snap.windows['24h'], { sent: 2, hardBounces: 1, failures: 0 });
      await handle.terminate();
    });
  });

  it('continues-as-new after maxBatchesPerRun, carrying counts and dedupe ids into the next run', async () => {
    await withWorker(async () => {
      const workflowId = `${mailboxWorkflowId(ORG, MAILBOX)}-can`;
      const handle = await env.client.workflow.start(mailboxWorkflow, {
        workflowId,
        taskQueue,
        args: [{ organizationId: ORG, mailbox: MAILBOX, maxBatchesPerRun: 2 }],
      });
      const t0 = await env.currentTimeMs();
      for (let i = 1; i <= 5; i += 1) {
        await handle.signal(eventsSignal, { events: [event(`b${i}`, 'HardBounce', t0), event(`s${i}`, 'EmailSent', t0)] });
        await env.sleep('1 second');
      }
      // A redelivery of an event from the first run must still be recognised after the runs rolled over.
      await handle.signal(eventsSignal, { events: [event('b1', 'HardBounce', t0)] });
      await env.sleep('1 second');
      const latest = env.client.workflow.getHandle(workflowId);
      const snap = await latest.query(snapshotQuery);
      assert.equal(snap.totalEvents, 10);
      assert.deepEqual(snap.windows['1h'], { sent: 5, hardBounces: 5, failures: 0 });
      const first = await env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).describe();
      assert.equal(first.status.name, 'CONTINUED_AS_NEW');
      assert.notEqual((await latest.describe()).runId, handle.firstExecutionRunId);
      assert.equal(audits.length, 5, 'each bounce batch audited exactly once across runs');
      await latest.terminate();
    });
  });

  it('resumes from carried state after continue-as-new, still deduplicating old events', async () => {
    await withWorker(async () => {
      const t0 = await env.currentTimeMs();
      const state: MailboxWorkflowState = {
        counts: { buckets: [[Math.floor(t0 / 300_000) * 300_000, 40, 3, 0]] },
        recentEventIds: ['old-1'],
        totalEvents: 43,
        batchesAudited: 7,
      };
      const handle = await env.client.workflow.start(mailboxWorkflow, {
        workflowId: `${mailboxWorkflowId(ORG, MAILBOX)}-carried`,
        taskQueue,
        args: [{ organizationId: ORG, mailbox: MAILBOX, state }],
      });
      await handle.signal(eventsSignal, { events: [event('old-1', 'HardBounce', t0), event('new-1', 'HardBounce', t0)] });
      await env.sleep('1 second');
      const snap = await handle.query(snapshotQuery);
      assert.equal(snap.totalEvents, 44);
      assert.equal(snap.windows['1h'].hardBounces, 4);
      assert.equal(audits.length, 1);
      await handle.terminate();
    });
  });
});
