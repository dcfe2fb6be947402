/**
 * Clay ingestion through the real app (API.md "Ingestion", issue 10): POST /v1/webhooks/clay stores the raw
 * LeadIngested event, creates the lead held/healthy and routes it with the organization's rules in one transaction;
 * a bad row is a 422 naming every field, creates nothing and is audited; the same row 50 times at once is one lead
 * and one event. GET /v1/leads and /v1/leads/:id read them per organization; the overview counts them.
 */
import assert from 'node:assert/strict';
import { withTenant } from '../../src/db/tenant';
import { AWAITING_GATE } from '../../src/db/repositories/leads';
import { startTestApi, type Json, type TestApi, type TestOrganization } from '../support/api';

describe('Clay webhook and leads (API)', function () {
  this.timeout(60_000);
  let api: TestApi;
  let org: TestOrganization;
  let other: TestOrganization;
  let ingest: string;
  let viewer: string;
  let otherViewer: string;

  const post = (body: unknown, token = ingest, headers?: Record<string, string>) =>
    api.call('POST', '/v1/webhooks/clay', { ...(token === '' ? {} : { token }), body, ...(headers === undefined ? {} : { headers }) });
  const count = (table: string, where: Record<string, unknown> = {}) =>
    withTenant(api.database.db, org.id, async (tx) => Number(((await tx(table).where(where).count('* as n').first()) as { n: number }).n));
  const leadEvents = () => count('events', { source: 'clay', type: 'LeadIngested' });
  const audit = async (action: string): Promise<Json[]> =>
    ((await api.call('GET', '/v1/audit?entityType=lead&limit=500', { token: viewer })).json.items as Json[]).filter((a) => a.action === action);

  before(async () => {
    api = await startTestApi();
    org = await api.createOrganization('Clay leads');
    other = await api.createOrganization('Clay other');
    ingest = (await api.createKey(org.adminKey, 'ingest')).key;
    viewer = (await api.createKey(org.adminKey, 'viewer')).key;
    otherViewer = (await api.createKey(other.adminKey, 'viewer')).key;
    await withTenant(api.database.db, org.id, async (tx) => {
      await tx('campaigns').insert([
        { organization_id: org.id, campaign_id: '101', name: 'CTO high', status: 'ACTIVE' },
        { organization_id: org.id, campaign_id: '202', name: 'CTO any', status: 'ACTIVE' },
      ]);
      await tx('routing_rules').insert([
        { organization_id: org.id, position: 0, name: 'CTO high score', when: JSON.stringify({ persona: ['CTO', 'VP Engineering'], minScore: 80 }), campaign_id: '101' },
        { organization_id: org.id, position: 1, name: 'CTO any score', when: JSON.stringify({ persona: 'cto' }), campaign_id: '202' },
      ]);
    });
  });
  after(async () => {
    await api?.stop();
  });

  it('routes an accepted lead to the first matching rule and holds it awaiting the gate, keeping every column', async () => {
    const reply = await post({ email: ' Jane@Acme.com ', persona: 'cto', lead_score: 91, workable: true, external_id: 'row-1', company: 'Acme', linkedin: 'x' });
    assert.equal(reply.status, 202, reply.text);
    assert.deepEqual(Object.keys(reply.json).sort(), ['duplicate', 'leadId', 'status']);
    assert.deepEqual([reply.json.status, reply.json.duplicate], ['held', false]);
    const lead = await api.call('GET', `/v1/leads/${reply.json.leadId}`, { token: viewer });
    assert.equal(lead.status, 200, lead.text);
    assert.deepEqual(Object.keys(lead.json).sort(), [
      'assignedCampaignId',
      'completedAt',
      'completedReason',
      'createdAt',
      'email',
      'healthState',
      'holdReason',
      'id',
      'leadScore',
      'pausedBy',
      'persona',
      'pushStatus',
      'pushedAt',
      'refusedBySmartlead',
      'routingRule',
      'routingVersion',
      'status',
    ]);
    assert.deepEqual(
      [lead.json.email, lead.json.persona, lead.json.leadScore, lead.json.status, lead.json.healthState, lead.json.assignedCampaignId, lead.json.holdReason],
      ['jane@acme.com', 'cto', 91, 'held', 'healthy', '101', AWAITING_GATE],
    );
    const raw = await withTenant(api.database.db, org.id, async (tx) => ((await tx('leads').where({ id: reply.json.leadId }).first('raw')) as { raw: Json }).raw);
    assert.equal(raw.company, 'Acme');
    assert.equal(raw.linkedin, 'x');
    const event = await withTenant(api.database.db, org.id, (tx) => tx('events').where({ source: 'clay', idempotency_key: 'external_id:row-1' }).first('type', 'detail'));
    assert.equal(event.type, 'LeadIngested');
    assert.equal(event.detail.company, 'Acme');
    const ingested = (await audit('lead_ingested')).filter((a) => a.entityId === reply.json.leadId);
    assert.equal(ingested.length, 1);
    assert.match(ingested[0].message, /rule 1 'CTO high score'/);
    const stored = await withTenant(api.database.db, org.id, async (tx) => ({
      lead: (await tx('leads').where({ id: reply.json.leadId }).first('routing_rule', 'routing_version')) as Json,
      commands: (await tx('entity_commands').where({ kind: 'leads_changed', entity_type: 'campaign_leads', entity_key: '101' }).select('payload')) as Json[],
    }));
    assert.equal(stored.lead.routing_rule, 'CTO high score', 'the rule is the lead\'s source');
    assert.ok(stored.commands.some((c) => (c.payload as Json).reason === 'leads_routed'), 'the campaign\'s lead push workflow is told');
  });

  it('accepts a numeric-string lead_score and routes by it (second rule for a low score)', async () => {
    const reply = await post({ email: 'low@acme.com', persona: 'CTO', lead_score: ' 42 ', workable: 'true' });
    assert.equal(reply.status, 202, reply.text);
    const lead = (await api.call('GET', `/v1/leads/${reply.json.leadId}`, { token: viewer })).json;
    assert.deepEqual([lead.leadScore, lead.assignedCampaignId, lead.holdReason], [42, '202', AWAITING_GATE]);
  });

  it('holds an unrouted lead with the "no matching rule" reason, audits it and counts it in the overview', async () => {
    const before = (await api.call('GET', '/v1/overview', { token: viewer })).json;
    const reply = await post({ email: 'intern@acme.com', persona: 'Intern', lead_score: 12, workable: true });
    assert.equal(reply.status, 202, reply.text);
    const lead = (await api.call('GET', `/v1/leads/${reply.json.leadId}`, { token: viewer })).json;
    assert.equal(lead.assignedCampaignId, null);
    assert.match(lead.holdReason, /^no matching rule: persona 'Intern' \(score 12\) matches none of 2 rules/);
    const after = (await api.call('GET', '/v1/overview', { token: viewer })).json;
    assert.equal(after.unrouted, before.unrouted + 1);
    assert.equal(after.leads.held, before.leads.held + 1);
    const why = (after.heldReasons as Json[]).find((r) => r.campaignId === null && r.reason === lead.holdReason);
    assert.equal(why?.leads, 1, 'the overview says why it waits');
    const unrouted = (await audit('lead_unrouted')).filter((a) => a.entityId === reply.json.leadId);
    assert.equal(unrouted.length, 1);
    assert.match(unrouted[0].message, /no matching rule/);
    const held = await api.call('GET', '/v1/leads?status=held&limit=500', { token: viewer });
    assert.ok(held.json.items.some((l: Json) => l.id === reply.json.leadId));
  });

  it('refuses a payload missing fields with a 422 listing each, creates nothing, and records the rejection', async () => {
    const [leads, events] = [await count('leads'), await leadEvents()];
    const reply = await post({ company: 'Nobody Inc', workable: false });
    assert.equal(reply.status, 422, reply.text);
    assert.equal(reply.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(reply.json.errors.map((e: Json) => e.path).sort(), ['email', 'lead_score', 'persona', 'workable']);
    assert.deepEqual([await count('leads'), await leadEvents()], [leads, events], 'no lead and no event');
    const rejected = await audit('lead_rejected');
    assert.equal(rejected.length, 1);
    for (const field of ['email', 'persona', 'lead_score', 'workable']) assert.match(rejected[0].message, new RegExp(field));
    assert.doesNotMatch(rejected[0].message, new RegExp(ingest));
  });

  it('yields one lead and one event for the same lead posted 50 times concurrently', async () => {
    const body = { email: 'storm@acme.com', persona: 'CTO', lead_score: 99, workable: true, external_id: 'storm-1' };
    const replies = await Promise.all(Array.from({ length: 50 }, () => post(body)));
    for (const r of replies) assert.equal(r.status, 202, r.text);
    assert.equal(new Set(replies.map((r) => r.json.leadId)).size, 1, 'one leadId across all answers');
    assert.equal(replies.filter((r) => r.json.duplicate === true).length, 49);
    assert.equal(await count('leads', { external_id: 'storm-1' }), 1);
    const events = await withTenant(api.database.db, org.id, (tx) => tx('events').where({ source: 'clay', idempotency_key: 'external_id:storm-1' }).count('* as n').first());
    assert.equal(Number(events!.n), 1);
    assert.equal((await audit('lead_ingested')).filter((a) => a.entityId === replies[0]!.json.leadId).length, 1, 'one audit row');
  });

  it('is idempotent on external_id when given, else on the normalized email, and a repeat changes nothing', async () => {
    const byEmail = await post({ email: 'Same@Acme.com', persona: 'Intern', lead_score: 1, workable: true });
    const again = await post({ email: ' same@acme.COM', persona: 'CTO', lead_score: 95, workable: true, note: 'changed' });
    assert.deepEqual([again.status, again.json.leadId, again.json.duplicate], [202, byEmail.json.leadId, true]);
    const unchanged = (await api.call('GET', `/v1/leads/${byEmail.json.leadId}`, { token: viewer })).json;
    assert.deepEqual([unchanged.persona, unchanged.leadScore, unchanged.assignedCampaignId], ['Intern', 1, null], 'a repeat changes nothing');

    // The same address with external ids: identified by the id, not the email.
    const withId = await post({ email: 'same@acme.com', persona: 'CTO', lead_score: 95, workable: true, external_id: 'A-1' });
    assert.equal(withId.json.duplicate, false);
    assert.notEqual(withId.json.leadId, byEmail.json.leadId);
    const sameId = await post({ email: 'different@acme.com', persona: 'CTO', lead_score: 95, workable: true, external_id: 'A-1' });
    assert.deepEqual([sameId.json.leadId, sameId.json.duplicate], [withId.json.leadId, true]);
    // A second id for the same address routed to the same campaign: held, not a second lead of that campaign.
    const secondId = await post({ email: 'same@acme.com', persona: 'CTO', lead_score: 95, workable: true, external_id: 'A-2' });
    assert.equal(secondId.status, 202, secondId.text);
    const second = (await api.call('GET', `/v1/leads/${secondId.json.leadId}`, { token: viewer })).json;
    assert.equal(second.assignedCampaignId, null);
    assert.match(second.holdReason, /already a lead of campaign 101/);
    assert.equal(await count('events', { source: 'clay', idempotency_key: 'email:same@acme.com' }), 1);
  });

  it('takes the key in X-Drason-Key, and lists leads by campaign in pages', async () => {
    const reply = await api.call('POST', '/v1/webhooks/clay', { headers: { 'x-drason-key': ingest }, body: { email: 'header@acme.com', persona: 'VP Engineering', lead_score: 85, workable: true } });
    assert.equal(reply.status, 202, reply.text);
    assert.equal((await post({ email: 'nokey@acme.com', persona: 'CTO', lead_score: 85, workable: true }, '')).status, 401);
    const seen: Json[] = [];
    let cursor: string | null = null;
    do {
      const page: Json = await api.call('GET', `/v1/leads?campaignId=101&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`, { token: viewer });
      assert.equal(page.status, 200, page.text);
      seen.push(...page.json.items);
      cursor = page.json.nextCursor;
    } while (cursor !== null);
    assert.ok(seen.every((l) => l.assignedCampaignId === '101'));
    assert.equal(new Set(seen.map((l) => l.id)).size, seen.length);
    assert.deepEqual(seen.map((l) => l.email).sort(), ['header@acme.com', 'jane@acme.com', 'same@acme.com', 'storm@acme.com']);
    assert.equal((await api.call('GET', '/v1/leads?status=open', { token: viewer })).status, 422);
  });

  it('hides a lead from another organization (404) and refuses posting with a viewer key (403)', async () => {
    const reply = await post({ email: 'private@acme.com', persona: 'CTO', lead_score: 90, workable: true });
    assert.equal((await api.call('GET', `/v1/leads/${reply.json.leadId}`, { token: otherViewer })).status, 404);
    assert.equal((await api.call('GET', '/v1/leads?limit=500', { token: otherViewer })).json.items.length, 0);
    assert.equal((await api.call('GET', '/v1/leads/not-a-uuid', { token: viewer })).status, 404);
    assert.equal((await api.call('GET', '/v1/leads/00000000-0000-4000-8000-000000000000', { token: viewer })).status, 404);
    assert.equal((await post({ email: 'v@acme.com', persona: 'CTO', lead_score: 90, workable: true }, viewer)).status, 403);
    assert.equal((await api.call('GET', '/v1/leads', { token: ingest })).status, 403);
  });
});
