/**
 * Tenant isolation: every row belongs to one organization and no one reaches another's.
 *
 * - Through the API (the real app, in process): every endpoint that takes an id answers another organization's id
 *   exactly like an id that does not exist, and lists never show another organization's rows. Both are tables:
 *   when an endpoint with an id lands (leads, campaigns, mailboxes…), add one row to ID_ENDPOINTS or LISTS.
 * - In the database, as the application role: every table with organization_id (found in the catalog, so new
 *   tables are covered automatically) has row-level security enabled and FORCEd; an unfiltered SELECT sees only
 *   the current organization's rows; a row can neither be written for nor point at another organization.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import pg from 'pg';
import { withTenant } from '../../src/db/tenant';
import { startTestApi, type Reply, type TestApi, type TestOrganization } from '../support/api';
import { rowsPerTable, seedEveryTenantTable, tenantTables, type SeededRows } from '../support/tenantTables';

type Org = TestOrganization & { seed: SeededRows };

interface IdEndpoint {
  name: string;
  /** A real id, freshly made in `owner`. */
  existingId(api: TestApi, owner: Org): Promise<string>;
  /** An id of the same form that exists nowhere. */
  missingId(): string;
  /** The request carrying the id, made by `caller`. */
  request(api: TestApi, caller: Org, id: string): Promise<Reply>;
  /** `not_found`: a 404 problem; `empty`: a 200 list with no items. */
  expect: 'not_found' | 'empty';
  /** Proves the id was real and untouched by the other organization's attempt (its owner still reaches it). */
  ownerStillReaches(api: TestApi, owner: Org, id: string): Promise<void>;
}

