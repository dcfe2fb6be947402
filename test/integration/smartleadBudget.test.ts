/**
 * The Smartlead rate budget shared by every worker process (issue 12, decision 016), on a real database against the
 * simulator: clients built the way each worker process builds them (`smartleadAccess(...).clientFor`, one per
 * "process") share one budget per organization and key; a different organization and a rotated key get their own;
 * the integration's budget comes from `PUT /v1/integrations/smartlead` and changing it is audited. The simulator's
 * own per-key limit is set to the same windows, so a request over the budget would show as a 429 there.
 */
import assert from 'node:assert/strict';
import { config, parseConfig } from '../../src/config';
import { smartleadAccess, type SmartleadActivityDeps } from '../../src/activities/smartlead';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { createIntegrations, smartleadBudgetStore, type Integrations } from '../../src/db/repositories/integrations';
import { withTenant } from '../../src/db/tenant';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { SmartleadRateLimitedError, resetSmartleadRegistries, windowsOf, type RateWindow } from '../../src/smartlead';
import { createSmartleadSimulator, type SimCall, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { startTestApi, type TestApi } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { maxInWindow } from '../smartlead/helpers';

function assertWithin(calls: readonly SimCall[], windows: readonly RateWindow[]): void {
  for (const w of windows) {
    const most = maxInWindow(calls, w.perMs);
    assert.ok(most <= w.maxRequests, `${most} calls in some ${w.perMs} ms window, budget ${w.maxRequests}`);
  }
}

/** Client options of a test "process": no in-process spacing to speak of, so only the shared budget limits. */
const LOOSE_LOCAL = { rateLimit: { maxRequests: 1000, perMs: 1000 }, timeoutMs: 5000, retry: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100, maxRetryAfterMs: 1000 } };

