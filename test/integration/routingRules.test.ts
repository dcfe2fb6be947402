/** GET / PUT /v1/routing-rules through the real API: versions, validation (422), access, audit, isolation, leads untouched. */
import assert from 'node:assert/strict';
import { withTenant } from '../../src/db/tenant';
import { startTestApi, type Json, type TestApi, type TestOrganization } from '../support/api';

describe('routing rules API', function () {
  this.timeout(60_000);
  let api: TestApi;
  let org: TestOrganization;
  let viewerKey: string;
  let operatorKey: string;
  const get = (token = org.adminKey) => api.call('GET', '/v1/routing-rules', { token });
  const put = (body: unknown, token = org.adminKey) => api.call('PUT', '/v1/routing-rules', { token, body });
  const paths = (reply: { json: Json }): string[] => (reply.json.errors as Json[]).map((e) => e.path);

  const cto = { name: 'CTO high score', when: { persona: 'CTO', minScore: 80 }, campaignId: '42' };
  const rest = { name: 'Everyone else', when: {}, campaignId: '7' };

  async function addCampaign(campaignId: string, options: { deleted?: boolean } = {}): Promise<void> {
    await withTenant(api.database.db, org.id, (tx) =>
      tx('campaigns').insert({
        organization_id: org.id,
        campaign_id: campaignId,
        name: `Campaign ${campaignId}`,
        status: options.deleted === true ? 'DELETED' : 'ACTIVE',
        deleted_externally_at: options.deleted === true ? new Date() : null,
      }),
    );
  }

  before(async () => {
    api = await startTestApi();
    org = await api.createOrganization('Routed');
    viewerKey = (await api.createKey(org.adminKey, 'viewer')).key;
    operatorKey = (await api.createKey(org.adminKey, 'operator')).key;
    for (const id of ['42', '7', '9']) await addCampaign(id);
    await addCampaign('13', { deleted: true });
  });
  after(async () => {
    await api?.stop();
  });

  it('starts at version 0 with no rules', async () => {
    const got = await get(viewerKey);
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.json, { version: 0, rules: [], updatedAt: null });
  });

  it('PUT then GET round-trips the rules in order and bumps the version each time', async () => {
    const first = await put([cto, { ...rest, campaignId: 7 }]);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.version, 1);
    assert.deepEqual(first.json.rules, [cto, rest], 'a numeric campaignId is kept as text');
    assert.ok(!Number.isNaN(Date.parse(first.json.updatedAt)));

    const second = await put([{ name: 'VPs', when: { persona: ['VP Sales', 'VP Marketing'], maxScore: 90 }, campaignId: '9' }, cto, rest]);
    assert.equal(second.status, 200, second.text);
    assert.equal(second.json.version, 2);
    const got = await get(viewerKey);
    assert.equal(got.status, 200);
    assert.equal(got.json.version, 2);
    assert.deepEqual(
      got.json.rules.map((r: Json) => r.name),
      ['VPs', 'CTO high score', 'Everyone else'],
    );
    assert.deepEqual(got.json.rules[0], { name: 'VPs', when: { persona: ['VP Sales', 'VP Marketing'], maxScore: 90 }, campaignId: '9' });
    assert.equal(got.json.updatedAt, second.json.updatedAt);
    const positions = await withTenant(api.database.db, org.id, (tx) => tx('routing_rules').orderBy('position').select('position', 'name'));
    assert.deepEqual(positions, [
      { position: 0, name: 'VPs' },
      { position: 1, name: 'CTO high score' },
      { position: 2, name: 'Everyone else' },
    ]);
  });

  it('audits the change with the acting key and the rules in plain English', async () => {
    const items = (await api.call('GET', '/v1/audit?entityType=routing', { token: org.adminKey })).json.items as Json[];
    const [latest] = items;
    assert.equal(latest.action, 'routing_rules_changed');
    assert.equal(latest.actor, `api-key:${org.adminKeyId}`);
    assert.equal(latest.entityId, org.id);
    assert.equal(
      latest.message,
      'Routing rules version 2 by API key "bootstrap admin key": 3 rules — 1. persona any of VP Sales, VP Marketing and score ≤ 90 → campaign 9; 2. persona CTO and score ≥ 80 → campaign 42; 3. every lead → campaign 7.',
    );
    assert.equal(items.filter((i) => i.action === 'routing_rules_changed').length, 2);
  });

  it('refuses a rule pointing at an unknown campaign with 422 naming the rule, and changes nothing', async () => {
    const bad = await put([cto, { name: 'Ghost', when: { persona: 'CEO' }, campaignId: '999' }]);
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(paths(bad), ['1.campaignId']);
    assert.match(bad.json.errors[0].message, /campaign 999 is unknown/);
    const got = await get();
    assert.equal(got.json.version, 2);
    assert.equal(got.json.rules.length, 3);
  });

  it("refuses another organization's campaign as unknown", async () => {
    const other = await api.createOrganization('Other with campaign');
    await withTenant(api.database.db, other.id, (tx) => tx('campaigns').insert({ organization_id: other.id, campaign_id: '555', name: 'Theirs' }));
    const bad = await put([{ name: 'Theirs', when: {}, campaignId: '555' }]);
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(paths(bad), ['0.campaignId']);
  });

  it('refuses a campaign deleted in Smartlead with 422', async () => {
    const bad = await put([{ name: 'Deleted', when: { persona: 'CFO' }, campaignId: '13' }, cto]);
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(paths(bad), ['0.campaignId']);
    assert.match(bad.json.errors[0].message, /campaign 13 was deleted/);
    assert.equal((await get()).json.version, 2);
  });

  it('refuses invalid bodies with 422 listing every problem', async () => {
    const bad = await put([
      { name: 'Dup', when: { persona: 'CTO' }, campaignId: '42' },
      { name: 'dup', when: { minScore: 90, maxScore: 10 }, campaignId: '42' },
      { name: 'Typo', when: { minscore: 50 }, campaignId: '42' },
    ]);
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(paths(bad).sort(), ['1.name', '1.when.minScore', '2.when'].sort());
    const notArray = await put({ name: 'x' });
    assert.equal(notArray.status, 422);
    assert.equal(notArray.json.errors.length, 1);
    assert.equal((await get()).json.version, 2);
  });

  it('lets only admins change the rules (viewer and operator get 403); viewers can read', async () => {
    assert.equal((await put([cto], viewerKey)).status, 403);
    assert.equal((await put([cto], operatorKey)).status, 403);
    assert.equal((await get(operatorKey)).status, 200);
    assert.equal((await get()).json.version, 2);
  });

  it('another organization sees its own (empty) rules', async () => {
    const other = await api.createOrganization('Elsewhere');
    const got = await api.call('GET', '/v1/routing-rules', { token: other.adminKey });
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, { version: 0, rules: [], updatedAt: null });
  });

  it('never moves leads: an active lead keeps its campaign after a change', async () => {
    const [lead] = (await withTenant(api.database.db, org.id, (tx) =>
      tx('leads')
        .insert({ organization_id: org.id, email: 'ada@example.com', persona: 'CTO', lead_score: 95, status: 'active', assigned_campaign_id: '42' })
        .returning(['id', 'updated_at']),
    )) as { id: string; updated_at: Date }[];
    const changed = await put([{ name: 'All CTOs', when: { persona: 'CTO' }, campaignId: '9' }]);
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.json.version, 3);
    const after = (await withTenant(api.database.db, org.id, (tx) => tx('leads').where({ id: lead!.id }).first('status', 'assigned_campaign_id', 'updated_at'))) as Json;
    assert.deepEqual([after.status, after.assigned_campaign_id], ['active', '42']);
    assert.equal((after.updated_at as Date).getTime(), lead!.updated_at.getTime());
  });

  it('routes held leads no rule matched once a matching rule is added, audits it, and tells the campaign\'s lead push workflow', async () => {
    await put([]);
    const ingested = await api.call('POST', '/v1/webhooks/clay', { token: org.adminKey, body: { email: 'grace@example.com', persona: 'Founder', lead_score: 70, workable: true } });
    assert.equal(ingested.status, 202, ingested.text);
    const leadId = ingested.json.leadId as string;
    const before = (await api.call('GET', `/v1/leads/${leadId}`, { token: org.adminKey })).json;
    assert.equal(before.assignedCampaignId, null);
    assert.match(String(before.holdReason), /no matching rule/);

    const changed = await put([{ name: 'Founders', when: { persona: 'founder' }, campaignId: '9' }]);
    assert.equal(changed.status, 200, changed.text);
    const after = (await api.call('GET', `/v1/leads/${leadId}`, { token: org.adminKey })).json;
    assert.deepEqual([after.status, after.assignedCampaignId, after.holdReason], ['held', '9', 'awaiting the execution gate']);
    const stored = (await withTenant(api.database.db, org.id, async (tx) => ({
      lead: (await tx('leads').where({ id: leadId }).first('routing_rule', 'routing_version')) as Json,
      audit: (await tx('audit_log').where({ entity_id: leadId, action: 'lead_routed' }).select('message')) as Json[],
      commands: (await tx('entity_commands').where({ kind: 'leads_changed', entity_type: 'campaign_leads', entity_key: '9' }).select('payload')) as Json[],
    })));
    assert.deepEqual([stored.lead.routing_rule, stored.lead.routing_version], ['Founders', changed.json.version]);
    assert.equal(stored.audit.length, 1);
    assert.match(String(stored.audit[0]!.message), /now held for campaign 9 .*Founders/);
    assert.ok(stored.commands.some((c) => (c.payload as Json).reason === 'rule_added'), JSON.stringify(stored.commands));
  });

  it('an empty list removes every rule as a new version', async () => {
    const cleared = await put([]);
    assert.equal(cleared.status, 200, cleared.text);
    assert.deepEqual([cleared.json.version, cleared.json.rules], [6, []]);
    assert.deepEqual((await get()).json.rules, []);
  });
});
