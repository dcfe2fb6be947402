/**
 * The audit log's hash chain (migrations/012_audit_chain.ts, src/services/auditSealer.ts, src/db/repositories/auditChain.ts)
 * against real PostgreSQL and the real API: rows are sealed by the sealer (never past a transaction still open);
 * GET /v1/audit/verify and `npm run audit:verify` say the chain is intact, and name the entry (id and reason) once a
 * row is altered or deleted directly in the database as the owner role, or inserted below the sealed ones; each
 * organization sees only its own chain; the audit list filters by action (exact or prefix*) and actor and says each
 * entry's outcome.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { appendAudit } from '../../src/db/repositories/audit';
import { withTenant, type Tx } from '../../src/db/tenant';
import { createAuditSealer, type AuditSealer } from '../../src/services/auditSealer';
import { startTestApi, type Json, type TestApi, type TestOrganization } from '../support/api';
import { runEntryPoint, until } from '../support/processes';

describe('audit hash chain (real PostgreSQL, real API)', function () {
  this.timeout(120_000);
  let api: TestApi;
  let sealer: AuditSealer;
  let a: TestOrganization;
  let b: TestOrganization;
  let viewerA: string;
  let viewerB: string;

  const verify = async (key: string): Promise<Json> => {
    const reply = await api.call('GET', '/v1/audit/verify', { token: key });
    assert.equal(reply.status, 200, reply.text);
    return reply.json;
  };
  /** Runs sealer passes until the organization has nothing left unsealed. */
  const sealAll = (key: string): Promise<Json> =>
    until(
      async () => {
        await sealer.pass();
        const v = await verify(key);
        return v.unsealed === 0 && v.sealedThrough !== null ? v : undefined;
      },
      60_000,
      'the audit log to be sealed',
    );
  /** As the owner role, in the organization's tenant transaction, with the append-only trigger off for this change only. */
  const tamper = (organizationId: string, work: (tx: Tx) => Promise<unknown>): Promise<unknown> =>
    withTenant(api.database.ownerDb, organizationId, async (tx) => {
      await tx.raw('alter table audit_log disable trigger audit_log_append_only');
      await work(tx);
      await tx.raw('alter table audit_log enable trigger audit_log_append_only');
    });
  const auditIds = (organizationId: string, where: (q: Knex.QueryBuilder) => unknown = () => undefined): Promise<number[]> =>
    withTenant(api.database.db, organizationId, async (tx) => {
      const q = tx('audit_log').orderBy('id');
      where(q);
      return (await q.pluck('id')) as number[];
    });
  const runVerifyCommand = async (organizationId: string): Promise<{ code: number | null; output: string }> => {
    const run = runEntryPoint('src/workers/verifyAudit.ts', { DATABASE_URL: api.database.appUrl, LOG_LEVEL: 'warn' }, ['--organization', organizationId]);
    const code = await run.exited;
    return { code, output: run.output() };
  };

  before(async () => {
    api = await startTestApi();
    sealer = createAuditSealer(api.database.db, { batch: 3 });
    a = await api.createOrganization('Chain A');
    b = await api.createOrganization('Chain B');
    viewerA = (await api.createKey(a.adminKey, 'viewer')).key;
    viewerB = (await api.createKey(b.adminKey, 'viewer')).key;
    const operator = await api.createKey(a.adminKey, 'operator');
    assert.equal((await api.call('DELETE', `/v1/api-keys/${operator.id}`, { token: a.adminKey })).status, 204);
    await withTenant(api.database.db, a.id, async (tx) => {
      for (const [action, trigger] of [
        ['mailbox_would_pause', {}],
        ['mailbox_paused', { outcome: 'impossible' }],
        ['mailbox_warning', {}],
        ['domain_paused', {}],
      ] as const) {
        await appendAudit(tx, { organizationId: a.id, entityType: 'mailbox', entityId: 'sam@a-mail.test', action, actor: 'system', trigger, message: `${action}.`, engineVersion: 'test' });
      }
    });
  });
  after(async () => {
    await api?.stop();
  });

  it('seals every row in id order (batches of 3) and verifies the chain as intact', async () => {
    const v = await sealAll(viewerA);
    const ids = await auditIds(a.id);
    assert.equal(v.ok, true, JSON.stringify(v));
    assert.equal(v.checked, ids.length);
    assert.equal(v.sealedThrough, String(ids.at(-1)));
    assert.match(v.headHash, /^[0-9a-f]{64}$/);
    assert.equal(v.firstBroken, undefined);
    assert.match(v.message, new RegExp(`intact: ${ids.length} sealed entries through entry ${ids.at(-1)} verified`));
    const links = await withTenant(api.database.db, a.id, (tx) => tx('audit_chain').orderBy('seq').select('seq', 'audit_id', 'prev_hash', 'hash'));
    assert.deepEqual(
      links.map((l: { seq: number; audit_id: number }) => [l.seq, l.audit_id]),
      ids.map((id, i) => [i + 1, id]),
    );
    assert.equal(links[0].prev_hash, '0'.repeat(64));
    for (let i = 1; i < links.length; i += 1) assert.equal(links[i].prev_hash, links[i - 1].hash);
    assert.equal((await sealAll(viewerB)).ok, true);
  });

  it('never seals past an audit row whose transaction is still open, and seals both once it commits', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let openId = 0;
    const open = withTenant(api.database.db, a.id, async (tx) => {
      await appendAudit(tx, { organizationId: a.id, entityType: 'settings', entityId: 'x', action: 'slow_write', actor: 'system', message: 'Slow.', engineVersion: 'test' });
      openId = (await tx('audit_log').where({ action: 'slow_write' }).first('id')).id;
      await held;
    });
    await until(async () => (openId > 0 ? true : undefined), 30_000, 'the open transaction to take its audit id');
    await withTenant(api.database.db, a.id, (tx) =>
      appendAudit(tx, { organizationId: a.id, entityType: 'settings', entityId: 'x', action: 'fast_write', actor: 'system', message: 'Fast.', engineVersion: 'test' }),
    );
    const [fastId] = await auditIds(a.id, (q) => q.where({ action: 'fast_write' }));
    assert.ok(fastId! > openId);
    for (let i = 0; i < 4; i += 1) await sealer.pass();
    const during = await verify(viewerA);
    assert.ok(Number(during.sealedThrough) < openId, `sealed through ${during.sealedThrough} while ${openId} was uncommitted`);
    assert.equal(during.ok, true);
    assert.equal(during.unsealed, 1, 'the committed row waits behind the open one');
    release();
    await open;
    const after = await sealAll(viewerA);
    assert.equal(after.ok, true, JSON.stringify(after));
    assert.equal(after.sealedThrough, String(fastId));
  });

  it('shows each organization only its own chain', async () => {
    const idsA = await auditIds(a.id);
    const idsB = await auditIds(b.id);
    const chainB = await withTenant(api.database.db, b.id, (tx) => tx('audit_chain').select('organization_id', 'audit_id'));
    assert.equal(chainB.length, idsB.length);
    assert.ok(chainB.every((l: { organization_id: string }) => l.organization_id === b.id));
    assert.ok(chainB.every((l: { audit_id: number }) => !idsA.includes(l.audit_id)));
    const vB = await verify(viewerB);
    assert.equal(vB.checked, idsB.length);
    assert.notEqual(vB.headHash, (await verify(viewerA)).headHash);
    // The application role cannot rewrite a link, and cannot add one to another organization's chain.
    await assert.rejects(withTenant(api.database.db, b.id, (tx) => tx('audit_chain').update({ hash: '0'.repeat(64) })), /permission denied for table audit_chain/);
    await assert.rejects(
      withTenant(api.database.db, b.id, (tx) => tx('audit_chain').insert({ organization_id: a.id, seq: 999, audit_id: idsA[0], prev_hash: '0'.repeat(64), hash: '0'.repeat(64) })),
      /row-level security/,
    );
  });

  it('filters the audit list by action (exact or prefix*) and actor, and says each outcome', async () => {
    const list = async (query: string): Promise<Json[]> => {
      const reply = await api.call('GET', `/v1/audit?${query}`, { token: viewerA });
      assert.equal(reply.status, 200, reply.text);
      return reply.json.items;
    };
    const keys = await list('action=api_key_*');
    assert.deepEqual(keys.map((e) => e.action).sort(), ['api_key_created', 'api_key_created', 'api_key_revoked']);
    assert.ok(keys.every((e) => e.outcome === 'done'));
    assert.deepEqual((await list('action=api_key_revoked')).map((e) => e.action), ['api_key_revoked']);
    assert.deepEqual((await list('action=api_key')).length, 0, 'without * the action is exact');
    const mailbox = await list('action=mailbox_*');
    assert.deepEqual(
      mailbox.map((e) => [e.action, e.outcome]),
      [
        ['mailbox_warning', 'recorded'],
        ['mailbox_paused', 'impossible'],
        ['mailbox_would_pause', 'would_have'],
      ],
    );
    const byAdmin = await list(`actor=api-key:${a.adminKeyId}`);
    assert.deepEqual(byAdmin.map((e) => e.action).sort(), ['api_key_created', 'api_key_created', 'api_key_revoked']);
    assert.deepEqual((await list('actor=system&action=domain_*')).map((e) => e.action), ['domain_paused']);
    assert.equal((await api.call('GET', '/v1/audit?action=DROP%20TABLE', { token: viewerA })).status, 422);
    // Another organization's actor and actions are not there.
    const reply = await api.call('GET', `/v1/audit?actor=api-key:${a.adminKeyId}`, { token: viewerB });
    assert.deepEqual(reply.json.items, []);
  });

  it('audits payloads refused before any handler runs (Clay rows with a NUL character, Smartlead bodies that are not objects)', async () => {
    const ingest = await api.createKey(a.adminKey, 'ingest');
    const clay = await api.call('POST', '/v1/webhooks/clay', { token: ingest.key, rawBody: JSON.stringify({ email: 'x\u0000@a.test', persona: 'cto', lead_score: 1, workable: true }) });
    assert.equal(clay.status, 422, clay.text);
    const token = await withTenant(api.database.db, a.id, (tx) => api.integrations.createWebhookToken(tx, a.id));
    const smartlead = await api.call('POST', `/v1/webhooks/smartlead/${token.token}`, { body: [{ event_type: 'EMAIL_SENT' }] });
    assert.equal(smartlead.status, 422, smartlead.text);
    const rejected = [
      ...((await api.call('GET', '/v1/audit?action=webhook_rejected', { token: viewerA })).json.items as Json[]),
      ...((await api.call('GET', '/v1/audit?action=lead_rejected', { token: viewerA })).json.items as Json[]),
    ];
    assert.deepEqual(
      rejected.map((e) => [e.action, e.actor, e.outcome, e.trigger.signals]),
      [
        ['webhook_rejected', `webhook-token:${token.id}`, 'rejected', ['invalid_body']],
        ['lead_rejected', `api-key:${ingest.id}`, 'rejected', ['email']],
      ],
    );
    assert.match(rejected[1].message, /^A Clay lead was refused and nothing was stored: email /);
  });

  it('names a row altered as the owner (endpoint and command), and is intact again once it is put back', async () => {
    const [target] = await auditIds(a.id, (q) => q.where({ action: 'mailbox_would_pause' }));
    const original = (await withTenant(api.database.db, a.id, (tx) => tx('audit_log').where({ id: target }).first('message'))).message as string;
    await tamper(a.id, (tx) => tx('audit_log').where({ id: target }).update({ message: 'Nothing happened here.' }));
    const v = await verify(viewerA);
    assert.equal(v.ok, false);
    assert.deepEqual(
      { ...v.firstBroken, at: typeof v.firstBroken.at },
      {
        auditId: String(target),
        at: 'string',
        entityType: 'mailbox',
        entityId: 'sam@a-mail.test',
        action: 'mailbox_would_pause',
        reason: 'content_changed',
        detail: `audit entry ${target} was changed after it was sealed (link #${v.checked + 1})`,
      },
    );
    assert.match(v.message, new RegExp(`broken: audit entry ${target} was changed after it was sealed`));
    const command = await runVerifyCommand(a.id);
    assert.equal(command.code, 1, command.output);
    assert.match(command.output, new RegExp(`Chain A \\(${a.id}\\): The audit log is broken: audit entry ${target} was changed after it was sealed .*\\(content_changed\\)`));
    assert.equal((await verify(viewerB)).ok, true, 'the other organization is untouched');

    // Only the content matters: put back exactly, it verifies again.
    await tamper(a.id, (tx) => tx('audit_log').where({ id: target }).update({ message: original }));
    assert.equal((await verify(viewerA)).ok, true);
    const intact = await runVerifyCommand(a.id);
    assert.equal(intact.code, 0, intact.output);
    assert.match(intact.output, /The audit log is intact: \d+ sealed entries through entry \d+ verified(; \d+ newer entries are not sealed yet)?\. Head hash: [0-9a-f]{64}\./);

    // A change to the trigger (jsonb) or the time is caught just the same.
    await tamper(a.id, (tx) => tx('audit_log').where({ id: target }).update({ at: tx.raw("at + interval '1 microsecond'") }));
    assert.equal((await verify(viewerA)).firstBroken?.auditId, String(target));
    await tamper(a.id, (tx) => tx('audit_log').where({ id: target }).update({ at: tx.raw("at - interval '1 microsecond'") }));
    assert.equal((await verify(viewerA)).ok, true);
  });

  it('names a deleted row, and a row inserted below the sealed ones', async () => {
    const [deleted] = await auditIds(a.id, (q) => q.where({ action: 'organization_created' }));
    await tamper(a.id, (tx) => tx('audit_log').where({ id: deleted }).delete());
    const v = await verify(viewerA);
    assert.equal(v.ok, false);
    assert.deepEqual(v.firstBroken, {
      auditId: String(deleted),
      at: null,
      entityType: null,
      entityId: null,
      action: null,
      reason: 'link_missing',
      detail: `audit entry ${deleted} was sealed (link #1) and has since been deleted`,
    });
    const command = await runVerifyCommand(a.id);
    assert.equal(command.code, 1, command.output);
    assert.match(command.output, new RegExp(`audit entry ${deleted} was sealed .* and has since been deleted \\(link_missing\\)`));

    // Organization B was created after A: the freed id is below B's sealed ones.
    const idsB = await auditIds(b.id);
    assert.ok(deleted! < idsB.at(-1)!);
    await withTenant(api.database.ownerDb, b.id, (tx) =>
      tx('audit_log').insert({ id: deleted, organization_id: b.id, entity_type: 'settings', entity_id: 'x', action: 'forged', actor: 'system', mode: 'observe', engine_version: 'test', message: 'Forged.' }),
    );
    for (let i = 0; i < 3; i += 1) await sealer.pass();
    const vB = await verify(viewerB);
    assert.equal(vB.ok, false);
    assert.equal(vB.firstBroken.auditId, String(deleted));
    assert.equal(vB.firstBroken.action, 'forged');
    assert.equal(vB.firstBroken.reason, 'link_missing');
    assert.match(vB.firstBroken.detail, /inserted past the chain/);
  });
});
