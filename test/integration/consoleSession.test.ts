/**
 * The operator console's server side (src/api/routes/console.ts) through the real API on real PostgreSQL: sign-in
 * with an API key into a server-side session and an HttpOnly SameSite=Strict cookie, the cookie on /v1 with CSRF
 * checks and the key's role, sign-out, revoked keys, expiry, failed sign-ins rate-limited; the static console (from a
 * temporary directory, never the real build) with its CSP, caching and the "not built" page; and the chart series
 * from counters, zero-filled, with rates, never another organization's.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import type { ApiDeps } from '../../src/api/deps';
import { DEFAULT_RATE_LIMITS, type RateLimitSettings } from '../../src/config';
import { withTenant } from '../../src/db/tenant';
import { startTestApi, type Json, type Reply, type TestApi, type TestOrganization } from '../support/api';

const MINUTE = 60_000;

/** The drason_session cookie a reply set, with its attributes. */
function sessionCookieOf(reply: Reply): { value: string; attributes: string[]; header: string } {
  const header = reply.headers.getSetCookie().find((c) => c.startsWith('drason_session='));
  assert.ok(header, `no drason_session cookie in ${JSON.stringify(reply.headers.getSetCookie())}`);
  const [pair, ...attributes] = header.split(';').map((s) => s.trim());
  return { value: pair!.slice('drason_session='.length), attributes: attributes.map((a) => a.toLowerCase()), header };
}

