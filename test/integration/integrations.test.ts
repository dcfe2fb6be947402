/**
 * Integration secrets on a real database: Smartlead credentials encrypted at rest (and bound to their
 * organization), broken-integration marking, webhook tokens (resolve, rotate with a grace period, secret_key),
 * and key rotation, both as a function and as the `npm run rotate-keys` entry point. Through the API: a Smartlead
 * base URL that is not a URL is a 422, never a 500.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import pg from 'pg';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { checkWebhookSecret, createIntegrations, resolveWebhookToken } from '../../src/db/repositories/integrations';
import { withTenant } from '../../src/db/tenant';
import { Keyring } from '../../src/security/encryption';
import { startTestApi, type TestApi, type TestOrganization } from '../support/api';
import { runEntryPoint } from '../support/processes';
import { createTestDatabase, type TestDatabase } from '../support/stack';

const k = (id: string): string => `${id}:${crypto.randomBytes(32).toString('base64')}`;

describe('integration secrets (real Postgres)', function () {
  this.timeout(120_000);
  const k1 = k('k1');
  const k2 = k('k2');
  const v1 = createIntegrations(new Keyring(k1));
  let t: TestDatabase;
  let orgA: string;
  let orgB: string;

  const superuserRows = async (sql: string): Promise<Record<string, unknown>[]> => {
    const client = new pg.Client({ connectionString: t.superuserUrl });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };

  before(async () => {
    t = await createTestDatabase();
    orgA = (await createOrganizationWithAdminKey(t.db, 'A')).organization.id;
    orgB = (await createOrganizationWithAdminKey(t.db, 'B')).organization.id;
  });
  after(async () => {
    await t?.drop();
  });

  it('stores the Smartlead API key encrypted, with its key id, and loads it back', async () => {
    await withTenant(t.db, orgA, (tx) => v1.saveSmartleadCredentials(tx, orgA, { apiKey: 'sl-secret-A', baseUrl: 'http://127.0.0.1:9/api/v1' }));
    const loaded = await withTenant(t.db, orgA, (tx) => v1.loadSmartleadCredentials(tx, orgA));
    assert.deepEqual({ ...loaded, fingerprint: undefined }, { apiKey: 'sl-secret-A', baseUrl: 'http://127.0.0.1:9/api/v1', status: 'configured', brokenReason: null, fingerprint: undefined });
    assert.match(loaded!.fingerprint, /^[0-9a-f]{64}$/);
    assert.ok(!loaded!.fingerprint.includes('sl-secret-A'));
    const [row] = await superuserRows('select api_key_ciphertext, encryption_key_id from integration_credentials');
    assert.equal(row!.encryption_key_id, 'k1');
    assert.ok(!String(row!.api_key_ciphertext).includes('sl-secret-A'));
    assert.equal(await withTenant(t.db, orgB, (tx) => v1.loadSmartleadCredentials(tx, orgB)), undefined, 'B has none (and cannot see A’s)');
  });

  it('refuses a ciphertext copied into another organization', async () => {
    await withTenant(t.db, orgB, (tx) => v1.saveSmartleadCredentials(tx, orgB, { apiKey: 'sl-secret-B' }));
    const [a] = await superuserRows(`select api_key_ciphertext from integration_credentials where organization_id = '${orgA}'`);
    const client = new pg.Client({ connectionString: t.superuserUrl });
    await client.connect();
    await client.query('update integration_credentials set api_key_ciphertext = $1 where organization_id = $2', [a!.api_key_ciphertext, orgB]);
    await client.end();
    await assert.rejects(withTenant(t.db, orgB, (tx) => v1.loadSmartleadCredentials(tx, orgB)), /integrity check/);
    await withTenant(t.db, orgB, (tx) => v1.saveSmartleadCredentials(tx, orgB, { apiKey: 'sl-secret-B' }));
  });

  it('marks credentials broken, and a new key clears it', async () => {
    assert.equal(await withTenant(t.db, orgA, (tx) => v1.markIntegrationBroken(tx, orgA, 'Smartlead answered 401: the API key was revoked')), true);
    const status = await withTenant(t.db, orgA, (tx) => v1.smartleadStatus(tx));
    assert.deepEqual([status.status, status.brokenReason], ['broken', 'Smartlead answered 401: the API key was revoked']);
    await withTenant(t.db, orgA, (tx) => v1.saveSmartleadCredentials(tx, orgA, { apiKey: 'sl-secret-A2' }));
    assert.equal((await withTenant(t.db, orgA, (tx) => v1.smartleadStatus(tx))).status, 'configured');
  });

  it('resolves a webhook token to its organization only while it is valid, and rotates with a grace period', async () => {
    const first = await withTenant(t.db, orgA, (tx) => v1.createWebhookToken(tx, orgA, { secretKey: 'the-shared-secret-123' }));
    assert.match(first.token, /^whk_[\w-]{43}$/);
    const resolved = await resolveWebhookToken(t.db, first.token);
    assert.deepEqual([resolved?.id, resolved?.organizationId], [first.id, orgA]);
    assert.match(resolved?.secretKeyHash ?? '', /^[0-9a-f]{64}$/, 'the secret comes back as its hash, never in clear');
    assert.equal(await resolveWebhookToken(t.db, 'whk_unknown'), undefined);
    assert.equal(await resolveWebhookToken(t.db, 'drk_not-a-webhook-token'), undefined);

    const second = await withTenant(t.db, orgA, (tx) => v1.rotateWebhookToken(tx, orgA));
    assert.ok(await resolveWebhookToken(t.db, first.token), 'the old token keeps working during the grace period');
    assert.equal((await withTenant(t.db, orgA, (tx) => v1.currentWebhookToken(tx)))?.token, second.token);
    assert.equal(checkWebhookSecret((await resolveWebhookToken(t.db, second.token))!.secretKeyHash, 'the-shared-secret-123'), 'ok', 'the secret carries over');

    await withTenant(t.db, orgA, (tx) => v1.rotateWebhookToken(tx, orgA, { graceMs: 0 }));
    assert.equal(await resolveWebhookToken(t.db, first.token), undefined);
    assert.equal(await resolveWebhookToken(t.db, second.token), undefined, 'graceMs 0 cuts old tokens off at once');
  });

  const secretChecks: [string, unknown, string][] = [
    ['the right secret', 'the-shared-secret-123', 'ok'],
    ['a wrong secret', 'the-shared-secret-124', 'mismatch'],
    ['no secret', undefined, 'missing'],
    ['a non-string secret', 123, 'missing'],
  ];
  for (const [what, presented, expected] of secretChecks) {
    it(`checks a webhook secret_key: ${what} → ${expected}`, async () => {
      const current = await withTenant(t.db, orgA, (tx) => v1.currentWebhookToken(tx));
      assert.equal(checkWebhookSecret((await resolveWebhookToken(t.db, current!.token))!.secretKeyHash, presented), expected);
    });
  }

  it('re-encrypts every secret with the current key (and is safe to re-run)', async () => {
    await withTenant(t.db, orgB, (tx) => v1.createWebhookToken(tx, orgB));
    const v2 = createIntegrations(new Keyring(`${k2},${k1}`));
    const tokenBefore = await withTenant(t.db, orgA, (tx) => v1.currentWebhookToken(tx));
    const result = await v2.rotateEncryptionKeys(t.db);
    assert.equal(result.organizations, 2);
    assert.ok(result.secrets >= 5, `re-encrypted ${result.secrets}`);
    assert.deepEqual(await v2.rotateEncryptionKeys(t.db), { organizations: 0, secrets: 0 }, 'nothing left to do');
    const ids = await superuserRows('select encryption_key_id from integration_credentials union all select encryption_key_id from webhook_tokens');
    assert.deepEqual([...new Set(ids.map((r) => r.encryption_key_id))], ['k2']);

    // k1 can now be dropped: everything decrypts with k2 alone.
    const only2 = createIntegrations(new Keyring(k2));
    assert.equal((await withTenant(t.db, orgA, (tx) => only2.loadSmartleadCredentials(tx, orgA)))?.apiKey, 'sl-secret-A2');
    assert.equal((await withTenant(t.db, orgA, (tx) => only2.currentWebhookToken(tx)))?.token, tokenBefore?.token);
    const current = await withTenant(t.db, orgA, (tx) => only2.currentWebhookToken(tx));
    assert.equal(checkWebhookSecret((await resolveWebhookToken(t.db, current!.token))!.secretKeyHash, 'the-shared-secret-123'), 'ok');
  });

  it('runs as `npm run rotate-keys` (src/workers/rotateKeys.ts) against a configured database', async () => {
    const k3 = k('k3');
    const run = runEntryPoint('src/workers/rotateKeys.ts', { DATABASE_URL: t.appUrl, DRASON_ENCRYPTION_KEYS: `${k3},${k2}`, LOG_LEVEL: 'warn' });
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), /Re-encrypted \d+ secret\(s\) in 2 organization\(s\) with key "k3"/);
    assert.ok(!run.output().includes(k3.split(':')[1]!), 'key material is never printed');
    const ids = await superuserRows('select distinct encryption_key_id from integration_credentials');
    assert.deepEqual(ids, [{ encryption_key_id: 'k3' }]);
  });

  it('refuses to start the rotation with a malformed key list, naming the variable', async () => {
    const run = runEntryPoint('src/workers/rotateKeys.ts', { DATABASE_URL: t.appUrl, DRASON_ENCRYPTION_KEYS: 'k1:short' });
    assert.equal(await run.exited, 1);
    assert.match(run.output(), /DRASON_ENCRYPTION_KEYS: key "k1" must be 32 bytes/);
  });
});

describe('PUT /v1/integrations/smartlead with a baseUrl that is not a URL (real API)', function () {
  this.timeout(120_000);
  let api: TestApi;
  let org: TestOrganization;

  before(async () => {
    api = await startTestApi();
    org = await api.createOrganization('Typo Co');
  });
  after(async () => {
    await api?.stop();
  });

  for (const baseUrl of ['', 'not a url', 'http://127.0.0.1:70000']) {
    it(`answers ${JSON.stringify(baseUrl)} with 422 problem+json naming baseUrl, and saves nothing`, async () => {
      const reply = await api.call('PUT', '/v1/integrations/smartlead', { token: org.adminKey, body: { apiKey: 'sl-typo-key', baseUrl } });
      assert.equal(reply.status, 422, reply.text);
      assert.match(reply.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.deepEqual(reply.json.errors, [{ path: 'baseUrl', message: 'must be an http or https URL' }]);
      const status = await api.call('GET', '/v1/integrations/smartlead', { token: org.adminKey });
      assert.equal(status.json.configured, false);
      assert.equal(status.json.webhookConfigured, false);
    });
  }
});
