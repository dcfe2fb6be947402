/**
 * The entity reads (GET /v1/mailboxes, /v1/domains, /v1/campaigns and their details) through the real API on real
 * PostgreSQL: windows built from events ingested with POST /v1/events and counted by the relay, case-insensitive
 * lookups, 404 for another organization's entities, roles, keyset paging, the Temporal Web UI link, and query plans
 * at 10,000 mailboxes (asserted on EXPLAIN, never on time).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DEFAULT_RATE_LIMITS } from '../../src/config';
import { listMailboxes, getMailbox } from '../../src/db/repositories/entities';
import { withTenant } from '../../src/db/tenant';
import { generateEncryptionKeySpec } from '../../src/security/encryption';
import { relayOnce } from '../../src/services/eventRelay';
import { startApiComponent } from '../../src/workers/components';
import { domainWorkflowId, mailboxWorkflowId } from '../../src/workflows/ids';
import { startTestApi, type Json, type Reply, type TestApi, type TestOrganization } from '../support/api';
import { testTemporal } from '../support/stack';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('entity reads: mailboxes, domains and campaigns', function () {
  this.timeout(120_000);
  let api: TestApi;
  let acme: TestOrganization;
  let beta: TestOrganization;
  let viewer: string;
  let ingest: string;

  // Counting needs no Temporal: bounces whose signal fails stay queued for a later relay round.
  const temporalDown = { workflow: { signalWithStart: () => Promise.reject(new Error('no Temporal in this suite')) } } as unknown as Client;
  const relayAll = async (): Promise<void> => {
    while ((await relayOnce({ db: api.database.db, client: temporalDown, taskQueue: 'entities-test' })).counted > 0);
  };

  let n = 0;
  const event = (type: 'EmailSent' | 'HardBounce' | 'DeliveryFailure', mailbox: string, agoMs: number, campaignId?: string | number) => ({
    id: `evt-${(n += 1)}`,
    type,
    occurredAt: new Date(Date.now() - agoMs).toISOString(),
    mailbox,
    ...(campaignId === undefined ? {} : { campaignId }),
  });
  const times = <T>(count: number, make: () => T): T[] => Array.from({ length: count }, make);
  const get = (path: string, token = viewer): Promise<Reply> => api.call('GET', path, { token });
  const assertNotFound = (reply: Reply): void => {
    assert.equal(reply.status, 404, reply.text);
    assert.match(reply.headers.get('content-type') ?? '', /application\/problem\+json/);
  };
  /** A reply with the probed id replaced, to compare "another organization's" with "does not exist" exactly. */
  const normalized = (reply: Reply, id: string): unknown => ({ status: reply.status, body: JSON.parse(reply.text.split(id).join('<id>')) as unknown });

  before(async () => {
    api = await startTestApi();
    acme = await api.createOrganization('Acme');
    beta = await api.createOrganization('Beta');
    viewer = (await api.createKey(acme.adminKey, 'viewer')).key;
    ingest = (await api.createKey(acme.adminKey, 'ingest')).key;

    // sam: the last hour 10 sent, 2 bounces, 1 failure; three hours ago 10 more sent; two days ago 5 sent, 1 bounce.
    // kim: the last hour 4 sent and 1 failure. Campaign 42 gets what was sent in the last hour with a campaign id.
    const events = [
      ...times(10, () => event('EmailSent', 'sam@acme-mail.test', MINUTE, 42)),
      ...times(2, () => event('HardBounce', 'Sam@Acme-Mail.test', 2 * MINUTE, '42')),
      event('DeliveryFailure', 'sam@acme-mail.test', 3 * MINUTE),
      ...times(10, () => event('EmailSent', 'sam@acme-mail.test', 3 * HOUR)),
      ...times(5, () => event('EmailSent', 'sam@acme-mail.test', 48 * HOUR)),
      event('HardBounce', 'sam@acme-mail.test', 48 * HOUR),
      ...times(4, () => event('EmailSent', 'kim@acme-mail.test', MINUTE, 42)),
      event('DeliveryFailure', 'kim@acme-mail.test', MINUTE, 42),
    ];
    const posted = await api.call('POST', '/v1/events', { token: ingest, body: { events } });
    assert.equal(posted.status, 202, posted.text);
    // Beta sends from its own mailbox, so its counters exist too (and must never show in Acme's reads).
    const theirs = await api.call('POST', '/v1/events', { token: beta.adminKey, body: { events: times(3, () => event('HardBounce', 'lee@beta-mail.test', MINUTE, 7)) } });
    assert.equal(theirs.status, 202, theirs.text);
    await relayAll();

    // Campaign 42 as the Smartlead sync would record it, with both mailboxes linked.
    await withTenant(api.database.db, acme.id, async (tx) => {
      await tx('campaigns').insert({ organization_id: acme.id, campaign_id: '42', name: 'Q3 outbound', status: 'ACTIVE' });
      await tx('campaigns').insert({ organization_id: acme.id, campaign_id: '7', name: 'Gone', status: 'STOPPED', deleted_externally_at: new Date() });
      const ids = (await tx('mailboxes').select('id')) as { id: string }[];
      await tx('campaign_mailboxes').insert(ids.map((m) => ({ organization_id: acme.id, campaign_id: '42', mailbox_id: m.id })));
    });
    await withTenant(api.database.db, beta.id, (tx) => tx('campaigns').insert({ organization_id: beta.id, campaign_id: '7', name: 'Beta seven', status: 'ACTIVE' }));
  });
  after(async () => {
    await api?.stop();
  });

  describe('windows', () => {
    it('shows a mailbox with its 1h / 24h / 7d windows, rates and velocity, found case-insensitively', async () => {
      const reply = await get('/v1/mailboxes/Sam@ACME-mail.test');
      assert.equal(reply.status, 200, reply.text);
      const sam = reply.json;
      assert.equal(sam.email, 'sam@acme-mail.test');
      assert.equal(sam.domain, 'acme-mail.test');
      assert.equal(sam.state, 'healthy');
      assert.equal(sam.riskScore, 0, 'no risk before the engine has judged it');
      assert.equal(sam.pauseReason, null);
      assert.equal(sam.cooldownUntil, null);
      assert.equal(sam.deletedExternally, false);
      assert.deepEqual(sam.windows, {
        '1h': { sent: 10, hardBounces: 2, failures: 1, reputationBlocks: 0 },
        '24h': { sent: 20, hardBounces: 2, failures: 1, reputationBlocks: 0 },
        '7d': { sent: 25, hardBounces: 3, failures: 1, reputationBlocks: 0 },
      });
      assert.deepEqual(sam.rates['1h'], { hardBounceRate: 0.2, failureRate: 0.1, reputationRate: 0 });
      assert.deepEqual(sam.rates['7d'], { hardBounceRate: 3 / 25, failureRate: 1 / 25, reputationRate: 0 });
      assert.ok(Math.abs(sam.velocity.hardBounceRate - (0.2 - 0.1)) < 1e-12, JSON.stringify(sam.velocity));
      assert.ok(Math.abs(sam.velocity.failureRate - (0.1 - 0.05)) < 1e-12, JSON.stringify(sam.velocity));
      assert.equal(sam.workflowId, mailboxWorkflowId(acme.id, 'sam@acme-mail.test'));
      assert.equal(sam.temporalUrl, null, 'the test API has no Web UI address');
    });

    it('aggregates a domain over its mailboxes and lists them', async () => {
      const reply = await get('/v1/domains/ACME-MAIL.test');
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json.domain, 'acme-mail.test');
      assert.deepEqual(reply.json.windows, {
        '1h': { sent: 14, hardBounces: 2, failures: 2, reputationBlocks: 0 },
        '24h': { sent: 24, hardBounces: 2, failures: 2, reputationBlocks: 0 },
        '7d': { sent: 29, hardBounces: 3, failures: 2, reputationBlocks: 0 },
      });
      assert.deepEqual(reply.json.mailboxes, ['kim@acme-mail.test', 'sam@acme-mail.test']);
      assert.equal(reply.json.mailboxCount, 2);
      assert.equal(reply.json.workflowId, domainWorkflowId(acme.id, 'acme-mail.test'));
      assert.ok(Math.abs(reply.json.velocity.failureRate - (2 / 14 - 2 / 24)) < 1e-12);
    });

    it('shows a campaign by its Smartlead id with what was sent under that id, as strings', async () => {
      const reply = await get('/v1/campaigns/42');
      assert.equal(reply.status, 200, reply.text);
      const c = reply.json;
      assert.deepEqual(
        { campaignId: c.campaignId, name: c.name, status: c.status, state: c.state, riskScore: c.riskScore, pauseReason: c.pauseReason, deletedExternally: c.deletedExternally },
        { campaignId: '42', name: 'Q3 outbound', status: 'ACTIVE', state: 'healthy', riskScore: 0, pauseReason: null, deletedExternally: false },
      );
      assert.deepEqual(c.mailboxes, ['kim@acme-mail.test', 'sam@acme-mail.test']);
      const lastHour = { sent: 14, hardBounces: 2, failures: 1, reputationBlocks: 0 };
      assert.deepEqual(c.windows, { '1h': lastHour, '24h': lastHour, '7d': lastHour });
      assert.deepEqual(c.velocity, { hardBounceRate: 0, failureRate: 0 });
    });

    it('lists show the same windows as the details, and a campaign deleted in Smartlead flagged', async () => {
      const mailboxes = await get('/v1/mailboxes');
      assert.equal(mailboxes.status, 200, mailboxes.text);
      assert.deepEqual(mailboxes.json.items.map((m: Json) => m.email), ['kim@acme-mail.test', 'sam@acme-mail.test']);
      assert.deepEqual(mailboxes.json.items[1], (await get('/v1/mailboxes/sam@acme-mail.test')).json);
      assert.equal(mailboxes.json.nextCursor, null);
      const domains = await get('/v1/domains');
      assert.deepEqual(domains.json.items, [(await get('/v1/domains/acme-mail.test')).json]);
      const campaigns = await get('/v1/campaigns');
      assert.deepEqual(campaigns.json.items.map((c: Json) => [c.campaignId, c.deletedExternally]), [['42', false], ['7', true]]);
      assert.deepEqual(campaigns.json.items[0], (await get('/v1/campaigns/42')).json);
      assert.deepEqual(campaigns.json.items[1].windows['1h'], { sent: 0, hardBounces: 0, failures: 0, reputationBlocks: 0 }, "Beta's campaign 7 counts nothing for Acme's campaign 7");
    });
  });

  describe('who sees what', () => {
    for (const [what, path, missing] of [
      ['a mailbox', '/v1/mailboxes/sam@acme-mail.test', '/v1/mailboxes/nobody@acme-mail.test'],
      ['a domain', '/v1/domains/acme-mail.test', '/v1/domains/nowhere-mail.test'],
      ['a campaign', '/v1/campaigns/42', '/v1/campaigns/4242'],
    ] as const) {
      it(`answers another organization's ${what.slice(2)} exactly like one that does not exist (404)`, async () => {
        assert.equal((await get(path)).status, 200, 'Acme reaches its own');
        const theirs = await get(path, beta.adminKey);
        const absent = await get(missing, beta.adminKey);
        assertNotFound(theirs);
        assertNotFound(absent);
        const id = (p: string) => p.split('/').pop()!;
        assert.deepEqual(normalized(theirs, id(path)), normalized(absent, id(missing)));
      });
    }

    it("never lists another organization's entities or counts", async () => {
      for (const path of ['/v1/mailboxes', '/v1/domains', '/v1/campaigns']) {
        const mine = await get(path);
        assert.equal(mine.status, 200, mine.text);
        for (const theirs of ['lee@beta-mail.test', 'beta-mail.test', 'Beta seven', beta.id]) assert.ok(!mine.text.includes(theirs), `${path} shows Beta's ${theirs}`);
      }
      const theirs = await get('/v1/mailboxes', beta.adminKey);
      assert.deepEqual(theirs.json.items.map((m: Json) => [m.email, m.windows['1h']]), [['lee@beta-mail.test', { sent: 0, hardBounces: 3, failures: 0, reputationBlocks: 0 }]]);
    });

    it('lets a viewer read and refuses an ingest key (403)', async () => {
      for (const path of ['/v1/mailboxes', '/v1/mailboxes/sam@acme-mail.test', '/v1/domains', '/v1/domains/acme-mail.test', '/v1/campaigns', '/v1/campaigns/42']) {
        assert.equal((await get(path, viewer)).status, 200, path);
        const refused = await get(path, ingest);
        assert.equal(refused.status, 403, `${path}: ${refused.text}`);
        assert.equal((await api.call('GET', path)).status, 401, path);
      }
    });
  });

  describe('paging and filters', () => {
    let paging: TestOrganization;
    const emails: string[] = [];

    before(async () => {
      paging = await api.createOrganization('Paging Co');
      await withTenant(api.database.db, paging.id, async (tx) => {
        const [a, b] = (await tx('domains')
          .insert([
            { organization_id: paging.id, name: 'one.test' },
            { organization_id: paging.id, name: 'Two.test' },
          ])
          .returning('id')) as { id: string }[];
        // Mixed case on purpose: pages follow the lower-case key, as the counters do.
        await tx.raw(
          `insert into mailboxes (organization_id, email, domain_id)
           select ?, case when i % 3 = 0 then 'User' else 'user' end || lpad(i::text, 3, '0') || case when i % 2 = 0 then '@one.test' else '@Two.test' end,
                  case when i % 2 = 0 then ?::uuid else ?::uuid end
             from generate_series(1, 120) i`,
          [paging.id, a!.id, b!.id],
        );
        await tx('mailboxes').whereIn('email', ['user007@two.test', 'user100@one.test']).update({ state: 'paused', pause_reason: 'bouncing' });
      });
      for (let i = 1; i <= 120; i += 1) emails.push(`user${String(i).padStart(3, '0')}@${i % 2 === 0 ? 'one' : 'two'}.test`);
    });

    const walk = async (path: string, limit: number): Promise<Json[][]> => {
      const pages: Json[][] = [];
      let cursor: string | null = null;
      do {
        const separator: string = path.includes('?') ? '&' : '?';
        const page: Reply = await get(`${path}${separator}limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, paging.adminKey);
        assert.equal(page.status, 200, page.text);
        pages.push(page.json.items);
        cursor = page.json.nextCursor;
        assert.ok(pages.length <= 10, 'paging must end');
      } while (cursor !== null);
      return pages;
    };

    it('walks 120 mailboxes with limit 50: every one exactly once, in order', async () => {
      const pages = await walk('/v1/mailboxes', 50);
      assert.deepEqual(pages.map((p) => p.length), [50, 50, 20]);
      const seen = pages.flat().map((m) => (m.email as string).toLowerCase());
      assert.deepEqual(seen, emails);
    });

    it('filters by state, and pages the filtered list', async () => {
      const pages = await walk('/v1/mailboxes?state=paused', 1);
      assert.deepEqual(pages.flat().map((m) => [(m.email as string).toLowerCase(), m.state, m.pauseReason]), [
        ['user007@two.test', 'paused', 'bouncing'],
        ['user100@one.test', 'paused', 'bouncing'],
      ]);
      assert.equal((await get('/v1/mailboxes?state=recovering', paging.adminKey)).json.items.length, 0);
      assert.equal((await get('/v1/mailboxes?state=asleep', paging.adminKey)).status, 422);
    });

    it('lists domains with their mailboxes (bounded on lists), walking them one a page', async () => {
      const pages = await walk('/v1/domains', 1);
      assert.deepEqual(pages.map((p) => p.map((d) => [d.domain, d.mailboxCount, d.mailboxes.length])), [[['one.test', 60, 60]], [['Two.test', 60, 60]]]);
      const one = pages[0]![0];
      assert.deepEqual(one.mailboxes.map((e: string) => e.toLowerCase()), emails.filter((e) => e.endsWith('@one.test')));
    });

    it('refuses a cursor it did not issue, or one of another list, with 422', async () => {
      for (const cursor of ['not-a-cursor', Buffer.from('{"of":"mailbox"}').toString('base64url'), (await get('/v1/domains?limit=1', paging.adminKey)).json.nextCursor]) {
        const reply = await get(`/v1/mailboxes?cursor=${encodeURIComponent(cursor as string)}`, paging.adminKey);
        assert.equal(reply.status, 422, reply.text);
        assert.deepEqual(reply.json.errors.map((e: Json) => e.path), ['query.cursor']);
      }
      for (const limit of ['0', '501', 'ten']) assert.equal((await get(`/v1/mailboxes?limit=${limit}`, paging.adminKey)).status, 422, limit);
    });
  });

  it('links each mailbox and domain to its workflow in the Temporal Web UI when the address is known', async () => {
    const temporal = await testTemporal();
    const withUi = await startApiComponent(
      {
        databaseUrl: api.database.appUrl,
        poolMax: 2,
        temporal: { address: temporal.address, namespace: 'default', taskQueue: `test-${crypto.randomUUID()}` },
        temporalUiUrl: 'http://ui.example:8233/',
        host: '127.0.0.1',
        port: 0,
        encryptionKeys: generateEncryptionKeySpec('k1'),
        rateLimits: DEFAULT_RATE_LIMITS,
      },
      { db: api.database.db },
    );
    try {
      const read = async (path: string): Promise<Json> => {
        const res = await fetch(`${withUi.url}${path}`, { headers: { authorization: `Bearer ${viewer}` } });
        assert.equal(res.status, 200);
        return res.json();
      };
      const sam = await read('/v1/mailboxes/sam@acme-mail.test');
      assert.equal(sam.temporalUrl, `http://ui.example:8233/namespaces/default/workflows/${encodeURIComponent(sam.workflowId)}`);
      assert.ok(decodeURIComponent(sam.temporalUrl).includes(mailboxWorkflowId(acme.id, 'sam@acme-mail.test')));
      const domain = (await read('/v1/domains')).items[0];
      assert.equal(domain.temporalUrl, `http://ui.example:8233/namespaces/default/workflows/${encodeURIComponent(domainWorkflowId(acme.id, 'acme-mail.test'))}`);
    } finally {
      await withUi.stop();
    }
  });

  it('publishes the six routes and their schemas in the OpenAPI document, for viewers', async () => {
    const doc = (await api.call('GET', '/v1/openapi.json')).json;
    for (const path of ['/v1/mailboxes', '/v1/mailboxes/{email}', '/v1/domains', '/v1/domains/{domain}', '/v1/campaigns', '/v1/campaigns/{campaignId}']) {
      assert.equal(doc.paths[path]?.get?.['x-drason-access'], 'viewer', path);
    }
    for (const schema of ['Mailbox', 'Domain', 'Campaign', 'MailboxPage', 'DomainPage', 'CampaignPage', 'Windows', 'WindowCounts']) assert.ok(doc.components.schemas[schema], schema);
    assert.match(doc.components.schemas.Mailbox.properties.riskScore.description, /ExecutionRiskScore 0–100/);
  });

  describe('at 10,000 mailboxes (query plans, not timings)', () => {
    let big: TestOrganization;
    const plans: string[] = [];

    /** Runs `work` in the organization's transaction and EXPLAINs every query it made, as the application role. */
    const explainQueries = async (work: Parameters<typeof withTenant>[2]): Promise<string[]> => {
      const made: { sql: string; bindings: unknown[] }[] = [];
      const record = (q: { sql: string; bindings?: unknown[] }): void => void made.push({ sql: q.sql, bindings: q.bindings ?? [] });
      api.database.db.on('query', record);
      try {
        await withTenant(api.database.db, big.id, work);
      } finally {
        api.database.db.off('query', record);
      }
      const explained: string[] = [];
      await withTenant(api.database.db, big.id, async (tx) => {
        for (const q of made.filter((m) => /^\s*select/i.test(m.sql) && !m.sql.includes('set_config'))) {
          const { rows } = await tx.raw<{ rows: { 'QUERY PLAN': string }[] }>(`explain ${q.sql.replace(/\$\d+/g, '?')}`, q.bindings as never);
          explained.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
        }
      });
      return explained;
    };

    before(async () => {
      big = await api.createOrganization('Big Co');
      await withTenant(api.database.db, big.id, async (tx) => {
        await tx.raw(`insert into domains (organization_id, name) select ?, 'd' || i || '.test' from generate_series(0, 99) i`, [big.id]);
        await tx.raw(
          `insert into mailboxes (organization_id, email, domain_id)
           select ?, 'm' || lpad(i::text, 5, '0') || '@d' || (i % 100) || '.test', d.id
             from generate_series(1, 10000) i join domains d on d.name = 'd' || (i % 100) || '.test'`,
          [big.id],
        );
      });
      await api.database.ownerDb.raw('analyze mailboxes, domains, entity_counters');
    });
    after(() => {
      if (plans.length > 0 && process.env.SHOW_PLANS !== undefined) console.log(plans.join('\n\n'));
    });

    it('reads a page from the middle by index range on the lower-case key, never a scan of every mailbox', async () => {
      const explained = await explainQueries(async (tx) => {
        const page = await listMailboxes(tx, { limit: 51, after: 'm05000@d0.test' });
        assert.equal(page.length, 51);
      });
      plans.push(...explained);
      const [pageQuery] = explained;
      assert.match(pageQuery!, /Index (Only )?Scan using mailboxes_email_key_unique on mailboxes/, pageQuery);
      assert.match(pageQuery!, /Index Cond: \(.*email_key > /, pageQuery);
      assert.doesNotMatch(pageQuery!, /Seq Scan on mailboxes|Sort/, pageQuery);
    });

    it('finds one mailbox by index, whatever the case it is asked in', async () => {
      const explained = await explainQueries(async (tx) => {
        assert.equal((await getMailbox(tx, 'M07777@D77.TEST'))?.email, 'm07777@d77.test');
      });
      plans.push(...explained);
      assert.match(explained[0]!, /Index Cond: \(.*email_key = /, explained[0]);
      assert.doesNotMatch(explained[0]!, /Seq Scan on mailboxes/, explained[0]);
    });

    it('pages the 10,000 through the API with limit 500, each once', async () => {
      const seen = new Set<string>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Reply = await get(`/v1/mailboxes?limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`, big.adminKey);
        assert.equal(page.status, 200, page.text);
        for (const m of page.json.items as Json[]) seen.add(m.email as string);
        cursor = page.json.nextCursor;
        pages += 1;
      } while (cursor !== null && pages <= 21);
      assert.equal(pages, 20);
      assert.equal(seen.size, 10_000);
    });
  });
});
