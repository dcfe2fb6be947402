/** Retention: counter buckets older than COUNTER_RETENTION_MS are pruned for every organization; younger ones are kept. */
import assert from 'node:assert/strict';
import { COUNTER_RETENTION_MS } from '../../src/db/repositories/counters';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { withTenant } from '../../src/db/tenant';
import { BUCKET_MS } from '../../src/domain/rollingWindows';
import { pruneCountersOnce } from '../../src/services/maintenance';
import { createTestDatabase, type TestDatabase } from '../support/stack';

describe('maintenance: counter retention', function () {
  this.timeout(60_000);
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t?.drop();
  });

  it('prunes buckets past the retention across organizations and keeps the rest', async () => {
    const now = Date.UTC(2026, 10, 21, 12, 0, 0);
    const old = new Date(now - COUNTER_RETENTION_MS - 2 * BUCKET_MS);
    const recent = new Date(now - 60 * 60 * 1000);
    const orgs = [(await createOrganizationWithAdminKey(t.db, 'A')).organization.id, (await createOrganizationWithAdminKey(t.db, 'B')).organization.id];
    for (const org of orgs) {
      await withTenant(t.db, org, (tx) =>
        tx('entity_counters').insert(
          [old, recent].map((bucket) => ({ organization_id: org, entity_type: 'mailbox', entity_key: 'm@a.test', bucket_start: bucket, sent: 1 })),
        ),
      );
    }
    assert.equal(await pruneCountersOnce(t.db, now), 2);
    for (const org of orgs) {
      const kept = (await withTenant(t.db, org, (tx) => tx('entity_counters').pluck('bucket_start'))) as Date[];
      assert.deepEqual(kept.map((d) => d.getTime()), [recent.getTime()]);
    }
    assert.equal(await pruneCountersOnce(t.db, now), 0);
  });
});
