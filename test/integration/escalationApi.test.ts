/**
 * Issue 9 through the real API on real PostgreSQL: manual overrides of campaigns and domains are stored as commands
 * for the relay (never signalled by the API), refused for viewers, bad bodies, unknown entities and other
 * organizations; the campaign, domain and mailbox reads and GET /v1/overview show what the escalation engines wrote
 * (risk score, reason, cooldown, degraded mailboxes, holds, stopped automation, workflow); a campaign's
 * recommendation is applied to that campaign. Engine rows are written directly (the engines' activities are tested
 * elsewhere), through the owner connection.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { withTenant, type Tx } from '../../src/db/tenant';
import { campaignWorkflowId, domainWorkflowId, mailboxWorkflowId } from '../../src/workflows/ids';
import { startTestApi, type Json, type Reply, type TestApi, type TestOrganization } from '../support/api';

interface StoredCommand {
  entity_type: string;
  entity_key: string;
  kind: string;
  actor: string;
  payload: Json;
}

describe('campaign and domain escalation (API)', function () {
  this.timeout(60_000);
  let api: TestApi;
  let org: TestOrganization;
  let other: TestOrganization;
  let operator: { id: string; key: string };
  let viewer: string;
  let ingest: string;

  const DOMAIN = 'esc-mail.test';
  const ANN = `ann@${DOMAIN}`;
  const BOB = `bob@${DOMAIN}`;

  /** Test setup and inspection as the schema owner, inside the organization (row-level security is forced on it too). */
  const asOwner = <T>(organizationId: string, work: (tx: Tx) => Promise<T>): Promise<T> => withTenant(api.database.ownerDb, organizationId, work);
  const commandsOf = (organizationId: string): Promise<StoredCommand[]> =>
    asOwner(organizationId, async (tx) => (await tx('entity_commands').orderBy('id').select('entity_type', 'entity_key', 'kind', 'actor', 'payload')) as StoredCommand[]);
  const override = (path: string, body: unknown, token = operator.key): Promise<Reply> => api.call('POST', `${path}/override`, { token, body });
  const get = (path: string, token = viewer): Promise<Reply> => api.call('GET', path, { token });
  const assertProblem = (reply: Reply, status: number): void => {
    assert.equal(reply.status, status, reply.text);
    assert.match(reply.headers.get('content-type') ?? '', /application\/problem\+json/);
  };

  before(async () => {
    api = await startTestApi();
    org = await api.createOrganization('Escalation Co');
    other = await api.createOrganization('Other Co');
    operator = await api.createKey(org.adminKey, 'operator');
    viewer = (await api.createKey(org.adminKey, 'viewer')).key;
    ingest = (await api.createKey(org.adminKey, 'ingest')).key;
    // Campaign 42 sends from ann and bob of esc-mail.test, as the Smartlead sync records them.
    await asOwner(org.id, async (tx) => {
      const [domain] = (await tx('domains').insert({ organization_id: org.id, name: 'Esc-Mail.test' }).returning('id')) as { id: string }[];
      const boxes = (await tx('mailboxes')
        .insert([ANN, BOB].map((email) => ({ organization_id: org.id, email, domain_id: domain!.id })))
        .returning('id')) as { id: string }[];
      await tx('campaigns').insert({ organization_id: org.id, campaign_id: '42', name: 'Q3 outbound', status: 'ACTIVE' });
      await tx('campaign_mailboxes').insert(boxes.map((m) => ({ organization_id: org.id, campaign_id: '42', mailbox_id: m.id })));
    });
  });
  after(async () => {
    await api?.stop();
  });
  beforeEach(() => asOwner(org.id, (tx) => tx('entity_commands').delete()));

  describe('POST /v1/campaigns/:campaignId/override and /v1/domains/:domain/override', () => {
    it("stores a campaign override for the campaign's workflow, naming the acting key, and answers 202", async () => {
      const reply = await override('/v1/campaigns/42', { action: 'pause', reason: 'Client asked to stop this campaign' });
      assert.equal(reply.status, 202, reply.text);
      assert.equal(reply.json.status, 'accepted');
      const stored = await commandsOf(org.id);
      assert.equal(stored.length, 1);
      const [command] = stored;
      assert.deepEqual([command!.entity_type, command!.entity_key, command!.kind, command!.actor], ['campaign', '42', 'override', `api-key:${operator.id}`]);
      assert.deepEqual(
        { ...command!.payload, requestedAt: typeof command!.payload.requestedAt },
        { commandId: reply.json.commandId, action: 'pause', reason: 'Client asked to stop this campaign', actor: `api-key:${operator.id}`, requestedAt: 'number' },
      );
    });

    it('stores a domain override under the lower-case domain name, whatever case it is asked in', async () => {
      const reply = await override('/v1/domains/ESC-MAIL.Test', { action: 'resume', reason: 'Blocklist delisting confirmed' });
      assert.equal(reply.status, 202, reply.text);
      const stored = await commandsOf(org.id);
      assert.deepEqual(
        stored.map((c) => [c.entity_type, c.entity_key, c.kind, c.payload.action, c.payload.reason, c.payload.commandId]),
        [['domain', DOMAIN, 'override', 'resume', 'Blocklist delisting confirmed', reply.json.commandId]],
      );
    });

    it('answers 404 naming a campaign or domain the organization does not have, and stores nothing', async () => {
      const campaign = await override('/v1/campaigns/4242', { action: 'pause', reason: 'x' });
      assertProblem(campaign, 404);
      assert.match(campaign.json.detail, /no campaign 4242/);
      const domain = await override('/v1/domains/nowhere-mail.test', { action: 'pause', reason: 'x' });
      assertProblem(domain, 404);
      assert.match(domain.json.detail, /no domain nowhere-mail\.test/);
      assert.deepEqual(await commandsOf(org.id), []);
    });

    it('is for operators and admins only', async () => {
      for (const path of ['/v1/campaigns/42', `/v1/domains/${DOMAIN}`]) {
        assertProblem(await override(path, { action: 'pause', reason: 'x' }, viewer), 403);
        assertProblem(await override(path, { action: 'pause', reason: 'x' }, ingest), 403);
        assertProblem(await override(path, { action: 'pause', reason: 'x' }, 'drason_nope'), 401);
      }
      assert.deepEqual(await commandsOf(org.id), [], 'nothing stored for a refused caller');
      assert.equal((await override('/v1/campaigns/42', { action: 'pause', reason: 'x' }, org.adminKey)).status, 202);
    });

    it('refuses a bad body with the fields named (422) and malformed JSON (400), storing nothing', async () => {
      for (const path of ['/v1/campaigns/42', `/v1/domains/${DOMAIN}`]) {
        const bad = await override(path, { action: 'stop', reason: ' ' });
        assertProblem(bad, 422);
        assert.deepEqual(bad.json.errors.map((e: Json) => e.path).sort(), ['action', 'reason']);
        const malformed = await api.call('POST', `${path}/override`, { token: operator.key, rawBody: '{"action": "pause", ' });
        assertProblem(malformed, 400);
      }
      assert.deepEqual(await commandsOf(org.id), []);
    });

    it("answers another organization's campaign or domain exactly like one that does not exist, and stores nothing for either", async () => {
      const probe = async (path: string, missing: string): Promise<void> => {
        const theirs = await override(path, { action: 'pause', reason: 'x' }, other.adminKey);
        const absent = await override(missing, { action: 'pause', reason: 'x' }, other.adminKey);
        assertProblem(theirs, 404);
        const id = (p: string): string => p.split('/').pop()!;
        assert.deepEqual(JSON.parse(theirs.text.split(id(path)).join('<id>')), JSON.parse(absent.text.split(id(missing)).join('<id>')));
        assertProblem(await get(path, other.adminKey), 404);
      };
      await probe('/v1/campaigns/42', '/v1/campaigns/4242');
      await probe(`/v1/domains/${DOMAIN}`, '/v1/domains/nowhere-mail.test');
      assert.deepEqual(await commandsOf(org.id), []);
      assert.deepEqual(await commandsOf(other.id), []);
      // The application role, inside the other organization, cannot see this organization's campaign or domain at all.
      const seen = await withTenant(api.database.db, other.id, async (tx) => [
        ...((await tx('campaigns').where({ campaign_id: '42' }).select('campaign_id')) as unknown[]),
        ...((await tx('domains').where({ name_key: DOMAIN }).select('name')) as unknown[]),
      ]);
      assert.deepEqual(seen, []);
    });
  });

  describe('what the engines wrote, as the reads show it', () => {
    const pausedAt = new Date(Date.now() - 20 * 60_000);
    const cooldownUntil = new Date(Date.now() + 6 * 3_600_000);
    const stoppedAt = new Date(Date.now() - 5 * 60_000);
    const campaignReason = `2 of 2 mailboxes degraded (${ANN}, ${BOB}); pause at 2`;
    const domainLoop = 'Paused and resumed 4 times in 24 hours: an escalation loop';
    const holdSince = new Date(Date.now() - 19 * 60_000);

    before(() =>
      asOwner(org.id, async (tx) => {
        await tx('campaigns').where({ campaign_id: '42' }).update({
          state: 'paused',
          pause_reason: campaignReason,
          risk_score: 77,
          cooldown_until: cooldownUntil,
          state_changed_at: pausedAt,
          settings_version: 1,
          degraded_mailboxes: [ANN, BOB],
        });
        await tx('campaign_holds').insert([
          { organization_id: org.id, campaign_id: '42', holder: 'campaign', decision_id: 'campaign/x@r#1', reason: campaignReason, applied: true, created_at: holdSince },
          { organization_id: org.id, campaign_id: '42', holder: `domain:${DOMAIN}`, decision_id: 'domain/x@r#1', reason: 'Domain paused', applied: false, created_at: stoppedAt },
        ]);
        await tx('domains').where({ name_key: DOMAIN }).update({
          state: 'paused',
          pause_reason: domainLoop,
          risk_score: 90,
          state_changed_at: pausedAt,
          degraded_mailboxes: [ANN],
          automation_stopped_at: stoppedAt,
          automation_stopped_reason: domainLoop,
        });
        await tx('mailboxes').where({ email: ANN }).update({
          state: 'paused',
          pause_reason: 'hard bounces 9% over 1h',
          risk_score: 83,
          automation_stopped_at: pausedAt,
          automation_stopped_reason: 'Paused and resumed 4 times in 24 hours',
        });
      }),
    );

    it('a campaign shows its state, reason, cooldown, degraded mailboxes, holds and workflow, on its page and in the list', async () => {
      const reply = await get('/v1/campaigns/42');
      assert.equal(reply.status, 200, reply.text);
      const c = reply.json;
      assert.deepEqual(
        {
          state: c.state,
          riskScore: c.riskScore,
          pauseReason: c.pauseReason,
          cooldownUntil: c.cooldownUntil,
          stateChangedAt: c.stateChangedAt,
          degradedMailboxes: c.degradedMailboxes,
          automationStopped: c.automationStopped,
          workflowId: c.workflowId,
          temporalUrl: c.temporalUrl,
        },
        {
          state: 'paused',
          riskScore: 77,
          pauseReason: campaignReason,
          cooldownUntil: cooldownUntil.toISOString(),
          stateChangedAt: pausedAt.toISOString(),
          degradedMailboxes: [ANN, BOB],
          automationStopped: null,
          workflowId: campaignWorkflowId(org.id, '42'),
          temporalUrl: null,
        },
      );
      assert.deepEqual(c.holds, [
        { holder: 'campaign', reason: campaignReason, since: holdSince.toISOString(), applied: true },
        { holder: `domain:${DOMAIN}`, reason: 'Domain paused', since: stoppedAt.toISOString(), applied: false },
      ]);
      assert.deepEqual(c.mailboxes, [ANN, BOB], 'the existing fields stay');
      const listed = await get('/v1/campaigns?state=paused');
      assert.deepEqual(listed.json.items, [c]);
    });

    it('a domain shows the same engine fields, its stopped automation and its mailboxes; a mailbox shows its stopped automation', async () => {
      const reply = await get('/v1/domains/Esc-Mail.test');
      assert.equal(reply.status, 200, reply.text);
      const d = reply.json;
      assert.deepEqual(
        [d.state, d.riskScore, d.pauseReason, d.cooldownUntil, d.stateChangedAt, d.degradedMailboxes, d.automationStopped, d.workflowId],
        ['paused', 90, domainLoop, null, pausedAt.toISOString(), [ANN], { at: stoppedAt.toISOString(), reason: domainLoop }, domainWorkflowId(org.id, DOMAIN)],
      );
      assert.deepEqual([d.mailboxes, d.mailboxCount], [[ANN, BOB], 2]);
      assert.deepEqual(Object.keys(d.windows), ['1h', '24h', '7d']);
      assert.deepEqual(Object.keys(d.velocity).sort(), ['failureRate', 'hardBounceRate']);
      assert.deepEqual((await get('/v1/domains')).json.items, [d]);

      const ann = (await get(`/v1/mailboxes/${ANN}`)).json;
      assert.deepEqual(ann.automationStopped, { at: pausedAt.toISOString(), reason: 'Paused and resumed 4 times in 24 hours' });
      assert.equal((await get(`/v1/mailboxes/${BOB}`)).json.automationStopped, null);
    });

    it('the overview gives paused mailboxes, campaigns and domains one shape with their reasons, and lists every stopped automation', async () => {
      const reply = await get('/v1/overview');
      assert.equal(reply.status, 200, reply.text);
      const o = reply.json;
      assert.deepEqual(o.pausedCampaigns.map((c: Json) => [c.campaignId, c.state, c.pauseReason, c.riskScore, c.cooldownUntil, c.degradedMailboxes, c.workflowId]), [
        ['42', 'paused', campaignReason, 77, cooldownUntil.toISOString(), [ANN, BOB], campaignWorkflowId(org.id, '42')],
      ]);
      assert.deepEqual(o.pausedCampaigns[0].holds.map((h: Json) => h.holder), ['campaign', `domain:${DOMAIN}`]);
      assert.deepEqual(o.pausedDomains.map((d: Json) => [d.domain, d.pauseReason, d.riskScore, d.degradedMailboxes, d.workflowId]), [
        ['Esc-Mail.test', domainLoop, 90, [ANN], domainWorkflowId(org.id, DOMAIN)],
      ]);
      assert.deepEqual(o.pausedMailboxes.map((m: Json) => [m.email, m.pauseReason, m.riskScore, m.workflowId]), [
        [ANN, 'hard bounces 9% over 1h', 83, mailboxWorkflowId(org.id, ANN)],
      ]);
      const shared = ['state', 'riskScore', 'pauseReason', 'cooldownUntil', 'stateChangedAt', 'automationStopped', 'workflowId', 'temporalUrl'];
      for (const item of [o.pausedCampaigns[0], o.pausedDomains[0], o.pausedMailboxes[0]]) for (const key of shared) assert.ok(key in item, `${key} in ${JSON.stringify(item)}`);

      assert.deepEqual(o.automationStopped, [
        { entityType: 'domain', entityId: DOMAIN, at: stoppedAt.toISOString(), reason: domainLoop, workflowId: domainWorkflowId(org.id, DOMAIN), temporalUrl: null },
        {
          entityType: 'mailbox',
          entityId: ANN,
          at: pausedAt.toISOString(),
          reason: 'Paused and resumed 4 times in 24 hours',
          workflowId: mailboxWorkflowId(org.id, ANN),
          temporalUrl: null,
        },
      ]);
      assert.ok(
        o.attention.some((a: string) => a.includes(`domain ${DOMAIN}`) && a.includes(domainLoop)),
        `the stopped domain needs a person's attention: ${JSON.stringify(o.attention)}`,
      );
      const theirs = (await get('/v1/overview', other.adminKey)).json;
      assert.deepEqual([theirs.pausedCampaigns, theirs.pausedDomains, theirs.pausedMailboxes, theirs.automationStopped], [[], [], [], []]);
    });

    it('publishes the new fields in the OpenAPI document, and the overrides as operator routes', async () => {
      const doc = (await api.call('GET', '/v1/openapi.json')).json;
      for (const path of ['/v1/campaigns/{campaignId}/override', '/v1/domains/{domain}/override']) assert.equal(doc.paths[path]?.post?.['x-drason-access'], 'operator', path);
      const { Campaign, Domain, Mailbox, Overview } = doc.components.schemas;
      for (const field of ['riskScore', 'cooldownUntil', 'stateChangedAt', 'degradedMailboxes', 'automationStopped', 'holds', 'workflowId', 'temporalUrl']) {
        assert.ok(Campaign.properties[field], `Campaign.${field}`);
      }
      assert.match(Campaign.properties.holds.description, /paused in Smartlead/);
      assert.ok(Domain.properties.degradedMailboxes && Mailbox.properties.automationStopped);
      assert.match(Overview.properties.automationStopped.description, /escalation loop/);
    });
  });

  describe('recommendations of every kind', () => {
    const recommend = (entityType: string, entityKey: string) =>
      asOwner(org.id, async (tx) => {
        const [row] = (await tx('recommendations')
          .insert({
            organization_id: org.id,
            entity_type: entityType,
            entity_key: entityKey,
            action: 'pause',
            decision_id: `${entityType}-${crypto.randomUUID()}`,
            message: `Drason would pause ${entityType} ${entityKey}: 2 of 2 mailboxes degraded (pause at 2).`,
            trigger: JSON.stringify({ metric: 'degradedMailboxes', observed: 2, threshold: 2, window: 'members' }),
            settings_version: 1,
          })
          .returning(['id', 'decision_id'])) as { id: string; decision_id: string }[];
        return row!;
      });

    it('lists campaign, domain and mailbox recommendations, and filters by kind', async () => {
      const campaign = await recommend('campaign', '42');
      const domain = await recommend('domain', DOMAIN);
      const mailbox = await recommend('mailbox', ANN);
      const all = await get('/v1/recommendations?limit=500');
      assert.equal(all.status, 200, all.text);
      assert.deepEqual(
        all.json.items.filter((r: Json) => [campaign.id, domain.id, mailbox.id].includes(r.id)).map((r: Json) => [r.entityType, r.entityId]),
        [
          ['mailbox', ANN],
          ['domain', DOMAIN],
          ['campaign', '42'],
        ],
      );
      const campaigns = await get('/v1/recommendations?entityType=campaign&limit=500');
      assert.ok(campaigns.json.items.length > 0 && campaigns.json.items.every((r: Json) => r.entityType === 'campaign'), campaigns.text);
      assertProblem(await get('/v1/recommendations?entityType=lead'), 422);
    });

    it("applying a campaign's recommendation stores one apply_recommendation command addressed to that campaign", async () => {
      const rec = await recommend('campaign', '42');
      const applied = await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: operator.key });
      assert.equal(applied.status, 202, applied.text);
      const stored = await commandsOf(org.id);
      assert.deepEqual(
        stored.map((c) => [c.entity_type, c.entity_key, c.kind, c.actor, c.payload.commandId, c.payload.recommendationId, c.payload.decisionId]),
        [['campaign', '42', 'apply_recommendation', `api-key:${operator.id}`, applied.json.commandId, rec.id, rec.decision_id]],
      );
      assertProblem(await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: other.adminKey }), 404);
    });

    it("applying a domain's recommendation addresses the domain", async () => {
      const rec = await recommend('domain', DOMAIN);
      assert.equal((await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: operator.key })).status, 202);
      assert.deepEqual((await commandsOf(org.id)).map((c) => [c.entity_type, c.entity_key, c.kind]), [['domain', DOMAIN, 'apply_recommendation']]);
    });
  });
});
