/**
 * Migration 016 on real PostgreSQL, as the application role: the mailbox engine's per-bounce read and audit write
 * are one statement each, and still keep every organization to its own rows.
 */
import assert from 'node:assert/strict';
import { appendAudit, listAudit } from '../../src/db/repositories/audit';
import { readBuckets, readDecisionInput } from '../../src/db/repositories/counters';
import { ingestEvents } from '../../src/db/repositories/events';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { countQueuedEvents } from '../../src/db/repositories/relay';
import { currentSettings, saveNextSettingsVersion } from '../../src/db/repositories/settings';
import { withTenant } from '../../src/db/tenant';
import { createTestDatabase, type TestDatabase } from '../support/stack';

describe('single-round-trip engine reads and audit writes (migration 016, real Postgres)', function () {
  this.timeout(60_000);
  let t: TestDatabase;
  let a: string;
  let b: string;

  before(async () => {
    t = await createTestDatabase();
    a = (await createOrganizationWithAdminKey(t.db, 'Trip A')).organization.id;
    b = (await createOrganizationWithAdminKey(t.db, 'Trip B')).organization.id;
  });
  after(async () => {
    await t?.drop();
  });

  const entry = (organizationId: string, key: string) => ({
    organizationId,
    entityType: 'mailbox' as const,
    entityId: 'sam@trip.test',
    action: 'events_observed',
    actor: 'system',
    trigger: { window: '1h', observed: { sent: 3, hardBounces: 1, failures: 0 } },
    message: 'Observed 1 hard bounce.',
    engineVersion: 'test',
    idempotencyKey: key,
  });

  it('reads the same buckets and settings as the two separate reads did', async () => {
    const now = Date.now();
    const events = ['EmailSent', 'EmailSent', 'HardBounce', 'DeliveryFailure'].map((type, i) => ({
      idempotencyKey: `trip-${i}`,
      type,
      source: 'api' as const,
      occurredAt: new Date(now - i * 10 * 60_000),
      mailbox: 'sam@trip.test',
      ...(type === 'DeliveryFailure' ? { bounceClass: 'reputation' as const } : {}),
    }));
    await ingestEvents(t.db, a, events);
    await withTenant(t.db, a, (tx) => countQueuedEvents(tx, a, 100));
    await withTenant(t.db, a, async (tx) => {
      const settings = await currentSettings(tx, { lock: true });
      await saveNextSettingsVersion(tx, a, settings.version, { ...settings, mode: 'enforce' }, 'test');
    });

    const one = await readDecisionInput(t.db, a, 'mailbox', 'sam@trip.test', now);
    const [buckets, settings] = await withTenant(t.db, a, async (tx) => [(await readBuckets(tx, 'mailbox', ['sam@trip.test'], now)).get('sam@trip.test'), await currentSettings(tx)] as const);
    assert.ok(one.buckets.length >= 2, 'the sends and bounces land in more than one bucket');
    assert.deepEqual(one.buckets, buckets);
    assert.deepEqual(one.settings, settings);
    assert.equal(one.settings.mode, 'enforce');
    // Another organization sees none of it, and its own (default) settings.
    const other = await readDecisionInput(t.db, b, 'mailbox', 'sam@trip.test', now);
    assert.deepEqual(other.buckets, []);
    assert.equal(other.settings.version, 1);
  });

  it('appends an audit row once per idempotency key, with the organization’s current mode and settings version', async () => {
    assert.equal(await appendAudit(t.db, entry(a, 'trip-audit-1')), true);
    assert.equal(await appendAudit(t.db, entry(a, 'trip-audit-1')), false, 'a retried write is not written again');
    const rows = await withTenant(t.db, a, (tx) => listAudit(tx, { action: 'events_observed', limit: 10 }));
    assert.equal(rows.length, 1);
    const settings = await withTenant(t.db, a, (tx) => currentSettings(tx));
    assert.equal(rows[0]!.mode, settings.mode);
    assert.equal(rows[0]!.settingsVersion, settings.version);
    assert.deepEqual(rows[0]!.trigger, entry(a, 'x').trigger);
    assert.equal((await withTenant(t.db, b, (tx) => listAudit(tx, { action: 'events_observed', limit: 10 }))).length, 0);
  });

  it('refuses, inside a transaction scoped to one organization, to write or read for another', async () => {
    await assert.rejects(
      withTenant(t.db, a, (tx) => appendAudit(tx, entry(b, 'trip-cross'))),
      (error: Error & { code?: string }) => error.code === '42501',
    );
    await assert.rejects(
      withTenant(t.db, a, (tx) => readDecisionInput(tx, b, 'mailbox', 'sam@trip.test', Date.now())),
      (error: Error & { code?: string }) => error.code === '42501',
    );
    assert.equal((await withTenant(t.db, b, (tx) => listAudit(tx, { limit: 10 }))).some((r) => r.entityId === 'sam@trip.test'), false);
    // Inside its own organization's transaction it joins the transaction.
    assert.equal(await withTenant(t.db, a, (tx) => appendAudit(tx, entry(a, 'trip-same'))), true);
  });
});
