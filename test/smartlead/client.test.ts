/**
 * SmartleadClient against the simulator: every call Drason makes, with the shapes it gets back.
 */
import assert from 'node:assert/strict';
import {
  SAFE_LEAD_UPLOAD_SETTINGS,
  SmartleadBadRequestError,
  SmartleadNotFoundError,
  SmartleadResponseError,
  parseRetryAfter,
  resetSmartleadRegistries,
} from '../../src/smartlead';
import type { SmartleadSimulator } from '../../src/smartlead/simulator';
import { seedDemoState } from '../../src/smartlead/simulator/seed';
import { clientFor, leads, startSimulator } from './helpers';

describe('SmartleadClient (against the simulator)', () => {
  let sim: SmartleadSimulator;

  beforeEach(async () => {
    sim = await startSimulator({ rateLimit: { maxRequests: 50, perMs: 250 } });
    seedDemoState(sim.state);
  });

  afterEach(async () => {
    await sim.stop();
    resetSmartleadRegistries();
  });

  describe('campaigns', () => {
    it('lists campaigns with string ids and Smartlead statuses', async () => {
      const campaigns = await clientFor(sim).listCampaigns();
      assert.deepEqual(
        campaigns.map((c) => [c.id, c.name, c.status]),
        [
          ['1003', 'Re-engagement (draft)', 'DRAFTED'],
          ['1002', 'Agencies — EU', 'ACTIVE'],
          ['1001', 'Founders — US — Q3', 'ACTIVE'],
        ],
      );
      assert.equal(sim.calls.length, 1);
      assert.equal(sim.calls[0]?.path, '/campaigns');
    });

    it('gets one campaign by id, given as string or number', async () => {
      const client = clientFor(sim);
      const a = await client.getCampaign('1002');
      const b = await client.getCampaign(1002);
      assert.equal(a.id, '1002');
      assert.equal(a.status, 'ACTIVE');
      assert.deepEqual(a, b);
    });

    it('pauses and resumes a campaign (PAUSED, then START which Smartlead reports as ACTIVE)', async () => {
      const client = clientFor(sim);
      const paused = await client.pauseCampaign('1001');
      assert.equal(paused.status, 'PAUSED');
      assert.equal(sim.state.campaigns.get(1001)?.status, 'PAUSED');
      const resumed = await client.resumeCampaign('1001');
      assert.equal(resumed.status, 'ACTIVE');
      assert.equal(sim.state.campaigns.get(1001)?.status, 'ACTIVE');
      assert.deepEqual(
        sim.calls.map((c) => [c.method, c.path, c.body]),
        [
          ['POST', '/campaigns/1001/status', { status: 'PAUSED' }],
          ['POST', '/campaigns/1001/status', { status: 'START' }],
        ],
      );
    });

    it('refuses to restart a STOPPED campaign with a non-retryable bad request', async () => {
      const client = clientFor(sim);
      await client.setCampaignStatus('1002', 'STOPPED');
      await assert.rejects(client.resumeCampaign('1002'), (err: unknown) => {
        assert.ok(err instanceof SmartleadBadRequestError);
        assert.equal(err.status, 400);
        assert.equal(err.retryable, false);
        assert.match(err.message, /stopped and cannot be restarted/);
        return true;
      });
      assert.equal(sim.calls.length, 2, 'a 400 is not retried');
    });

    it('lists the mailboxes of a campaign', async () => {
      const accounts = await clientFor(sim).listCampaignEmailAccounts('1002');
      assert.deepEqual(
        accounts.map((a) => [a.id, a.fromEmail, a.domain, a.isSuspended, a.connected]),
        [
          ['5003', 'jordan@getdrason-mail.com', 'getdrason-mail.com', false, true],
          ['5005', 'casey@trydrason.io', 'trydrason.io', false, true],
          ['5006', 'morgan@trydrason.io', 'trydrason.io', false, true],
          ['5007', 'riley@drason-outreach.net', 'drason-outreach.net', false, true],
        ],
      );
    });

    it('detaches mailboxes from one campaign only', async () => {
      await clientFor(sim).removeEmailAccountsFromCampaign('1002', ['5003']);
      assert.equal(sim.state.campaignAccounts.get(1002)?.has(5003), false);
      assert.equal(sim.state.campaignAccounts.get(1001)?.has(5003), true);
      assert.deepEqual(sim.calls[0]?.body, { email_account_ids: [5003] });
    });
  });

  describe('email accounts', () => {
    it('follows pagination to the end across several pages', async () => {
      for (let i = 0; i < 242; i += 1) sim.state.addEmailAccount({ fromEmail: `box${i}@bulk-${i % 3}.example` });
      const all = await clientFor(sim).listEmailAccounts();
      assert.equal(all.length, 250);
      assert.equal(new Set(all.map((a) => a.id)).size, 250);
      assert.deepEqual(
        sim.calls.map((c) => c.query),
        [
          { offset: '0', limit: '100' },
          { offset: '100', limit: '100' },
          { offset: '200', limit: '100' },
        ],
      );
      assert.ok(all.some((a) => a.fromEmail === 'box241@bulk-1.example' && a.domain === 'bulk-1.example'));
    });

    it('stops after an exactly-full last page with one empty page, and clamps the page size to 100', async () => {
      for (let i = 0; i < 92; i += 1) sim.state.addEmailAccount({ fromEmail: `box${i}@bulk.example` });
      const client = clientFor(sim);
      const all = await client.listEmailAccounts({ pageSize: 50 });
      assert.equal(all.length, 100);
      assert.deepEqual(sim.calls.map((c) => c.query.offset), ['0', '50', '100']);
      sim.clearCalls();
      const page = await client.listEmailAccountsPage({ offset: 10, limit: 500 });
      assert.equal(sim.calls[0]?.query.limit, '100');
      assert.equal(page.items.length, 90);
      assert.equal(page.hasMore, false);
    });

    it('gets, suspends and unsuspends a mailbox', async () => {
      const client = clientFor(sim);
      const before = await client.getEmailAccount('5004');
      assert.equal(before.fromEmail, 'taylor@trydrason.io');
      assert.equal(before.isSuspended, false);
      await client.suspendEmailAccount('5004');
      assert.equal(sim.state.emailAccounts.get(5004)?.isSuspended, true);
      assert.equal((await client.getEmailAccount(5004)).isSuspended, true);
      await client.unsuspendEmailAccount('5004');
      assert.equal(sim.state.emailAccounts.get(5004)?.isSuspended, false);
      assert.deepEqual(
        sim.calls.map((c) => `${c.method} ${c.path}`),
        ['GET /email-accounts/5004', 'PUT /email-accounts/suspend/5004', 'GET /email-accounts/5004', 'DELETE /email-accounts/unsuspend/5004'],
      );
    });

    it('reports a mailbox removed in Smartlead as not found (404 on GET, documented 400 on suspend)', async () => {
      sim.removeEmailAccount(5004);
      const client = clientFor(sim);
      await assert.rejects(client.getEmailAccount('5004'), SmartleadNotFoundError);
      await assert.rejects(client.suspendEmailAccount('5004'), (err: unknown) => {
        assert.ok(err instanceof SmartleadNotFoundError);
        assert.equal(err.status, 400);
        assert.equal(err.retryable, false);
        return true;
      });
      assert.equal(sim.calls.length, 2, 'neither is retried');
    });
  });

  describe('leads', () => {
    it('adds leads in chunks of at most 100 with Smartlead duplicate protection, de-duplicating locally', async () => {
      const input = [...leads(230), { email: 'LEAD-7@Prospects.Example', first_name: 'Dup' }];
      const result = await clientFor(sim).addLeadsToCampaign('1002', input);
      assert.equal(result.requested, 230);
      assert.equal(result.droppedLocalDuplicates, 1);
      assert.equal(result.added, 230);
      assert.equal(result.alreadyInCampaign, 0);
      assert.equal(result.requests, 3);
      const posts = sim.calls.filter((c) => c.method === 'POST');
      assert.deepEqual(
        posts.map((c) => (c.body as { lead_list: unknown[] }).lead_list.length),
        [100, 100, 30],
      );
      for (const c of posts) assert.deepEqual((c.body as { settings: unknown }).settings, SAFE_LEAD_UPLOAD_SETTINGS);
      assert.equal(sim.state.leadsOfCampaign(1002).length, 230);
    });

    it('adding the same leads again adds nothing', async () => {
      const client = clientFor(sim);
      await client.addLeadsToCampaign('1002', leads(120));
      const again = await client.addLeadsToCampaign('1002', leads(120));
      assert.equal(again.added, 0);
      assert.equal(again.alreadyInCampaign, 120);
      assert.equal(sim.state.leadsOfCampaign(1002).length, 120);
      assert.equal(sim.state.leads.size, 123, '120 new leads + 3 seeded');
    });

    it('does not enrol a lead already running in another campaign unless told to', async () => {
      const client = clientFor(sim);
      const r = await client.addLeadsToCampaign('1002', [{ email: 'maria@techstartup.io' }, { email: 'new@prospects.example' }]);
      assert.equal(r.added, 1);
      assert.equal(r.duplicates, 1);
      assert.deepEqual(sim.state.leadsOfCampaign(1002).map((l) => l.email), ['new@prospects.example']);
      const forced = await client.addLeadsToCampaign('1002', [{ email: 'maria@techstartup.io' }], {
        settings: { ignore_duplicate_leads_in_other_campaign: true },
      });
      assert.equal(forced.added, 1);
    });

    it('reports blocked, invalid and unsubscribed leads', async () => {
      sim.state.unsubscribed.add('gone@prospects.example');
      const r = await clientFor(sim).addLeadsToCampaign('1001', [
        { email: 'ceo@competitor.example' },
        { email: 'not-an-email' },
        { email: 'ok@prospects.example' },
        { email: 'gone@prospects.example' },
      ]);
      assert.equal(r.added, 1);
      assert.equal(r.blocked, 1);
      assert.equal(r.invalid, 1);
      assert.deepEqual(r.invalidEmails, ['not-an-email']);
      assert.equal(r.unsubscribed, 1);
      assert.deepEqual(r.unsubscribedEmails, ['gone@prospects.example']);
    });

    it('finds a lead by email with its campaigns, and returns null for an unknown email', async () => {
      const client = clientFor(sim);
      const lead = await client.findLeadByEmail('Maria@TechStartup.io');
      assert.ok(lead !== null);
      assert.equal(typeof lead.id, 'string');
      assert.equal(lead.email, 'maria@techstartup.io');
      assert.deepEqual(lead.campaigns.map((c) => c.campaignId), ['1001']);
      assert.equal(sim.calls[0]?.path, '/leads/');
      assert.equal(sim.calls[0]?.query.email, 'Maria@TechStartup.io');
      assert.equal(await client.findLeadByEmail('nobody@nowhere.example'), null);
    });

    it('pauses and resumes a lead in a campaign', async () => {
      const client = clientFor(sim);
      const lead = await client.findLeadByEmail('priya@northwind.example');
      assert.ok(lead !== null);
      await client.pauseLead('1001', lead.id);
      assert.equal(sim.state.campaignLeads.get(1001)?.get(Number(lead.id))?.status, 'PAUSED');
      await client.resumeLead('1001', lead.id);
      assert.equal(sim.state.campaignLeads.get(1001)?.get(Number(lead.id))?.status, 'INPROGRESS');
      assert.deepEqual(sim.calls.at(-1)?.body, { resume_lead_with_delay_days: 0 });
      await assert.rejects(client.pauseLead('1002', lead.id), SmartleadNotFoundError);
    });
  });

  describe('deleted objects and unexpected bodies', () => {
    it('a campaign deleted in Smartlead is SmartleadNotFoundError on every campaign call, not retried', async () => {
      sim.deleteCampaign(1001);
      const client = clientFor(sim);
      await assert.rejects(client.getCampaign('1001'), (err: unknown) => {
        assert.ok(err instanceof SmartleadNotFoundError);
        assert.equal(err.code, 'not_found');
        assert.equal(err.status, 404);
        assert.equal(err.retryable, false);
        assert.equal(err.attempts, 1);
        assert.match(err.message, /GET \/campaigns\/1001 answered 404/);
        return true;
      });
      await assert.rejects(client.pauseCampaign('1001'), SmartleadNotFoundError);
      await assert.rejects(client.addLeadsToCampaign('1001', leads(3)), SmartleadNotFoundError);
      await assert.rejects(client.listCampaignEmailAccounts('1001'), SmartleadNotFoundError);
      assert.equal(sim.calls.length, 4);
    });

    it('a 2xx body that is not what Smartlead documents is SmartleadResponseError, not retried', async () => {
      const client = clientFor(sim);
      sim.faults.inject({ kind: 'malformed', body: '<html>maintenance</html>' });
      await assert.rejects(client.listCampaigns(), (err: unknown) => {
        assert.ok(err instanceof SmartleadResponseError);
        assert.match(err.message, /not JSON/);
        return true;
      });
      sim.faults.inject({ kind: 'malformed', body: '[{"id": 1, "name": "no status"}]' });
      await assert.rejects(client.listCampaigns(), (err: unknown) => {
        assert.ok(err instanceof SmartleadResponseError);
        assert.equal(err.retryable, false);
        assert.ok(err.issues.some((i) => i.includes('status')), err.issues.join(', '));
        return true;
      });
      assert.equal(sim.calls.length, 2);
    });
  });

  describe('parseRetryAfter', () => {
    it('reads delta-seconds and HTTP dates', () => {
      const now = Date.parse('2025-01-01T00:00:00Z');
      assert.equal(parseRetryAfter('3', now), 3000);
      assert.equal(parseRetryAfter('0', now), 0);
      assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:05 GMT', now), 5000);
      assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now), 0);
      assert.equal(parseRetryAfter('soon', now), undefined);
      assert.equal(parseRetryAfter(null, now), undefined);
    });
  });
});