const ID_ENDPOINTS: IdEndpoint[] = [
  {
    name: 'DELETE /v1/api-keys/:id',
    existingId: async (api, owner) => (await api.createKey(owner.adminKey, 'viewer', 'isolation probe')).id,
    missingId: () => crypto.randomUUID(),
    request: (api, caller, id) => api.call('DELETE', `/v1/api-keys/${id}`, { token: caller.adminKey }),
    expect: 'not_found',
    ownerStillReaches: async (api, owner, id) => {
      const keys = await api.call('GET', '/v1/api-keys', { token: owner.adminKey });
      assert.equal(keys.json.items.find((k: { id: string }) => k.id === id)?.revokedAt, null, 'the key was not revoked by the other organization');
      assert.equal((await api.call('DELETE', `/v1/api-keys/${id}`, { token: owner.adminKey })).status, 204);
    },
  },
  {
    // The token is the id here. A token that is not (or no longer) valid answers like an unknown route.
    name: 'POST /v1/webhooks/smartlead/:token (a rotated-out token of another organization)',
    existingId: async (api, owner) =>
      withTenant(api.database.db, owner.id, async (tx) => {
        const old = await api.integrations.rotateWebhookToken(tx, owner.id, { graceMs: 0 });
        await api.integrations.rotateWebhookToken(tx, owner.id, { graceMs: 0 });
        return old.token;
      }),
    missingId: () => `whk_${crypto.randomBytes(32).toString('base64url')}`,
    request: (api, _caller, token) => api.call('POST', `/v1/webhooks/smartlead/${token}`, { body: { event_type: 'EMAIL_SENT' } }),
    expect: 'not_found',
    ownerStillReaches: async (api, owner) => {
      const current = await withTenant(api.database.db, owner.id, (tx) => api.integrations.currentWebhookToken(tx));
      const posted = await api.call('POST', `/v1/webhooks/smartlead/${current!.token}`, { body: { event_type: 'EMAIL_OPEN', stats_id: crypto.randomUUID() } });
      assert.equal(posted.status, 202);
    },
  },
  {
    name: 'GET /v1/audit?entityId=:id (an API key id)',
    existingId: async (api, owner) => (await api.createKey(owner.adminKey, 'ingest', 'audited probe')).id,
    missingId: () => crypto.randomUUID(),
    request: (api, caller, id) => api.call('GET', `/v1/audit?entityId=${id}`, { token: caller.adminKey }),
    expect: 'empty',
    ownerStillReaches: async (api, owner, id) => {
      const own = await api.call('GET', `/v1/audit?entityId=${id}`, { token: owner.adminKey });
      assert.ok(own.json.items.length > 0, 'the owner sees the audit rows of its own key');
    },
  },
  {
    name: 'GET /v1/audit?entityType=mailbox&entityId=:email',
    existingId: async (_api, owner) => owner.seed.mailboxEmail,
    missingId: () => `nobody-${crypto.randomUUID().slice(0, 8)}@nowhere-mail.com`,
    request: (api, caller, email) => api.call('GET', `/v1/audit?entityType=mailbox&entityId=${encodeURIComponent(email)}`, { token: caller.adminKey }),
    expect: 'empty',
    ownerStillReaches: async (api, owner, email) => {
      const own = await api.call('GET', `/v1/audit?entityType=mailbox&entityId=${encodeURIComponent(email)}`, { token: owner.adminKey });
      assert.ok(own.json.items.length > 0);
    },
  },
  {
    name: 'GET /v1/mailboxes/:email',
    existingId: async (_api, owner) => owner.seed.mailboxEmail,
    missingId: () => `nobody-${crypto.randomUUID().slice(0, 8)}@nowhere-mail.com`,
    request: (api, caller, id) => api.call('GET', `/v1/mailboxes/${encodeURIComponent(id)}`, { token: caller.adminKey }),
    expect: 'not_found',
    ownerStillReaches: async (api, owner, id) => {
      assert.equal((await api.call('GET', `/v1/mailboxes/${encodeURIComponent(id)}`, { token: owner.adminKey })).status, 200);
    },
  },
  {
    name: 'GET /v1/domains/:domain',
    existingId: async (_api, owner) => owner.seed.mailboxEmail.split('@')[1]!,
    missingId: () => `nowhere-${crypto.randomUUID().slice(0, 8)}.test`,
    request: (api, caller, id) => api.call('GET', `/v1/domains/${encodeURIComponent(id)}`, { token: caller.adminKey }),
    expect: 'not_found',
    ownerStillReaches: async (api, owner, id) => {
      assert.equal((await api.call('GET', `/v1/domains/${encodeURIComponent(id)}`, { token: owner.adminKey })).status, 200);
    },
  },
  {
    name: 'GET /v1/campaigns/:campaignId',
    existingId: async (_api, owner) => owner.seed.campaignId,
    missingId: () => `missing-${crypto.randomUUID().slice(0, 8)}`,
    request: (api, caller, id) => api.call('GET', `/v1/campaigns/${encodeURIComponent(id)}`, { token: caller.adminKey }),
    expect: 'not_found',
    ownerStillReaches: async (api, owner, id) => {
      assert.equal((await api.call('GET', `/v1/campaigns/${encodeURIComponent(id)}`, { token: owner.adminKey })).status, 200);
    },
  },
  {
    name: 'GET /v1/leads/:id',
    existingId: async (_api, owner) => owner.seed.leadId,
    missingId: () => crypto.randomUUID(),
    request: (api, caller, id) => api.call('GET', `/v1/leads/${id}`, { token: caller.adminKey }),
    expect: 'not_found',
    ownerStillReaches: async (api, owner, id) => {
      assert.equal((await api.call('GET', `/v1/leads/${id}`, { token: owner.adminKey })).status, 200);
    },
  },
  overrideEndpoint('mailboxes', ':email', (owner) => owner.seed.mailboxEmail, () => `nobody-${crypto.randomUUID().slice(0, 8)}@nowhere-mail.com`),
  overrideEndpoint('campaigns', ':campaignId', (owner) => owner.seed.campaignId, () => String(900_000_000 + crypto.randomInt(1_000_000))),
  overrideEndpoint('domains', ':domain', (owner) => owner.seed.mailboxEmail.split('@')[1]!, () => `nowhere-${crypto.randomUUID().slice(0, 8)}.com`),
  {
    name: 'POST /v1/recommendations/:id/apply',
    existingId: async (_api, owner) => owner.seed.recommendationId,
    missingId: () => crypto.randomUUID(),
    request: (api, caller, id) => api.call('POST', `/v1/recommendations/${id}/apply`, { token: caller.adminKey }),
    expect: 'not_found',
    ownerStillReaches: async (api, owner, id) => {
      const applies = () => withTenant(api.database.db, owner.id, (tx) => tx('entity_commands').where({ kind: 'apply_recommendation' }).pluck('entity_key'));
      assert.deepEqual(await applies(), [], 'the other organization could not apply it');
      assert.equal((await api.call('POST', `/v1/recommendations/${id}/apply`, { token: owner.adminKey })).status, 202);
      assert.deepEqual(await applies(), [owner.seed.mailboxEmail]);
    },
  },
  {
    name: 'POST /v1/sources/:name/release',
    existingId: async (_api, owner) => owner.seed.sourceName,
    missingId: () => `List nowhere-${crypto.randomUUID().slice(0, 8)}`,
    request: (api, caller, name) => api.call('POST', `/v1/sources/${encodeURIComponent(name)}/release`, { token: caller.adminKey }),
    expect: 'not_found',
    ownerStillReaches: async (api, owner, name) => {
      const own = await api.call('GET', '/v1/sources', { token: owner.adminKey });
      assert.equal(own.json.items.find((s: { name: string }) => s.name === name)?.state, 'quarantined', 'the other organization did not release it');
      assert.equal((await api.call('POST', `/v1/sources/${encodeURIComponent(name)}/release`, { token: owner.adminKey })).status, 200);
    },
  },
  // When they land, e.g.:
  // { name: 'GET /v1/leads/:id', existingId: async (_api, owner) => owner.seed.leadId, missingId: () => crypto.randomUUID(),
  //   request: (api, caller, id) => api.call('GET', `/v1/leads/${id}`, { token: caller.adminKey }), expect: 'not_found', ... },
];

