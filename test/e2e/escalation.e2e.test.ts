/**
 * Campaign and domain escalation end to end, in enforce mode, over HTTP as a customer wires it: the real API and
 * worker (relay, Temporal worker) in this process, real PostgreSQL and Temporal, and a Smartlead simulator that is
 * the integration Drason syncs campaigns and mailboxes from, the sender whose Smartlead-shaped webhooks (sends and
 * bounces with campaign_id and from_email) report the storm, and the API Drason pauses and starts campaigns through.
 *
 * One organization, one storm, short settings (sustain 15 s, cooldown 30 s, probation 30 s), three sending domains:
 *
 * | domain    | mailboxes (campaign)                          | what the storm does                                       |
 * |-----------|-----------------------------------------------|-----------------------------------------------------------|
 * | alpha     | ann, ben (2001) degraded; abe (2001) healthy   | two degraded mailboxes of one campaign: 2001 paused        |
 * | beta      | bea (2002) degraded; bob (2002) healthy        | one degraded mailbox alone: 2002 is never paused           |
 * | gamma     | gus (3001), gil (3002) degraded; gia (3003)    | paused mailboxes across campaigns: the domain pauses 3001, |
 * |           |                                               | 3002 and touches 3003, which a person paused in Smartlead  |
 *
 * Then, after cooldown and probation, every campaign Drason paused is started exactly once and nothing else is:
 * 3003 stays paused, 2002 was never touched, no STOPPED was ever sent.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { createSmartleadSimulator, type SimCall, type SmartleadSimulator, type WebhookEventInput } from '../../src/smartlead/simulator';
import { withTenant } from '../../src/db/tenant';
import { escalationSnapshotQuery, type EscalationSnapshot } from '../../src/workflows/escalationWorkflow';
import { campaignWorkflowId, domainWorkflowId } from '../../src/workflows/ids';
import { allAudit, unexplained } from '../support/auditExplained';
import { expectJson, organizationOnSimulator, startEngineStack, type EngineStack, type Json } from '../support/api';
import { until } from '../support/processes';

const ALPHA = 'alpha-sends.com';
const BETA = 'beta-sends.com';
const GAMMA = 'gamma-sends.com';

interface Box {
  id: number;
  email: string;
  campaign: number;
  /** Sends in the storm (and 10 "user unknown" bounces when degraded). */
  sends: number;
  degraded: boolean;
}

const box = (id: number, local: string, domain: string, campaign: number, sends: number, degraded: boolean): Box => ({ id, email: `${local}@${domain}`, campaign, sends, degraded });
const BOXES: Box[] = [
  box(5101, 'ann', ALPHA, 2001, 40, true),
  box(5102, 'ben', ALPHA, 2001, 40, true),
  box(5103, 'abe', ALPHA, 2001, 40, false),
  box(5201, 'bea', BETA, 2002, 40, true),
  box(5202, 'bob', BETA, 2002, 40, false),
  box(5301, 'gus', GAMMA, 3001, 40, true),
  box(5302, 'gil', GAMMA, 3002, 40, true),
  // 3003 is paused in Smartlead by a person before the storm: its mailbox sends nothing.
  box(5303, 'gia', GAMMA, 3003, 0, false),
];
const email = (local: string): string => BOXES.find((b) => b.email.startsWith(`${local}@`))!.email;
const [ANN, BEN, BEA, GUS, GIL] = ['ann', 'ben', 'bea', 'gus', 'gil'].map(email) as [string, string, string, string, string];
const CAMPAIGNS = [2001, 2002, 3001, 3002, 3003];
/** The campaigns Drason pauses: 2001 by its own engine, 3001 and 3002 by the gamma domain. */
const PAUSED_BY_DRASON = [2001, 3001, 3002];
const BOUNCES = 10;
const USER_UNKNOWN = '550 5.1.1 <nobody@prospect.example>: Recipient address rejected: User unknown in virtual mailbox table';

const SETTINGS = {
  mode: 'enforce',
  thresholds: { minSample: 20, sustainMinutes: 0.25, cooldownMinutes: 0.5, probationMinutes: 0.5, campaignDegradedMailboxes: 2, domainDegradedMailboxes: 2 },
};
const COOLDOWN_MS = SETTINGS.thresholds.cooldownMinutes * 60_000;

