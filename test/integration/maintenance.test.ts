/** Retention: expired idempotency keys are purged for every organization; live ones are kept. */
import assert from 'node:assert/strict';
import { claimIdempotencyKey } from '../../src/db/repositories/idempotency';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { withTenant } from '../../src/db/tenant';
import { purgeExpiredIdempotencyKeysOnce } from '../../src/services/maintenance';
import { createTestDatabase, type TestDatabase } from '../support/stack';

describe('maintenance: idempotency-key retention', function () {
  this.timeout(60_000);
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t?.drop();
  });

  it('purges expired keys across organizations and keeps the rest', async () => {
    const orgs = [(await createOrganizationWithAdminKey(t.db, 'A')).organization.id, (await createOrganizationWithAdminKey(t.db, 'B')).organization.id];
    for (const org of orgs) {
      await withTenant(t.db, org, async (tx) => {
        assert.ok(await claimIdempotencyKey(tx, org, 'test', 'expired', -1000));
        assert.ok(await claimIdempotencyKey(tx, org, 'test', 'live', 60_000));
      });
    }
    assert.equal(await purgeExpiredIdempotencyKeysOnce(t.db), 2);
    for (const org of orgs) {
      const keys = (await withTenant(t.db, org, (tx) => tx('idempotency_keys').pluck('key'))) as string[];
      assert.deepEqual(keys, ['live']);
    }
    assert.equal(await purgeExpiredIdempotencyKeysOnce(t.db), 0);
  });
});
