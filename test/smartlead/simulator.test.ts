/**
 * The simulator itself: Smartlead-like HTTP behaviour, its own rate limit, the admin API, and the webhook emitter.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { SmartleadAuthError, SmartleadClient, SmartleadNotFoundError, resetSmartleadRegistries, smartleadWebhookSchema } from '../../src/smartlead';
import { HARD_BOUNCE_MESSAGES, SOFT_BOUNCE_MESSAGES, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { seedDemoState } from '../../src/smartlead/simulator/seed';
import { clientFor, maxInWindow, sleep, startReceiver, startSimulator } from './helpers';

describe('Smartlead simulator', function () {
  this.timeout(15_000);
  let sim: SmartleadSimulator;

  afterEach(async () => {
    await sim.stop();
    resetSmartleadRegistries();
  });

  describe('HTTP API', () => {
    beforeEach(async () => {
      sim = await startSimulator({ rateLimit: { maxRequests: 5, perMs: 500 } });
      seedDemoState(sim.state);
    });

    const get = (path: string, key: string | null = sim.apiKey): Promise<Response> =>
      fetch(`${sim.url}${path}${path.includes('?') ? '&' : '?'}${key === null ? '' : `api_key=${encodeURIComponent(key)}`}`);

    it('authenticates with ?api_key= and answers 401 {message} otherwise', async () => {
      const ok = await get('/campaigns');
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('x-ratelimit-limit'), '5');
      const wrong = await get('/campaigns', 'nope');
      assert.equal(wrong.status, 401);
      assert.deepEqual(await wrong.json(), { message: 'Invalid API Key' });
      const none = await get('/campaigns', null);
      assert.equal(none.status, 401);
      assert.deepEqual(sim.calls.map((c) => c.key), ['valid', 'invalid', 'missing']);
    });

    it('answers 429 with Retry-After past its own limit, and records every over-limit arrival', async () => {
      const responses = await Promise.all(Array.from({ length: 8 }, () => get('/campaigns')));
      const statuses = responses.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
      const limited = responses.find((r) => r.status === 429);
      assert.ok(Number(limited?.headers.get('retry-after')) >= 1);
      assert.equal(sim.overLimit.length, 3);
      assert.ok(sim.overLimit.every((c) => c.overLimit && c.status === 429));
      assert.equal(maxInWindow(sim.calls, 500), 8, 'the window check sees the burst');
    });

    it('never records the API key', async () => {
      const key = sim.apiKey ?? '';
      await get('/leads/?email=maria%40techstartup.io');
      assert.deepEqual(sim.calls[0]?.query, { email: 'maria@techstartup.io' });
      assert.ok(!JSON.stringify(sim.calls).includes(key));
      const snapshot = await (await fetch(`${sim.origin}/__sim/state`)).text();
      assert.ok(!snapshot.includes(key));
    });

    it('de-duplicates leads per campaign and validates settings like Smartlead', async () => {
      const post = (body: unknown): Promise<Response> =>
        fetch(`${sim.url}/campaigns/1002/leads?api_key=${sim.apiKey ?? ''}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const first = (await (await post({ lead_list: [{ email: 'a@x.example' }, { email: 'A@x.example' }] })).json()) as Record<string, unknown>;
      assert.equal(first.upload_count, 1);
      assert.equal(first.duplicate_count, 1);
      const second = (await (await post({ lead_list: [{ email: 'a@x.example' }] })).json()) as Record<string, unknown>;
      assert.equal(second.upload_count, 0);
      assert.equal(second.already_added_to_campaign, 1);
      assert.equal(sim.state.leadsOfCampaign(1002).length, 1);
      const bad = await post({ lead_list: [{ email: 'b@x.example' }], settings: { update: true } });
      assert.equal(bad.status, 400);
      assert.deepEqual(await bad.json(), { error: '"settings.update" is not allowed' });
      const tooMany = await post({ lead_list: Array.from({ length: 101 }, (_, i) => ({ email: `n${i}@x.example` })) });
      assert.equal(tooMany.status, 400);
    });
  });

  describe('admin API (/__sim)', () => {
    beforeEach(async () => {
      sim = await startSimulator({ rateLimit: { maxRequests: 50, perMs: 250 } });
      seedDemoState(sim.state);
    });

    const admin = async (method: string, path: string, body?: unknown): Promise<unknown> => {
      const res = await fetch(`${sim.origin}/__sim${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      assert.equal(res.status, 200, `${method} ${path}`);
      return res.json();
    };

    it('drives faults, key revocation and rotation, and deletions from another process', async () => {
      const client = clientFor(sim, { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 } });
      await admin('POST', '/faults', { kind: 'server_error', count: 2, path: '^/campaigns$', status: 502 });
      assert.equal((await client.listCampaigns()).length, 3);
      assert.deepEqual(sim.calls.map((c) => c.status), [502, 502, 200]);

      await admin('DELETE', '/campaigns/1001');
      await assert.rejects(client.getCampaign('1001'), SmartleadNotFoundError);
      await admin('DELETE', '/email-accounts/5001');
      await assert.rejects(client.getEmailAccount('5001'), SmartleadNotFoundError);

      await admin('POST', '/keys/revoke');
      await assert.rejects(client.listCampaigns(), SmartleadAuthError);
      const { apiKey } = (await admin('POST', '/keys/rotate', {})) as { apiKey: string };
      assert.match(apiKey, /^sim_/);
      const rotated = new SmartleadClient({ apiKey, baseUrl: sim.url });
      assert.equal((await rotated.listCampaigns()).length, 2);

      const calls = (await admin('GET', '/calls')) as { path: string }[];
      assert.equal(calls.length, sim.calls.length);
      const state = (await admin('GET', '/state')) as { campaigns: { id: number }[] };
      assert.deepEqual(state.campaigns.map((c) => c.id).sort(), [1002, 1003]);
    });

    it('drop_after_commit: processes the request, then loses the answer; a retrying client adds nothing twice', async () => {
      const post = (emails: string[]): Promise<Response> =>
        fetch(`${sim.url}/campaigns/1002/leads?api_key=${sim.apiKey ?? ''}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ lead_list: emails.map((email) => ({ email })) }),
        });
      const emailsIn1002 = (): string[] => sim.state.leadsOfCampaign(1002).map((l) => l.email).sort();

      // A gateway error after the leads were stored (over the admin API).
      assert.deepEqual(await admin('POST', '/faults', { kind: 'drop_after_commit', path: '/leads$', method: 'POST', status: 502 }), { id: 1 });
      assert.equal((await post(['lost@x.example'])).status, 502);
      assert.deepEqual(emailsIn1002(), ['lost@x.example'], 'committed before the answer was lost');
      assert.deepEqual([sim.calls.at(-1)?.fault, sim.calls.at(-1)?.droppedStatus, sim.calls.at(-1)?.status], ['drop_after_commit', 200, 502]);

      // A reset connection (programmatically).
      sim.faults.dropAfterCommit(1, { path: '/leads$' });
      await assert.rejects(post(['reset@x.example']), TypeError);
      assert.deepEqual(emailsIn1002(), ['lost@x.example', 'reset@x.example']);
      assert.deepEqual([sim.calls.at(-1)?.droppedStatus, sim.calls.at(-1)?.status], [200, null]);

      // The client retries a lost answer and a timed-out one; duplicate protection makes the retries add nothing.
      const client = clientFor(sim, { timeoutMs: 300, retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 } });
      sim.faults.dropAfterCommit(1, { path: '/leads$', status: 504 });
      const retried = await client.addLeadsToCampaign('1002', [{ email: 'a@x.example' }, { email: 'b@x.example' }]);
      assert.deepEqual([retried.added, retried.alreadyInCampaign, retried.requests], [0, 2, 1]);
      sim.faults.dropAfterCommit(1, { path: '/leads$', delayMs: 5_000 });
      const timedOut = await client.addLeadsToCampaign('1002', [{ email: 'c@x.example' }]);
      assert.deepEqual([timedOut.added, timedOut.alreadyInCampaign], [0, 1]);
      assert.deepEqual(emailsIn1002(), ['a@x.example', 'b@x.example', 'c@x.example', 'lost@x.example', 'reset@x.example']);
      assert.deepEqual(sim.calls.filter((c) => c.droppedStatus === 200).length, 4);
      assert.deepEqual(await admin('GET', '/faults'), [], 'each fault applied once');
    });
  });

  describe('webhooks', () => {
    let receiver: Awaited<ReturnType<typeof startReceiver>>;

    beforeEach(async () => {
      sim = await startSimulator({ rateLimit: { maxRequests: 50, perMs: 250 } });
      seedDemoState(sim.state);
      receiver = await startReceiver();
      sim.setWebhookTarget(receiver.url, { secretKey: 'whsec_test' });
    });

    afterEach(async () => {
      await receiver.close();
    });

    it('emits correctly shaped EMAIL_SENT, EMAIL_BOUNCE (hard and soft) and EMAIL_REPLY events, in order', async () => {
      const at = '2025-03-04T10:00:00.000Z';
      const deliveries = await sim.emitMany([
        { type: 'EMAIL_SENT', fromEmail: 'alex@getdrason-mail.com', toEmail: 'maria@techstartup.io', campaignId: 1001, at },
        { type: 'EMAIL_BOUNCE', bounce: 'hard', fromEmail: 'alex@getdrason-mail.com', toEmail: 'maria@techstartup.io', campaignId: 1001, at },
        { type: 'EMAIL_BOUNCE', bounce: 'soft', fromEmail: 'sam@getdrason-mail.com', toEmail: 'x@prospects.example', campaignId: 1001, at },
        { type: 'EMAIL_REPLY', fromEmail: 'sam@getdrason-mail.com', toEmail: 'priya@northwind.example', campaignId: 1001, replyText: 'Interested!' },
      ]);
      assert.ok(deliveries.every((d) => d.ok && d.status === 202));
      assert.equal(receiver.received.length, 4);
      const bodies = receiver.received.map((r) => smartleadWebhookSchema.parse(r.json));
      assert.deepEqual(bodies.map((b) => b.event_type), ['EMAIL_SENT', 'EMAIL_BOUNCE', 'EMAIL_BOUNCE', 'EMAIL_REPLY']);

      const maria = sim.state.findLeadByEmail('maria@techstartup.io');
      const [sent, hard, soft, reply] = bodies;
      assert.ok(sent && hard && soft && reply);
      assert.equal(sent.campaign_id, '1001');
      assert.equal((receiver.received[0]?.json as { campaign_id: unknown }).campaign_id, 1001, 'campaign_id is a number on the wire');
      assert.equal(sent.campaign_name, 'Founders — US — Q3');
      assert.equal(sent.from_email, 'alex@getdrason-mail.com');
      assert.equal(sent.to_email, 'maria@techstartup.io');
      assert.equal(sent.event_timestamp, at);
      assert.equal(sent.sl_email_lead_id, String(maria?.id));
      assert.equal(sent.secret_key, 'whsec_test');
      assert.match(String(sent.stats_id), /^[0-9a-f-]{36}$/);
      assert.notEqual(sent.stats_id, hard.stats_id);
      assert.match(hard.bounce_message?.text ?? '', /^550 5\.1\.(1|10) /);
      assert.ok(HARD_BOUNCE_MESSAGES.some((m) => (hard.bounce_message?.text ?? '') === m.split('{to}').join('maria@techstartup.io')));
      assert.ok(SOFT_BOUNCE_MESSAGES.includes(soft.bounce_message?.text ?? ''));
      assert.equal(reply.reply_message?.text, 'Interested!');

      const first = receiver.received[0];
      const sig = createHmac('sha256', 'whsec_test').update(first?.raw ?? '').digest('hex');
      assert.equal(first?.headers['x-smartlead-signature'], `sha256=${sig}`);
      assert.equal(first?.headers['content-type'], 'application/json');
    });

    it('generates bounded traffic with per-mailbox bounce rates, and stops sending from a suspended mailbox', async () => {
      const traffic = sim.startTraffic({
        campaignId: 1001,
        ratePerSecond: 400,
        maxSends: 60,
        seed: 7,
        perMailbox: {
          'alex@getdrason-mail.com': { bounceRate: 0.5 },
          'sam@getdrason-mail.com': { bounceRate: 0, failureRate: 0.2 },
        },
      });
      const stats = await traffic.done;
      assert.equal(stats.sends, 60);
      assert.equal(stats.running, false);
      const events = receiver.received.map((r) => smartleadWebhookSchema.parse(r.json));
      assert.equal(events.length, stats.delivered);
      const sends = events.filter((e) => e.event_type === 'EMAIL_SENT');
      assert.equal(sends.length, 60);
      assert.deepEqual(new Set(sends.map((e) => e.from_email)), new Set(['alex@getdrason-mail.com', 'sam@getdrason-mail.com']));
      const hardFrom = events.filter((e) => e.event_type === 'EMAIL_BOUNCE' && /^550 5\.1\./.test(e.bounce_message?.text ?? '')).map((e) => e.from_email);
      assert.equal(hardFrom.length, stats.hardBounces);
      assert.ok(stats.hardBounces >= 5, `hard bounces: ${stats.hardBounces}`);
      assert.ok(hardFrom.every((f) => f === 'alex@getdrason-mail.com'), 'only the bad mailbox hard-bounces');
      assert.equal(stats.perMailbox['alex@getdrason-mail.com']?.sends, 30);

      // Drason suspends the bad mailbox through the API: the generator sends only from the other one.
      await clientFor(sim).suspendEmailAccount('5001');
      receiver.received.length = 0;
      const after = await sim.startTraffic({
        campaignId: 1001,
        ratePerSecond: 400,
        maxSends: 20,
        perMailbox: { 'alex@getdrason-mail.com': { bounceRate: 0.5 }, 'sam@getdrason-mail.com': {} },
      }).done;
      assert.equal(after.sends, 20);
      assert.ok(receiver.received.every((r) => (r.json as { from_email: string }).from_email === 'sam@getdrason-mail.com'));
    });

    it('sends nothing for a paused campaign, and stops when told', async () => {
      await clientFor(sim).pauseCampaign('1001');
      const traffic = sim.startTraffic({ campaignId: 1001, ratePerSecond: 200, durationMs: 10_000 });
      await sleep(100);
      const stats = await traffic.stop();
      assert.equal(stats.sends, 0);
      assert.ok(stats.skipped > 0);
      assert.equal(receiver.received.length, 0);
    });

    it('refuses non-loopback targets by default', () => {
      assert.throws(() => sim.setWebhookTarget('https://hooks.example.com/x'), /loopback/);
    });
  });
});
