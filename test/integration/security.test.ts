/**
 * Identity and request security, through the real API in process: role checks on every route (walked from the
 * OpenAPI document, so new routes are covered), key revocation, Clay's static header, Smartlead webhook
 * authentication and replay, clock skew, body limits, rate limits, and that no secret ever shows up in a log line,
 * an error, a later response, or the database in plain text.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import winston from 'winston';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { withTenant } from '../../src/db/tenant';
import { logger } from '../../src/lib/logger';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { startTestApi, type Json, type Reply, type TestApi, type TestOrganization } from '../support/api';

const ROLES = ['admin', 'operator', 'viewer', 'ingest'] as const;
type Role = (typeof ROLES)[number];
const ALLOWED: Record<string, Role[]> = {
  admin: ['admin'],
  operator: ['admin', 'operator'],
  viewer: ['admin', 'operator', 'viewer'],
  ingest: ['admin', 'operator', 'ingest'],
};

/** Captures everything the process logs (every level) while a suite runs. */
function captureLogs(): { text(): string; stop(): void } {
  let captured = '';
  const transport = new winston.transports.Stream({
    level: 'silly',
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        captured += chunk.toString();
        done();
      },
    }),
  });
  const previousLevel = logger.level;
  const consoles = logger.transports.filter((t) => t instanceof winston.transports.Console);
  logger.add(transport);
  logger.level = 'silly';
  for (const c of consoles) c.silent = true;
  return {
    text: () => captured,
    stop: () => {
      logger.remove(transport);
      logger.level = previousLevel;
      for (const c of consoles) c.silent = false;
    },
  };
}

