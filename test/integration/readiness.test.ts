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
    } finally {
      await api.stop();
    }
  });
});
