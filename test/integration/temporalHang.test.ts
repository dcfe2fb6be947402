/**
 * Audit §22 "partial outage" on the Temporal side: a hung (not refusing) Temporal frontend must not hang ingestion
 * or the relay. The API never calls Temporal to ingest; the relay gives up on a signal at its deadline, keeps the
 * events queued, and delivers them once Temporal is back.
 */
import assert from 'node:assert/strict';
import { startEmbeddedTemporal, type EmbeddedTemporalHandle } from '../../src/embedded/temporal';
import { generateEncryptionKeySpec } from '../../src/security/encryption';
import { relayBacklog } from '../../src/db/repositories/relay';
import { relayOrganization } from '../../src/services/eventRelay';
import { connectClient } from '../../src/temporal/connection';
import { startApiComponent } from '../../src/workers/components';
import { withTenant } from '../../src/db/tenant';
import { freePort } from '../support/ports';
import { createTestDatabase, type TestDatabase } from '../support/stack';

describe('a hung Temporal', function () {
  this.timeout(120_000);
  let t: TestDatabase;
  let temporal: EmbeddedTemporalHandle;
  let api: Awaited<ReturnType<typeof startApiComponent>> | undefined;

  before(async () => {
    t = await createTestDatabase();
    temporal = await startEmbeddedTemporal({ port: await freePort(), namespace: 'default', headless: true });
  });
  after(async () => {
    if (temporal?.process.pid !== undefined) process.kill(temporal.process.pid, 'SIGCONT');
    await api?.stop();
    await temporal?.stop();
    await t?.drop();
  });

  it('does not hang ingestion (202 from PostgreSQL alone) nor the relay (the signal times out, the events stay queued)', async () => {
    const adminToken = 'hang-test-platform-token-0123456789';
    api = await startApiComponent(
      {
        databaseUrl: t.appUrl,
        poolMax: 3,
        temporal: { address: temporal.address, namespace: 'default', taskQueue: 'hang' },
        adminToken,
        host: '127.0.0.1',
        port: 0,
        encryptionKeys: generateEncryptionKeySpec(),
      },
      { db: t.db },
    );
    const org = (await (
      await fetch(`${api.url}/v1/organizations`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: '{"name":"Hang"}' })
    ).json()) as { organization: { id: string }; apiKey: { key: string } };
    const { client, connection } = await connectClient({ address: temporal.address, namespace: 'default', taskQueue: 'hang' });

    process.kill(temporal.process.pid!, 'SIGSTOP');
    try {
      const res = await fetch(`${api.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${org.apiKey.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: [{ id: 'h-1', type: 'HardBounce', occurredAt: new Date().toISOString(), mailbox: 'a@hang.test' }] }),
        signal: AbortSignal.timeout(60_000),
      });
      assert.equal(res.status, 202);
      const relayed = await relayOrganization({ db: t.db, client, taskQueue: 'hang' }, org.organization.id);
      assert.deepEqual(relayed, { counted: 1, signalled: 0, failedMailboxes: 1, commands: 0, failedCommands: 0 }, 'counted in PostgreSQL; the signal gave up at its deadline');
      assert.deepEqual(await withTenant(t.db, org.organization.id, (tx) => relayBacklog(tx)), { toCount: 0, toSignal: 1 }, 'the bounce waits for Temporal');
    } finally {
      process.kill(temporal.process.pid!, 'SIGCONT');
      await connection.close();
    }
  });
});
