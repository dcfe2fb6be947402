/**
 * The mailbox engine end to end, over HTTP, as a customer wires it: the real API and worker (relay, Temporal
 * worker) in this process, real PostgreSQL and Temporal, and the local Smartlead simulator, which is the
 * integration Drason syncs from, the sender whose Smartlead-shaped webhooks report sends and bounces, and the API
 * Drason suspends email accounts through. One organization per mode, each with the simulator's demo mailboxes.
 *
 * - enforce: a bounce storm on one mailbox (sustain 0) suspends it at the simulator exactly once; the healthy
 *   mailbox is untouched; exactly one audit entry says so, naming mailbox, metric, observed value, threshold, window.
 * - observe: the simulator records no suspend; the audit says "would have".
 * - suggest: a recommendation appears; applying it suspends once.
 * - Smartlead answering 429 and then 5xx for a minute: still exactly one suspend once it recovers.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createSmartleadSimulator, type SimCall, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { seedDemoState } from '../../src/smartlead/simulator/seed';
import { allAudit, unexplained } from '../support/auditExplained';
import { callJson, organizationOnSimulator, startEngineStack, type EngineStack, type Json } from '../support/api';
import { until } from '../support/processes';

const STORM = 'sam@getdrason-mail.com'; // simulator account 5002
const STORM_ACCOUNT = '5002';
const HEALTHY = 'alex@getdrason-mail.com'; // simulator account 5001
const CAMPAIGN = 1001;
const USER_UNKNOWN = '550 5.1.1 <nobody@prospect.example>: Recipient address rejected: User unknown in virtual mailbox table';

describe('mailbox engine end to end over HTTP (Smartlead simulator, Smartlead-shaped webhooks)', function () {
  this.timeout(300_000);
  let stack: EngineStack;
  const platformToken = `platform-${crypto.randomUUID()}`;
  const sims: SmartleadSimulator[] = [];

  before(async () => {
    stack = await startEngineStack(platformToken, 'engine-e2e');
  });

  after(async () => {
    await stack?.stop();
    for (const sim of sims) await sim.stop();
  });

  const call = (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Json }> => callJson(stack.apiUrl, method, path, token, body);

  /** An organization in `mode`, its Smartlead integration (a fresh simulator, synced), and the simulator's webhooks pointed at it. */
  async function customer(mode: 'observe' | 'suggest' | 'enforce'): Promise<{ key: string; sim: SmartleadSimulator; organizationId: string }> {
    const sim = createSmartleadSimulator({ rateLimit: { maxRequests: 10, perMs: 2000 } });
    seedDemoState(sim.state);
    await sim.start(0);
    sims.push(sim);
    const { key, organizationId } = await organizationOnSimulator(stack.apiUrl, platformToken, sim, {
      name: `Engine ${mode}`,
      mailboxes: 8,
      settings: { mode, thresholds: { sustainMinutes: 0, minSample: 20 } },
    });
    keys.push(key);
    return { key, sim, organizationId };
  }
  /** Every customer's admin key, for the closing audit check. */
  const keys: string[] = [];

  /** 40 sends from each mailbox, then 10 "user unknown" bounces on the storm mailbox: 25% against a 5% pause threshold. */
  async function storm(sim: SmartleadSimulator): Promise<void> {
    const events = [];
    for (let i = 0; i < 40; i += 1) {
      for (const from of [STORM, HEALTHY]) events.push({ type: 'EMAIL_SENT', fromEmail: from, toEmail: `lead${i}@prospect.example`, campaignId: CAMPAIGN });
    }
    for (let i = 0; i < 10; i += 1) {
      events.push({ type: 'EMAIL_BOUNCE', fromEmail: STORM, toEmail: `lead${i}@prospect.example`, campaignId: CAMPAIGN, bounce: { message: USER_UNKNOWN } });
    }
    const delivered = await sim.emitMany(events);
    assert.deepEqual(
      delivered.filter((d) => d.status !== 202).map((d) => `${d.eventType} ${d.status} ${d.error ?? ''}`),
      [],
      'every webhook acknowledged',
    );
  }

  /** Calls Smartlead answered (no injected fault, a valid key, within its rate limit). */
  const answered = (c: SimCall): boolean => c.fault === undefined && c.key === 'valid' && !c.overLimit;
  const suspendCalls = (sim: SmartleadSimulator, account = STORM_ACCOUNT): SimCall[] =>
    sim.calls.filter((c) => c.method === 'PUT' && c.path === `/email-accounts/suspend/${account}` && answered(c));
  const anyCallTouching = (sim: SmartleadSimulator, account: string): SimCall[] =>
    sim.calls.filter((c) => /suspend/.test(c.path) && c.path.endsWith(`/${account}`));
  const mailboxAudit = async (key: string, mailbox: string): Promise<{ action: string; message: string; trigger: Json; mode: string }[]> =>
    (await call('GET', `/v1/audit?entityType=mailbox&entityId=${encodeURIComponent(mailbox)}&limit=200`, key)).json.items;

  it('enforce: a bounce storm suspends that mailbox in Smartlead exactly once, leaves the healthy one alone, and says why in one audit entry', async () => {
    const { key, sim } = await customer('enforce');
    await storm(sim);
    await until(async () => (sim.state.findEmailAccountByEmail(STORM)?.isSuspended === true ? true : undefined), 120_000, 'the storm mailbox to be suspended');
    const mailbox = (await call('GET', `/v1/mailboxes/${STORM}`, key)).json;
    await until(async () => ((await call('GET', `/v1/mailboxes/${STORM}`, key)).json.state === 'paused' ? true : undefined), 30_000, 'the API to show it paused');

    const paused = (await mailboxAudit(key, STORM)).filter((a) => a.action === 'mailbox_paused');
    assert.equal(paused.length, 1, 'exactly one pause entry');
    const entry = paused[0]!;
    assert.match(entry.message, new RegExp(STORM.replace('.', '\\.')));
    assert.equal(entry.trigger.metric, 'hardBounceRate');
    assert.equal(typeof entry.trigger.observed, 'number');
    assert.equal(entry.trigger.threshold, 0.05);
    assert.ok(entry.trigger.observed >= entry.trigger.threshold, `observed ${entry.trigger.observed}`);
    assert.ok(typeof entry.trigger.window === 'string' && entry.trigger.window.length > 0, 'names the window');
    const percent = (x: number): string => `${Number((x * 100).toFixed(2))}%`;
    assert.ok(entry.message.includes(`hard-bounce rate ${percent(entry.trigger.observed)}`), `states the observed rate: ${entry.message}`);
    assert.ok(entry.message.includes('pause threshold 5%'), `states the threshold: ${entry.message}`);
    assert.match(entry.message, /Suspended in Smartlead/);

    assert.equal(suspendCalls(sim).length, 1, 'one suspend reached Smartlead');
    assert.deepEqual(anyCallTouching(sim, '5001'), [], 'the healthy mailbox was never suspended or touched');
    assert.notEqual((await call('GET', `/v1/mailboxes/${HEALTHY}`, key)).json.state, 'paused');
    assert.ok(mailbox.riskScore === undefined || typeof mailbox.riskScore === 'number');
    const now = (await call('GET', `/v1/mailboxes/${STORM}`, key)).json;
    assert.ok(now.riskScore > 0, 'a paused, bouncing mailbox carries risk');
    assert.ok(Date.parse(now.cooldownUntil) > Date.now(), 'a cooldown is running');
  });

  it('observe: nothing reaches Smartlead, and the audit says what Drason would have done', async () => {
    const { key, sim } = await customer('observe');
    await storm(sim);
    const wouldHave = await until(
      async () => {
        const found = (await mailboxAudit(key, STORM)).filter((a) => a.action === 'mailbox_would_pause');
        return found.length > 0 ? found : undefined;
      },
      120_000,
      'a "would have paused" entry',
    );
    assert.equal(wouldHave.length, 1);
    assert.match(wouldHave[0]!.message, /[Ww]ould have paused/);
    assert.equal(wouldHave[0]!.mode, 'observe');
    assert.deepEqual(sim.calls.filter((c) => /suspend/.test(c.path)), [], 'no suspend or unsuspend call');
    assert.equal(sim.state.findEmailAccountByEmail(STORM)?.isSuspended, false);
  });

  it('suggest: a recommendation appears, nothing is suspended until an operator applies it, and applying it suspends once', async () => {
    const { key, sim } = await customer('suggest');
    await storm(sim);
    const recommendation = await until(
      async () => {
        const items = (await call('GET', '/v1/recommendations?status=pending', key)).json.items as Json[];
        return items.find((r) => r.entityId === STORM && r.action === 'pause');
      },
      120_000,
      'a pause recommendation',
    );
    assert.match(recommendation.message, new RegExp(STORM.replace('.', '\\.')));
    assert.deepEqual(suspendCalls(sim), [], 'suggest takes no action by itself');

    const operator = await call('POST', '/v1/api-keys', key, { name: 'ops', role: 'operator' });
    assert.equal(operator.status, 201, JSON.stringify(operator.json));
    const applied = await call('POST', `/v1/recommendations/${recommendation.id}/apply`, operator.json.key);
    assert.equal(applied.status, 202, JSON.stringify(applied.json));
    await until(async () => (sim.state.findEmailAccountByEmail(STORM)?.isSuspended === true ? true : undefined), 120_000, 'the applied recommendation to suspend the mailbox');
    await until(
      async () => ((await call('GET', '/v1/recommendations?status=applied', key)).json.items as Json[]).find((r) => r.id === recommendation.id),
      30_000,
      'the recommendation to read as applied',
    );
    // Applying again is refused, and nothing is suspended twice.
    assert.equal((await call('POST', `/v1/recommendations/${recommendation.id}/apply`, operator.json.key)).status, 409);
    assert.equal(suspendCalls(sim).length, 1);
  });

  it('Smartlead answering 429, then 5xx, for a minute: exactly one suspend once it recovers', async function () {
    this.timeout(420_000);
    const { key, sim } = await customer('enforce');
    // Smartlead refuses the first three attempts with 429 (Retry-After 5 s) and the fourth with 502; with the
    // engine's retry policy (5 s doubling to 1 min, Retry-After first) the fifth attempt comes about a minute after
    // the first. Counted in attempts, not timed: nothing here waits for the clock.
    sim.faults.rateLimit(3, { path: '^/email-accounts/', retryAfterSeconds: 5 });
    sim.faults.serverError(1, { path: '^/email-accounts/', status: 502 });
    await storm(sim);
    await until(async () => (sim.state.findEmailAccountByEmail(STORM)?.isSuspended === true ? true : undefined), 150_000, 'the suspend once Smartlead recovers').catch(async (error: unknown) => {
      const audit = (await mailboxAudit(key, STORM)).map((a) => `${a.action}: ${a.message}`);
      const calls = sim.calls.filter((c) => c.path.startsWith('/email-accounts')).map((c) => `${new Date(c.at).toISOString()} ${c.method} ${c.path} ${c.fault ?? ''}`);
      throw new Error(`${String(error)}\naudit:\n${audit.join('\n')}\ncalls:\n${calls.join('\n')}`);
    });
    const refused = sim.calls.filter((c) => /^\/email-accounts\//.test(c.path) && c.fault !== undefined);
    assert.ok(refused.length > 0, 'Smartlead refused at least one attempt meanwhile');
    assert.deepEqual(refused.map((c) => c.fault), ['rate_limit', 'rate_limit', 'rate_limit', 'server_error'], 'every refusal reached the engine, in order');
    assert.equal(suspendCalls(sim).length, 1, 'exactly one suspend succeeded');
    const audit = await mailboxAudit(key, STORM);
    assert.equal(audit.filter((a) => a.action === 'mailbox_paused').length, 1, 'one pause entry');
    assert.ok(audit.filter((a) => a.action === 'mailbox_action_retrying').length <= 1, 'the retrying failure is audited once, not per attempt');
  });

  it('every action taken above, in every mode, left exactly one audit entry naming the mailbox, the metric and the threshold', async () => {
    assert.ok(keys.length > 0);
    for (const key of keys) assert.deepEqual(unexplained(await allAudit(stack.apiUrl, key)), []);
  });
});