/** The mailboxes an organization has override commands waiting for. */
/** POST /v1/<collection>/<id>/override: another organization's id is unknown here, and stores no command. */
function overrideEndpoint(collection: 'mailboxes' | 'campaigns' | 'domains', param: string, ownId: (owner: Org) => string, missingId: () => string): IdEndpoint {
  const post = (api: TestApi, token: string, id: string, reason: string) =>
    api.call('POST', `/v1/${collection}/${encodeURIComponent(id)}/override`, { token, body: { action: 'pause', reason } });
  return {
    name: `POST /v1/${collection}/${param}/override`,
    existingId: async (_api, owner) => ownId(owner),
    missingId,
    request: (api, caller, id) => post(api, caller.adminKey, id, 'probe'),
    expect: 'not_found',
    ownerStillReaches: async (api, owner, id) => {
      assert.deepEqual(await overridesOf(api, owner), [], "the other organization's attempt stored no command");
      assert.equal((await post(api, owner.adminKey, id, 'own')).status, 202);
      assert.deepEqual(await overridesOf(api, owner), [id.toLowerCase()]);
      await withTenant(api.database.db, owner.id, (tx) => tx('entity_commands').where({ kind: 'override' }).delete());
    },
  };
}

function overridesOf(api: TestApi, owner: Org): Promise<string[]> {
  return withTenant(api.database.db, owner.id, (tx) => tx('entity_commands').where({ kind: 'override' }).pluck('entity_key'));
}

/** Lists (and single-object reads) that must never show another organization's rows. */
const LISTS = [
  '/v1/api-keys',
  '/v1/audit',
  '/v1/audit?entityType=api_key',
  '/v1/audit?entityType=integration',
  '/v1/settings',
  '/v1/integrations/smartlead',
  '/v1/overview',
  '/v1/mailboxes',
  '/v1/domains',
  '/v1/campaigns',
  '/v1/recommendations',
  '/v1/leads',
  '/v1/routing-rules',
  '/v1/sources',
  '/v1/recommendations?entityType=source',
];

