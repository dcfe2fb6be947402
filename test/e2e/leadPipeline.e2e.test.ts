/**
 * The lead pipeline end to end over HTTP, in enforce mode, as a customer wires it: Clay rows posted to
 * `POST /v1/webhooks/clay`, routing rules and overrides through the API, the real worker (relay, lead push workflows,
 * entity workflows) against real PostgreSQL and Temporal, and the Smartlead simulator as the sender Drason pushes
 * leads into, pauses them in and hears sends and bounces from.
 *
 * | campaign | mailboxes (domain)            | rule (persona)  | what happens                                                    |
 * |----------|-------------------------------|-----------------|-----------------------------------------------------------------|
 * | 4001     | ann, abe (alpha-leads.com)    | CTO             | routed, pushed (first answer lost), active; ann pauses → paused |
 * | 4002     | bea (beta-leads.com)          | VP Sales        | held while its domain is paused, pushed once it resumes         |
 * | 4003     | cat, dan (gamma-leads.com)    | Growth          | 30% bad addresses: the rule is quarantined before cat pauses     |
 * | —        | —                             | (Intern)        | no rule: held with the reason                                    |
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createSmartleadSimulator, type SimCall, type SmartleadSimulator, type WebhookEventInput } from '../../src/smartlead/simulator';
import { callJson, expectJson, organizationOnSimulator, startEngineStack, type EngineStack, type Json } from '../support/api';
import { allAudit, unexplained } from '../support/auditExplained';
import { until } from '../support/processes';

const ALPHA = 'alpha-leads.com';
const BETA = 'beta-leads.com';
const GAMMA = 'gamma-leads.com';
const BOXES = [
  { id: 6101, email: `ann@${ALPHA}`, campaign: 4001 },
  { id: 6102, email: `abe@${ALPHA}`, campaign: 4001 },
  { id: 6201, email: `bea@${BETA}`, campaign: 4002 },
  { id: 6301, email: `cat@${GAMMA}`, campaign: 4003 },
  { id: 6302, email: `dan@${GAMMA}`, campaign: 4003 },
];
const CAMPAIGNS = [4001, 4002, 4003];
const RULES = [
  { name: 'CTOs', when: { persona: 'CTO' }, campaignId: '4001' },
  { name: 'VP Sales', when: { persona: 'VP Sales' }, campaignId: '4002' },
  { name: 'Growth list', when: { persona: 'Growth' }, campaignId: '4003' },
];
const SETTINGS = {
  mode: 'enforce',
  thresholds: { minSample: 20, sustainMinutes: 0.25, cooldownMinutes: 0.5, probationMinutes: 0.5 },
};
const USER_UNKNOWN = '550 5.1.1 <nobody@list.example>: Recipient address rejected: User unknown in virtual mailbox table';
const LEADS_PATH = /^\/campaigns\/\d+\/leads$/;

describe('lead pipeline end to end over HTTP (Clay webhook, routing, gate, Smartlead simulator)', function () {
  this.timeout(300_000);
  let stack: EngineStack;
  let sim: SmartleadSimulator;
  let key = '';
  const platformToken = `platform-${crypto.randomUUID()}`;

  const call = (method: string, path: string, body?: unknown, expected = 200): Promise<Json> => expectJson(stack.apiUrl, key, method, path, body, expected);
  const postLead = async (row: Json): Promise<string> => (await call('POST', '/v1/webhooks/clay', row, 202)).leadId as string;
  const lead = (id: string): Promise<Json> => call('GET', `/v1/leads/${id}`);
  const leadWhen = (id: string, what: string, ok: (l: Json) => boolean, timeoutMs = 120_000): Promise<Json> =>
    until(
      async () => {
        const l = await lead(id);
        return ok(l) ? l : undefined;
      },
      timeoutMs,
      what,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; lead now: ${JSON.stringify(await lead(id))}`);
    });
  const answered = (c: SimCall): boolean => c.fault === undefined && c.status === 200;
  const simLead = (campaignId: number, email: string) => sim.state.leadsOfCampaign(campaignId).find((l) => l.email === email.toLowerCase());
  const uploadsOf = (campaignId: number): SimCall[] => sim.calls.filter((c) => c.method === 'POST' && c.path === `/campaigns/${campaignId}/leads`);
  const auditOf = async (query: string): Promise<{ action: string; entityId: string; message: string; at: string }[]> => (await call('GET', `/v1/audit?${query}&limit=200`)).items;

  before(async () => {
    stack = await startEngineStack(platformToken, 'lead-pipeline-e2e');
    sim = createSmartleadSimulator({ rateLimit: { maxRequests: 10, perMs: 2000 } });
    for (const id of CAMPAIGNS) sim.state.addCampaign({ id, name: `Leads ${id}`, status: 'ACTIVE' });
    for (const b of BOXES) sim.state.addEmailAccount({ id: b.id, fromEmail: b.email, campaignIds: [b.campaign] });
    await sim.start(0);
    ({ key } = await organizationOnSimulator(stack.apiUrl, platformToken, sim, { name: 'Lead pipeline', mailboxes: BOXES.length, settings: SETTINGS }));
    await until(
      async () => {
        const campaigns = await Promise.all(CAMPAIGNS.map((id) => callJson(stack.apiUrl, 'GET', `/v1/campaigns/${id}`, key)));
        return campaigns.every((c) => c.status === 200) ? true : undefined;
      },
      60_000,
      'the sync to read every campaign',
    );
    await call('PUT', '/v1/routing-rules', RULES);
  });

  after(async () => {
    await stack?.stop();
    await sim?.stop();
  });

  let cto = '';

  it('routes a Clay lead, pushes it once although Smartlead\'s first answer is lost, and the lead becomes active; an unrouted lead stays held with its reason', async () => {
    sim.faults.dropAfterCommit(1, { path: LEADS_PATH, status: 502 });
    cto = await postLead({ email: 'Jane@Acme.example', persona: 'CTO', lead_score: '88', workable: true, first_name: 'Jane', company: 'Acme' });
    const intern = await postLead({ email: 'intern@acme.example', persona: 'Intern', lead_score: 10, workable: true });

    const active = await leadWhen(cto, 'the CTO lead to become active', (l) => l.status === 'active');
    assert.deepEqual([active.assignedCampaignId, active.routingRule, active.pushStatus], ['4001', 'CTOs', active.pushStatus]);
    assert.ok(['added', 'already_in_campaign', 'in_campaign'].includes(active.pushStatus), active.pushStatus);
    assert.ok(simLead(4001, 'jane@acme.example') !== undefined, 'the simulator has the lead in campaign 4001');
    assert.equal(sim.state.leadsOfCampaign(4001).filter((l) => l.email === 'jane@acme.example').length, 1, 'added once');
    const lost = uploadsOf(4001).filter((c) => c.fault === 'drop_after_commit');
    assert.equal(lost.length, 1, 'the first upload\'s answer was lost');
    // The lost upload had committed; the retried one was answered "already in the campaign" and added nobody.
    assert.ok(uploadsOf(4001).filter(answered).length <= 1, 'at most one retried upload');

    const held = await lead(intern);
    assert.deepEqual([held.status, held.assignedCampaignId], ['held', null]);
    assert.match(held.holdReason, /^no matching rule/);
    const overview = await call('GET', '/v1/overview');
    assert.ok((overview.heldReasons as Json[]).some((r) => r.campaignId === null && r.leads >= 1), JSON.stringify(overview.heldReasons));
    const pushed = (await auditOf(`entityType=lead&entityId=${cto}`)).map((a) => a.action);
    assert.ok(pushed.includes('lead_pushed') && pushed.includes('lead_ingested'), pushed.join(','));
  });

  it('the same Clay row delivered 50 times at once yields one lead and one push', async () => {
    const row = { email: 'dup@hooli.example', persona: 'CTO', lead_score: 90, workable: true, external_id: 'clay-row-dup' };
    const replies = await Promise.all(Array.from({ length: 50 }, () => callJson(stack.apiUrl, 'POST', '/v1/webhooks/clay', key, row)));
    assert.deepEqual([...new Set(replies.map((r) => r.status))], [202]);
    const ids = new Set(replies.map((r) => r.json.leadId as string));
    assert.equal(ids.size, 1, 'one lead');
    assert.equal(replies.filter((r) => r.json.duplicate === false).length, 1, 'one first delivery, 49 repeats');
    const [id] = [...ids];
    await leadWhen(id!, 'the lead to become active', (l) => l.status === 'active');
    const uploads = uploadsOf(4001).filter((c) => JSON.stringify(c.body ?? null).includes('dup@hooli.example'));
    assert.equal(uploads.length, 1, 'one upload carried it');
    assert.equal(sim.state.leadsOfCampaign(4001).filter((l) => l.email === 'dup@hooli.example').length, 1);
  });

  it('holds a lead behind a paused domain with the reason and pushes it by itself once the domain resumes', async () => {
    await call('POST', `/v1/domains/${BETA}/override`, { action: 'pause', reason: 'e2e: the domain is under review' }, 202);
    await until(async () => ((await call('GET', `/v1/domains/${BETA}`)).state === 'paused' ? true : undefined), 60_000, `${BETA} to be paused`);
    const vp = await postLead({ email: 'vp@globex.example', persona: 'VP Sales', lead_score: 70, workable: true });
    const held = await leadWhen(vp, 'the VP lead to be held by the paused domain', (l) => l.status === 'held' && /domain beta-leads\.com is paused/.test(String(l.holdReason)));
    assert.equal(held.assignedCampaignId, '4002');
    assert.equal(simLead(4002, 'vp@globex.example'), undefined, 'nothing reached Smartlead');

    await call('POST', `/v1/domains/${BETA}/override`, { action: 'resume', reason: 'e2e: review done' }, 202);
    const active = await leadWhen(vp, 'the VP lead to be pushed after the domain resumed', (l) => l.status === 'active');
    assert.equal(active.assignedCampaignId, '4002');
    assert.ok(simLead(4002, 'vp@globex.example') !== undefined, 'the simulator has the lead in campaign 4002');
  });

  it('pauses the leads a mailbox sent to when it pauses (at Smartlead too, its campaign keeps running) and makes them active again when it resumes', async () => {
    assert.ok(cto !== '', 'the first test pushed the CTO lead');
    const ann = BOXES[0]!.email;
    const sent = await sim.emitMany([{ type: 'EMAIL_SENT', fromEmail: ann, toEmail: 'jane@acme.example', campaignId: 4001 } satisfies WebhookEventInput]);
    assert.deepEqual(sent.map((d) => d.status), [202]);

    await call('POST', `/v1/mailboxes/${encodeURIComponent(ann)}/override`, { action: 'pause', reason: 'e2e: mailbox under review' }, 202);
    const paused = await leadWhen(cto, 'the CTO lead to be paused with its mailbox', (l) => l.status === 'paused');
    assert.deepEqual(paused.pausedBy, [`mailbox:${ann}`]);
    await until(async () => (simLead(4001, 'jane@acme.example')?.status === 'PAUSED' ? true : undefined), 60_000, 'the lead to be paused at Smartlead');
    assert.equal(sim.state.campaigns.get(4001)?.status, 'ACTIVE', 'the campaign keeps running for its other mailbox');

    await call('POST', `/v1/mailboxes/${encodeURIComponent(ann)}/override`, { action: 'resume', reason: 'e2e: review done' }, 202);
    const resumed = await leadWhen(cto, 'the CTO lead to be active again', (l) => l.status === 'active');
    assert.deepEqual(resumed.pausedBy, []);
    await until(async () => (simLead(4001, 'jane@acme.example')?.status !== 'PAUSED' ? true : undefined), 60_000, 'the lead to be resumed at Smartlead');
    const actions = (await auditOf(`entityType=lead&entityId=${cto}`)).map((a) => a.action);
    assert.ok(actions.some((a) => /paused/.test(a)) && actions.some((a) => /resumed/.test(a)), actions.join(','));
  });

  it('quarantines a routing rule feeding 30% bad addresses before its mailbox pauses; its next lead is held for source quality until a person releases it', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({
      email: i % 10 < 3 ? `nobody${i}@dead-list.example` : `growth${i}@initech.example`,
      persona: 'Growth',
      lead_score: 50,
      workable: true,
    }));
    const ids = [];
    for (const row of rows) ids.push(await postLead(row));
    await until(
      async () => (sim.state.leadsOfCampaign(4003).length === rows.length ? true : undefined),
      120_000,
      'every Growth lead to be pushed to campaign 4003',
    );
    // Smartlead sends each from cat; the bad addresses bounce as "user unknown".
    const cat = BOXES[3]!.email;
    const events: WebhookEventInput[] = rows.map((r) => ({ type: 'EMAIL_SENT', fromEmail: cat, toEmail: r.email, campaignId: 4003 }));
    for (const r of rows.filter((x) => x.email.startsWith('nobody'))) events.push({ type: 'EMAIL_BOUNCE', fromEmail: cat, toEmail: r.email, campaignId: 4003, bounce: { message: USER_UNKNOWN } });
    const delivered = await sim.emitMany(events);
    assert.deepEqual(delivered.filter((d) => d.status !== 202), [], 'every webhook acknowledged');

    const source = await until(
      async () => ((await call('GET', '/v1/sources')).items as Json[]).find((s) => s.name === 'Growth list' && s.state === 'quarantined'),
      120_000,
      'the Growth list rule to be quarantined',
    );
    assert.ok(source !== undefined);
    const quarantinedAt = Date.parse((await auditOf('entityType=routing')).find((a) => a.action === 'source_quarantined')!.at);
    // The mailbox thresholds still apply: cat pauses once its degradation is sustained, after the source was stopped.
    const catPaused = await until(
      async () => (await auditOf(`entityType=mailbox&entityId=${encodeURIComponent(cat)}`)).find((a) => a.action === 'mailbox_paused'),
      120_000,
      `${cat} to be paused by its own thresholds`,
    );
    assert.ok(quarantinedAt < Date.parse(catPaused.at), `quarantined at ${new Date(quarantinedAt).toISOString()}, mailbox paused at ${catPaused.at}`);

    const next = await postLead({ email: 'growth99@initech.example', persona: 'Growth', lead_score: 50, workable: true });
    await leadWhen(next, 'the next Growth lead to be held for source quality', (l) => l.status === 'held' && /source quality/.test(String(l.holdReason)));
    assert.equal(simLead(4003, 'growth99@initech.example'), undefined);

    await call('POST', `/v1/sources/${encodeURIComponent('Growth list')}/release`, { reason: 'e2e: the list was cleaned' });
    await leadWhen(next, 'the held Growth lead to be pushed after the release (dan still sends)', (l) => l.status === 'active');
    assert.ok(simLead(4003, 'growth99@initech.example') !== undefined);
  });

  it('every action taken above left exactly one audit entry naming the entity, the metric and the threshold (or the person and their reason)', async () => {
    const items = await allAudit(stack.apiUrl, key);
    assert.ok(items.some((a) => a.action === 'lead_pushed') && items.some((a) => a.action === 'source_quarantined') && items.some((a) => a.action === 'mailbox_paused'));
    const emails = new Map<string, string>();
    for (const status of ['held', 'active', 'paused', 'completed']) {
      for (const l of (await call('GET', `/v1/leads?status=${status}&limit=500`)).items as Json[]) emails.set(l.id, l.email);
    }
    assert.deepEqual(
      unexplained(items, (a) => [a.entityId, ...(a.entityType === 'lead' && emails.has(a.entityId) ? [emails.get(a.entityId)!] : [])]),
      [],
    );
  });
});
