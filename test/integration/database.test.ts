/** Database guarantees, checked as the non-owner application role against a real (embedded) Postgres. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { migrateLatest } from '../../src/db/migrate';
import { migrations } from '../../migrations';
import { withTenant } from '../../src/db/tenant';
import { appendAudit } from '../../src/db/repositories/audit';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { ingestEvents } from '../../src/db/repositories/events';
import { APP_ROLE } from '../../src/embedded/postgres';
import { createTestDatabase, type TestDatabase } from '../support/stack';

describe('database (real Postgres, application role)', function () {
  this.timeout(120_000);
  let t: TestDatabase;
  let orgA: string;
  let orgB: string;

  before(async () => {
    t = await createTestDatabase();
    orgA = (await createOrganizationWithAdminKey(t.db, 'A')).organization.id;
    orgB = (await createOrganizationWithAdminKey(t.db, 'B')).organization.id;
    for (const org of [orgA, orgB]) {
      await ingestEvents(t.db, org, [{ idempotencyKey: `e-${org}`, type: 'HardBounce', source: 'api', occurredAt: new Date(), mailbox: `m@${org.slice(0, 8)}.com` }]);
      await withTenant(t.db, org, async (tx) => {
        await appendAudit(tx, { organizationId: org, entityType: 'mailbox', entityId: 'm', action: 'test', actor: 'test', message: 'm', engineVersion: 't' });
      });
    }
  });
  after(async () => {
    await t?.drop();
  });

  it('runs the application as a role that is neither owner nor superuser nor BYPASSRLS', async () => {
    const { rows } = await t.db.raw<{ rows: { rolsuper: boolean; rolbypassrls: boolean }[] }>(
      'select rolsuper, rolbypassrls from pg_roles where rolname = current_user',
    );
    assert.deepEqual(rows[0], { rolsuper: false, rolbypassrls: false });
    const owner = await t.db.raw<{ rows: { tableowner: string }[] }>("select tableowner from pg_tables where tablename = 'events'");
    assert.notEqual(owner.rows[0]!.tableowner, APP_ROLE);
  });

  it('shows nothing to a query with no organization set, however it is written', async () => {
    for (const table of ['organizations', 'api_keys', 'events', 'audit_log', 'mailboxes', 'domains']) {
      const rows = await t.db.transaction((tx) => tx(table).select('*'));
      assert.equal(rows.length, 0, `${table} leaked rows without a tenant`);
    }
  });

  it('shows only the current organization\'s rows to an unfiltered SELECT', async () => {
    const rows = (await withTenant(t.db, orgA, (tx) => tx('events').select('organization_id'))) as { organization_id: string }[];
    assert.ok(rows.length > 0);
    assert.ok(rows.every((r) => r.organization_id === orgA));
    const audit = (await withTenant(t.db, orgB, (tx) => tx('audit_log').select('organization_id'))) as { organization_id: string }[];
    assert.ok(audit.every((r) => r.organization_id === orgB));
  });

  it('refuses to write a row for another organization, or to point at another organization\'s row', async () => {
    await assert.rejects(
      withTenant(t.db, orgA, (tx) => tx('domains').insert({ organization_id: orgB, name: 'sneaky.com' })),
      /row-level security/,
    );
    const domainOfB = (await withTenant(t.db, orgB, (tx) => tx('domains').first('id'))) as { id: string };
    await assert.rejects(
      withTenant(t.db, orgA, (tx) => tx('mailboxes').insert({ organization_id: orgA, email: 'x@y.com', domain_id: domainOfB.id })),
      /foreign key/,
    );
  });

  // Settings versions are history too: a decision is explained with the version it used (migration 002).
  for (const table of ['events', 'audit_log', 'organization_settings']) {
    it(`keeps ${table} append-only: UPDATE, DELETE and TRUNCATE fail for the application`, async () => {
      await assert.rejects(withTenant(t.db, orgA, (tx) => tx(table).update({ organization_id: orgA })), /permission denied|append-only/);
      await assert.rejects(withTenant(t.db, orgA, (tx) => tx(table).delete()), /permission denied|append-only/);
      await assert.rejects(withTenant(t.db, orgA, (tx) => tx.raw(`truncate ${table} cascade`)), /permission denied|append-only/);
      // Even the owner cannot rewrite history.
      await assert.rejects(t.ownerDb(table).update({ organization_id: orgA }), /append-only/);
    });
  }

  it('migrates safely when two instances start at once', async () => {
    const fresh = await createTestDatabase({ migrate: false });
    try {
      const results = await Promise.all([
        migrateLatest({ ownerUrl: fresh.ownerUrl, appRole: APP_ROLE }),
        migrateLatest({ ownerUrl: fresh.ownerUrl, appRole: APP_ROLE }),
      ]);
      // Exactly one instance applied the migrations; the other waited and found nothing to do.
      assert.deepEqual(results.map((r) => r.length).sort(), [0, migrations.length]);
    } finally {
      await fresh.drop();
    }
  });

  it('stores an event once per (source, idempotency key): a key posted by one source never suppresses another source', async () => {
    const key = crypto.randomUUID();
    const store = (source: 'api' | 'smartlead') =>
      ingestEvents(t.db, orgA, [{ idempotencyKey: key, type: 'EmailSent', source, occurredAt: new Date(), mailbox: 'a@b.com' }]);
    assert.deepEqual(await store('api'), { accepted: 1, duplicates: 0, queued: 1 });
    assert.deepEqual(await store('api'), { accepted: 0, duplicates: 1, queued: 0 }, 'a repeat is acknowledged and queued for nothing');
    assert.deepEqual(await store('smartlead'), { accepted: 1, duplicates: 0, queued: 1 }, 'the same key from Smartlead is its own event');
    assert.deepEqual(
      await ingestEvents(t.db, orgB, [{ idempotencyKey: key, type: 'EmailSent', source: 'api', occurredAt: new Date(), mailbox: 'a@b.com' }]),
      { accepted: 1, duplicates: 0, queued: 1 },
      'keys are per organization',
    );
  });

  it('stores a request that repeats one key once', async () => {
    const key = crypto.randomUUID();
    const e = { idempotencyKey: key, type: 'HardBounce', source: 'api' as const, occurredAt: new Date(), mailbox: 'Twice@B.com' };
    assert.deepEqual(await ingestEvents(t.db, orgA, [e, e]), { accepted: 1, duplicates: 1, queued: 1 });
  });
});
