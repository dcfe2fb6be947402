/**
 * Source quality end to end on PostgreSQL and the real API (issue 10): the relay's count stage attributes
 * list-quality hard bounces to pushed leads, reviewSources quarantines / recommends / observes per mode (once per
 * breach), a person releases a source or applies a quarantine_source or push_leads recommendation over HTTP, and
 * another organization never sees or reaches any of it.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createActivities } from '../../src/activities';
import { pendingCommands } from '../../src/db/repositories/commands';
import { ingestEvents, type NewEvent } from '../../src/db/repositories/events';
import { countQueuedEvents } from '../../src/db/repositories/relay';
import { quarantinedSources } from '../../src/db/repositories/sources';
import { withTenant } from '../../src/db/tenant';
import { startTestApi, type TestApi, type TestOrganization } from '../support/api';

describe('source quality (PostgreSQL and the API)', function () {
  this.timeout(60_000);
  let api: TestApi;
  let activities: ReturnType<typeof createActivities>;

  before(async () => {
    api = await startTestApi();
    activities = createActivities({ db: api.database.db, integrations: api.integrations });
  });
  after(async () => {
    await api?.stop();
  });

  const db = () => api.database.db;
  const newOrg = async (mode?: 'observe' | 'suggest' | 'enforce'): Promise<TestOrganization> => {
    const org = await api.createOrganization(`Sources ${crypto.randomUUID().slice(0, 8)}`);
    if (mode !== undefined && mode !== 'observe') {
      const put = await api.call('PUT', '/v1/settings', { token: org.adminKey, body: { mode } });
      assert.equal(put.status, 200, put.text);
    }
    return org;
  };
  /** Campaign `campaignId` with `pushed` pushed leads of `rule`, the first `bounced` of them list-bounced, and `held` held ones. */
  const seedSource = async (org: TestOrganization, rule: string, campaignId: string, n: { pushed: number; bounced?: number; held?: number }): Promise<string[]> =>
    withTenant(db(), org.id, async (tx) => {
      await tx('campaigns').insert({ organization_id: org.id, campaign_id: campaignId, name: `Campaign ${campaignId}`, status: 'ACTIVE' }).onConflict(['organization_id', 'campaign_id']).ignore();
      const tag = crypto.randomUUID().slice(0, 8);
      const rows = [
        ...Array.from({ length: n.pushed }, (_, i) => ({
          email: `p${i}-${tag}@list.io`,
          status: 'active',
          pushed_at: new Date(),
          list_bounced_at: i < (n.bounced ?? 0) ? new Date() : null,
        })),
        ...Array.from({ length: n.held ?? 0 }, (_, i) => ({ email: `h${i}-${tag}@list.io`, status: 'held', pushed_at: null, list_bounced_at: null })),
      ];
      await tx('leads').insert(rows.map((r) => ({ organization_id: org.id, persona: 'cto', lead_score: 50, assigned_campaign_id: campaignId, routing_rule: rule, ...r })));
      return rows.map((r) => r.email);
    });
  const audits = (org: TestOrganization, action: string) =>
    withTenant(db(), org.id, (tx) => tx('audit_log').where({ action }).orderBy('id').select('entity_type', 'entity_id', 'actor', 'message', 'mode')) as Promise<
      { entity_type: string; entity_id: string; actor: string; message: string; mode: string }[]
    >;
  const leadsChanged = async (org: TestOrganization) =>
    (await withTenant(db(), org.id, (tx) => pendingCommands(tx))).filter((c) => c.kind === 'leads_changed').map((c) => ({ campaign: c.entityKey, type: c.entityType, reason: c.payload.reason, hasId: typeof c.payload.commandId === 'string' }));
  const review = (org: TestOrganization, campaignId: string, pass: number) => activities.reviewSources({ organizationId: org.id, campaignId, decisionKey: `leadPush/${org.id}/${campaignId}@run#${pass}` });

  describe("the relay's count stage", () => {
    it('marks the pushed lead of a list-quality bounce list-bounced once and stores one source_bounce command per campaign', async () => {
      const org = await newOrg();
      const [bad, rep, other] = await seedSource(org, 'Scraped', '501', { pushed: 3 });
      const [notPushed] = (await seedSource(org, 'Scraped', '501', { pushed: 0, held: 1 }))!;
      const [elsewhere] = await seedSource(org, 'Scraped', '502', { pushed: 1 });
      let n = 0;
      const bounce = (lead: string, campaignId: string, bounceClass: 'list_quality' | 'reputation'): NewEvent => ({
        idempotencyKey: `e-${(n += 1)}`,
        type: 'HardBounce',
        source: 'api',
        occurredAt: new Date(),
        mailbox: 'sender@mail-a.io',
        campaignId,
        leadEmail: lead.toUpperCase(),
        bounceClass,
      });
      await ingestEvents(db(), org.id, [
        bounce(bad!, '501', 'list_quality'),
        bounce(bad!, '501', 'list_quality'),
        bounce(rep!, '501', 'reputation'),
        bounce(notPushed!, '501', 'list_quality'),
        bounce(elsewhere!, '501', 'list_quality'), // its lead is in campaign 502, not 501
        bounce(elsewhere!, '502', 'list_quality'),
        { idempotencyKey: 'sent-1', type: 'EmailSent', source: 'api', occurredAt: new Date(), mailbox: 'sender@mail-a.io', campaignId: '501', leadEmail: other! },
      ]);
      const batch = await withTenant(db(), org.id, (tx) => countQueuedEvents(tx, org.id, 100));
      assert.equal(batch.counted, 7);
      assert.equal(batch.listBounced, 2);
      assert.equal(batch.sourceCommands, 2);
      const marked = async () =>
        new Map(
          ((await withTenant(db(), org.id, (tx) => tx('leads').select('email', 'list_bounced_at'))) as { email: string; list_bounced_at: Date | null }[]).map((r) => [r.email, r.list_bounced_at]),
        );
      const first = await marked();
      assert.ok(first.get(bad!) instanceof Date);
      assert.ok(first.get(elsewhere!) instanceof Date);
      for (const untouched of [rep, other, notPushed]) assert.equal(first.get(untouched!), null, `${untouched} is not list-bounced`);
      assert.deepEqual(
        (await leadsChanged(org)).sort((a, b) => a.campaign.localeCompare(b.campaign)),
        [
          { campaign: '501', type: 'campaign_leads', reason: 'source_bounce', hasId: true },
          { campaign: '502', type: 'campaign_leads', reason: 'source_bounce', hasId: true },
        ],
      );

      // A later bounce of the same lead counts nothing new: the first one stands.
      await ingestEvents(db(), org.id, [bounce(bad!, '501', 'list_quality'), bounce(rep!, '501', 'reputation')]);
      const again = await withTenant(db(), org.id, (tx) => countQueuedEvents(tx, org.id, 100));
      assert.deepEqual([again.counted, again.listBounced, again.sourceCommands], [2, 0, 0]);
      assert.equal((await marked()).get(bad!)?.getTime(), first.get(bad!)?.getTime());
      assert.equal((await leadsChanged(org)).length, 2);
    });
  });

  describe('reviewSources', () => {
    it('enforce: quarantines the source once, audited in words, and reports it', async () => {
      const org = await newOrg('enforce');
      await seedSource(org, 'Bad list', '601', { pushed: 23, bounced: 7 });
      await seedSource(org, 'Good list', '601', { pushed: 25, bounced: 1 });
      const first = await review(org, '601', 1);
      const second = await review(org, '601', 2);
      await review(org, '601', 2); // a retry of the same pass
      assert.deepEqual(second, first);
      assert.equal(first.quarantined.length, 1);
      assert.equal(first.quarantined[0]!.source, 'Bad list');
      assert.match(first.quarantined[0]!.reason, /^7 of 23 pushed leads hard-bounced as invalid addresses \(30\.4%\), at or above the source-quality limit of 4% over at least 20 leads/);
      const rows = await audits(org, 'source_quarantined');
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.entity_type, 'routing');
      assert.equal(rows[0]!.entity_id, 'Bad list');
      assert.equal(rows[0]!.mode, 'enforce');
      assert.match(
        rows[0]!.message,
        /^Routing rule "Bad list" quarantined: 7 of 23 pushed leads hard-bounced as invalid addresses \(30\.4%\), at or above the source-quality limit of 4% over at least 20 leads: .*Its new leads are held with the reason "source quality" until a person releases it$/,
      );
      assert.deepEqual([...(await withTenant(db(), org.id, (tx) => quarantinedSources(tx)))].map(([s]) => s), ['Bad list']);
    });

    it('suggest: one pending quarantine_source recommendation, listed by GET /v1/recommendations; applying it quarantines the source now', async () => {
      const org = await newOrg('suggest');
      await seedSource(org, 'Bad list', '701', { pushed: 20, bounced: 2 });
      assert.deepEqual(await review(org, '701', 1), { quarantined: [] });
      await review(org, '701', 2);
      const listed = await api.call('GET', '/v1/recommendations?entityType=source', { token: org.adminKey });
      assert.equal(listed.status, 200, listed.text);
      assert.equal(listed.json.items.length, 1);
      const rec = listed.json.items[0];
      assert.deepEqual([rec.entityType, rec.entityId, rec.action, rec.status], ['source', 'Bad list', 'quarantine_source', 'pending']);
      assert.match(rec.message, /^Recommend quarantining routing rule "Bad list": 2 of 20 pushed leads/);
      assert.equal((await audits(org, 'source_quarantine_recommended')).length, 1);
      assert.equal((await audits(org, 'source_quarantined')).length, 0);

      const operator = await api.createKey(org.adminKey, 'operator', 'Dana');
      const applied = await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: operator.key });
      assert.equal(applied.status, 200, applied.text);
      assert.equal(applied.json.status, 'applied');
      assert.equal(applied.json.appliedBy, `api-key:${operator.id}`);
      const rows = await audits(org, 'source_quarantined');
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.actor, `api-key:${operator.id}`);
      assert.match(rows[0]!.message, /^Routing rule "Bad list" quarantined by api-key:.*, applying recommendation .*: 2 of 20 pushed leads hard-bounced .*until a person releases it\.$/);
      assert.deepEqual([...(await withTenant(db(), org.id, (tx) => quarantinedSources(tx)))].map(([s]) => s), ['Bad list']);
      assert.equal((await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: operator.key })).status, 409);
      // Quarantined now: a later review writes nothing more.
      assert.deepEqual((await review(org, '701', 3)).quarantined.map((q) => q.source), ['Bad list']);
      assert.equal((await audits(org, 'source_quarantine_recommended')).length, 1);
    });

    it('observe: audits "would quarantine" once per breach, holds nothing', async () => {
      const org = await newOrg();
      await seedSource(org, 'Bad list', '801', { pushed: 30, bounced: 9 });
      await review(org, '801', 1);
      await review(org, '801', 2);
      const rows = await audits(org, 'source_quarantine_observed');
      assert.equal(rows.length, 1);
      assert.match(rows[0]!.message, /^Observe mode: would quarantine routing rule "Bad list": 9 of 30 pushed leads .*; its leads keep flowing$/);
      assert.equal((await withTenant(db(), org.id, (tx) => quarantinedSources(tx))).size, 0);
      assert.equal((await api.call('GET', '/v1/recommendations', { token: org.adminKey })).json.items.length, 0);
    });

    it('a source below the sample or the rate is left alone', async () => {
      const org = await newOrg('enforce');
      await seedSource(org, 'Small', '901', { pushed: 19, bounced: 5 });
      await seedSource(org, 'Clean', '901', { pushed: 50, bounced: 1 });
      assert.deepEqual(await review(org, '901', 1), { quarantined: [] });
      assert.equal((await audits(org, 'source_quarantined')).length, 0);
    });
  });

  describe('GET /v1/sources and POST /v1/sources/:name/release', () => {
    it('lists sources with their evidence; an operator releases a quarantined one, audited, its held leads looked at again, counted afresh', async () => {
      const org = await newOrg('enforce');
      await seedSource(org, 'Bad list', '1001', { pushed: 23, bounced: 7, held: 2 });
      await seedSource(org, 'Good list', '1002', { pushed: 4 });
      await review(org, '1001', 1);
      const before = await api.call('GET', '/v1/sources', { token: (await api.createKey(org.adminKey, 'viewer')).key });
      assert.equal(before.status, 200, before.text);
      assert.deepEqual(
        before.json.items.map((s: { name: string; pushed: number; listBounced: number; state: string }) => [s.name, s.pushed, s.listBounced, s.state]),
        [
          ['Bad list', 23, 7, 'quarantined'],
          ['Good list', 4, 0, 'active'],
        ],
      );
      assert.ok(Math.abs(before.json.items[0].rate - 7 / 23) < 1e-9);
      assert.match(before.json.items[0].reason, /^7 of 23 pushed leads/);
      assert.equal(typeof before.json.items[0].quarantinedAt, 'string');

      const viewer = await api.createKey(org.adminKey, 'viewer');
      assert.equal((await api.call('POST', '/v1/sources/Bad%20list/release', { token: viewer.key })).status, 403);
      const operator = await api.createKey(org.adminKey, 'operator', 'Sam');
      const released = await api.call('POST', '/v1/sources/Bad%20list/release', { token: operator.key });
      assert.equal(released.status, 200, released.text);
      assert.equal(released.json.state, 'released');
      assert.equal(released.json.releasedBy, `api-key:${operator.id}`);
      assert.deepEqual([released.json.pushed, released.json.listBounced], [0, 0], 'evidence counts afresh from the release');
      assert.equal(released.json.countsFrom, released.json.releasedAt);
      const rows = await audits(org, 'source_released');
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.actor, `api-key:${operator.id}`);
      assert.match(rows[0]!.message, /^Routing rule "Bad list" released by api-key:.*; campaign 1001 will look at its held leads again\.$/);
      assert.deepEqual(await leadsChanged(org), [{ campaign: '1001', type: 'campaign_leads', reason: 'source_released', hasId: true }]);
      assert.equal((await withTenant(db(), org.id, (tx) => quarantinedSources(tx))).size, 0);

      assert.equal((await api.call('POST', '/v1/sources/Bad%20list/release', { token: operator.key })).status, 409);
      assert.equal((await api.call('POST', '/v1/sources/Good%20list/release', { token: operator.key })).status, 409);
      const unknown = await api.call('POST', '/v1/sources/Nobody/release', { token: operator.key });
      assert.equal(unknown.status, 404);
      assert.match(unknown.headers.get('content-type') ?? '', /application\/problem\+json/);
      // Judged afresh: the old evidence no longer counts, so a review quarantines nothing.
      assert.deepEqual(await review(org, '1001', 2), { quarantined: [] });
    });
  });

  it('applying a push_leads recommendation marks it applied and stores a push_approved leads_changed command', async () => {
    const org = await newOrg('suggest');
    await seedSource(org, 'Any', '1101', { pushed: 0, held: 1 });
    const [rec] = (await withTenant(db(), org.id, (tx) =>
      tx('recommendations')
        .insert({ organization_id: org.id, entity_type: 'campaign', entity_key: '1101', action: 'push_leads', decision_id: 'push-1101', message: 'Push 1 held lead to campaign 1101.' })
        .returning('id'),
    )) as { id: string }[];
    const applied = await api.call('POST', `/v1/recommendations/${rec!.id}/apply`, { token: org.adminKey });
    assert.equal(applied.status, 200, applied.text);
    assert.deepEqual([applied.json.action, applied.json.status], ['push_leads', 'applied']);
    assert.deepEqual(await leadsChanged(org), [{ campaign: '1101', type: 'campaign_leads', reason: 'push_approved', hasId: true }]);
    assert.equal((await api.call('POST', `/v1/recommendations/${rec!.id}/apply`, { token: org.adminKey })).status, 409);
  });

  it("tenancy: another organization never sees, releases or applies an organization's sources", async () => {
    const owner = await newOrg('enforce');
    const other = await newOrg('enforce');
    await seedSource(owner, 'Bad list', '1201', { pushed: 20, bounced: 4 });
    await review(owner, '1201', 1);
    const otherList = await api.call('GET', '/v1/sources', { token: other.adminKey });
    assert.deepEqual(otherList.json.items, []);
    assert.equal((await withTenant(db(), other.id, (tx) => quarantinedSources(tx))).size, 0);
    // The other organization has no campaign 1201 leads: its review of that campaign finds nothing either.
    assert.deepEqual(await review(other, '1201', 1), { quarantined: [] });
    const release = await api.call('POST', '/v1/sources/Bad%20list/release', { token: other.adminKey });
    assert.equal(release.status, 404);
    assert.equal((await api.call('GET', '/v1/sources', { token: owner.adminKey })).json.items[0].state, 'quarantined');

    const suggestOwner = await newOrg('suggest');
    await seedSource(suggestOwner, 'Bad list', '1202', { pushed: 20, bounced: 4 });
    await review(suggestOwner, '1202', 1);
    const rec = (await api.call('GET', '/v1/recommendations?entityType=source', { token: suggestOwner.adminKey })).json.items[0];
    assert.equal((await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: other.adminKey })).status, 404);
    assert.deepEqual((await api.call('GET', '/v1/recommendations?entityType=source', { token: other.adminKey })).json.items, []);
  });
});
