/** readGateInput and recordGateOutcome against PostgreSQL (docs/decisions/013-lead-pipeline.md). */
import assert from 'node:assert/strict';
import { createActivities } from '../../src/activities';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { ensureMailboxes } from '../../src/db/repositories/events';
import { withTenant } from '../../src/db/tenant';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { createTestDatabase, type TestDatabase } from '../support/stack';

describe('lead pipeline activities (PostgreSQL)', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let organizationId = '';
  let activities: ReturnType<typeof createActivities>;
  const leadIds: string[] = [];

  before(async () => {
    database = await createTestDatabase();
    organizationId = (await createOrganizationWithAdminKey(database.db, 'Pipeline')).organization.id;
    await withTenant(database.db, organizationId, async (tx) => {
      const ids = await ensureMailboxes(tx, organizationId, ['ann@storm.io', 'cat@calm.io']);
      await tx('campaigns').insert({ organization_id: organizationId, campaign_id: '100', name: 'Alpha', status: 'ACTIVE', risk_score: 42 });
      await tx('campaign_mailboxes').insert(['ann@storm.io', 'cat@calm.io'].map((e) => ({ organization_id: organizationId, campaign_id: '100', mailbox_id: ids.get(e) })));
      await tx('domains').where({ name: 'storm.io' }).update({ state: 'paused', pause_reason: 'hard bounces at 6%' });
      await tx('mailboxes').where({ email: 'cat@calm.io' }).update({ state: 'warning' });
      for (const [i, email] of ['a@x.io', 'b@x.io', 'c@x.io'].entries()) {
        const [row] = (await tx('leads')
          .insert({
            organization_id: organizationId,
            email,
            persona: 'cto',
            lead_score: 50,
            assigned_campaign_id: '100',
            hold_reason: 'awaiting the execution gate',
            raw: JSON.stringify({ first_name: `N${i}` }),
            created_at: new Date(Date.UTC(2024, 0, 1 + i)),
          })
          .returning('id')) as { id: string }[];
        leadIds.push(row!.id);
      }
    });
    activities = createActivities({ db: database.db, integrations: createIntegrations(new Keyring(generateEncryptionKeySpec('k1'))) });
  });
  after(async () => {
    await database?.drop();
  });

  it('reads the campaign, its mailboxes and domains, settings and the oldest held leads', async () => {
    const read = await activities.readGateInput({ organizationId, campaignId: '100', limit: 2 });
    assert.equal(read.campaign?.smartleadStatus, 'ACTIVE');
    assert.equal(read.campaign?.riskScore, 42);
    assert.deepEqual(read.mailboxes.map((m) => [m.email, m.state]).sort(), [['ann@storm.io', 'healthy'], ['cat@calm.io', 'warning']]);
    assert.deepEqual(read.domains.map((d) => [d.domain, d.state, d.pause?.reason]).sort(), [['calm.io', 'healthy', undefined], ['storm.io', 'paused', 'hard bounces at 6%']]);
    assert.equal(read.mode, 'observe');
    assert.equal(typeof read.gateMaxRiskScore, 'number');
    assert.deepEqual(read.leads.map((l) => l.leadId), leadIds.slice(0, 2));
    assert.equal(read.leads[0]!.firstName, 'N0');
    assert.equal(read.heldCount, 3);
    const unknown = await activities.readGateInput({ organizationId, campaignId: '999' });
    assert.equal(unknown.campaign, null);
    assert.equal(unknown.leads.length, 0);
  });

  it('records held reasons once per change and activates pushed leads, idempotently', async () => {
    const audits = async (): Promise<{ action: string; entity_id: string }[]> =>
      withTenant(database.db, organizationId, (tx) => tx('audit_log').where({ entity_type: 'lead' }).select('action', 'entity_id'));
    const before = (await audits()).length;
    const outcome = (key: string, reason: string) =>
      activities.recordGateOutcome({
        organizationId,
        campaignId: '100',
        decisionKey: key,
        mode: 'enforce',
        leads: [
          { leadId: leadIds[0]!, inCampaign: true, reason: '' },
          { leadId: leadIds[1]!, inCampaign: false, reason },
        ],
      });
    assert.deepEqual(await outcome('d1', 'held: domain storm.io is paused'), { activated: 1, refused: 0, reasonsChanged: 1 });
    assert.deepEqual(await outcome('d1', 'held: domain storm.io is paused'), { activated: 0, refused: 0, reasonsChanged: 0 });
    assert.deepEqual(await outcome('d2', 'held: domain storm.io is paused'), { activated: 0, refused: 0, reasonsChanged: 0 });
    assert.deepEqual(await outcome('d3', 'held: risk score too high'), { activated: 0, refused: 0, reasonsChanged: 1 });
    const rows = await withTenant(database.db, organizationId, (tx) => tx('leads').whereIn('id', leadIds).orderBy('created_at').select('status', 'hold_reason', 'pushed_at'));
    assert.deepEqual(
      rows.map((r) => [r.status, r.hold_reason, r.pushed_at !== null]),
      [
        ['active', null, true],
        ['held', 'held: risk score too high', false],
        ['held', 'awaiting the execution gate', false],
      ],
    );
    const written = (await audits()).slice(before);
    assert.deepEqual(written.map((a) => a.action).sort(), ['lead_held', 'lead_held', 'lead_pushed']);
  });

  it('marks a lead Smartlead refuses for good, audits it once, and the gate no longer reads it', async () => {
    const refuse = (key: string) =>
      activities.recordGateOutcome({
        organizationId,
        campaignId: '100',
        decisionKey: key,
        mode: 'enforce',
        leads: [{ leadId: leadIds[2]!, inCampaign: false, reason: 'Smartlead refused the address as invalid', pushStatus: 'invalid_email' }],
      });
    assert.deepEqual(await refuse('r1'), { activated: 0, refused: 1, reasonsChanged: 0 });
    assert.deepEqual(await refuse('r2'), { activated: 0, refused: 0, reasonsChanged: 0 });
    const read = await activities.readGateInput({ organizationId, campaignId: '100' });
    assert.ok(!read.leads.some((l) => l.leadId === leadIds[2]), 'a refused lead is not offered again');
    const lead = await withTenant(database.db, organizationId, (tx) => tx('leads').where({ id: leadIds[2] }).first('status', 'push_status', 'hold_reason'));
    assert.deepEqual([lead.status, lead.push_status], ['held', 'invalid_email']);
    const refusedAudit = await withTenant(database.db, organizationId, (tx) => tx('audit_log').where({ entity_id: leadIds[2], action: 'lead_refused' }).select('message'));
    assert.equal(refusedAudit.length, 1);
    assert.match(refusedAudit[0].message, /not offered again/);
  });

  it('suggest mode keeps one pending push_leads recommendation per campaign, audited once', async () => {
    const recommend = (key: string, leads: number) =>
      activities.recordGateOutcome({ organizationId, campaignId: '100', decisionKey: key, mode: 'suggest', leads: [], recommendPush: { leads, summary: 'every gate condition passes' } });
    await recommend('s1', 2);
    await recommend('s2', 3);
    const rows = await withTenant(database.db, organizationId, (tx) => tx('recommendations').where({ action: 'push_leads', entity_key: '100' }).select('status', 'message'));
    assert.equal(rows.length, 1);
    assert.match(rows[0].message, /^Push 3 held leads to Smartlead campaign 100/);
    const audited = await withTenant(database.db, organizationId, (tx) => tx('audit_log').where({ action: 'push_recommended' }).select('id'));
    assert.equal(audited.length, 1);
  });
});