describe('Smartlead rate budget shared across processes (real Postgres, simulator)', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let sim: SmartleadSimulator;
  let integrations: Integrations;
  let orgA: string;
  let orgB: string;
  let orgC: string;
  const key = 'sim-budget-key-1';

  /** A client as one worker process builds it for `organizationId`. */
  const processClient = async (organizationId: string, rateBudget: SmartleadActivityDeps['rateBudget']) =>
    (await smartleadAccess({ db: database.db, integrations, clientOptions: LOOSE_LOCAL, rateBudget }).clientFor(organizationId)).client;

  before(async () => {
    resetSmartleadRegistries();
    database = await createTestDatabase();
    integrations = createIntegrations(new Keyring(generateEncryptionKeySpec('k1')));
    sim = createSmartleadSimulator({ apiKey: key, rateLimit: false });
    await sim.start();
    sim.state.addCampaign({ id: 3001, name: 'Budget' });
    orgA = (await createOrganizationWithAdminKey(database.db, 'Budget A')).organization.id;
    orgB = (await createOrganizationWithAdminKey(database.db, 'Budget B')).organization.id;
    orgC = (await createOrganizationWithAdminKey(database.db, 'Budget C')).organization.id;
    for (const org of [orgA, orgB, orgC]) await withTenant(database.db, org, (tx) => integrations.saveSmartleadCredentials(tx, org, { apiKey: key, baseUrl: sim.url }));
  });
  beforeEach(() => {
    sim.clearCalls();
    sim.limiter.reset();
  });
  after(async () => {
    await sim?.stop();
    await database?.drop();
  });

  it('two processes on one organization never exceed the budget in any window together, and wait instead of failing', async () => {
    const windows: RateWindow[] = [{ maxRequests: 4, perMs: 500 }];
    sim.limiter.config = windows[0]!; // Smartlead's side counts the same window
    const budget = { windows, maxWaitMs: 10_000 };
    const first = await processClient(orgC, budget);
    const second = await processClient(orgC, budget);
    const perClient = 12;
    const results = await Promise.allSettled([
      ...Array.from({ length: perClient }, () => first.getCampaign(3001)),
      ...Array.from({ length: perClient }, () => second.getCampaign(3001)),
    ]);
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), [], 'every call waited for its slot and succeeded');
    assert.equal(sim.calls.length, 2 * perClient, 'one request per call: nothing was refused and retried');
    assert.deepEqual(sim.overLimit, [], 'the simulator saw no request over its per-key limit');
    assert.ok(sim.calls.every((c) => c.status === 200));
    assertWithin(sim.calls, windows);
  });

  it("a 429 one process receives holds back every process using the key until its Retry-After, not only its own", async () => {
    sim.limiter.config = null;
    const windows: RateWindow[] = [{ maxRequests: 100, perMs: 1000 }]; // roomy: only the 429 holds anything back
    const first = await processClient(orgC, { windows, maxWaitMs: 10_000 });
    sim.faults.rateLimit(1, { retryAfterSeconds: 3 });
    // Its Retry-After is over the client's own retry limit (1 s), so the call fails for Temporal to retry later.
    await assert.rejects(first.getCampaign(3001), (e: unknown) => e instanceof SmartleadRateLimitedError && e.status === 429);
    assert.equal(sim.calls.length, 1);
    const refused = sim.calls[0]!;

    resetSmartleadRegistries(); // another worker process: it never saw the 429 itself
    const other = await processClient(orgC, { windows, maxWaitMs: 0 });
    await assert.rejects(
      other.getCampaign(3001),
      (e: unknown) => e instanceof SmartleadRateLimitedError && /shared rate budget/.test(e.message) && e.retryAfterMs > 0,
    );
    assert.equal(sim.calls.length, 1, 'the other process sent nothing during the hold');

    const patient = await processClient(orgC, { windows, maxWaitMs: 10_000 });
    await patient.getCampaign(3001);
    assert.equal(sim.calls.length, 2);
    assert.equal(sim.calls[1]!.status, 200);
    assert.ok(sim.calls[1]!.at >= refused.at + 3000, `sent ${sim.calls[1]!.at - refused.at} ms after the 429 that asked for 3,000`);
  });

  it('a shorter Retry-After never shortens a longer hold already recorded', async () => {
    const store = smartleadBudgetStore(database.db, orgB, [{ maxRequests: 100, perMs: 1000 }]);
    const fingerprint = 'ab'.repeat(16);
    await store.hold!(fingerprint, 60_000);
    await store.hold!(fingerprint, 1000);
    const slot = await store.reserve(fingerprint, 0);
    assert.equal(slot.granted, false);
    assert.ok(slot.waitMs > 50_000, `next slot in ${slot.waitMs} ms`);
  });

  it('a different organization has its own budget, and a rotated key starts with a fresh one', async () => {
    sim.limiter.config = null;
    const budget = { windows: [{ maxRequests: 2, perMs: 60_000 }], maxWaitMs: 0 };
    const a = await processClient(orgA, budget);
    await a.listCampaigns();
    await a.listCampaigns();
    await assert.rejects(a.listCampaigns(), (e: unknown) => e instanceof SmartleadRateLimitedError && /shared rate budget/.test(e.message) && e.status === undefined);
    assert.equal(sim.calls.length, 2, 'the refused call never reached Smartlead');

    const b = await processClient(orgB, budget);
    await b.listCampaigns();
    await b.listCampaigns();
    assert.equal(sim.calls.length, 4, "organization B's calls are not held by A's spent budget");

    const rotated = sim.rotateKey('sim-budget-key-2');
    await withTenant(database.db, orgA, (tx) => integrations.saveSmartleadCredentials(tx, orgA, { apiKey: rotated }));
    const a2 = await processClient(orgA, budget);
    await a2.listCampaigns();
    await a2.listCampaigns();
    assert.equal(sim.calls.length, 6, 'the new key has a fresh budget');
    await assert.rejects(a2.listCampaigns(), SmartleadRateLimitedError);
    const rows = await withTenant(database.db, orgA, (tx) => tx('smartlead_rate_budgets').select('key_fingerprint'));
    assert.equal(rows.length, 2, 'one budget row per key fingerprint of the organization');
    assert.ok(rows.every((r: { key_fingerprint: string }) => !r.key_fingerprint.includes('sim-budget')), 'rows hold fingerprints, never keys');
  });
});

