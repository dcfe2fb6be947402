/** /readyz tells a load balancer the truth: 503, naming the dependency, while Postgres is unreachable. */
import assert from 'node:assert/strict';
import { generateEncryptionKeySpec } from '../../src/security/encryption';
import { startApiComponent } from '../../src/workers/components';
import { freePort } from '../support/ports';
import { testTemporal } from '../support/stack';

describe('readiness', function () {
  this.timeout(60_000);

  it('answers 503 with postgres:false while the database is unreachable, and /healthz stays 200', async () => {
    const temporal = await testTemporal();
    const deadPort = await freePort();
    const api = await startApiComponent({
      databaseUrl: `postgres://nobody:nothing@127.0.0.1:${deadPort}/none`,
      poolMax: 1,
      temporal: { address: temporal.address, namespace: 'default', taskQueue: 'readiness' },
      host: '127.0.0.1',
      port: 0,
      encryptionKeys: generateEncryptionKeySpec(),
    });
    try {
      const ready = await fetch(`${api.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: 'not ready', postgres: false, temporal: true });
      assert.equal((await fetch(`${api.url}/healthz`)).status, 200);

      // Ingestion answers 503 with Retry-After (never 500, never a 2xx for something not stored), as does any read.
      const attempts = [
        fetch(`${api.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: 'Bearer drk_some-key', 'content-type': 'application/json' },
          body: JSON.stringify({ events: [{ id: 'e-1', type: 'HardBounce', occurredAt: new Date().toISOString(), mailbox: 'a@b.test' }] }),
        }),
        fetch(`${api.url}/v1/webhooks/smartlead/whk_${'a'.repeat(43)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"event_type":"EMAIL_SENT"}' }),
        fetch(`${api.url}/v1/audit`, { headers: { authorization: 'Bearer drk_some-key' } }),
      ];
      for (const reply of await Promise.all(attempts)) {
        assert.equal(reply.status, 503);
        assert.equal(reply.headers.get('retry-after'), '5');
        assert.match(reply.headers.get('content-type') ?? '', /application\/problem\+json/);
        assert.match(((await reply.json()) as { detail: string }).detail, /PostgreSQL is not reachable/);
      }
    } finally {
      await api.stop();
    }
  });
});
