/**
 * The engine's API through the real app (migrations/006, decision 011): manual overrides and applied
 * recommendations are stored as commands for the relay (never signalled by the API), a settings change stores one
 * settings_changed command, recommendations are listed in pages, entity reads show the engine's columns, and the
 * events API stores bounce classes.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { pendingCommands } from '../../src/db/repositories/commands';
import { withTenant } from '../../src/db/tenant';
import { startTestApi, type Json, type TestApi, type TestOrganization } from '../support/api';

describe('overrides, recommendations and the engine fields (API)', function () {
  this.timeout(60_000);
  let api: TestApi;
  let org: TestOrganization;
  let operator: string;
  let viewer: string;
  let ingest: string;
  const mailbox = 'Sam@Override-Mail.com';

  const commands = () => withTenant(api.database.db, org.id, (tx) => pendingCommands(tx));
  const clearCommands = () => withTenant(api.database.db, org.id, (tx) => tx('entity_commands').delete());
  const sendEvents = (events: Json[], token = ingest) => api.call('POST', '/v1/events', { token, body: { events } });
  const at = () => new Date().toISOString();
  const addRecommendation = (over: Partial<Record<string, unknown>> = {}) =>
    withTenant(api.database.db, org.id, async (tx) => {
      const [row] = (await tx('recommendations')
        .insert({
          organization_id: org.id,
          entity_type: 'mailbox',
          entity_key: mailbox.toLowerCase(),
          action: 'pause',
          decision_id: `d-${crypto.randomUUID()}`,
          message: 'Drason would pause sam@override-mail.com: hard bounces 9% over 1h (pause at 5%).',
          trigger: JSON.stringify({ metric: 'hardBounceRate', observed: 0.09, threshold: 0.05, window: '1h' }),
          settings_version: 1,
          ...over,
        })
        .returning(['id', 'decision_id'])) as { id: string; decision_id: string }[];
      return row!;
    });

  before(async () => {
    api = await startTestApi();
    org = await api.createOrganization('Overrides');
    operator = (await api.createKey(org.adminKey, 'operator')).key;
    viewer = (await api.createKey(org.adminKey, 'viewer')).key;
    ingest = (await api.createKey(org.adminKey, 'ingest')).key;
    assert.equal((await sendEvents([{ id: 'seed-1', type: 'EmailSent', occurredAt: at(), mailbox }])).status, 202);
  });
  after(async () => {
    await api?.stop();
  });
  beforeEach(clearCommands);

  describe('POST /v1/mailboxes/:email/override', () => {
    const override = (email: string, body: unknown, token = operator) => api.call('POST', `/v1/mailboxes/${encodeURIComponent(email)}/override`, { token, body });

    it('stores the override for the relay, naming the acting key, and answers 202 with its command id', async () => {
      const reply = await override('SAM@override-mail.com', { action: 'pause', reason: 'Client asked us to stop this sender' });
      assert.equal(reply.status, 202, reply.text);
      assert.equal(reply.json.status, 'accepted');
      const [stored, ...rest] = await commands();
      assert.equal(rest.length, 0);
      assert.equal(stored!.kind, 'override');
      assert.equal(stored!.entityKey, 'sam@override-mail.com');
      const operatorKeyId = (await api.call('GET', '/v1/api-keys', { token: org.adminKey })).json.items.find((k: Json) => k.role === 'operator').id;
      assert.deepEqual(
        { ...stored!.payload, requestedAt: typeof stored!.payload.requestedAt },
        { commandId: reply.json.commandId, action: 'pause', reason: 'Client asked us to stop this sender', actor: `api-key:${operatorKeyId}`, requestedAt: 'number' },
      );
    });

    it('is for operators and admins only', async () => {
      assert.equal((await override(mailbox, { action: 'resume', reason: 'ok' }, viewer)).status, 403);
      assert.equal((await override(mailbox, { action: 'resume', reason: 'ok' }, ingest)).status, 403);
      assert.equal((await override(mailbox, { action: 'resume', reason: 'ok' }, 'drason_nope')).status, 401);
      assert.equal((await override(mailbox, { action: 'resume', reason: 'ok' }, org.adminKey)).status, 202);
    });

    it('answers 404 for a mailbox it does not know, and 422 naming each bad field', async () => {
      const missing = await override('nobody@override-mail.com', { action: 'pause', reason: 'x' });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const bad = await override(mailbox, { action: 'stop', reason: '' });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.json.errors.map((e: Json) => e.path).sort(), ['action', 'reason']);
      const long = await override(mailbox, { action: 'pause', reason: 'x'.repeat(501) });
      assert.deepEqual([long.status, long.json.errors.map((e: Json) => e.path)], [422, ['reason']]);
      const none = await override(mailbox, { action: 'pause' });
      assert.deepEqual([none.status, none.json.errors.map((e: Json) => e.path)], [422, ['reason']]);
      assert.deepEqual(await commands(), [], 'nothing stored for a refused request');
    });
  });

  describe('recommendations', () => {
    before(() => withTenant(api.database.db, org.id, (tx) => tx('recommendations').delete()));

    it('lists newest first in pages, filtered by status, for viewers', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i += 1) made.push((await addRecommendation({ status: i === 0 ? 'superseded' : 'pending' })).id);
      const seen: Json[] = [];
      let cursor: string | null = null;
      do {
        const page: Json = await api.call('GET', `/v1/recommendations?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`, { token: viewer });
        assert.equal(page.status, 200, page.text);
        seen.push(...page.json.items);
        cursor = page.json.nextCursor;
      } while (cursor !== null);
      assert.deepEqual(seen.map((r) => r.id), [...made].reverse(), 'every recommendation once, newest first');
      const first = seen[seen.length - 1];
      assert.deepEqual(Object.keys(first).sort(), ['action', 'appliedAt', 'appliedBy', 'createdAt', 'entityId', 'entityType', 'id', 'message', 'settingsVersion', 'status', 'trigger']);
      assert.deepEqual([first.entityType, first.entityId, first.action, first.status, first.trigger.metric, first.settingsVersion], ['mailbox', 'sam@override-mail.com', 'pause', 'superseded', 'hardBounceRate', 1]);
      const pending = await api.call('GET', '/v1/recommendations?status=pending&limit=500', { token: viewer });
      assert.equal(pending.json.items.length, 4);
      assert.equal((await api.call('GET', '/v1/recommendations?status=open', { token: viewer })).status, 422);
      assert.equal((await api.call('GET', '/v1/recommendations?cursor=garbage', { token: viewer })).status, 422);
      assert.equal((await api.call('GET', '/v1/recommendations', { token: ingest })).status, 403);
    });

    it('applying a pending one stores one apply command with its decision (again: the same command); 409 when not pending; 404 when unknown', async () => {
      const rec = await addRecommendation();
      assert.equal((await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: viewer })).status, 403);
      const applied = await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: operator });
      assert.equal(applied.status, 202, applied.text);
      const again = await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: operator });
      assert.deepEqual([again.status, again.json.commandId], [202, applied.json.commandId], 'applying twice before the workflow acts stores nothing new');
      const stored = await commands();
      assert.equal(stored.length, 1);
      assert.deepEqual(
        [stored[0]!.kind, stored[0]!.entityKey, stored[0]!.payload.commandId, stored[0]!.payload.recommendationId, stored[0]!.payload.decisionId],
        ['apply_recommendation', 'sam@override-mail.com', applied.json.commandId, rec.id, rec.decision_id],
      );
      assert.match(String(stored[0]!.payload.actor), /^api-key:/);

      // The workflow marks it applied; applying it then is a conflict.
      await withTenant(api.database.db, org.id, (tx) => tx('recommendations').where({ id: rec.id }).update({ status: 'applied', applied_at: new Date(), applied_by: 'api-key:x' }));
      const late = await api.call('POST', `/v1/recommendations/${rec.id}/apply`, { token: operator });
      assert.equal(late.status, 409);
      assert.match(late.json.detail, /applied, not pending/);
      assert.equal((await api.call('POST', `/v1/recommendations/${crypto.randomUUID()}/apply`, { token: operator })).status, 404);
      assert.equal((await api.call('POST', '/v1/recommendations/not-a-uuid/apply', { token: operator })).status, 404);
    });
  });

  it('a settings change stores one settings_changed command with its new version; an update that changes nothing stores none', async () => {
    const changed = await api.call('PUT', '/v1/settings', { token: org.adminKey, body: { thresholds: { sustainMinutes: 5 } } });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual(
      (await commands()).map((c) => [c.kind, c.entityKey, c.payload.version]),
      [['settings_changed', org.id, changed.json.settingsVersion]],
    );
    await api.call('PUT', '/v1/settings', { token: org.adminKey, body: { thresholds: { sustainMinutes: 5 } } });
    assert.equal((await commands()).length, 1);
  });

  it('mailbox reads show the engine state, risk score, cooldown and reputation blocks', async () => {
    const until = new Date(Date.now() + 3_600_000);
    await withTenant(api.database.db, org.id, (tx) =>
      tx('mailboxes').where({ email: mailbox }).update({ state: 'paused', pause_reason: 'hard bounces 9% over 1h', risk_score: 83, cooldown_until: until }),
    );
    const one = await api.call('GET', `/v1/mailboxes/${mailbox}`, { token: viewer });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual([one.json.state, one.json.riskScore, one.json.pauseReason, one.json.cooldownUntil], ['paused', 83, 'hard bounces 9% over 1h', until.toISOString()]);
    assert.deepEqual(one.json.windows['1h'], { sent: 0, hardBounces: 0, failures: 0, reputationBlocks: 0 }, 'the relay has not counted yet (none runs here)');
    assert.equal(one.json.rates['1h'].reputationRate, 0);
    const listed = await api.call('GET', '/v1/mailboxes?state=paused', { token: viewer });
    assert.deepEqual(listed.json.items.map((m: Json) => [m.email, m.riskScore]), [['sam@override-mail.com', 83]]);
    const domain = await api.call('GET', '/v1/domains/override-mail.com', { token: viewer });
    assert.deepEqual([domain.json.riskScore, domain.json.cooldownUntil, domain.json.windows['7d'].reputationBlocks], [0, null, 0], 'the domain engine has not judged it yet');
  });

  it('POST /v1/events stores the class given, else the diagnostic\'s, else the type\'s default', async () => {
    const box = 'classes@override-mail.com';
    const reply = await sendEvents([
      { id: 'c-given', type: 'DeliveryFailure', occurredAt: at(), mailbox: box, bounceClass: 'reputation' },
      { id: 'c-diag', type: 'DeliveryFailure', occurredAt: at(), mailbox: box, diagnostic: '554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org' },
      { id: 'c-hard', type: 'HardBounce', occurredAt: at(), mailbox: box },
      { id: 'c-fail', type: 'DeliveryFailure', occurredAt: at(), mailbox: box },
      { id: 'c-sent', type: 'EmailSent', occurredAt: at(), mailbox: box, bounceClass: 'reputation' },
    ]);
    assert.equal(reply.status, 202, reply.text);
    const stored = (await withTenant(api.database.db, org.id, (tx) => tx('events').where('idempotency_key', 'like', 'c-%').orderBy('id').select('idempotency_key', 'bounce_class', 'detail'))) as Json[];
    assert.deepEqual(
      stored.map((e) => [e.idempotency_key, e.bounce_class]),
      [
        ['c-given', 'reputation'],
        ['c-diag', 'reputation'],
        ['c-hard', 'list_quality'],
        ['c-fail', 'unknown'],
        ['c-sent', null],
      ],
    );
    assert.match(stored[1].detail.diagnostic, /spamhaus/, 'the diagnostic is kept');
    const bad = await sendEvents([{ id: 'c-bad', type: 'HardBounce', occurredAt: at(), mailbox: box, bounceClass: 'spam' }]);
    assert.deepEqual([bad.status, bad.json.errors.map((e: Json) => e.path)], [422, ['events.0.bounceClass']]);
    const doc = await api.call('GET', '/v1/openapi.json');
    assert.ok(doc.json.components.schemas.NormalizedEvent.properties.bounceClass, 'the OpenAPI document describes bounceClass');
    assert.equal(doc.json.paths['/v1/mailboxes/{email}/override'].post['x-drason-access'], 'operator');
    assert.equal(doc.json.paths['/v1/recommendations/{id}/apply'].post['x-drason-access'], 'operator');
    assert.equal(doc.json.paths['/v1/recommendations'].get['x-drason-access'], 'viewer');
  });
});