/** The reply with the probed id replaced, so "another's id" and "a missing id" can be compared exactly. */
const normalized = (reply: Reply, id: string): unknown => ({
  status: reply.status,
  contentType: reply.headers.get('content-type'),
  body: JSON.parse(reply.text.split(id).join('<id>')) as unknown,
});

describe('tenant isolation', function () {
  this.timeout(120_000);
  let api: TestApi;
  let a: Org;
  let b: Org;

  before(async () => {
    api = await startTestApi();
    const orgA = await api.createOrganization('Acme');
    const orgB = await api.createOrganization('Beta');
    a = { ...orgA, seed: await seedEveryTenantTable(api.database.db, api.integrations, orgA.id, 'acme') };
    b = { ...orgB, seed: await seedEveryTenantTable(api.database.db, api.integrations, orgB.id, 'beta') };
  });
  after(async () => {
    await api?.stop();
  });

  describe("an id of another organization answers exactly like a missing id", () => {
    for (const endpoint of ID_ENDPOINTS) {
      it(endpoint.name, async () => {
        const theirs = await endpoint.existingId(api, b);
        const missing = endpoint.missingId();
        const other = await endpoint.request(api, a, theirs);
        const absent = await endpoint.request(api, a, missing);
        if (endpoint.expect === 'not_found') {
          assert.equal(other.status, 404, other.text);
          assert.match(other.headers.get('content-type') ?? '', /application\/problem\+json/);
        } else {
          assert.equal(other.status, 200, other.text);
          assert.deepEqual(other.json.items, []);
        }
        assert.deepEqual(normalized(other, theirs), normalized(absent, missing));
        await endpoint.ownerStillReaches(api, b, theirs);
      });
    }
  });

  describe("lists never include another organization's rows", () => {
    for (const path of LISTS) {
      it(`GET ${path}`, async () => {
        const mine = await api.call('GET', path, { token: a.adminKey });
        assert.equal(mine.status, 200, mine.text);
        for (const theirs of [b.id, b.adminKeyId, b.seed.campaignId, b.seed.mailboxId, b.seed.leadId, b.seed.sourceName, 'beta-mail.com', 'Beta']) {
          assert.ok(!mine.text.includes(theirs), `${path} as Acme shows Beta's ${theirs}`);
        }
      });
    }
  });

  describe("counts never include another organization's rows", () => {
    /** Leads per status of one organization, counted as the superuser (past row-level security). */
    const leadCounts = async (organizationId: string): Promise<Record<string, number>> => {
      const client = new pg.Client({ connectionString: api.database.superuserUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ status: string; n: string }>('select status, count(*) as n from leads where organization_id = $1 group by status', [organizationId]);
        const counts: Record<string, number> = { held: 0, active: 0, paused: 0, completed: 0 };
        for (const r of rows) counts[r.status] = Number(r.n);
        return counts;
      } finally {
        await client.end();
      }
    };

    it('GET /v1/overview: lead counts, paused entities and attention are one organization’s own', async () => {
      const before = await api.call('GET', '/v1/overview', { token: a.adminKey });
      assert.equal(before.status, 200, before.text);
      // Beta gets loud: paused mailbox, domain and campaign, leads in every status, an unrouted lead, a deleted campaign.
      await withTenant(api.database.db, b.id, async (tx) => {
        await tx('mailboxes').where({ id: b.seed.mailboxId }).update({ state: 'paused', pause_reason: 'beta bounces' });
        await tx('domains').where({ id: b.seed.domainId }).update({ state: 'paused', pause_reason: 'beta domain' });
        await tx('campaigns').where({ campaign_id: b.seed.campaignId }).update({ state: 'paused', pause_reason: 'beta campaign' });
        await tx('campaigns').insert({ organization_id: b.id, campaign_id: 'beta-gone', name: 'Beta Gone', status: 'ACTIVE', deleted_externally_at: new Date() });
        await tx('leads').insert(
          (['held', 'held', 'active', 'paused', 'completed'] as const).map((status, i) => ({
            organization_id: b.id,
            email: `loud-${i}@beta.com`,
            persona: 'cto',
            lead_score: 50,
            status,
            ...(status === 'held' ? {} : { assigned_campaign_id: b.seed.campaignId }),
          })),
        );
      });
      const theirs = await api.call('GET', '/v1/overview', { token: b.adminKey });
      assert.deepEqual(theirs.json.pausedMailboxes.map((m: { email: string }) => m.email), [b.seed.mailboxEmail], 'Beta sees its own paused mailbox');
      assert.ok(theirs.json.unrouted >= 2);

      const mine = await api.call('GET', '/v1/overview', { token: a.adminKey });
      assert.deepEqual(mine.json, before.json, "Beta's changes moved Acme's overview");
      assert.deepEqual(mine.json.leads, await leadCounts(a.id));
      assert.deepEqual([mine.json.pausedMailboxes, mine.json.pausedDomains, mine.json.pausedCampaigns, mine.json.unrouted], [[], [], [], 0]);
      for (const theirId of [b.seed.mailboxEmail, 'beta-mail.com', b.seed.campaignId, 'Beta']) assert.ok(!mine.text.includes(theirId), `Acme's overview shows Beta's ${theirId}`);
    });
  });

  describe('in the database, as the application role', () => {
    it('finds the tenant tables in the catalog (and the seed fills every one of them for both organizations)', async () => {
      const tables = await tenantTables(api.database.db);
      assert.ok(tables.length >= 15, `expected the whole data model, found ${tables.map((t) => t.table).join(', ')}`);
      for (const org of [a, b]) {
        const counts = await rowsPerTable(api.database.superuserUrl, tables, org.id);
        const empty = [...counts].filter(([, n]) => n === 0).map(([t]) => t);
        assert.deepEqual(empty, [], `add rows for these tables to seedEveryTenantTable (test/support/tenantTables.ts): ${empty.join(', ')}`);
      }
    });

    it('has row-level security enabled, FORCEd, and a tenant policy on every table with organization_id', async () => {
      for (const { table, column } of await tenantTables(api.database.db)) {
        const { rows } = await api.database.ownerDb.raw<{ rows: { relrowsecurity: boolean; relforcerowsecurity: boolean }[] }>(
          "select relrowsecurity, relforcerowsecurity from pg_class where oid = ?::regclass",
          [table],
        );
        assert.deepEqual(rows[0], { relrowsecurity: true, relforcerowsecurity: true }, `${table} must enable and force row-level security`);
        const policies = await api.database.ownerDb.raw<{ rows: { qual: string; with_check: string }[] }>(
          "select qual, with_check from pg_policies where schemaname = 'public' and tablename = ? and policyname = 'tenant_isolation'",
          [table],
        );
        const policy = policies.rows[0];
        assert.ok(policy, `${table} has no tenant_isolation policy`);
        assert.match(policy.qual, new RegExp(`${column} = drason_current_org\\(\\)`), `${table}: USING must compare ${column}`);
        assert.match(policy.with_check, new RegExp(`${column} = drason_current_org\\(\\)`), `${table}: WITH CHECK must compare ${column}`);
      }
    });

    it("shows an unfiltered SELECT only the current organization's rows, in every tenant table", async () => {
      for (const { table, column } of await tenantTables(api.database.db)) {
        for (const org of [a, b]) {
          const rows = (await withTenant(api.database.db, org.id, (tx) => tx.raw(`select "${column}" as org from "${table}"`))) as { rows: { org: string }[] };
          assert.ok(rows.rows.length > 0, `${table}: ${org.id} sees none of its own rows`);
          assert.deepEqual([...new Set(rows.rows.map((r) => r.org))], [org.id], `${table} leaked another organization's rows`);
        }
        const none = await api.database.db.transaction((tx) => tx.raw(`select 1 from "${table}"`));
        assert.equal((none as { rows: unknown[] }).rows.length, 0, `${table} shows rows when no organization is set`);
      }
    });

    it('refuses to write a row for another organization, in every tenant table', async () => {
      for (const { table, column } of await tenantTables(api.database.db)) {
        const value = table === 'organizations' ? crypto.randomUUID() : b.id;
        await assert.rejects(
          withTenant(api.database.db, a.id, (tx) => tx.raw(`insert into "${table}" ("${column}") values (?)`, [value])),
          /row-level security|permission denied/,
          `${table} accepted a row for another organization`,
        );
      }
    });

    it("cannot change or delete another organization's rows, in every tenant table", async () => {
      for (const { table, column } of await tenantTables(api.database.db)) {
        for (const statement of [`update "${table}" set "${column}" = "${column}" where "${column}" = ?`, `delete from "${table}" where "${column}" = ?`]) {
          const outcome = await withTenant(api.database.db, a.id, (tx) => tx.raw(statement, [b.id]))
            .then((r: { rowCount: number }) => r.rowCount)
            .catch((error: Error) => error.message);
          if (typeof outcome === 'number') assert.equal(outcome, 0, `${statement} reached another organization's rows`);
          else assert.match(outcome, /append-only|permission denied/, `${table}: ${outcome}`);
        }
      }
      const still = await rowsPerTable(api.database.superuserUrl, await tenantTables(api.database.db), b.id);
      assert.ok([...still.values()].every((n) => n > 0));
    });

    it('makes every foreign key between tenant tables include organization_id', async () => {
      const { rows } = await api.database.ownerDb.raw<{ rows: { constraint: string; table: string; columns: string[] }[] }>(
        `select c.conname as constraint, c.conrelid::regclass::text as table,
                array(select a.attname::text from unnest(c.conkey) k join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k) as columns
           from pg_constraint c
          where c.contype = 'f' and c.connamespace = 'public'::regnamespace and c.confrelid <> 'organizations'::regclass`,
      );
      assert.ok(rows.length >= 7, `expected the composite foreign keys of the data model, found ${rows.length}`);
      for (const fk of rows) assert.ok(fk.columns.includes('organization_id'), `${fk.table}.${fk.constraint} (${fk.columns.join(', ')}) can point across organizations`);
    });

    const crossReferences: [string, (orgA: Org, orgB: Org) => [string, Record<string, unknown>]][] = [
      ['a lead assigned to their campaign', (x, y) => ['leads', { organization_id: x.id, email: 'x@cross.com', persona: 'p', lead_score: 1, assigned_campaign_id: y.seed.campaignId }]],
      ['a link to their campaign', (x, y) => ['campaign_mailboxes', { organization_id: x.id, campaign_id: y.seed.campaignId, mailbox_id: x.seed.mailboxId }]],
      ['a link to their mailbox', (x, y) => ['campaign_mailboxes', { organization_id: x.id, campaign_id: x.seed.campaignId, mailbox_id: y.seed.mailboxId }]],
      ['a routing rule to their campaign', (x, y) => ['routing_rules', { organization_id: x.id, position: 9, name: 'r', campaign_id: y.seed.campaignId }]],
      ['a mailbox in their domain', (x, y) => ['mailboxes', { organization_id: x.id, email: 'm@cross.com', domain_id: y.seed.domainId }]],
      ['an event of their mailbox', (x, y) => ['events', { organization_id: x.id, idempotency_key: 'cross', type: 'EmailSent', source: 'api', occurred_at: new Date(), mailbox_id: y.seed.mailboxId }]],
    ];
    for (const [what, row] of crossReferences) {
      it(`refuses ${what}`, async () => {
        const [table, values] = row(a, b);
        await assert.rejects(withTenant(api.database.db, a.id, (tx) => tx(table).insert(values)), /foreign key/);
      });
    }
  });
});
