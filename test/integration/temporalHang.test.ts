/**
 * Audit §22 "partial outage" on the Temporal side: a hung (not refusing) Temporal frontend must not hang ingestion.
 * Events are stored, the API answers within the signal deadline, and the outbox delivers once Temporal is back.
 */
import assert from 'node:assert/strict';
import { startEmbeddedTemporal, type EmbeddedTemporalHandle } from '../../src/embedded/temporal';
import { generateEncryptionKeySpec } from '../../src/security/encryption';
import { SIGNAL_DEADLINE_MS } from '../../src/services/eventDispatch';
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

  it('does not hang ingestion: events are stored and acknowledged within the deadline, and stay queued', async () => {
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

    process.kill(temporal.process.pid!, 'SIGSTOP');
    const started = Date.now();
    const res = await fetch(`${api.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${org.apiKey.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ id: 'h-1', type: 'HardBounce', occurredAt: new Date().toISOString(), mailbox: 'a@hang.test' }] }),
      signal: AbortSignal.timeout(60_000),
    });
    const took = Date.now() - started;
    assert.equal(res.status, 202);
    assert.ok(took < SIGNAL_DEADLINE_MS + 3000, `answered in ${took} ms`);
    const queued = await withTenant(t.db, org.organization.id, (tx) => tx('event_dispatch_outbox').count('* as n').first());
    assert.equal(Number((queued as { n: number }).n), 1, 'the event waits in the outbox for the background loop');
    process.kill(temporal.process.pid!, 'SIGCONT');
  });
});
