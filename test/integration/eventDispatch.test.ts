/**
 * The outbox guarantee behind "a 2xx means it will be processed": when signalling Temporal fails after the events
 * were stored, they stay queued and the background pass delivers them later, once.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { storeEvents } from '../../src/db/repositories/events';
import { withTenant } from '../../src/db/tenant';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { dispatchNow, dispatchPendingOnce } from '../../src/services/eventDispatch';
import { connectClient } from '../../src/temporal/connection';
import { installTemporalRuntime } from '../../src/workers/components';
import { mailboxWorkflowId } from '../../src/workflows/ids';
import { snapshotQuery } from '../../src/workflows/mailboxWorkflow';
import { createTestDatabase, testTemporal, type TestDatabase } from '../support/stack';

describe('event dispatch outbox (real Postgres and Temporal)', function () {
  this.timeout(120_000);
  let t: TestDatabase;
  let client: Client;
  let close: () => Promise<void>;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `dispatch-${crypto.randomUUID()}`;

  before(async () => {
    installTemporalRuntime('ERROR');
    t = await createTestDatabase();
    const server = await testTemporal();
    const connected = await connectClient({ address: server.address, namespace: 'default', taskQueue });
    client = connected.client;
    close = () => connected.connection.close();
    worker = await Worker.create({
      connection: await NativeConnection.connect({ address: server.address }),
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: createActivities({ db: t.db, integrations: createIntegrations(new Keyring(generateEncryptionKeySpec())) }),
    });
    running = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await running;
    await close?.();
    await t?.drop();
  });

  it('keeps events queued when Temporal cannot be signalled, then delivers each exactly once', async () => {
    const org = (await createOrganizationWithAdminKey(t.db, 'Outbox')).organization.id;
    const now = new Date();
    const stored = await withTenant(t.db, org, (tx) =>
      storeEvents(tx, org, [
        { idempotencyKey: 'o-1', type: 'EmailSent', source: 'api', occurredAt: now, mailbox: 'ops@outbox.test' },
        { idempotencyKey: 'o-2', type: 'HardBounce', source: 'api', occurredAt: now, mailbox: 'ops@outbox.test' },
      ]),
    );
    const down = { workflow: { signalWithStart: () => Promise.reject(new Error('14 UNAVAILABLE: connection refused')) } } as unknown as Client;
    assert.deepEqual(await dispatchNow({ db: t.db, client: down, taskQueue }, org, stored.byMailbox), { delivered: 0, failed: 2 });

    const queued = (await withTenant(t.db, org, (tx) => tx('event_dispatch_outbox').select('attempts', 'next_attempt_at'))) as { attempts: number; next_attempt_at: Date }[];
    assert.equal(queued.length, 2);
    assert.ok(queued.every((r) => r.attempts === 1 && r.next_attempt_at.getTime() > Date.now()), 'backed off, not retried in a tight loop');
    assert.equal(await dispatchPendingOnce({ db: t.db, client, taskQueue }), 0, 'nothing is due before the back-off');

    await withTenant(t.db, org, (tx) => tx('event_dispatch_outbox').update({ next_attempt_at: tx.raw("now() - interval '1 second'") }));
    assert.equal(await dispatchPendingOnce({ db: t.db, client, taskQueue }), 2);
    assert.equal(await dispatchPendingOnce({ db: t.db, client, taskQueue }), 0, 'delivered rows leave the outbox');

    const handle = client.workflow.getHandle(mailboxWorkflowId(org, 'ops@outbox.test'));
    for (let i = 0; i < 40; i += 1) {
      if ((await handle.query(snapshotQuery)).totalEvents === 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const snapshot = await handle.query(snapshotQuery);
    assert.deepEqual(snapshot.windows['1h'], { sent: 1, hardBounces: 1, failures: 0 });
  });
});
