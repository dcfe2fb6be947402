/**
 * Scale-out end to end (issue 12): two API processes and two worker processes — the production entry points
 * (src/workers/api.ts, worker.ts), configured only by environment variables as the README documents — on the suite's
 * own PostgreSQL and Temporal, against the Smartlead simulator.
 *
 * - A flood through both APIs (every event sent to both, as a retrying sender behind a balancer would) is stored and
 *   counted exactly once: the window counters hold each event once, whichever relay counted it.
 * - A bounce storm on one mailbox suspends it in Smartlead exactly once, although two workers run its workflow's
 *   task queue and two relays signal it.
 * - Smartlead never sees more requests per key than the integration's budget in any window, although both workers
 *   call it at once (syncs requested through both APIs).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { generateEncryptionKeySpec } from '../../src/security/encryption';
import { withTenant } from '../../src/db/tenant';
import { createSmartleadSimulator, type SimCall, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { callJson, organizationOnSimulator, type Json } from '../support/api';
import { runEntryPoint, until, type Running } from '../support/processes';
import { createTestDatabase, testTemporal, type TestDatabase } from '../support/stack';
import { maxInWindow } from '../smartlead/helpers';

const BUDGET = { maxRequests: 10, perMs: 2000 };
const DOMAIN = 'scale-out.example';
const MAILBOXES = Array.from({ length: 6 }, (_, i) => ({ id: 7100 + i, email: `box${i}@${DOMAIN}`, campaign: 8001 + (i % 3) }));
const STORM = MAILBOXES[0]!;
const CAMPAIGNS = [8001, 8002, 8003];
const SETTINGS = { mode: 'enforce', thresholds: { minSample: 20, sustainMinutes: 0, cooldownMinutes: 60 } };

describe('two API and two worker processes on one PostgreSQL and one Temporal (end to end)', function () {
  this.timeout(300_000);
  let database: TestDatabase;
  let sim: SmartleadSimulator;
  const processes: Running[] = [];
  const apis: string[] = [];
  let key = '';
  let organizationId = '';
  const platformToken = `platform-${crypto.randomUUID()}`;

  before(async () => {
    database = await createTestDatabase();
    const temporal = await testTemporal();
    const env = {
      NODE_ENV: 'test', // production refuses the simulator's loopback base URL; everything else is as in production
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      DATABASE_URL: database.appUrl,
      DATABASE_OWNER_URL: database.ownerUrl,
      DATABASE_POOL_MAX: '5',
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: `scale-out-${crypto.randomUUID()}`,
      DRASON_ADMIN_TOKEN: platformToken,
      DRASON_ENCRYPTION_KEYS: generateEncryptionKeySpec('k1'),
      // The shared budget (one per key, across processes): 5 a second and 300 a minute never put more than 10 into
      // the simulator's 2-second window. The per-process guard alone would allow 10 per 2 s in EACH process.
      SMARTLEAD_RATE_LIMIT_PER_MINUTE: '300',
      SMARTLEAD_RATE_LIMIT_BURST: '5',
      SMARTLEAD_RATE_LIMIT_REQUESTS: String(BUDGET.maxRequests),
      SMARTLEAD_RATE_LIMIT_WINDOW_MS: String(BUDGET.perMs),
      SMARTLEAD_SYNC_INTERVAL_MINUTES: '60',
    };
    for (let i = 0; i < 2; i += 1) {
      const api = runEntryPoint('src/workers/api.ts', { ...env, PORT: '0' });
      processes.push(api);
      const worker = runEntryPoint('src/workers/worker.ts', { ...env, PORT: '0' });
      processes.push(worker);
    }
    for (const p of processes.filter((_, i) => i % 2 === 0)) apis.push((await p.waitFor(/API listening on (http:\/\/127\.0\.0\.1:\d+)/, 120_000))[1]!);
    for (const p of processes.filter((_, i) => i % 2 === 1)) await p.waitFor(/worker polling task queue/, 120_000);

    sim = createSmartleadSimulator({ rateLimit: BUDGET });
    for (const id of CAMPAIGNS) sim.state.addCampaign({ id, name: `Scale ${id}`, status: 'ACTIVE' });
    for (const m of MAILBOXES) sim.state.addEmailAccount({ id: m.id, fromEmail: m.email, campaignIds: [m.campaign] });
    await sim.start(0);
    ({ key, organizationId } = await organizationOnSimulator(apis[0]!, platformToken, sim, { name: 'Scale out', mailboxes: MAILBOXES.length, settings: SETTINGS }));
  });

  after(async () => {
    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await sim?.stop();
    await database?.drop();
  });

  it('counts a flood sent through both APIs exactly once, and suspends the storming mailbox exactly once', async () => {
    // 40 sends per mailbox, and 10 "user unknown" bounces on the storm mailbox (25% against a 5% pause threshold).
    const events: Json[] = [];
    for (const m of MAILBOXES) {
      for (let i = 0; i < 40; i += 1) events.push({ id: `sent-${m.id}-${i}`, type: 'EmailSent', occurredAt: new Date().toISOString(), mailbox: m.email, campaignId: String(m.campaign) });
    }
    for (let i = 0; i < 10; i += 1) events.push({ id: `bounce-${i}`, type: 'HardBounce', occurredAt: new Date().toISOString(), mailbox: STORM.email, campaignId: String(STORM.campaign) });
    // Every event through BOTH APIs, concurrently, in small batches: each must be stored and counted once.
    const batches: Json[][] = [];
    for (let i = 0; i < events.length; i += 20) batches.push(events.slice(i, i + 20));
    const replies = await Promise.all(batches.flatMap((batch) => apis.map((api) => callJson(api, 'POST', '/v1/events', key, { events: batch }))));
    assert.deepEqual([...new Set(replies.map((r) => r.status))], [202], JSON.stringify(replies.find((r) => r.status !== 202)?.json ?? null));

    const counted = async (): Promise<{ sent: number; bounces: number; stored: number }> =>
      withTenant(database.db, organizationId, async (tx) => {
        const [c] = (await tx('entity_counters').where({ entity_type: 'mailbox' }).sum({ sent: 'sent', bounces: 'hard_bounces' })) as { sent: string | null; bounces: string | null }[];
        const [s] = (await tx('events').whereIn('type', ['EmailSent', 'HardBounce']).count({ n: '*' })) as { n: string }[];
        return { sent: Number(c?.sent ?? 0), bounces: Number(c?.bounces ?? 0), stored: Number(s?.n ?? 0) };
      });
    const totals = await until(
      async () => {
        const t = await counted();
        return t.sent + t.bounces >= events.length ? t : undefined;
      },
      120_000,
      'every event to be counted',
    );
    assert.deepEqual(totals, { sent: 40 * MAILBOXES.length, bounces: 10, stored: events.length }, 'stored once and counted once');

    await until(async () => (sim.state.emailAccounts.get(STORM.id)?.isSuspended === true ? true : undefined), 120_000, `${STORM.email} to be suspended`);
    // Smartlead is called before the decision's transaction commits: read the state once it has.
    await until(
      async () => ((await callJson(apis[1]!, 'GET', `/v1/mailboxes/${encodeURIComponent(STORM.email)}`, key)).json.state === 'paused' ? true : undefined),
      60_000,
      `${STORM.email} to read as paused through the other API`,
    );
    const suspends = sim.calls.filter((c) => c.method === 'PUT' && c.path === `/email-accounts/suspend/${STORM.id}` && c.status === 200);
    assert.equal(suspends.length, 1, 'one suspend reached Smartlead');
    const paused = (await callJson(apis[0]!, 'GET', `/v1/audit?entityType=mailbox&entityId=${encodeURIComponent(STORM.email)}&limit=100`, key)).json.items.filter(
      (a: Json) => a.action === 'mailbox_paused',
    );
    assert.equal(paused.length, 1, 'one audit entry for the pause');
    for (const m of MAILBOXES.slice(1)) assert.notEqual(sim.state.emailAccounts.get(m.id)?.isSuspended, true, `${m.email} untouched`);
  });

  it('keeps every worker process within one Smartlead rate budget per key', async () => {
    // Work for both workers at once: two mailboxes paused by hand, leads for three campaigns (each keeps a mailbox
    // that sends), a sync — each half through one API. Alone, each process's own limiter would allow the budget;
    // together they must share it.
    const others = MAILBOXES.slice(1, 3);
    // Leads go to the two campaigns the storm did not touch (8001's risk score may hold its leads by now).
    const open = [8002, 8003];
    const rules = open.map((id) => ({ name: `Persona ${id}`, when: { persona: `P${id}` }, campaignId: String(id) }));
    assert.equal((await callJson(apis[0]!, 'PUT', '/v1/routing-rules', key, rules)).status, 200);
    const requests = [
      ...others.map((m, i) => callJson(apis[i % 2]!, 'POST', `/v1/mailboxes/${encodeURIComponent(m.email)}/override`, key, { action: 'pause', reason: 'scale-out test' })),
      ...Array.from({ length: 30 }, (_, i) =>
        callJson(apis[i % 2]!, 'POST', '/v1/webhooks/clay', key, { email: `lead${i}@prospects.example`, persona: `P${open[i % 2]}`, lead_score: 50, workable: true }),
      ),
      callJson(apis[1]!, 'POST', '/v1/integrations/smartlead/sync', key, {}),
    ];
    const replies = await Promise.all(requests);
    assert.ok(replies.every((r) => r.status < 300), JSON.stringify(replies.filter((r) => r.status >= 300).map((r) => r.json)));
    await until(
      async () => (others.every((m) => sim.state.emailAccounts.get(m.id)?.isSuspended === true) ? true : undefined),
      120_000,
      'every paused mailbox to be suspended in Smartlead',
    );
    await until(
      async () => (open.reduce((n, id) => n + sim.state.leadsOfCampaign(id).length, 0) >= 30 ? true : undefined),
      120_000,
      'every lead to be pushed',
    ).catch(async (error: unknown) => {
      const held = (await callJson(apis[0]!, 'GET', '/v1/leads?status=held&limit=3', key)).json.items.map((l: Json) => `${l.email}: ${l.holdReason}`);
      throw new Error(`${String(error)}; held: ${held.join(' | ')}`);
    });
    const calls: SimCall[] = sim.calls.filter((c) => c.key === 'valid');
    const worst = maxInWindow(calls, BUDGET.perMs);
    assert.ok(worst <= BUDGET.maxRequests, `at most ${BUDGET.maxRequests} requests in any ${BUDGET.perMs} ms window; saw ${worst} (of ${calls.length} calls)`);
    assert.equal(calls.filter((c) => c.overLimit).length, 0, 'Smartlead never answered 429 for going over its limit');
  });
});