describe('campaign and domain escalation end to end over HTTP (Smartlead simulator, Smartlead-shaped webhooks)', function () {
  this.timeout(300_000);
  let stack: EngineStack;
  let temporal: Client;
  let sim: SmartleadSimulator;
  let key = '';
  let organizationId = '';
  const platformToken = `platform-${crypto.randomUUID()}`;

  const call = (path: string): Promise<Json> => expectJson(stack.apiUrl, key, 'GET', path);
  const campaignRead = (id: number): Promise<Json> => call(`/v1/campaigns/${id}`);
  const auditOf = async (entityType: 'campaign' | 'domain' | 'mailbox', entityId?: string): Promise<{ action: string; entityId: string; message: string; trigger: Json }[]> =>
    (await call(`/v1/audit?entityType=${entityType}${entityId === undefined ? '' : `&entityId=${encodeURIComponent(entityId)}`}&limit=200`)).items;

  /** Calls Smartlead answered (no injected fault, a valid key, within its rate limit). */
  const answered = (c: SimCall): boolean => c.fault === undefined && c.key === 'valid' && !c.overLimit && c.status === 200;
  /** The statuses Drason sent for a campaign (POST /campaigns/{id}/status), in order. */
  const statusCalls = (campaignId: number): string[] =>
    sim.calls.filter((c) => c.method === 'POST' && c.path === `/campaigns/${campaignId}/status` && answered(c)).map((c) => String((c.body as { status?: unknown }).status));
  const accountCalls = (b: Box): string[] =>
    sim.calls.filter((c) => /^\/email-accounts\/(un)?suspend\//.test(c.path) && c.path.endsWith(`/${b.id}`) && answered(c)).map((c) => `${c.method} ${c.path.split('/')[2]}`);
  const simStatus = (campaignId: number): string | undefined => sim.state.campaigns.get(campaignId)?.status;

  const workflowIdOf = (entity: { campaign: number } | { domain: string }): string =>
    'campaign' in entity ? campaignWorkflowId(organizationId, String(entity.campaign)) : domainWorkflowId(organizationId, entity.domain);

  /**
   * The engine's snapshot once the workflow has taken everything delivered to it: no workflow task or activity
   * pending and no decision waiting to be carried out (undefined while busy; null when it was never started).
   */
  async function quietSnapshot(entity: { campaign: number } | { domain: string }): Promise<EscalationSnapshot | null | undefined> {
    const handle = temporal.workflow.getHandle(workflowIdOf(entity));
    try {
      const before = await handle.describe();
      if (before.raw.pendingWorkflowTask != null || (before.raw.pendingActivities?.length ?? 0) > 0) return undefined;
      const snapshot = await handle.query(escalationSnapshotQuery);
      const after = await handle.describe();
      if (after.raw.pendingWorkflowTask != null || after.historyLength !== before.historyLength) return undefined;
      return snapshot.pendingActions === 0 ? snapshot : undefined;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }

  /** Everything Drason knows about the run, for a failure message. */
  async function diagnostics(): Promise<string> {
    const lines = (items: { action: string; entityId: string; message: string }[]): string => items.map((a) => `  ${a.entityId} ${a.action}: ${a.message}`).reverse().join('\n');
    const calls = sim.calls.filter((c) => c.method !== 'GET').map((c) => `  ${new Date(c.at).toISOString()} ${c.method} ${c.path} ${JSON.stringify(c.body ?? null)} → ${c.status ?? '-'}${c.fault === undefined ? '' : ` (${c.fault})`}`);
    return [
      `campaign audit:\n${lines(await auditOf('campaign'))}`,
      `domain audit:\n${lines(await auditOf('domain'))}`,
      `Smartlead calls (not GET):\n${calls.join('\n')}`,
    ].join('\n');
  }
  const orExplain = async <T>(waiting: Promise<T>): Promise<T> =>
    waiting.catch(async (error: unknown) => {
      throw new Error(`${String(error)}\n${await diagnostics().catch((e: unknown) => `(no diagnostics: ${String(e)})`)}`);
    });

  before(async () => {
    stack = await startEngineStack(platformToken, 'escalation-e2e');
    temporal = new Client({ connection: await Connection.connect({ address: stack.temporalAddress }), namespace: 'default' });

    sim = createSmartleadSimulator({ rateLimit: { maxRequests: 10, perMs: 2000 } });
    for (const id of CAMPAIGNS) sim.state.addCampaign({ id, name: `Escalation ${id}`, status: 'ACTIVE' });
    for (const b of BOXES) sim.state.addEmailAccount({ id: b.id, fromEmail: b.email, campaignIds: [b.campaign] });
    await sim.start(0);
    ({ key, organizationId } = await organizationOnSimulator(stack.apiUrl, platformToken, sim, { name: 'Escalation enforce', mailboxes: BOXES.length, settings: SETTINGS }));
    // The sync links every mailbox to its campaign (membership is what lets a domain reach 3003, which never sends).
    for (const id of CAMPAIGNS) {
      const members = BOXES.filter((b) => b.campaign === id).map((b) => b.email);
      await until(async () => ((await campaignRead(id)).mailboxes?.length === members.length ? true : undefined), 60_000, `campaign ${id} to list its mailboxes`);
    }

    // A person pauses 3003 in Smartlead before the storm: Drason must never start it.
    sim.state.setCampaignStatus(3003, 'PAUSED');

    const events: WebhookEventInput[] = [];
    for (let i = 0; i < 40; i += 1) {
      for (const b of BOXES) if (i < b.sends) events.push({ type: 'EMAIL_SENT', fromEmail: b.email, toEmail: `lead${i}.${b.id}@prospect.example`, campaignId: b.campaign });
    }
    for (let i = 0; i < BOUNCES; i += 1) {
      for (const b of BOXES.filter((x) => x.degraded)) {
        events.push({ type: 'EMAIL_BOUNCE', fromEmail: b.email, toEmail: `lead${i}.${b.id}@prospect.example`, campaignId: b.campaign, bounce: { message: USER_UNKNOWN } });
      }
    }
    const delivered = await sim.emitMany(events);
    assert.deepEqual(delivered.filter((d) => d.status !== 202).map((d) => `${d.eventType} ${d.status} ${d.error ?? ''}`), [], 'every webhook acknowledged');
  });

  after(async () => {
    await temporal?.connection.close();
    await stack?.stop();
    await sim?.stop();
  });

  it('two degraded mailboxes pause their campaign in Smartlead exactly once; one degraded mailbox alone does not pause its campaign', async () => {
    const read = await orExplain(
      until(
        async () => {
          const c = await campaignRead(2001);
          return simStatus(2001) === 'PAUSED' && c.state === 'paused' ? c : undefined;
        },
        120_000,
        'campaign 2001 to be paused in Smartlead and read as paused',
      ),
    );
    assert.deepEqual(statusCalls(2001), ['PAUSED'], 'one PAUSED reached Smartlead for 2001');

    const entries = (await auditOf('campaign', '2001')).filter((a) => a.action === 'campaign_paused');
    assert.equal(entries.length, 1, 'one campaign_paused entry');
    const entry = entries[0]!;
    assert.equal(entry.trigger.metric, 'degradedMailboxes');
    assert.deepEqual([...entry.trigger.mailboxes].sort(), [ANN, BEN]);
    assert.ok(entry.message.includes(ANN) && entry.message.includes(BEN), `names both mailboxes: ${entry.message}`);
    assert.match(entry.message, /[Cc]ampaign 2001 paused in Smartlead/);

    assert.equal(read.state, 'paused');
    assert.ok(typeof read.pauseReason === 'string' && read.pauseReason.includes(ANN) && read.pauseReason.includes(BEN), `pauseReason: ${read.pauseReason}`);
    assert.deepEqual([...read.degradedMailboxes].sort(), [ANN, BEN]);
    assert.equal(Date.parse(read.cooldownUntil) - Date.parse(read.stateChangedAt), COOLDOWN_MS, 'a cooldown of cooldownMinutes from the pause');
    assert.deepEqual(read.holds.map((h: Json) => [h.holder, h.applied]), [['campaign', true]]);

    // 2002: its one degraded mailbox is paused by now and the campaign's engine has taken that: warning, no pause coming.
    await until(async () => (sim.state.findEmailAccountByEmail(BEA)?.isSuspended === true ? true : undefined), 60_000, `${BEA} to be suspended`);
    const lone = await orExplain(
      until(
        async () => {
          const s = await quietSnapshot({ campaign: 2002 });
          return s?.degradedReports.some((r) => r.mailbox === BEA && r.state === 'paused') === true ? s : undefined;
        },
        60_000,
        'campaign 2002 to have taken its mailbox\'s pause',
      ),
    );
    assert.equal(lone.state, 'warning');
    assert.equal(lone.machine.sustainUntil, undefined, 'no pause is on its way for 2002');
    assert.deepEqual(statusCalls(2002), []);
    assert.equal(simStatus(2002), 'ACTIVE');
    assert.deepEqual((await auditOf('campaign', '2002')).filter((a) => /paused/.test(a.action)), []);
    assert.equal((await campaignRead(2002)).state, 'warning');
  });

  it('paused mailboxes of one domain across two campaigns pause both campaigns through the domain, and leave the campaign a person paused alone', async () => {
    const domain = await orExplain(
      until(
        async () => {
          const d = await call(`/v1/domains/${GAMMA}`);
          return d.state === 'paused' && simStatus(3001) === 'PAUSED' && simStatus(3002) === 'PAUSED' ? d : undefined;
        },
        120_000,
        `domain ${GAMMA} to pause 3001 and 3002 in Smartlead`,
      ),
    );
    assert.deepEqual(statusCalls(3001), ['PAUSED']);
    assert.deepEqual(statusCalls(3002), ['PAUSED']);
    assert.deepEqual(statusCalls(3003), [], 'nothing sent for the campaign a person paused');
    assert.equal(simStatus(3003), 'PAUSED');

    const entries = (await auditOf('domain', GAMMA)).filter((a) => a.action === 'domain_paused');
    assert.equal(entries.length, 1, 'one domain_paused entry');
    const entry = entries[0]!;
    assert.equal(entry.trigger.metric, 'degradedMailboxes');
    assert.deepEqual([...entry.trigger.mailboxes].sort(), [GIL, GUS]);
    for (const name of [GUS, GIL, '3001', '3002']) assert.ok(entry.message.includes(name), `names ${name}: ${entry.message}`);
    assert.match(entry.message, /[Cc]ampaign 3001 paused in Smartlead/);
    assert.match(entry.message, /[Cc]ampaign 3002 paused in Smartlead/);
    assert.match(entry.message, /campaign 3003 was not running in Smartlead \(status PAUSED\) before Drason's pause, so Drason will never start it/);

    assert.deepEqual([...domain.degradedMailboxes].sort(), [GIL, GUS]);
    assert.ok(typeof domain.pauseReason === 'string' && domain.pauseReason.length > 0);
    assert.equal(Date.parse(domain.cooldownUntil) - Date.parse(domain.stateChangedAt), COOLDOWN_MS);
    // Neither campaign paused itself: each had only one degraded mailbox. The domain holds them.
    for (const id of [3001, 3002]) {
      const c = await campaignRead(id);
      assert.deepEqual(c.holds.map((h: Json) => [h.holder, h.applied]), [[`domain:${GAMMA}`, true]], `holds of ${id}`);
      assert.deepEqual((await auditOf('campaign', String(id))).filter((a) => /paused/.test(a.action)), [], `campaign ${id} did not pause itself`);
    }
    const manual = await campaignRead(3003);
    assert.deepEqual(manual.holds.map((h: Json) => h.holder).sort(), [`domain:${GAMMA}`, 'external']);
  });

  it('after cooldown and probation everything Drason paused is resumed exactly once, and nothing else is', async function () {
    this.timeout(420_000);
    // Settled: every mailbox healthy again, every command delivered, every campaign and domain engine idle (no
    // sustain, cooldown or probation running, no decision waiting) and holding no degraded mailbox.
    await orExplain(
      until(
        async () => {
          for (const b of BOXES) if ((await call(`/v1/mailboxes/${b.email}`)).state !== 'healthy') return undefined;
          const left = await withTenant(stack.database.db, organizationId, async (tx) => Number(((await tx('entity_commands').count({ n: '*' }).first()) as { n: string }).n));
          if (left > 0) return undefined;
          const entities = [...CAMPAIGNS.map((campaign) => ({ campaign })), ...[ALPHA, BETA, GAMMA].map((domain) => ({ domain }))];
          for (const entity of entities) {
            const s = await quietSnapshot(entity);
            if (s === undefined) return undefined;
            if (s === null) continue;
            const m = s.machine;
            if (s.degradedReports.length > 0 || m.sustainUntil !== undefined || m.probationUntil !== undefined || (s.state !== 'healthy' && s.state !== 'warning')) return undefined;
          }
          return true;
        },
        360_000,
        'every mailbox, campaign and domain engine to settle after cooldown and probation',
      ),
    );

    const diag = await diagnostics();
    assert.deepEqual(statusCalls(2002), [], `campaign 2002 (one degraded mailbox) was never paused or started\n${diag}`);
    assert.equal(simStatus(2002), 'ACTIVE');
    for (const id of PAUSED_BY_DRASON) {
      assert.deepEqual(statusCalls(id), ['PAUSED', 'START'], `campaign ${id}: paused once and started once\n${diag}`);
      assert.equal(simStatus(id), 'ACTIVE');
      assert.deepEqual((await campaignRead(id)).holds, [], `no hold left on ${id}`);
    }
    assert.deepEqual(statusCalls(3003), [], `campaign 3003 (paused by a person) was never started\n${diag}`);
    assert.equal(simStatus(3003), 'PAUSED');
    assert.deepEqual((await campaignRead(3003)).holds.map((h: Json) => h.holder), ['external'], 'only the person\'s pause holds 3003');
    assert.deepEqual(sim.calls.filter((c) => c.method === 'POST' && /\/status$/.test(c.path) && (c.body as { status?: unknown }).status === 'STOPPED'), [], 'never STOPPED');

    // The audit: one pause and one resume per entity Drason paused, none for anything else.
    const campaignAudit = await auditOf('campaign');
    const count = (entries: { action: string; entityId: string }[], action: string, id: string): number => entries.filter((a) => a.action === action && a.entityId === id).length;
    assert.equal(count(campaignAudit, 'campaign_paused', '2001'), 1);
    assert.equal(count(campaignAudit, 'campaign_resumed', '2001'), 1);
    for (const id of ['2002', '3001', '3002', '3003']) {
      assert.deepEqual(campaignAudit.filter((a) => a.entityId === id && /_(paused|resumed)/.test(a.action)).map((a) => `${a.action}: ${a.message}`), [], `campaign ${id}`);
    }
    const domainAudit = await auditOf('domain');
    assert.equal(count(domainAudit, 'domain_paused', GAMMA), 1);
    const resumed = domainAudit.filter((a) => a.action === 'domain_resumed' && a.entityId === GAMMA);
    assert.equal(resumed.length, 1);
    assert.match(resumed[0]!.message, /[Cc]ampaign 3001 started again in Smartlead/);
    assert.match(resumed[0]!.message, /[Cc]ampaign 3002 started again in Smartlead/);
    assert.match(resumed[0]!.message, /campaign 3003 stays paused: still held by external/);
    for (const d of [ALPHA, BETA]) assert.deepEqual(domainAudit.filter((a) => a.entityId === d && /_(paused|resumed)/.test(a.action)).map((a) => a.action), [], `domain ${d}`);

    // The mailbox level under it: each degraded mailbox suspended and unsuspended once, the healthy ones untouched.
    for (const b of BOXES) {
      assert.deepEqual(accountCalls(b), b.degraded ? ['PUT suspend', 'DELETE unsuspend'] : [], b.email);
    }
  });

  it('every action taken above left exactly one audit entry naming the entity, the metric and the threshold', async () => {
    assert.deepEqual(unexplained(await allAudit(stack.apiUrl, key)), []);
  });
});
