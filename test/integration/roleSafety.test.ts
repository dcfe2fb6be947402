/** Tenant isolation cannot be configured away: unsafe database roles are refused at start. */
import assert from 'node:assert/strict';
import { createDb } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';
import { assertApplicationRoleIsolated, UnsafeDatabaseRoleError } from '../../src/db/roleCheck';
import { APP_ROLE } from '../../src/embedded/postgres';
import { generateEncryptionKeySpec } from '../../src/security/encryption';
import { startApiComponent } from '../../src/workers/components';
import { createTestDatabase, testPostgres, testTemporal, type TestDatabase } from '../support/stack';

describe('database role safety', function () {
  this.timeout(60_000);
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t?.drop();
  });

  it('accepts the non-owner application role', async () => {
    await assertApplicationRoleIsolated(t.db);
  });

  it('refuses the owner role as the application role, naming DATABASE_URL', async () => {
    await assert.rejects(assertApplicationRoleIsolated(t.ownerDb), (e: unknown) => e instanceof UnsafeDatabaseRoleError && /DATABASE_URL connects as "drason_owner", which owns the tables/.test(e.message));
  });

  it('refuses a superuser', async () => {
    const { handle } = await testPostgres();
    const superDb = createDb({ url: handle.superuserUrl.replace(/\/postgres$/, `/${t.name}`), poolMax: 1 });
    try {
      await assert.rejects(assertApplicationRoleIsolated(superDb), /is a superuser/);
    } finally {
      await superDb.destroy();
    }
  });

  it('will not start the API on the owner role', async () => {
    const temporal = await testTemporal();
    await assert.rejects(
      startApiComponent({
        databaseUrl: t.ownerUrl,
        poolMax: 1,
        temporal: { address: temporal.address, namespace: 'default', taskQueue: 'role-safety' },
        host: '127.0.0.1',
        port: 0,
        encryptionKeys: generateEncryptionKeySpec(),
      }),
      UnsafeDatabaseRoleError,
    );
  });

  it('refuses to run migrations as the application role', async () => {
    await assert.rejects(migrateLatest({ ownerUrl: t.appUrl, appRole: APP_ROLE }), /Run them as the schema owner \(DATABASE_OWNER_URL\)/);
  });
});
