/**
 * The HTTP contract's conventions (shared/spec/API.md) through the real API in process: a client error is never a
 * 5xx, however malformed the request (strings Postgres cannot store, deep nesting, implausible times, bodies that
 * are not JSON objects); x-request-id is echoed; lists page without skipping rows; audit lookups are
 * case-insensitive for mailboxes and domains.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { appendAudit } from '../../src/db/repositories/audit';
import { withTenant } from '../../src/db/tenant';
import { startTestApi, type Json, type Reply, type TestApi, type TestOrganization } from '../support/api';

describe('API contract', function () {
  this.timeout(120_000);
  let api: TestApi;
  let org: TestOrganization;
  let ingestKey = '';
  let webhookPath = '';

  before(async () => {
    api = await startTestApi();
    org = await api.createOrganization('Contract Co');
    ingestKey = (await api.createKey(org.adminKey, 'ingest')).key;
    const hook = await withTenant(api.database.db, org.id, (tx) => api.integrations.createWebhookToken(tx, org.id));
    webhookPath = `/v1/webhooks/smartlead/${hook.token}`;
  });
  after(async () => {
    await api?.stop();
  });

  const event = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: `evt-${crypto.randomUUID()}`,
    type: 'HardBounce',
    occurredAt: new Date().toISOString(),
    mailbox: 'sam@contract-mail.com',
    ...overrides,
  });
  const smartlead = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    event_type: 'EMAIL_BOUNCE',
    stats_id: crypto.randomUUID(),
    from_email: 'sam@contract-mail.com',
    to_email: 'lead@prospect.com',
    campaign_id: 42,
    event_timestamp: new Date().toISOString(),
    bounce_message: { text: '550 5.1.1 User unknown' },
    ...overrides,
  });
  /** A Smartlead body with `levels` arrays nested in its field `extra` (written by hand: JSON.stringify overflows). */
  const deepSmartlead = (levels: number): string => `${JSON.stringify(smartlead()).slice(0, -1)},"extra":${'['.repeat(levels)}1${']'.repeat(levels)}}`;

  const assertProblem = (reply: Reply, status: number, paths?: string[]): void => {
    assert.equal(reply.status, status, reply.text);
    assert.match(reply.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(reply.json.status, status);
    if (paths !== undefined) assert.deepEqual(reply.json.errors.map((e: Json) => e.path), paths);
  };

  describe('values Postgres cannot store are refused with 422, never a 500', () => {
    const cases: [string, () => Promise<Reply>, string[]][] = [
      ['NUL in an event id', () => api.call('POST', '/v1/events', { token: ingestKey, body: { events: [event({ id: 'a\u0000b' })] } }), ['events.0.id']],
      ['NUL in an event campaignId', () => api.call('POST', '/v1/events', { token: ingestKey, body: { events: [event({ campaignId: '4\u00002' })] } }), ['events.0.campaignId']],
      ['NUL in an event detail', () => api.call('POST', '/v1/events', { token: ingestKey, body: { events: [event({ detail: { note: 'x\u0000' } })] } }), ['events.0.detail.note']],
      ['NUL in a detail key', () => api.call('POST', '/v1/events', { token: ingestKey, body: { events: [event({ detail: { 'k\u0000': 1 } })] } }), ['events.0.detail.k\ufffd']],
      ['a lone surrogate in an event detail', () => api.call('POST', '/v1/events', { token: ingestKey, body: { events: [event({ detail: { note: 'x\ud800y' } })] } }), ['events.0.detail.note']],
      ['NUL in an API key name', () => api.call('POST', '/v1/api-keys', { token: org.adminKey, body: { name: 'a\u0000b', role: 'viewer' } }), ['name']],
      ['NUL in an organization name', () => api.call('POST', '/v1/organizations', { token: api.platformToken, body: { name: 'a\u0000b' } }), ['name']],
      ['NUL in an audit entityId', () => api.call('GET', '/v1/audit?entityId=%00', { token: org.adminKey }), ['query.entityId']],
      ['NUL in a Smartlead from_email', () => api.call('POST', webhookPath, { body: smartlead({ from_email: 'sam@contract-mail.com\u0000' }) }), ['from_email']],
      ['NUL in a Smartlead to_email', () => api.call('POST', webhookPath, { body: smartlead({ to_email: '\u0000lead@prospect.com' }) }), ['to_email']],
      ['NUL in a Smartlead event_type', () => api.call('POST', webhookPath, { body: smartlead({ event_type: 'EMAIL_\u0000BOUNCE' }) }), ['event_type']],
      ['NUL in a Smartlead bounce_message', () => api.call('POST', webhookPath, { body: smartlead({ bounce_message: { text: '550 5.1.1 \u0000' } }) }), ['bounce_message.text']],
      ['a Smartlead body nested 5000 levels deep', () => api.call('POST', webhookPath, { rawBody: deepSmartlead(5000) }), [`extra${'.0'.repeat(31)}`]],
    ];
    for (const [what, send, paths] of cases) it(what, async () => assertProblem(await send(), 422, paths));

    it('stores none of them', async () => {
      const stored = await withTenant(api.database.db, org.id, (tx) => tx('events').count<{ n: string }[]>('* as n'));
      assert.equal(Number(stored[0]!.n), 0);
    });
  });

  describe('implausible times', () => {
    const times = ['1999-12-31T23:59:59Z', '1970-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '2100-01-01T00:00:00Z', '9999-12-31T23:59:59Z'];
    for (const occurredAt of times) {
      it(`refuses an event at ${occurredAt} with 422 naming it`, async () => {
        const reply = await api.call('POST', '/v1/events', { token: ingestKey, body: { events: [event(), event({ occurredAt })] } });
        assertProblem(reply, 422, ['events.1.occurredAt']);
        assert.match(reply.json.errors[0].message, /not a plausible time|ahead of Drason's clock/);
      });
    }

    it("keeps a Smartlead webhook at JavaScript's smallest date at the receive time, flagged", async () => {
      const before = Date.now();
      const body = smartlead({ event_timestamp: '-271821-04-20T00:00:00.000Z' });
      const reply = await api.call('POST', webhookPath, { body });
      assert.equal(reply.status, 202, reply.text);
      assert.deepEqual(reply.json.flags, ['out_of_range_clamped']);
      const row = await withTenant(api.database.db, org.id, (tx) =>
        tx('events').where({ source: 'smartlead' }).whereRaw("detail->>'stats_id' = ?", [body.stats_id as string]).first('occurred_at', 'flags'),
      );
      assert.deepEqual(row.flags, ['out_of_range_clamped']);
      assert.ok(row.occurred_at.getTime() >= before - 1000 && row.occurred_at.getTime() <= Date.now() + 1000, `stored at ${row.occurred_at.toISOString()}`);
    });
  });

  describe('bodies', () => {
    for (const raw of ['null', '42', '"text"', 'true', '[]']) {
      it(`answers the valid JSON body ${raw} with 422, not 400`, async () => {
        assertProblem(await api.call('POST', '/v1/api-keys', { token: org.adminKey, rawBody: raw }), 422);
        assertProblem(await api.call('POST', webhookPath, { rawBody: raw }), 422);
      });
    }

    it('still answers malformed JSON with 400', async () => {
      assertProblem(await api.call('POST', '/v1/api-keys', { token: org.adminKey, rawBody: '{"name": ' }), 400);
    });

    it('answers a missing body with 422', async () => {
      assertProblem(await api.call('POST', '/v1/api-keys', { token: org.adminKey, headers: { 'content-type': 'application/json' } }), 422);
    });

    it('answers a body that is not JSON-typed with 415', async () => {
      const json = JSON.stringify({ name: 'plain', role: 'viewer' });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const reply = await api.call('POST', '/v1/api-keys', { token: org.adminKey, rawBody: json, headers: { 'content-type': type } });
        assertProblem(reply, 415);
        assert.match(reply.json.detail, /Content-Type: application\/json/);
      }
      // A body with no Content-Type at all.
      const res = await fetch(`${api.url}/v1/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${org.adminKey}` }, body: new TextEncoder().encode(json) });
      assert.equal(res.status, 415);
      const keys = await api.call('GET', '/v1/api-keys?limit=500', { token: org.adminKey });
      assert.ok(!keys.json.items.some((k: Json) => k.name === 'plain'), 'nothing was created');
    });

    it('takes JSON under a +json media type', async () => {
      const reply = await api.call('POST', '/v1/api-keys', { token: org.adminKey, body: { name: 'merge', role: 'viewer' }, headers: { 'content-type': 'application/vnd.api+json' } });
      assert.equal(reply.status, 201, reply.text);
    });
  });

  describe('x-request-id', () => {
    const cases: [string, string, boolean][] = [
      ['a UUID', crypto.randomUUID(), true],
      ['printable ASCII with slashes, spaces and signs', 'trace/1 span=2+x;"q"', true],
      ['200 characters', 'r'.repeat(200), true],
      ['201 characters', 'r'.repeat(201), false],
      ['a tab', 'a\tb', false],
    ];
    for (const [what, given, echoed] of cases) {
      it(`${echoed ? 'echoes' : 'replaces'} ${what}`, async () => {
        const reply = await api.call('GET', '/healthz', { headers: { 'x-request-id': given } });
        const id = reply.headers.get('x-request-id') ?? '';
        if (echoed) assert.equal(id, given);
        else assert.match(id, /^[0-9a-f-]{36}$/);
      });
    }

    it('makes one when none is given', async () => {
      assert.match((await api.call('GET', '/healthz')).headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    });
  });

  describe('API key pages', () => {
    it('skips no key when several were created in the same millisecond', async () => {
      const other = await api.createOrganization('Same Millisecond');
      const ids = Array.from({ length: 5 }, () => crypto.randomUUID());
      await withTenant(api.database.db, other.id, (tx) =>
        tx('api_keys').insert(
          ids.map((id, i) => ({
            organization_id: other.id,
            id,
            name: `same ms ${i}`,
            role: 'viewer',
            prefix: 'drk_same',
            key_hash: crypto.randomBytes(32).toString('hex'),
            created_at: `2025-06-01T12:00:00.000${i + 1}00Z`,
          })),
        ),
      );
      const all = (await api.call('GET', '/v1/api-keys?limit=500', { token: other.adminKey })).json.items.map((k: Json) => k.id);
      assert.equal(all.length, 6);
      for (const limit of [1, 2, 3]) {
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Reply = await api.call('GET', `/v1/api-keys?limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`, { token: other.adminKey });
          assert.equal(page.status, 200, page.text);
          seen.push(...page.json.items.map((k: Json) => k.id as string));
          cursor = page.json.nextCursor;
        } while (cursor !== null && seen.length <= all.length);
        assert.deepEqual(seen, all, `pages of ${limit}`);
      }
    });
  });

  describe('audit lookups', () => {
    before(async () => {
      await withTenant(api.database.db, org.id, async (tx) => {
        for (const [entityType, entityId] of [
          ['mailbox', 'sam@acme-audit.com'],
          ['domain', 'acme-audit.com'],
        ] as const) {
          await appendAudit(tx, { organizationId: org.id, entityType, entityId, action: 'seeded', actor: 'test', message: 'Seeded.', engineVersion: 'test' });
        }
      });
    });

    const cases: [string, string, string][] = [
      ['a mailbox in upper case, without entityType', 'entityId=SAM@ACME-AUDIT.COM', 'mailbox'],
      ['a mailbox in mixed case, with entityType', 'entityType=mailbox&entityId=Sam@Acme-Audit.com', 'mailbox'],
      ['a domain in upper case, without entityType', 'entityId=ACME-AUDIT.COM', 'domain'],
    ];
    for (const [what, query, entityType] of cases) {
      it(`finds ${what}`, async () => {
        const reply = await api.call('GET', `/v1/audit?${query}`, { token: org.adminKey });
        assert.equal(reply.status, 200, reply.text);
        assert.deepEqual(reply.json.items.map((i: Json) => i.entityType), [entityType]);
      });
    }
  });
});