/** An app of our own on the same database: for the static console from a temporary directory and tight rate limits. */
async function startApp(api: TestApi, options: { consoleDir?: string; rateLimits?: Partial<RateLimitSettings> } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const deps = {
    db: api.database.db,
    temporal: { options: { namespace: 'default' } } as unknown as Client,
    taskQueue: 'console-test',
    adminToken: undefined,
    temporalUiUrl: undefined,
    publicUrl: '',
    integrations: api.integrations,
    rateLimits: { ...DEFAULT_RATE_LIMITS, ...options.rateLimits },
    smartleadSyncIntervalMinutes: 15,
    ingest: { ingest: () => Promise.reject(new Error('no ingestion here')) },
    relayWaker: { poke: () => undefined, stop: () => undefined },
  } as unknown as ApiDeps;
  const { app } = createApp(deps, { consoleDir: options.consoleDir });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('operator console: sessions, static files and chart series', function () {
  this.timeout(120_000);
  let api: TestApi;
  let acme: TestOrganization;
  let beta: TestOrganization;

  before(async () => {
    api = await startTestApi();
    acme = await api.createOrganization('Acme Console');
    beta = await api.createOrganization('Beta Console');
  });
  after(async () => {
    await api?.stop();
  });

  const signIn = (apiKey: string, headers: Record<string, string> = {}): Promise<Reply> => api.call('POST', '/console/session', { body: { apiKey }, headers });
  /** Signs in and returns the Cookie header value and the CSRF token. */
  const session = async (apiKey: string): Promise<{ cookie: string; csrf: string; body: Json }> => {
    const reply = await signIn(apiKey);
    assert.equal(reply.status, 200, reply.text);
    return { cookie: `drason_session=${sessionCookieOf(reply).value}`, csrf: reply.json.csrfToken, body: reply.json };
  };
  const withCookie = (method: string, p: string, s: { cookie: string; csrf?: string }, body?: unknown): Promise<Reply> =>
    api.call(method, p, { body, headers: { cookie: s.cookie, ...(s.csrf === undefined ? {} : { 'x-csrf-token': s.csrf }) } });
  const auditOf = async (keyId: string): Promise<Json[]> => (await api.call('GET', `/v1/audit?entityType=api_key&entityId=${keyId}`, { token: acme.adminKey })).json.items;

  describe('sessions', () => {
    it('signs in with an API key: an HttpOnly, SameSite=Strict session cookie and the session body; the key itself is stored nowhere', async () => {
      const reply = await signIn(acme.adminKey);
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(Object.keys(reply.json).sort(), ['csrfToken', 'expiresAt', 'keyId', 'keyName', 'organizationId', 'organizationName', 'role']);
      assert.equal(reply.json.organizationId, acme.id);
      assert.equal(reply.json.organizationName, 'Acme Console');
      assert.equal(reply.json.role, 'admin');
      assert.equal(reply.json.keyName, 'bootstrap admin key');
      assert.equal(reply.json.keyId, acme.adminKeyId);
      assert.ok(reply.json.csrfToken.length >= 32);
      const expiresInMs = Date.parse(reply.json.expiresAt) - Date.now();
      assert.ok(expiresInMs > 11.9 * 60 * MINUTE && expiresInMs <= 12 * 60 * MINUTE, `idle deadline 12 h ahead, got ${reply.json.expiresAt}`);
      assert.equal(reply.headers.get('cache-control'), 'no-store');

      const cookie = sessionCookieOf(reply);
      assert.ok(cookie.attributes.includes('httponly'), cookie.header);
      assert.ok(cookie.attributes.includes('samesite=strict'), cookie.header);
      assert.ok(cookie.attributes.includes('path=/'), cookie.header);
      assert.ok(!cookie.attributes.includes('secure'), 'plain http: no Secure attribute');
      assert.ok(!cookie.value.includes(acme.adminKey));

      const rows = (await api.database.ownerDb.raw(`select to_jsonb(s) as row from console_sessions s`)) as { rows: { row: Json }[] };
      const all = JSON.stringify(rows.rows);
      assert.ok(!all.includes(acme.adminKey), 'the API key is not stored in a session');
      assert.ok(!all.includes(cookie.value), 'the session token is stored only as its hash');
      assert.ok(all.includes(crypto.createHash('sha256').update(cookie.value).digest('hex')));

      const audit = await auditOf(acme.adminKeyId);
      const signedIn = audit.find((a) => a.action === 'console_signed_in');
      assert.ok(signedIn, JSON.stringify(audit));
      assert.equal(signedIn.actor, `api-key:${acme.adminKeyId}`);
      assert.match(signedIn.message, /^API key "bootstrap admin key" \(drk_.{6}…, admin\) signed in to the console; .*12 hours.*revoked\.$/);
    });

    it('sets a Secure cookie when the request came over https through the (loopback) proxy', async () => {
      const reply = await signIn(acme.adminKey, { 'x-forwarded-proto': 'https' });
      assert.equal(reply.status, 200, reply.text);
      assert.ok(sessionCookieOf(reply).attributes.includes('secure'), sessionCookieOf(reply).header);
    });

    it('authenticates /v1 reads with the cookie, and GET /console/session answers the same body', async () => {
      const s = await session(acme.adminKey);
      const overview = await withCookie('GET', '/v1/overview', { cookie: s.cookie });
      assert.equal(overview.status, 200, overview.text);
      assert.deepEqual(overview.json.links, { openapi: '/v1/openapi.json', console: '/console/' }, 'the overview links the OpenAPI document and the console');
      const mailboxes = await withCookie('GET', '/v1/mailboxes', { cookie: s.cookie });
      assert.equal(mailboxes.status, 200, mailboxes.text);
      const current = await withCookie('GET', '/console/session', { cookie: s.cookie });
      assert.equal(current.status, 200, current.text);
      assert.deepEqual({ ...current.json, expiresAt: undefined }, { ...s.body, expiresAt: undefined });
      assert.equal(current.headers.get('cache-control'), 'no-store');
    });

    it('refuses a change sent with the cookie but without X-CSRF-Token (403), and accepts it with the token, audited as the key', async () => {
      const s = await session(acme.adminKey);
      const without = await withCookie('POST', '/v1/api-keys', { cookie: s.cookie }, { name: 'no csrf', role: 'viewer' });
      assert.equal(without.status, 403, without.text);
      assert.match(without.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.match(without.json.detail, /X-CSRF-Token/);
      const wrong = await withCookie('POST', '/v1/api-keys', { cookie: s.cookie, csrf: 'x'.repeat(43) }, { name: 'wrong csrf', role: 'viewer' });
      assert.equal(wrong.status, 403, wrong.text);
      const keys = (await api.call('GET', '/v1/api-keys', { token: acme.adminKey })).json.items as Json[];
      assert.ok(!keys.some((k) => k.name === 'no csrf' || k.name === 'wrong csrf'), 'nothing was created without the token');

      const created = await withCookie('POST', '/v1/api-keys', s, { name: 'made in the console', role: 'viewer' });
      assert.equal(created.status, 201, created.text);
      const audit = await auditOf(created.json.id);
      assert.equal(audit[0].action, 'api_key_created');
      assert.equal(audit[0].actor, `api-key:${acme.adminKeyId}`, 'the same actor as with the Bearer key');
    });

    it('leaves Bearer requests alone (no CSRF), and a presented key wins over the cookie', async () => {
      const s = await session(acme.adminKey);
      const viewer = await api.createKey(acme.adminKey, 'viewer', 'bearer viewer');
      const bearer = await api.call('POST', '/v1/api-keys', { token: acme.adminKey, body: { name: 'bearer, no csrf', role: 'viewer' } });
      assert.equal(bearer.status, 201, bearer.text);
      const both = await api.call('POST', '/v1/api-keys', { token: viewer.key, body: { name: 'x', role: 'viewer' }, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
      assert.equal(both.status, 403, 'the viewer key decides, not the admin cookie');
    });

    it("applies the key's role: a viewer's session reads but cannot PUT routing rules; an admin's can", async () => {
      const viewer = await api.createKey(acme.adminKey, 'viewer', 'console viewer');
      const s = await session(viewer.key);
      assert.equal(s.body.role, 'viewer');
      assert.equal((await withCookie('GET', '/v1/routing-rules', { cookie: s.cookie })).status, 200);
      const put = await withCookie('PUT', '/v1/routing-rules', s, []);
      assert.equal(put.status, 403, put.text);
      assert.match(put.json.detail, /admin role.*this key is viewer/);
      const admin = await session(acme.adminKey);
      const saved = await withCookie('PUT', '/v1/routing-rules', admin, []);
      assert.equal(saved.status, 200, saved.text);
    });

    it('signs out: 204, the row deleted, the cookie cleared, audited; the cookie no longer works', async () => {
      const s = await session(acme.adminKey);
      const refused = await withCookie('DELETE', '/console/session', { cookie: s.cookie });
      assert.equal(refused.status, 403, 'sign-out carries the CSRF token too');
      const out = await withCookie('DELETE', '/console/session', s);
      assert.equal(out.status, 204, out.text);
      const cleared = sessionCookieOf(out);
      assert.equal(cleared.value, '');
      assert.ok(cleared.attributes.some((a) => a.startsWith('expires=thu, 01 jan 1970')), cleared.header);
      const hash = crypto.createHash('sha256').update(s.cookie.slice('drason_session='.length)).digest('hex');
      const left = (await api.database.ownerDb.raw('select count(*)::int as n from console_sessions where token_hash = ?', [hash])) as { rows: { n: number }[] };
      assert.equal(left.rows[0]!.n, 0);
      const after = await withCookie('GET', '/v1/overview', { cookie: s.cookie });
      assert.equal(after.status, 401, after.text);
      assert.match(after.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal((await withCookie('GET', '/console/session', { cookie: s.cookie })).status, 401);
      assert.equal((await withCookie('DELETE', '/console/session', s)).status, 204, 'signing out twice is harmless');
      assert.equal((await api.call('DELETE', '/console/session')).status, 204, 'and so is signing out with no cookie');

      const audit = await auditOf(acme.adminKeyId);
      const signedOut = audit.filter((a) => a.action === 'console_signed_out');
      assert.equal(signedOut.length, 1, 'one sign-out, one entry');
      assert.equal(signedOut[0].actor, `api-key:${acme.adminKeyId}`);
      assert.match(signedOut[0].message, /^API key "bootstrap admin key" \(drk_.{6}…, admin\) signed out of the console; the session it started at \S+ is ended/);
    });

    it("refuses a revoked key's session at its next request and deletes it", async () => {
      const operator = await api.createKey(acme.adminKey, 'operator', 'soon revoked');
      const s = await session(operator.key);
      assert.equal((await withCookie('GET', '/v1/overview', { cookie: s.cookie })).status, 200);
      assert.equal((await api.call('DELETE', `/v1/api-keys/${operator.id}`, { token: acme.adminKey })).status, 204);
      const after = await withCookie('GET', '/v1/overview', { cookie: s.cookie });
      assert.equal(after.status, 401, after.text);
      assert.match(after.json.detail, /revoked/);
      const left = (await api.database.ownerDb.raw('select count(*)::int as n from console_sessions where api_key_id = ?', [operator.id])) as { rows: { n: number }[] };
      assert.equal(left.rows[0]!.n, 0, 'the session is gone');
      const probe = await withCookie('GET', '/console/session', { cookie: s.cookie });
      assert.equal(probe.status, 401);
      assert.equal(sessionCookieOf(probe).value, '', 'GET /console/session clears a dead cookie');
      assert.equal((await signIn(operator.key)).status, 401, 'and the revoked key cannot sign in again');
    });

    it('ends a session unused for longer than the idle timeout', async () => {
      const s = await session(acme.adminKey);
      const hash = crypto.createHash('sha256').update(s.cookie.slice('drason_session='.length)).digest('hex');
      await withTenant(api.database.db, acme.id, (tx) => tx('console_sessions').where({ token_hash: hash }).update({ expires_at: new Date(Date.now() - 1000) }));
      assert.equal((await withCookie('GET', '/v1/overview', { cookie: s.cookie })).status, 401);
    });

    it('refuses a bad key (401 problem+json), an ingest key (403), a malformed body (422) and a cookie that is no session (401)', async () => {
      const bad = await signIn(`drk_${crypto.randomBytes(24).toString('base64url')}`);
      assert.equal(bad.status, 401, bad.text);
      assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.deepEqual(bad.headers.getSetCookie(), []);
      const ingest = await api.createKey(acme.adminKey, 'ingest', 'console ingest');
      assert.equal((await signIn(ingest.key)).status, 403);
      assert.equal((await api.call('POST', '/console/session', { body: { key: acme.adminKey } })).status, 422);
      const forged = `drason_session=dcs_${crypto.randomBytes(32).toString('base64url')}`;
      assert.equal((await withCookie('GET', '/v1/overview', { cookie: forged })).status, 401);
      assert.equal((await withCookie('GET', '/console/session', { cookie: forged })).status, 401);
      assert.equal((await api.call('GET', '/console/session')).status, 401);
    });

    it('rate-limits failed sign-ins per IP like other failed authentications, never a valid key', async () => {
      const app = await startApp(api, { rateLimits: { failedAuthPerIp: 3 } });
      try {
        const post = (apiKey: string) => fetch(`${app.url}/console/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey }) });
        const statuses: number[] = [];
        for (let i = 0; i < 5; i += 1) statuses.push((await post(`drk_wrong-${i}`)).status);
        assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
        const limited = await post('drk_wrong-again');
        assert.ok(Number(limited.headers.get('retry-after')) >= 1);
        assert.match(limited.headers.get('content-type') ?? '', /application\/problem\+json/);
        assert.equal((await post(acme.adminKey)).status, 200, 'a valid key is never refused for the failures of others');
      } finally {
        await app.close();
      }
    });

    it('documents the session endpoints in the OpenAPI document', async () => {
      const doc = (await api.call('GET', '/v1/openapi.json')).json;
      assert.deepEqual(Object.keys(doc.paths['/console/session']).sort(), ['delete', 'get', 'post']);
      for (const p of ['/v1/mailboxes/{email}/series', '/v1/domains/{domain}/series', '/v1/campaigns/{campaignId}/series']) {
        assert.equal(doc.paths[p]?.get?.['x-drason-access'], 'viewer', p);
      }
    });
  });

  describe('static console', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-console-'));
      fs.mkdirSync(path.join(dir, 'assets'));
      fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Drason</title><script type="module" src="/console/assets/main-AB12CD34.js"></script>');
      fs.writeFileSync(path.join(dir, 'assets', 'main-AB12CD34.js'), 'console.log(1);');
      fs.writeFileSync(path.join(dir, 'assets', 'main-AB12CD34.js.map'), '{}');
      fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const CSP = /default-src 'self'.*script-src 'self'.*style-src 'self'(;|$)/;

    it('serves index.html at /console, /console/ and client routes, no-cache, with a strict CSP; hashed assets for a year; missing assets 404', async () => {
      const app = await startApp(api, { consoleDir: dir });
      try {
        for (const p of ['/console', '/console/', '/console/mailboxes/sam@acme.io', '/console/index.html']) {
          const res = await fetch(`${app.url}${p}`);
          assert.equal(res.status, 200, p);
          assert.match(res.headers.get('content-type') ?? '', /text\/html/, p);
          assert.equal(res.headers.get('cache-control'), 'no-cache', p);
          const csp = res.headers.get('content-security-policy') ?? '';
          assert.match(csp, CSP, p);
          assert.ok(!/unsafe-inline|unsafe-eval|https:|http:/.test(csp), `${p}: ${csp}`);
          assert.match(await res.text(), /<title>Drason<\/title>/);
        }
        const asset = await fetch(`${app.url}/console/assets/main-AB12CD34.js`);
        assert.equal(asset.status, 200);
        assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
        assert.match(asset.headers.get('content-type') ?? '', /javascript/);
        assert.match(asset.headers.get('content-security-policy') ?? '', CSP);
        assert.equal((await fetch(`${app.url}/console/assets/main-AB12CD34.js.map`)).headers.get('cache-control'), 'public, max-age=31536000, immutable');
        const unhashed = await fetch(`${app.url}/console/favicon.svg`);
        assert.equal(unhashed.status, 200);
        assert.equal(unhashed.headers.get('cache-control'), 'no-cache');
        const missing = await fetch(`${app.url}/console/assets/gone-ZZ99ZZ99.js`);
        assert.equal(missing.status, 404);
        assert.doesNotMatch(await missing.text(), /<title>Drason/);
        assert.equal((await fetch(`${app.url}/console/../package.json`)).status, 404);
        const root = await fetch(`${app.url}/`, { redirect: 'manual' });
        assert.equal(root.status, 302);
        assert.equal(root.headers.get('location'), '/console/');
      } finally {
        await app.close();
      }
    });

    it('answers 503 with "the console is not built: run npm run build:console" when there is no build', async () => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-console-empty-'));
      const app = await startApp(api, { consoleDir: path.join(empty, 'console') });
      try {
        for (const p of ['/console', '/console/', '/console/audit']) {
          const res = await fetch(`${app.url}${p}`);
          assert.equal(res.status, 503, p);
          assert.match(res.headers.get('content-type') ?? '', /text\/html/);
          assert.match(await res.text(), /The console is not built: run npm run build:console/);
        }
        assert.equal((await fetch(`${app.url}/v1/openapi.json`)).status, 200, 'the API works meanwhile');
      } finally {
        await app.close();
        fs.rmSync(empty, { recursive: true, force: true });
      }
    });
  });

  describe('chart series', () => {
    const FIVE = 5 * MINUTE;
    const nowBucket = Math.floor(Date.now() / FIVE) * FIVE;
    const mailbox = 'Sam@Series-Mail.com';
    const campaignId = '7007';

    /** A counter bucket `ago` five-minute buckets before the current one. */
    const counters = (organizationId: string, rows: { ago: number; sent: number; hardBounces?: number; failures?: number }[], keys: [string, string][]) =>
      withTenant(api.database.db, organizationId, (tx) =>
        tx('entity_counters').insert(
          keys.flatMap(([entityType, entityKey]) =>
            rows.map((r) => ({
              organization_id: organizationId,
              entity_type: entityType,
              entity_key: entityKey,
              bucket_start: new Date(nowBucket - r.ago * FIVE),
              sent: r.sent,
              hard_bounces: r.hardBounces ?? 0,
              failures: r.failures ?? 0,
            })),
          ),
        ),
      );

    before(async () => {
      for (const org of [acme, beta]) {
        const events = await api.call('POST', '/v1/events', {
          token: org.adminKey,
          body: { events: [{ id: `series-${org.id}`, type: 'EmailSent', occurredAt: new Date().toISOString(), mailbox, campaignId: Number(campaignId) }] },
        });
        assert.equal(events.status, 202, events.text);
        await withTenant(api.database.db, org.id, (tx) => tx('campaigns').insert({ organization_id: org.id, campaign_id: campaignId, name: 'Series', status: 'ACTIVE' }).onConflict(['organization_id', 'campaign_id']).ignore());
      }
      const keys: [string, string][] = [
        ['mailbox', 'sam@series-mail.com'],
        ['domain', 'series-mail.com'],
        ['campaign', campaignId],
      ];
      // Acme: 24 (six hours) and 25 buckets ago, and 3 days ago; Beta: a storm in the same buckets, never shown to Acme.
      await counters(acme.id, [{ ago: 72, sent: 40, hardBounces: 2, failures: 1 }, { ago: 73, sent: 10, hardBounces: 3 }, { ago: 864, sent: 5, failures: 5 }], keys);
      await counters(beta.id, [{ ago: 72, sent: 1000, hardBounces: 900 }, { ago: 73, sent: 1000, hardBounces: 900 }], keys);
    });

    const pointAt = (points: Json[], startMs: number): Json => points.find((p) => Date.parse(p.start) === startMs);

    for (const [noun, p] of [
      ['mailbox', `/v1/mailboxes/${encodeURIComponent(mailbox)}/series`],
      ['domain', '/v1/domains/SERIES-MAIL.com/series'],
      ['campaign', `/v1/campaigns/${campaignId}/series`],
    ] as const) {
      it(`${noun}: 24h in 96 zero-filled 15-minute buckets and 7d (default) in 168 hourly ones, with rates`, async () => {
        const day = await api.call('GET', `${p}?window=24h`, { token: acme.adminKey });
        assert.equal(day.status, 200, day.text);
        assert.equal(day.json.window, '24h');
        assert.equal(day.json.bucketMinutes, 15);
        assert.equal(day.json.entity.type, noun);
        assert.equal(day.json.points.length, 96);
        const starts = day.json.points.map((x: Json) => Date.parse(x.start));
        assert.ok(starts.every((s: number, i: number) => s % (15 * MINUTE) === 0 && (i === 0 || s - starts[i - 1] === 15 * MINUTE)), 'aligned, consecutive');
        assert.ok(starts[95] <= Date.now() && Date.now() < starts[95] + 15 * MINUTE, 'the last bucket holds now');
        // Buckets 72 and 73 five-minute steps back fall in one or two 15-minute buckets.
        const quarter = (ago: number) => Math.floor((nowBucket - ago * FIVE) / (15 * MINUTE)) * 15 * MINUTE;
        const sent = (ms: number) => pointAt(day.json.points, ms)?.sent;
        if (quarter(72) === quarter(73)) {
          assert.deepEqual(pointAt(day.json.points, quarter(72)), {
            start: new Date(quarter(72)).toISOString(),
            sent: 50,
            hardBounces: 5,
            failures: 1,
            hardBounceRate: 0.1,
            failureRate: 0.02,
          });
        } else {
          assert.deepEqual([sent(quarter(72)), sent(quarter(73))], [40, 10]);
          assert.equal(pointAt(day.json.points, quarter(73)).hardBounceRate, 0.3);
        }
        const total = day.json.points.reduce((n: number, x: Json) => n + x.sent, 0);
        assert.equal(total, 50, 'only the last day, only this organization');
        const quiet = day.json.points.find((x: Json) => x.sent === 0);
        assert.deepEqual({ ...quiet, start: undefined }, { start: undefined, sent: 0, hardBounces: 0, failures: 0, hardBounceRate: null, failureRate: null });

        const week = await api.call('GET', p, { token: acme.adminKey });
        assert.equal(week.status, 200, week.text);
        assert.equal(week.json.window, '7d');
        assert.equal(week.json.bucketMinutes, 60);
        assert.equal(week.json.points.length, 168);
        assert.equal(week.json.points.reduce((n: number, x: Json) => n + x.sent, 0), 55);
        const hour = (ago: number) => Math.floor((nowBucket - ago * FIVE) / (60 * MINUTE)) * 60 * MINUTE;
        assert.equal(pointAt(week.json.points, hour(864)).failureRate, 1);
      });
    }

    it('answers another organization\'s entity exactly like a missing one (404), and a bad window with 422', async () => {
      const theirs = await api.call('GET', `/v1/mailboxes/${encodeURIComponent(mailbox)}/series`, { token: acme.adminKey });
      assert.equal(theirs.status, 200);
      const onlyBeta = 'only@beta-only-mail.com';
      const ingested = await api.call('POST', '/v1/events', {
        token: beta.adminKey,
        body: { events: [{ id: 'beta-only', type: 'EmailSent', occurredAt: new Date().toISOString(), mailbox: onlyBeta }] },
      });
      assert.equal(ingested.status, 202);
      assert.equal((await api.call('GET', `/v1/mailboxes/${onlyBeta}/series`, { token: beta.adminKey })).status, 200, 'Beta sees its own');
      const other = await api.call('GET', `/v1/mailboxes/${onlyBeta}/series`, { token: acme.adminKey });
      const missing = await api.call('GET', '/v1/mailboxes/nobody@nowhere-mail.com/series', { token: acme.adminKey });
      assert.equal(other.status, 404);
      assert.match(other.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(other.text.replace(onlyBeta, '<id>'), missing.text.replace('nobody@nowhere-mail.com', '<id>'));
      assert.equal((await api.call('GET', '/v1/domains/beta-only-mail.com/series', { token: acme.adminKey })).status, 404);
      assert.equal((await api.call('GET', `/v1/mailboxes/${onlyBeta}/series?window=1h`, { token: acme.adminKey })).status, 422);
      const viewer = await api.createKey(acme.adminKey, 'viewer', 'series viewer');
      assert.equal((await api.call('GET', `/v1/campaigns/${campaignId}/series`, { token: viewer.key })).status, 200);
      const ingest = await api.createKey(acme.adminKey, 'ingest', 'series ingest');
      assert.equal((await api.call('GET', `/v1/campaigns/${campaignId}/series`, { token: ingest.key })).status, 403);
    });

    it('is readable with the console cookie', async () => {
      const s = await session(acme.adminKey);
      const reply = await withCookie('GET', '/v1/domains/series-mail.com/series?window=24h', { cookie: s.cookie });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.json.points.length, 96);
    });
  });

  describe('entity reads link their workflow', () => {
    it('mailbox, domain and campaign reads carry temporalUrl', async () => {
      for (const p of ['/v1/mailboxes/sam@series-mail.com', '/v1/domains/series-mail.com', '/v1/campaigns/7007']) {
        const reply = await api.call('GET', p, { token: acme.adminKey });
        assert.equal(reply.status, 200, `${p}: ${reply.text}`);
        assert.ok('temporalUrl' in reply.json && 'workflowId' in reply.json, p);
      }
    });
  });
});