describe('Smartlead budget per integration through the API (real API, simulator)', function () {
  this.timeout(120_000);
  let api: TestApi;
  let sim: SmartleadSimulator;

  before(async () => {
    resetSmartleadRegistries();
    api = await startTestApi();
    sim = createSmartleadSimulator({ apiKey: 'sim-budget-api', rateLimit: false });
    await sim.start();
  });
  after(async () => {
    await sim?.stop();
    await api?.stop();
  });

  it('takes rateLimit on PUT, shows it on GET, audits a change, and the clients of every process use it', async () => {
    const org = await api.createOrganization('Budget API Co');
    const status = async () => (await api.call('GET', '/v1/integrations/smartlead', { token: org.adminKey })).json;
    const put = (body: Record<string, unknown>) => api.call('PUT', '/v1/integrations/smartlead', { token: org.adminKey, body: { apiKey: 'sim-budget-api', baseUrl: sim.url, ...body } });

    assert.equal((await put({})).status, 200);
    const byDefault = config().smartleadBudget; // SMARTLEAD_RATE_LIMIT_PER_MINUTE / _BURST (test/support/hooks.ts), else 60 and 10
    assert.deepEqual((await status()).rateLimit, { ...byDefault, source: 'default' });

    const invalid = await put({ rateLimit: { requestsPerMinute: 5, burst: 10 } });
    assert.equal(invalid.status, 422, invalid.text);
    assert.deepEqual(invalid.json.errors, [{ path: 'rateLimit.burst', message: 'must be at most requestsPerMinute' }]);

    const budget = { requestsPerMinute: 6, burst: 3 };
    assert.equal((await put({ rateLimit: budget })).status, 200);
    assert.deepEqual((await status()).rateLimit, { ...budget, source: 'integration' });
    assert.equal((await put({})).status, 200, 'saving again without rateLimit keeps it');
    assert.deepEqual((await status()).rateLimit, { ...budget, source: 'integration' });

    // Two processes' clients, with the integration's budget; the simulator counts the same windows.
    const windows = windowsOf(budget);
    const deps = { db: api.database.db, integrations: api.integrations, clientOptions: LOOSE_LOCAL, rateBudget: { maxWaitMs: 10_000 } };
    sim.limiter.config = windows[1]!;
    const clients = [(await smartleadAccess(deps).clientFor(org.id)).client, (await smartleadAccess(deps).clientFor(org.id)).client];
    await Promise.all([0, 1, 2, 3, 4, 5].map((i) => clients[i % 2]!.listCampaigns()));
    assert.equal(sim.calls.length, 6);
    assert.deepEqual(sim.overLimit, []);
    assertWithin(sim.calls, windows);
    await assert.rejects(
      smartleadAccess({ ...deps, rateBudget: { maxWaitMs: 0 } }).clientFor(org.id).then(({ client }) => client.listCampaigns()),
      SmartleadRateLimitedError,
      'the minute is spent: a seventh call in it has no slot',
    );

    const raised = { requestsPerMinute: 120, burst: 20 };
    assert.equal((await put({ rateLimit: raised })).status, 200);
    sim.clearCalls();
    sim.limiter.reset();
    sim.limiter.config = windowsOf(raised)[1]!;
    const fresh = (await smartleadAccess(deps).clientFor(org.id)).client;
    await Promise.all(Array.from({ length: 8 }, () => fresh.listCampaigns()));
    assert.equal(sim.calls.length, 8, 'the raised budget is in force at once');
    assert.deepEqual(sim.overLimit, []);
    assertWithin(sim.calls, windowsOf(raised));

    const audit = (await api.call('GET', '/v1/audit?entityType=integration&limit=50', { token: org.adminKey })).json.items as { action: string; message: string }[];
    const changes = audit.filter((e) => e.action === 'rate_limit_changed').map((e) => e.message);
    assert.equal(changes.length, 2, JSON.stringify(changes));
    const from = `from ${byDefault.requestsPerMinute} requests a minute with bursts of ${byDefault.burst} a second (the default) to 6 requests a minute with bursts of 3 a second`;
    assert.ok(changes.some((m) => m.includes(from)), JSON.stringify(changes));
    assert.ok(changes.some((m) => /from 6 requests .* to 120 requests a minute with bursts of 20 a second/.test(m)), JSON.stringify(changes));

    assert.equal((await put({ rateLimit: null })).status, 200);
    assert.deepEqual((await status()).rateLimit, { ...byDefault, source: 'default' });
  });
});

describe('the default Smartlead budget from the environment', () => {
  it("is Smartlead's standard plan unless SMARTLEAD_RATE_LIMIT_PER_MINUTE / _BURST say otherwise, and a bad value stops the start", () => {
    assert.deepEqual(parseConfig({}).smartleadBudget, { requestsPerMinute: 60, burst: 10 });
    assert.deepEqual(parseConfig({ SMARTLEAD_RATE_LIMIT_PER_MINUTE: '120', SMARTLEAD_RATE_LIMIT_BURST: '20' }).smartleadBudget, { requestsPerMinute: 120, burst: 20 });
    assert.throws(() => parseConfig({ SMARTLEAD_RATE_LIMIT_PER_MINUTE: '5', SMARTLEAD_RATE_LIMIT_BURST: '10' }), /SMARTLEAD_RATE_LIMIT_BURST: must be at most SMARTLEAD_RATE_LIMIT_PER_MINUTE/);
    assert.throws(() => parseConfig({ SMARTLEAD_RATE_LIMIT_PER_MINUTE: 'sixty' }), /SMARTLEAD_RATE_LIMIT_PER_MINUTE/);
  });
});
