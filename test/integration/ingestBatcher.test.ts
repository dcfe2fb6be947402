/**
 * Group commit (src/services/ingestBatcher.ts) on real PostgreSQL: concurrent requests share database calls, each
 * request is told exactly what it added, a key sent by several requests is stored and credited once, and a request
 * the database refuses fails alone.
 */
import assert from 'node:assert/strict';
import type { Db } from '../../src/db/knex';
import { creditRequests, type NewEvent } from '../../src/db/repositories/events';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { withTenant } from '../../src/db/tenant';
import { IngestBatcher } from '../../src/services/ingestBatcher';
import { createTestDatabase, type TestDatabase } from '../support/stack';

describe('ingestion group commit (real Postgres)', function () {
  this.timeout(60_000);
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t?.drop();
  });

  /** The test database, counting the calls that reach PostgreSQL. */
  const counting = (): { db: Db; calls: () => number } => {
    let calls = 0;
    const db = new Proxy(t.db, {
      get: (target, property, receiver) =>
        property === 'raw'
          ? (...args: unknown[]) => {
              calls += 1;
              return (target.raw as (...a: unknown[]) => unknown)(...args);
            }
          : Reflect.get(target, property, receiver),
    });
    return { db, calls: () => calls };
  };
  const event = (key: string, extra: Partial<NewEvent> = {}): NewEvent => ({
    idempotencyKey: key,
    type: 'EmailSent',
    source: 'api',
    occurredAt: new Date(),
    mailbox: 'sam@batch.test',
    ...extra,
  });
  const stored = (org: string) => withTenant(t.db, org, async (tx) => Number(((await tx('events').count('* as n').first()) as { n: number }).n));

  it('stores 64 concurrent requests in fewer database calls, telling each exactly what it added', async () => {
    const org = (await createOrganizationWithAdminKey(t.db, 'Burst')).organization.id;
    const { db, calls } = counting();
    const batcher = new IngestBatcher(db);
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => batcher.ingest(org, [event(`b-${i}`), event(`b-${i}-bounce`, { type: 'HardBounce' })])));
    assert.ok(results.every((r) => r.accepted === 2 && r.duplicates === 0 && r.queued === 2), JSON.stringify(results.slice(0, 3)));
    assert.equal(await stored(org), 128);
    assert.ok(calls() < 64, `${calls()} database calls for 64 requests`);
  });

  it('stores a key that several concurrent requests carry once, and credits it to one of them', async () => {
    const org = (await createOrganizationWithAdminKey(t.db, 'Same key')).organization.id;
    const batcher = new IngestBatcher(t.db);
    const results = await Promise.all(Array.from({ length: 20 }, () => batcher.ingest(org, [event('same')])));
    assert.equal(results.filter((r) => r.accepted === 1).length, 1);
    assert.equal(results.filter((r) => r.duplicates === 1).length, 19);
    assert.equal(await stored(org), 1);
  });

  it('fails only the request the database refuses; the others in its call are stored', async () => {
    const org = (await createOrganizationWithAdminKey(t.db, 'Refused')).organization.id;
    const batcher = new IngestBatcher(t.db);
    // A time PostgreSQL cannot store (the API's validation never lets one through; here it stands for any refusal).
    const refused = event('bad', { occurredAt: new Date(8.64e15) });
    const outcomes = await Promise.allSettled([batcher.ingest(org, [event('ok-1')]), batcher.ingest(org, [refused]), batcher.ingest(org, [event('ok-2')])]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(await stored(org), 2);
  });

  it('credits requests in order: a key repeated within or across requests counts once', () => {
    const a = [event('x'), event('x'), event('y')];
    const b = [event('y'), event('z', { source: 'smartlead' })];
    const storedKeys = new Map([
      ['api\u0000x', true],
      ['api\u0000y', false],
      ['smartlead\u0000z', true],
    ]);
    assert.deepEqual(creditRequests([a, b], storedKeys), [
      { accepted: 2, duplicates: 1, queued: 1 },
      { accepted: 1, duplicates: 1, queued: 1 },
    ]);
  });
});