describe('identity and request security', function () {
  this.timeout(120_000);
  let api: TestApi;
  let logs: ReturnType<typeof captureLogs>;
  let org: TestOrganization;
  const keys = {} as Record<Role, { id: string; key: string }>;
  /** Each secret, with the number of responses received when it was last handed out (it may appear up to there). */
  const secrets = new Map<string, number>();
  const remember = (secret: string): void => void secrets.set(secret, api.responses.length);

  before(async () => {
    logs = captureLogs();
    api = await startTestApi();
    org = await api.createOrganization('Secure Co');
    remember(org.adminKey);
    keys.admin = { id: org.adminKeyId, key: org.adminKey };
    for (const role of ['operator', 'viewer', 'ingest'] as const) {
      keys[role] = await api.createKey(org.adminKey, role);
      remember(keys[role].key);
    }
  });
  after(async () => {
    await api?.stop();
    logs?.stop();
  });

  describe('roles, on every route of the OpenAPI document', () => {
    let operations: { method: string; path: string; access: string }[] = [];
    before(async () => {
      const doc = (await api.call('GET', '/v1/openapi.json')).json as { paths: Record<string, Record<string, { 'x-drason-access'?: string }>> };
      operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, access: op['x-drason-access'] ?? '(missing)' })),
      );
    });

    it('declares who may call every route', () => {
      assert.ok(operations.length >= 10);
      for (const op of operations) assert.match(op.access, /^(public|platform|webhook|viewer|operator|admin|ingest)$/, `${op.method} ${op.path}`);
    });

    it('answers 403 to every role below the route’s access, and never 401/403 to the roles above it', async () => {
      const checked: string[] = [];
      for (const op of operations.filter((o) => ALLOWED[o.access] !== undefined)) {
        // Ids that exist nowhere and no body: allowed callers get 404/422, never a side effect.
        const path = op.path.replace(/\{[^}]+\}/g, () => crypto.randomUUID());
        for (const role of ROLES) {
          const reply = await api.call(op.method, path, { token: keys[role].key });
          if (ALLOWED[op.access]!.includes(role)) assert.ok(reply.status !== 401 && reply.status !== 403, `${role} ${op.method} ${op.path}: ${reply.status} ${reply.text}`);
          else assert.equal(reply.status, 403, `${role} must not ${op.method} ${op.path}: ${reply.text}`);
        }
        checked.push(`${op.method} ${op.path}`);
      }
      assert.ok(checked.includes('DELETE /v1/api-keys/{id}') && checked.includes('PUT /v1/settings') && checked.includes('POST /v1/events'));
    });

    it('refuses a viewer on operator and admin routes, and an ingest key on every read', async () => {
      assert.equal((await api.call('POST', '/v1/api-keys', { token: keys.viewer.key, body: { name: 'x', role: 'viewer' } })).status, 403);
      assert.equal((await api.call('GET', '/v1/audit', { token: keys.ingest.key })).status, 403);
      assert.equal((await api.call('GET', '/v1/api-keys', { token: keys.ingest.key })).status, 403);
      assert.equal((await api.call('GET', '/v1/audit', { token: keys.viewer.key })).status, 200);
    });
  });

  describe('API keys', () => {
    it('stops a revoked key on the very next request, and audits the revocation with the acting key', async () => {
      const doomed = await api.createKey(org.adminKey, 'viewer', 'doomed');
      remember(doomed.key);
      assert.equal((await api.call('GET', '/v1/audit', { token: doomed.key })).status, 200);
      assert.equal((await api.call('DELETE', `/v1/api-keys/${doomed.id}`, { token: org.adminKey })).status, 204);
      const after = await api.call('GET', '/v1/audit', { token: doomed.key });
      assert.equal(after.status, 401);
      assert.match(after.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal((await api.call('DELETE', `/v1/api-keys/${doomed.id}`, { token: org.adminKey })).status, 204, 'revoking twice is harmless');
      const audit = await api.call('GET', `/v1/audit?entityType=api_key&entityId=${doomed.id}`, { token: org.adminKey });
      assert.deepEqual(audit.json.items.map((i: Json) => i.action), ['api_key_revoked', 'api_key_created']);
      assert.ok(audit.json.items.every((i: Json) => i.actor === `api-key:${org.adminKeyId}`));
      assert.match(audit.json.items[0].message, /revoked by API key .*refused from now on/);
    });

    it('lists keys without secrets, with when each was created, last used and revoked', async () => {
      const list = await api.call('GET', '/v1/api-keys', { token: org.adminKey });
      assert.equal(list.status, 200);
      const viewer = list.json.items.find((k: Json) => k.id === keys.viewer.id);
      assert.deepEqual(Object.keys(viewer).sort(), ['createdAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'role']);
      assert.ok(viewer.lastUsedAt !== null, 'the viewer key was used above');
      assert.equal(viewer.revokedAt, null);
      const again = await api.call('GET', '/v1/api-keys', { token: org.adminKey });
      assert.equal(again.json.items.find((k: Json) => k.id === keys.admin.id).lastUsedAt, list.json.items.find((k: Json) => k.id === keys.admin.id).lastUsedAt, 'written at most once a minute');
    });

    it('pages through keys with an opaque cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Reply = await api.call('GET', `/v1/api-keys?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`, { token: org.adminKey });
        assert.ok(page.json.items.length <= 2);
        seen.push(...page.json.items.map((k: Json) => k.id as string));
        cursor = page.json.nextCursor;
      } while (cursor !== null);
      const all = (await api.call('GET', '/v1/api-keys?limit=500', { token: org.adminKey })).json.items.map((k: Json) => k.id);
      assert.deepEqual(seen, all);
      assert.ok(seen.length >= 4);
      assert.equal((await api.call('GET', '/v1/api-keys?cursor=bogus', { token: org.adminKey })).status, 422);
    });

    it("refuses to revoke the organization's last admin key", async () => {
      const other = await api.createOrganization('Lonely Admin');
      remember(other.adminKey);
      const refused = await api.call('DELETE', `/v1/api-keys/${other.adminKeyId}`, { token: other.adminKey });
      assert.equal(refused.status, 409);
      assert.match(refused.json.detail, /last active admin key/);
    });

    it('validates new keys: 422 per bad field', async () => {
      const bad = await api.call('POST', '/v1/api-keys', { token: org.adminKey, body: { name: '', role: 'root' } });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.json.errors.map((e: Json) => e.path).sort(), ['name', 'role']);
    });

    it('takes an ingest key from X-Drason-Key on ingestion routes only (Clay sends static headers)', async () => {
      const event = { id: `clay-hdr-${crypto.randomUUID()}`, type: 'EmailSent', occurredAt: new Date().toISOString(), mailbox: 'hdr@secure-mail.com' };
      const viaHeader = await api.call('POST', '/v1/events', { headers: { 'x-drason-key': keys.ingest.key }, body: { events: [event] } });
      assert.equal(viaHeader.status, 202, viaHeader.text);
      assert.equal((await api.call('GET', '/v1/audit', { headers: { 'x-drason-key': keys.admin.key } })).status, 401);
      assert.equal((await api.call('POST', '/v1/events', { headers: { 'x-drason-key': 'drk_wrong' }, body: { events: [event] } })).status, 401);
    });
  });

  describe('Smartlead webhooks', () => {
    let webhookUrl = '';
    let token = '';
    const smartleadKey = `sl_live_${crypto.randomBytes(16).toString('hex')}`;
    const secretKey = `whsec-${crypto.randomBytes(16).toString('hex')}`;
    const post = (body: Record<string, unknown>, t = token): Promise<Reply> => api.call('POST', `/v1/webhooks/smartlead/${t}`, { body });
    const bounce = (hard: boolean): Record<string, unknown> => ({
      event_type: 'EMAIL_BOUNCE',
      stats_id: crypto.randomUUID(),
      from_email: 'Sender@Secure-Mail.com',
      to_email: 'lead@prospect.com',
      campaign_id: 42,
      event_timestamp: new Date().toISOString(),
      secret_key: secretKey,
      bounce_message: { text: hard ? '550 5.1.1 <lead@prospect.com>: Recipient address rejected: User unknown' : '421 4.7.0 Try again later', html: '<p>…</p>' },
      sent_message: { message_id: '<m@x>', html: '<p>Hi Sam, our pricing…</p>', text: 'Hi Sam, our pricing…' },
    });

    before(async () => {
      const put = await api.call('PUT', '/v1/integrations/smartlead', { token: org.adminKey, body: { apiKey: smartleadKey, baseUrl: 'http://127.0.0.1:9/api/v1', webhookSecret: secretKey } });
      assert.equal(put.status, 200, put.text);
      webhookUrl = put.json.webhookUrl;
      token = webhookUrl.split('/').pop()!;
      remember(smartleadKey);
      remember(secretKey);
      remember(token);
    });

    it('answers a wrong token exactly like an unknown route (404)', async () => {
      const wrong = await post({ event_type: 'EMAIL_SENT' }, 'whk_not-a-real-token');
      const unknown = await api.call('POST', '/v1/webhooks/smartlead-nope/whk_not-a-real-token', { body: { event_type: 'EMAIL_SENT' } });
      assert.equal(wrong.status, 404);
      assert.deepEqual({ ...wrong.json, detail: wrong.json.detail.replace('/smartlead/', '/X/') }, { ...unknown.json, detail: unknown.json.detail.replace('/smartlead-nope/', '/X/') });
      assert.equal(wrong.headers.get('content-type'), unknown.headers.get('content-type'));
    });

    it('refuses a missing or wrong secret_key with 401 and records it (once a minute)', async () => {
      const { secret_key: _s, ...noSecret } = bounce(true);
      assert.equal((await post(noSecret)).status, 401);
      assert.equal((await post({ ...bounce(true), secret_key: 'wrong' })).status, 401);
      assert.equal((await post({ ...bounce(true), secret_key: 'wrong again' })).status, 401);
      const audit = await api.call('GET', '/v1/audit?entityType=integration&entityId=smartlead', { token: org.adminKey });
      const rejected = audit.json.items.filter((i: Json) => i.action === 'webhook_rejected');
      assert.deepEqual(rejected.map((i: Json) => i.trigger.signals[0]).sort(), ['secret_key_mismatch', 'secret_key_missing']);
      assert.match(rejected[0].message, /refused because its secret_key was/);
    });

    it('stores and counts a hard bounce, a soft bounce as a delivery failure, and acknowledges a replay as a duplicate', async () => {
      const hard = bounce(true);
      const first = await post(hard);
      assert.equal(first.status, 202, first.text);
      assert.deepEqual(first.json, { received: true, duplicate: false, eventType: 'EMAIL_BOUNCE', recordedAs: 'HardBounce', bounceClass: 'list_quality', counted: true, flags: [] });
      assert.equal((await post(bounce(false))).json.recordedAs, 'DeliveryFailure');
      const replay = await post(hard);
      assert.equal(replay.status, 202);
      assert.equal(replay.json.duplicate, true);
      const stored = await withTenant(api.database.db, org.id, (tx) => tx('events').where({ source: 'smartlead', type: 'HardBounce' }).select('detail', 'campaign_id', 'lead_email'));
      assert.equal(stored.length, 1);
      assert.equal(stored[0].campaign_id, '42');
      assert.equal(stored[0].detail.secret_key, undefined, 'the secret is not stored');
      assert.deepEqual(stored[0].detail.sent_message, { message_id: '<m@x>', time: null }, 'no email content is stored');
    });

    it('stores the other documented shape (event, EMAIL_BOUNCED, email_account_id) as the same counted bounce of the mailbox synced with that id, with its class', async () => {
      const sender = 'shapes@secure-mail.com';
      assert.equal((await post({ ...bounce(true), event_type: 'EMAIL_SENT', from_email: sender, bounce_message: undefined })).status, 202);
      await withTenant(api.database.db, org.id, (tx) => tx('mailboxes').where({ email: sender }).update({ smartlead_account_id: '5120' }));
      const { event_type: _type, from_email: _from, ...rest } = bounce(false);
      const block = { ...rest, bounce_message: { text: '554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org' } };
      const reply = await post({ ...block, event: 'EMAIL_BOUNCED', email_account_id: 5120 });
      assert.equal(reply.status, 202, reply.text);
      assert.deepEqual(reply.json, { received: true, duplicate: false, eventType: 'EMAIL_BOUNCED', recordedAs: 'DeliveryFailure', bounceClass: 'reputation', counted: true, flags: [] });
      assert.equal((await post({ ...block, event_type: 'EMAIL_BOUNCE', from_email: sender })).json.duplicate, true, 'the flat shape of the same bounce is a duplicate');
      const stored = await withTenant(api.database.db, org.id, (tx) =>
        tx('events').join('mailboxes', 'mailboxes.id', 'events.mailbox_id').where('events.idempotency_key', `smartlead:EMAIL_BOUNCE:stats:${String(rest.stats_id)}`).first('events.type', 'events.bounce_class', 'mailboxes.email'),
      );
      assert.deepEqual(stored, { type: 'DeliveryFailure', bounce_class: 'reputation', email: sender });
    });

    it('keeps a bounce whose account id names no mailbox, uncounted and flagged, and counts an account-disconnected alert as a failure of the mailbox', async () => {
      const { from_email: _from, ...rest } = bounce(true);
      const orphan = await post({ ...rest, email_account_id: 999_999 });
      assert.deepEqual([orphan.status, orphan.json.recordedAs, orphan.json.counted], [202, 'HardBounce', false]);
      const kept = await withTenant(api.database.db, org.id, (tx) => tx('events').where({ idempotency_key: `smartlead:EMAIL_BOUNCE:stats:${String(rest.stats_id)}` }).first('flags', 'detail', 'bounce_class'));
      assert.deepEqual([kept.flags, kept.detail.smartleadAccountId, kept.bounce_class], [['unresolved_account'], '999999', 'list_quality']);

      const alert = await post({ event_type: 'EMAIL_ACCOUNT_DISCONNECTED', accountId: 77, email: 'Sender@Secure-Mail.com', error: 'SMTP connection failed', secret_key: secretKey });
      assert.deepEqual([alert.status, alert.json.recordedAs, alert.json.bounceClass, alert.json.counted], [202, 'DeliveryFailure', 'account', true]);
    });

    it('stores and acknowledges event types it does not know, without counting them', async () => {
      const odd = await post({ event_type: 'SOMETHING_NEW', stats_id: 'n-1', secret_key: secretKey, from_email: 'sender@secure-mail.com' });
      assert.equal(odd.status, 202);
      assert.deepEqual([odd.json.recordedAs, odd.json.counted], ['SOMETHING_NEW', false]);
    });

    it('logs an unhandled error on the webhook route by its route pattern, never by its URL (which holds the token)', async () => {
      const client = new pg.Client({ connectionString: api.database.superuserUrl });
      await client.connect();
      try {
        await client.query("create function test_refuse_event() returns trigger language plpgsql as $$ begin raise exception 'refused by a test trigger'; end $$");
        await client.query("create trigger test_refuse_event before insert on events for each row when (new.type = 'TEST_FAILURE') execute function test_refuse_event()");
        const reply = await post({ event_type: 'TEST_FAILURE', stats_id: crypto.randomUUID(), secret_key: secretKey });
        assert.equal(reply.status, 500, reply.text);
        const line = logs.text().split('\n').find((l) => l.includes('unhandled error') && l.includes('refused by a test trigger'));
        assert.ok(line !== undefined, 'the unhandled error was logged');
        assert.match(line, /"route":"\/v1\/webhooks\/smartlead\/:token"/);
        assert.ok(!logs.text().includes(token), 'the webhook token is in the logs');
      } finally {
        await client.query('drop trigger if exists test_refuse_event on events');
        await client.query('drop function if exists test_refuse_event()');
        await client.end();
      }
    });

    it('keeps a webhook from the future at the receive time, flagged (Smartlead cannot fix its clock by retrying)', async () => {
      const future = await post({ ...bounce(true), event_timestamp: new Date(Date.now() + 3 * 3600_000).toISOString() });
      assert.equal(future.status, 202);
      assert.deepEqual(future.json.flags, ['future_clamped']);
    });
  });

  describe('events: clock skew', () => {
    const event = (occurredAt: Date, id: string = crypto.randomUUID()): Json => ({ id, type: 'HardBounce', occurredAt: occurredAt.toISOString(), mailbox: 'skew@secure-mail.com' });

    it('refuses events more than 15 minutes in the future with 422 naming each one', async () => {
      const reply = await api.call('POST', '/v1/events', { token: keys.ingest.key, body: { events: [event(new Date()), event(new Date(Date.now() + 2 * 3600_000))] } });
      assert.equal(reply.status, 422);
      assert.equal(reply.json.errors[0].path, 'events.1.occurredAt');
      assert.match(reply.json.errors[0].message, /2 h ahead of Drason's clock; events more than 15 minutes in the future are refused/);
      assert.equal((await api.call('POST', '/v1/events', { token: keys.ingest.key, body: { events: [event(new Date(Date.now() + 10 * 60_000))] } })).status, 202, '10 minutes of skew is tolerated');
    });

    it('stores events older than 7 days, flagged stale and never queued for counting', async () => {
      const id = `stale-${crypto.randomUUID()}`;
      const reply = await api.call('POST', '/v1/events', { token: keys.ingest.key, body: { events: [event(new Date(Date.now() - 8 * 86_400_000), id)] } });
      assert.deepEqual(reply.json, { accepted: 1, duplicates: 0 });
      const row = await withTenant(api.database.db, org.id, async (tx) => {
        const stored = (await tx('events').where({ idempotency_key: id }).first('id', 'flags')) as { id: number; flags: string[] };
        const queued = await tx('event_queue').where({ event_id: stored.id }).select('event_id');
        return { flags: stored.flags, queued: queued.length };
      });
      assert.deepEqual(row, { flags: ['stale'], queued: 0 });
    });
  });

  describe('request limits', () => {
    it('answers 413 problem+json to a body larger than the route accepts', async () => {
      const reply = await api.call('POST', '/v1/api-keys', { token: org.adminKey, body: { name: 'x'.repeat(20_000), role: 'viewer' } });
      assert.equal(reply.status, 413);
      assert.match(reply.headers.get('content-type') ?? '', /application\/problem\+json/);
    });

    it('sends security headers', async () => {
      const reply = await api.call('GET', '/v1/openapi.json');
      assert.equal(reply.headers.get('x-content-type-options'), 'nosniff');
      assert.ok(reply.headers.get('strict-transport-security'));
      assert.equal(reply.headers.get('x-powered-by'), null);
    });

    it('limits each key, each webhook token and each failing IP separately, answering 429 with Retry-After', async () => {
      const limited = await startTestApi({ rateLimits: { perKey: 3, perWebhookToken: 2, failedAuthPerIp: 4 } });
      try {
        const o = await limited.createOrganization('Busy');
        const second = await limited.createKey(o.adminKey, 'viewer');
        const statuses = async (n: number, send: () => Promise<Reply>): Promise<Reply[]> => {
          const out: Reply[] = [];
          for (let i = 0; i < n; i += 1) out.push(await send());
          return out;
        };
        const byKey = await statuses(5, () => limited.call('GET', '/v1/audit', { token: o.adminKey }));
        // The admin key was used once by createKey above.
        assert.deepEqual(byKey.map((r) => r.status), [200, 200, 429, 429, 429]);
        const tooMany = byKey[2]!;
        assert.match(tooMany.headers.get('content-type') ?? '', /application\/problem\+json/);
        assert.ok(Number(tooMany.headers.get('retry-after')) >= 1);
        assert.equal(tooMany.json.status, 429);
        assert.equal((await limited.call('GET', '/v1/audit', { token: second.key })).status, 200, 'another key has its own budget');

        const hook = await withTenant(limited.database.db, o.id, (tx) => limited.integrations.createWebhookToken(tx, o.id));
        const byToken = await statuses(3, () => limited.call('POST', `/v1/webhooks/smartlead/${hook.token}`, { body: { event_type: 'EMAIL_OPEN', stats_id: crypto.randomUUID() } }));
        assert.deepEqual(byToken.map((r) => r.status), [202, 202, 429]);

        const guesses = await statuses(5, () => limited.call('GET', '/v1/audit', { token: `drk_guess_${crypto.randomUUID()}` }));
        assert.deepEqual(guesses.map((r) => r.status), [401, 401, 401, 401, 429]);
      } finally {
        await limited.stop();
      }
    });

    it("never refuses a valid key or webhook token because of other parties' failures from the same IP", async () => {
      // Clay and Smartlead send every customer's traffic from shared addresses: here, one IP for everyone.
      const shared = await startTestApi({ rateLimits: { failedAuthPerIp: 4 } });
      try {
        const o = await shared.createOrganization('Shared Egress');
        const hook = await withTenant(shared.database.db, o.id, (tx) => shared.integrations.createWebhookToken(tx, o.id));
        const badKey = (): Promise<Reply> => shared.call('GET', '/v1/audit', { token: `drk_guess_${crypto.randomUUID()}` });
        const staleWebhook = (): Promise<Reply> => shared.call('POST', `/v1/webhooks/smartlead/whk_stale_${crypto.randomUUID()}`, { body: { event_type: 'EMAIL_OPEN' } });
        const webhook = (): Promise<Reply> => shared.call('POST', `/v1/webhooks/smartlead/${hook.token}`, { body: { event_type: 'EMAIL_OPEN', stats_id: crypto.randomUUID() } });

        const failures = [await badKey(), await staleWebhook(), await badKey(), await staleWebhook()];
        assert.deepEqual(failures.map((r) => r.status), [401, 404, 401, 404], 'under the limit, failures answer as usual');
        const overLimit = [await badKey(), await staleWebhook(), await shared.call('GET', '/v1/no-such-route')];
        assert.deepEqual(overLimit.map((r) => r.status), [429, 429, 429], 'over the limit, failing requests are throttled');
        for (const refused of overLimit) {
          assert.match(refused.headers.get('content-type') ?? '', /application\/problem\+json/);
          assert.ok(Number(refused.headers.get('retry-after')) >= 1);
          assert.equal(refused.json.status, 429);
        }

        // The same IP, now over its failed-authentication limit, with valid credentials: served normally.
        assert.equal((await shared.call('GET', '/v1/audit', { token: o.adminKey })).status, 200, 'a valid API key');
        assert.equal((await webhook()).status, 202, 'a valid webhook token');
        assert.equal((await shared.call('DELETE', `/v1/api-keys/${crypto.randomUUID()}`, { token: o.adminKey })).status, 404, "a valid key's own 404 is not a guess");
        assert.equal((await shared.call('POST', '/v1/organizations', { token: shared.platformToken, body: { name: 'Second' } })).status, 201, 'the platform token');
        assert.equal((await shared.call('GET', '/healthz')).status, 200, 'operations endpoints are never limited');
        assert.deepEqual([(await badKey()).status, (await staleWebhook()).status], [429, 429], 'while failures stay throttled');
      } finally {
        await shared.stop();
      }
    });
  });

  describe('secrets', () => {
    it('fails with a clear 500 (and no secret) when a stored secret cannot be decrypted', async () => {
      const other = await api.createOrganization('Lost Key Co');
      remember(other.adminKey);
      const foreign = createIntegrations(new Keyring(generateEncryptionKeySpec('k9')));
      await withTenant(api.database.db, other.id, (tx) => foreign.createWebhookToken(tx, other.id));
      const slKey = `sl_live_${crypto.randomBytes(16).toString('hex')}`;
      secrets.set(slKey, api.responses.length);
      const reply = await api.call('PUT', '/v1/integrations/smartlead', { token: other.adminKey, body: { apiKey: slKey } });
      assert.equal(reply.status, 500);
      assert.match(logs.text(), /unhandled error|secret_unavailable|not in DRASON_ENCRYPTION_KEYS/);
    });

    it('never shows a key or secret again after creation: not in logs, errors, later responses, or the database', async () => {
      assert.ok(secrets.size >= 8);
      assert.match(logs.text(), /"route":"\/v1\/webhooks\/smartlead\/:token"/, "request lines were captured (with the route pattern, not the URL)");
      for (const [secret, shownUntil] of secrets) {
        assert.ok(!logs.text().includes(secret), `a log line contains the secret ${secret.slice(0, 6)}…`);
        const later = api.responses.slice(shownUntil);
        assert.ok(!later.some((r) => r.includes(secret)), `a response after creation contains the secret ${secret.slice(0, 6)}…`);
      }
      const client = new pg.Client({ connectionString: api.database.superuserUrl });
      await client.connect();
      try {
        for (const table of ['api_keys', 'integration_credentials', 'webhook_tokens', 'events', 'audit_log', 'entity_counters']) {
          const dump = JSON.stringify((await client.query(`select * from ${table}`)).rows);
          for (const secret of secrets.keys()) assert.ok(!dump.includes(secret), `${table} stores ${secret.slice(0, 6)}… in plain text`);
        }
      } finally {
        await client.end();
      }
    });
  });
});
