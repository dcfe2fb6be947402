/**
 * Scenario 4, escalation at scale (issue 9): one organization in enforce mode on the Smartlead simulator with 10,000
 * mailboxes over 1,000 domains and 300 campaigns (each mailbox linked to 1–3 campaigns), every mailbox, campaign and
 * domain workflow live, then a domain-wide storm: sends and hard bounces from every mailbox of a handful of domains.
 *
 * How it is built, as a customer wires it:
 * - the simulator is seeded (campaigns, email accounts, links) and the organization syncs it (PUT
 *   /v1/integrations/smartlead starts the sync); the sync's `membership_changed` commands start every campaign's and
 *   domain's workflow through the relay;
 * - one hard bounce per mailbox (POST /v1/events, no campaign) starts every mailbox's workflow, as a mailbox's first
 *   bounce does in production (not measured; below minSample, so no mailbox changes state);
 * - the storm: Smartlead-shaped webhooks from the simulator (sends, then "user unknown" bounces, with the campaign of
 *   each send), timed from the first webhook to the LAST campaign those domains send for reaching PAUSED at the
 *   simulator (its POST /campaigns/{id}/status arrival).
 * The worker (Temporal worker, relay, activities) runs in a process of its own (production topology), so its RSS is
 * its own; API and simulator run in the bench process.
 *
 * Baseline (same run, same stack, measured first): the same storm on an organization holding ONLY the storm's
 * mailboxes, their domains and the campaigns they send for (everything else idle), so the ratio is what 10,000 live
 * mailboxes cost the escalation; worker RSS and database size are compared with their values after that phase
 * (before the 10,000 were seeded).
 */
import v8 from 'node:v8';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { createSmartleadSimulator, type SimCall, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { connectClient } from '../../src/temporal/connection';
import { startApiComponent } from '../../src/workers/components';
import { CpuMeter, describeSplit, memoryOf, RssSampler, type CpuSplit } from '../cpu';
import { fmt, type Row, type ScenarioReport } from '../report';
import { backlog, checkClient, Cleanup, createOrganization, primeMailboxWorkflows, startInfra, startWorkerProcess, type Infra } from '../stack';
import { forEachConcurrently, waitFor } from '../stats';
import { hash32 } from '../workload';

export interface EscalationOptions {
  mailboxes: number;
  domains: number;
  campaigns: number;
  /** Domains whose every mailbox storms. */
  stormDomains: number;
  /** Per storm mailbox: sends, then hard bounces. */
  sends: number;
  bounces: number;
  /** Longest wait for the storm to pause every campaign of the storm's domains. */
  timeoutMs: number;
}

export const ESCALATION_DEFAULTS: EscalationOptions = { mailboxes: 10_000, domains: 1000, campaigns: 300, stormDomains: 5, sends: 10, bounces: 5, timeoutMs: 600_000 };

/** Enforce mode with short settings so the storm escalates within a minute; everything else is the default. */
const SETTINGS = { mode: 'enforce', thresholds: { sustainMinutes: 0.25, minSample: 10 } } as const;
const TARGET_RSS_MIB = 1536; // 1.5 GiB
const TARGET_MAX_HISTORY = 5000;
const CAMPAIGN_ID_BASE = 2000;
const ACCOUNT_ID_BASE = 100_000;
/** Smartlead's limit (and the client's budget, SMARTLEAD_RATE_LIMIT_*): 10 requests per 2 s. */
const SMARTLEAD_PER_S = 5;
const USER_UNKNOWN = '550 5.1.1 <{to}>: Recipient address rejected: User unknown in virtual mailbox table';

interface Mailbox {
  index: number;
  email: string;
  accountId: number;
  domain: string;
  campaigns: number[];
}

interface Layout {
  mailboxes: Mailbox[];
  campaignIds: number[];
}

export const domainName = (d: number): string => `esc-${d}.bench-mail.com`;

/**
 * Mailbox i: domain i mod D, slot ⌊i / D⌋; 1–3 campaigns (hash of i) starting at (3·domain + slot) mod C, so a
 * domain's mailboxes send for about a dozen neighbouring campaigns and each campaign has mailboxes of ~40 domains.
 */
function fullLayout(o: EscalationOptions): Layout {
  const mailboxes = Array.from({ length: o.mailboxes }, (_, i): Mailbox => {
    const d = i % o.domains;
    const slot = Math.floor(i / o.domains);
    const base = (3 * d + slot) % o.campaigns;
    const k = 1 + (hash32(i) % 3);
    const campaigns = [...new Set(Array.from({ length: k }, (_, j) => CAMPAIGN_ID_BASE + ((base + j) % o.campaigns)))];
    return { index: i, email: `s${slot}@${domainName(d)}`, accountId: ACCOUNT_ID_BASE + i, domain: domainName(d), campaigns };
  });
  return { mailboxes, campaignIds: Array.from({ length: o.campaigns }, (_, c) => CAMPAIGN_ID_BASE + c) };
}

/** The storm's domains: spread over the domain range (j·137 mod D), so their campaigns barely overlap. */
function stormDomains(o: EscalationOptions): Set<string> {
  return new Set(Array.from({ length: o.stormDomains }, (_, j) => domainName((j * 137) % o.domains)));
}

/** A layout restricted to some mailboxes, with only the campaigns they send for. */
function restrict(layout: Layout, keep: (m: Mailbox) => boolean): Layout {
  const mailboxes = layout.mailboxes.filter(keep);
  return { mailboxes, campaignIds: [...new Set(mailboxes.flatMap((m) => m.campaigns))].sort((a, b) => a - b) };
}

async function call(apiUrl: string, method: string, path: string, key: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function scalar(check: pg.Client, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await check.query<{ n: string }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** Running workflows of an organization, per entity type (Temporal visibility). */
async function liveWorkflows(client: Client, organizationId: string): Promise<Record<'mailbox' | 'campaign' | 'domain', number>> {
  const count = async (type: string): Promise<number> =>
    (await client.workflow.count(`DrasonOrganizationId = "${organizationId}" AND DrasonEntityType = "${type}" AND ExecutionStatus = "Running"`)).count;
  return { mailbox: await count('mailbox'), campaign: await count('campaign'), domain: await count('domain') };
}

export interface HistoryScan {
  runs: number;
  open: number;
  closed: number;
  max: { length: number; workflowId: string; type: string };
  /** Largest history per workflow type. */
  maxByType: Record<string, number>;
  /** Runs over 1,000 events. */
  over1000: number;
}

/**
 * The history length of every run matching `query` (closed runs included: continued-as-new leaves one per run):
 * visibility's count for closed runs, describe() for running ones (visibility's is not kept current while open).
 */
async function scanHistories(client: Client, query: string): Promise<HistoryScan> {
  const infos: { workflowId: string; runId: string; type: string; running: boolean; length: number }[] = [];
  for await (const w of client.workflow.list({ query, pageSize: 1000 })) {
    infos.push({ workflowId: w.workflowId, runId: w.runId, type: w.type, running: w.status.name === 'RUNNING', length: w.historyLength });
  }
  await forEachConcurrently(infos.length, 16, async (i) => {
    const info = infos[i]!;
    if (!info.running) return;
    try {
      info.length = (await client.workflow.getHandle(info.workflowId, info.runId).describe()).historyLength;
    } catch {
      // Closed between list and describe: keep visibility's count.
    }
  });
  const scan: HistoryScan = { runs: infos.length, open: 0, closed: 0, max: { length: 0, workflowId: '', type: '' }, maxByType: {}, over1000: 0 };
  for (const i of infos) {
    if (i.running) scan.open += 1;
    else scan.closed += 1;
    if (i.length > scan.max.length) scan.max = { length: i.length, workflowId: i.workflowId, type: i.type };
    scan.maxByType[i.type] = Math.max(scan.maxByType[i.type] ?? 0, i.length);
    if (i.length > 1000) scan.over1000 += 1;
  }
  return scan;
}

interface StormResult {
  stormMailboxes: number;
  webhooks: number;
  targetCampaigns: number;
  /** From the first webhook (ms). */
  emitMs: number;
  firstMailboxSuspendedMs?: number;
  lastMailboxSuspendedMs?: number;
  mailboxesSuspended: number;
  firstCampaignPausedMs?: number;
  lastCampaignPausedMs?: number;
  campaignsPaused: number;
  /** Campaigns Drason paused that the storm's domains do not send for (must be 0). */
  otherCampaignsPaused: number;
  /** Campaign status calls: PAUSED posted more than once for one campaign. */
  repeatedPauses: number;
  /** Whose hold paused each target campaign first (campaign engine or a domain engine). */
  firstHolders: Record<string, number>;
  smartleadCalls: number;
  /** The storm's first Smartlead call, from the first webhook (ms). */
  firstCallMs?: number;
  /** Where Smartlead's budget went: calls per `METHOD /path/{id}`. */
  callsByKind: Record<string, number>;
  smartleadOverLimit: number;
  smartleadErrors: number;
  /** Calls from the first webhook to the last pause ÷ Smartlead's 5/s: the floor the rate limit sets. */
  rateLimitFloorMs: number;
  auditByAction: { entityType: string; action: string; count: number; firstMs: number; lastMs: number }[];
  /** Distinct messages of the storm's `*_retrying` audit entries (an action Smartlead or the client refused, retried). */
  retryMessages: string[];
  /** Each target campaign's PAUSED arrival and each storm mailbox's suspend, from the first webhook (ms), sorted. */
  campaignPausedAtMs: number[];
  mailboxSuspendedAtMs: number[];
  /** Smartlead calls per second from the first webhook (index = second). */
  callsPerSecond: number[];
  cpu: CpuSplit;
}

interface PhaseResult {
  label: string;
  organizationId: string;
  mailboxes: number;
  domains: number;
  campaigns: number;
  links: number;
  syncMs: number;
  /** From the sync's start to its last Smartlead read (the rest of syncMs is its database transaction). */
  syncReadMs: number;
  syncCalls: number;
  /** From the sync's commit to every campaign and domain workflow running. */
  entitiesLiveMs: number;
  primeMs: number;
  primeCpu: CpuSplit;
  live: Record<'mailbox' | 'campaign' | 'domain', number>;
  storm: StormResult;
  histories: HistoryScan;
  workerRssMiB: { afterSync: number; afterPrime: number; afterStorm: number };
}

interface Context {
  infra: Infra;
  check: pg.Client;
  client: Client;
  apiUrl: string;
  cleanup: Cleanup;
  workerPid: () => number | undefined;
  progress: (line: string) => void;
  o: EscalationOptions;
}

const stackMeter = (ctx: Context): CpuMeter =>
  new CpuMeter(() => ({
    'bench (API + simulator)': [process.pid],
    worker: [ctx.workerPid() ?? -1],
    postgres: [ctx.infra.postgresPid() ?? -1],
    temporal: [ctx.infra.temporal.process.pid ?? -1],
  }));

const rssNow = (ctx: Context): number => memoryOf(ctx.workerPid() ?? -1)?.rssMiB ?? 0;

async function quiet(ctx: Context, organizationId: string, what: string, timeoutMs = 300_000): Promise<void> {
  await waitFor(`${what}: the relay's queues and the organization's commands to be empty`, timeoutMs, 250, async () => {
    const b = await backlog(ctx.check);
    const commands = await scalar(ctx.check, 'select count(*) as n from entity_commands where organization_id = $1', [organizationId]);
    return b.toCount === 0 && b.toSignal === 0 && commands === 0 ? true : undefined;
  });
}

async function runOrganization(ctx: Context, label: string, layout: Layout, storming: Set<string>): Promise<PhaseResult> {
  const { check, client, apiUrl } = ctx;
  const sim: SmartleadSimulator = createSmartleadSimulator();
  for (const id of layout.campaignIds) sim.state.addCampaign({ id, name: `Bench campaign ${id}`, status: 'ACTIVE' });
  for (const m of layout.mailboxes) sim.state.addEmailAccount({ id: m.accountId, fromEmail: m.email, campaignIds: m.campaigns });
  await sim.start(0);
  ctx.cleanup.add(`Smartlead simulator (${label})`, () => sim.stop());
  const domains = new Set(layout.mailboxes.map((m) => m.domain));
  const links = layout.mailboxes.reduce((n, m) => n + m.campaigns.length, 0);

  // The organization: enforce mode first (nothing to fan out yet), then the integration, which starts the sync.
  const { key, organizationId } = await createOrganization(apiUrl);
  const put = await call(apiUrl, 'PUT', '/v1/settings', key, SETTINGS);
  if (put.status !== 200) throw new Error(`PUT /v1/settings answered ${put.status}: ${JSON.stringify(put.json)}`);
  const syncStarted = performance.now();
  const syncStartedAt = Date.now();
  const saved = await call(apiUrl, 'PUT', '/v1/integrations/smartlead', key, { apiKey: sim.apiKey, baseUrl: sim.url });
  if (saved.status !== 200) throw new Error(`PUT /v1/integrations/smartlead answered ${saved.status}: ${JSON.stringify(saved.json)}`);
  sim.setWebhookTarget(String(saved.json.webhookUrl));
  ctx.progress(`${label}: syncing ${fmt.int(layout.mailboxes.length)} mailboxes, ${fmt.int(layout.campaignIds.length)} campaigns, ${fmt.int(links)} links`);
  await waitFor(`${label}: the sync to link every mailbox`, 900_000, 500, async () => {
    const linked = await scalar(check, 'select count(*) as n from campaign_mailboxes where organization_id = $1', [organizationId]);
    return linked >= links ? true : undefined;
  });
  const syncMs = performance.now() - syncStarted;
  const syncCalls = sim.calls.filter((c) => c.method === 'GET' && c.at >= syncStartedAt);
  const syncReadMs = syncCalls.length === 0 ? 0 : Math.max(...syncCalls.map((c) => c.at)) - syncStartedAt;
  const afterSync = rssNow(ctx);

  // The sync's membership_changed commands start every campaign's and domain's workflow.
  const entitiesStarted = performance.now();
  await waitFor(`${label}: every campaign and domain workflow to be running`, 600_000, 1000, async () => {
    const live = await liveWorkflows(client, organizationId);
    return live.campaign >= layout.campaignIds.length && live.domain >= domains.size ? true : undefined;
  }).catch(async (error: unknown) => {
    const live = await liveWorkflows(client, organizationId);
    throw new Error(`${String(error)} (running: ${JSON.stringify(live)}; expected ${layout.campaignIds.length} campaigns, ${domains.size} domains)`);
  });
  const entitiesLiveMs = performance.now() - entitiesStarted;

  // Every mailbox's workflow: one hard bounce each (no campaign, so no campaign's windows move).
  ctx.progress(`${label}: starting ${fmt.int(layout.mailboxes.length)} mailbox workflows`);
  const primeStarted = performance.now();
  const primeMeter = stackMeter(ctx);
  primeMeter.start();
  await primeMailboxWorkflows(apiUrl, key, check, organizationId, layout.mailboxes.length, `prime-${label}`, {
    mailbox: (i) => layout.mailboxes[i]!.email,
    campaignId: () => undefined,
    timeoutMs: 1_800_000,
  });
  const primeMs = performance.now() - primeStarted;
  const primeCpu = primeMeter.stop();
  await quiet(ctx, organizationId, `${label} after priming`);
  const afterPrime = rssNow(ctx);
  const live = await waitFor(`${label}: every workflow visible as running`, 120_000, 1000, async () => {
    const l = await liveWorkflows(client, organizationId);
    return l.mailbox >= layout.mailboxes.length ? l : undefined;
  }).catch(() => liveWorkflows(client, organizationId));

  const storm = await runStorm(ctx, label, sim, organizationId, layout, storming);
  await quiet(ctx, organizationId, `${label} after the storm`).catch((error: unknown) => ctx.progress(String(error)));
  const afterStorm = rssNow(ctx);
  ctx.progress(`${label}: reading the history length of every run`);
  const histories = await scanHistories(client, `DrasonOrganizationId = "${organizationId}"`);
  return {
    label,
    organizationId,
    mailboxes: layout.mailboxes.length,
    domains: domains.size,
    campaigns: layout.campaignIds.length,
    links,
    syncMs,
    syncReadMs,
    syncCalls: syncCalls.length,
    entitiesLiveMs,
    primeMs,
    primeCpu,
    live,
    storm,
    histories,
    workerRssMiB: { afterSync, afterPrime, afterStorm },
  };
}

async function runStorm(ctx: Context, label: string, sim: SmartleadSimulator, organizationId: string, layout: Layout, storming: Set<string>): Promise<StormResult> {
  const { o } = ctx;
  const senders = layout.mailboxes.filter((m) => storming.has(m.domain));
  const targets = new Set(senders.flatMap((m) => m.campaigns));
  const events = [];
  // Sends first (the denominators), then the bounces, round by round across the mailboxes, each with its campaign.
  for (let r = 0; r < o.sends; r += 1) {
    for (const m of senders) events.push({ type: 'EMAIL_SENT', fromEmail: m.email, toEmail: `p${m.index}-${r}@prospect.example`, campaignId: m.campaigns[r % m.campaigns.length]! });
  }
  for (let r = 0; r < o.bounces; r += 1) {
    for (const m of senders) {
      const toEmail = `p${m.index}-${r}@prospect.example`;
      events.push({ type: 'EMAIL_BOUNCE', fromEmail: m.email, toEmail, campaignId: m.campaigns[r % m.campaigns.length]!, bounce: { message: USER_UNKNOWN.replace('{to}', toEmail) } });
    }
  }
  ctx.progress(`${label}: storm — ${senders.length} mailboxes of ${storming.size} domains, ${events.length} webhooks, ${targets.size} campaigns to pause`);
  const meter = stackMeter(ctx);
  const firstCall = sim.calls.length;
  meter.start();
  const t0 = Date.now();
  const delivered = await sim.emitMany(events);
  const emitMs = Date.now() - t0;
  const refused = delivered.filter((d) => !d.ok);
  if (refused.length > 0) throw new Error(`${refused.length} storm webhooks were not acknowledged, e.g. ${refused[0]!.status} ${refused[0]!.error ?? ''}`);
  const paused = (): number => [...targets].filter((id) => sim.state.campaigns.get(id)?.status === 'PAUSED').length;
  await waitFor(`${label}: every campaign of the storm's domains to be paused at the simulator`, o.timeoutMs, 100, async () =>
    paused() === targets.size ? true : undefined,
  ).catch((error: unknown) => ctx.progress(`${String(error)} (${paused()} of ${targets.size} paused)`));
  const cpu = meter.stop();
  // The mailboxes' suspends may still be queued behind the campaign calls: give them a little longer.
  const suspendedNow = (): number => senders.filter((m) => sim.state.emailAccounts.get(m.accountId)?.isSuspended === true).length;
  await waitFor(`${label}: every storm mailbox suspended`, 120_000, 100, async () => (suspendedNow() === senders.length ? true : undefined)).catch(() => undefined);

  const calls: SimCall[] = sim.calls.slice(firstCall);
  const ok = (c: SimCall): boolean => c.status !== null && c.status >= 200 && c.status < 300;
  const pauseAt = new Map<number, number>();
  let repeatedPauses = 0;
  for (const c of calls) {
    const m = /^\/campaigns\/(\d+)\/status$/.exec(c.path);
    if (c.method !== 'POST' || m === null || !ok(c) || (c.body as { status?: string } | undefined)?.status !== 'PAUSED') continue;
    const id = Number(m[1]);
    if (pauseAt.has(id)) repeatedPauses += 1;
    else pauseAt.set(id, c.at);
  }
  const suspendAt = new Map<number, number>();
  for (const c of calls) {
    const m = /^\/email-accounts\/suspend\/(\d+)$/.exec(c.path);
    if (c.method === 'PUT' && m !== null && ok(c) && !suspendAt.has(Number(m[1]))) suspendAt.set(Number(m[1]), c.at);
  }
  const targetPauses = [...pauseAt].filter(([id]) => targets.has(id)).map(([, at]) => at - t0);
  const suspends = senders.flatMap((m) => (suspendAt.has(m.accountId) ? [suspendAt.get(m.accountId)! - t0] : []));
  const lastPause = targetPauses.length === targets.size && targetPauses.length > 0 ? Math.max(...targetPauses) : undefined;
  const callsUntilLastPause = lastPause === undefined ? calls.length : calls.filter((c) => c.at - t0 <= lastPause).length;

  // Whose decision told Smartlead PAUSED (its effect `paused`; a later hold on a paused campaign is `held_already_paused`).
  const holders = await ctx.check.query<{ holder: string; n: string }>(
    `select a.entity_type as holder, count(*) as n
       from entity_actions a cross join lateral jsonb_array_elements(coalesce(a.detail -> 'campaigns', '[]'::jsonb)) e
      where a.organization_id = $1 and a.entity_type in ('campaign', 'domain') and e ->> 'result' = 'paused'
      group by 1`,
    [organizationId],
  );
  const audit = await ctx.check.query<{ entity_type: string; action: string; n: string; first_ms: string; last_ms: string }>(
    `select entity_type, action, count(*) as n, extract(epoch from min(at)) * 1000 as first_ms, extract(epoch from max(at)) * 1000 as last_ms
       from audit_log where organization_id = $1 and at >= $2 and action <> 'events_observed'
      group by 1, 2 order by 4`,
    [organizationId, new Date(t0)],
  );
  const retrying = await ctx.check.query<{ message: string }>(
    `select distinct regexp_replace(message, '\\d+', 'N', 'g') as message from audit_log
      where organization_id = $1 and at >= $2 and action like '%retrying' limit 5`,
    [organizationId, new Date(t0)],
  );
  return {
    stormMailboxes: senders.length,
    webhooks: events.length,
    targetCampaigns: targets.size,
    emitMs,
    ...(suspends.length === 0 ? {} : { firstMailboxSuspendedMs: Math.min(...suspends), lastMailboxSuspendedMs: Math.max(...suspends) }),
    mailboxesSuspended: suspends.length,
    ...(targetPauses.length === 0 ? {} : { firstCampaignPausedMs: Math.min(...targetPauses) }),
    ...(lastPause === undefined ? {} : { lastCampaignPausedMs: lastPause }),
    campaignsPaused: targetPauses.length,
    otherCampaignsPaused: [...pauseAt.keys()].filter((id) => !targets.has(id)).length,
    repeatedPauses,
    firstHolders: Object.fromEntries(holders.rows.map((r) => [r.holder, Number(r.n)])),
    smartleadCalls: calls.length,
    ...(calls.length === 0 ? {} : { firstCallMs: calls[0]!.at - t0 }),
    callsByKind: calls.reduce<Record<string, number>>((byKind, c) => {
      const kind = `${c.method} ${c.path.replace(/\d+/g, '{id}')}`;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      return byKind;
    }, {}),
    smartleadOverLimit: calls.filter((c) => c.overLimit).length,
    smartleadErrors: calls.filter((c) => !ok(c)).length,
    rateLimitFloorMs: Math.round((callsUntilLastPause / SMARTLEAD_PER_S) * 1000),
    auditByAction: audit.rows.map((r) => ({
      entityType: r.entity_type,
      action: r.action,
      count: Number(r.n),
      firstMs: Math.round(Number(r.first_ms) - t0),
      lastMs: Math.round(Number(r.last_ms) - t0),
    })),
    retryMessages: retrying.rows.map((r) => r.message),
    campaignPausedAtMs: [...targetPauses].sort((x, y) => x - y),
    mailboxSuspendedAtMs: [...suspends].sort((x, y) => x - y),
    callsPerSecond: calls.reduce<number[]>((perSecond, c) => {
      const second = Math.max(0, Math.floor((c.at - t0) / 1000));
      while (perSecond.length <= second) perSecond.push(0);
      perSecond[second]! += 1;
      return perSecond;
    }, []),
    cpu,
  };
}

export async function runEscalation(o: EscalationOptions): Promise<ScenarioReport> {
  const cleanup = new Cleanup();
  const progress = (line: string): void => void process.stdout.write(`  ${new Date().toISOString().slice(11, 19)} ${line}\n`);
  try {
    const infra = await startInfra(cleanup);
    const check = await checkClient(infra, cleanup);
    // A daily sync: the 15-minute default would put a second full read of 10,000 mailboxes (~400 Smartlead calls,
    // the organization's whole rate budget for 80 s) somewhere in the run, possibly in the storm.
    const api = await startApiComponent({ ...infra.settings, smartleadSyncIntervalMinutes: 1440 });
    cleanup.add('API', () => api.stop());
    const worker = await startWorkerProcess(infra, 1, cleanup);
    const workerPid = (): number | undefined => worker.child.pid;
    const rss = new RssSampler(() => ({ worker: workerPid() }), 500);
    cleanup.add('RSS sampler', async () => void rss.stop());
    const { client, connection } = await connectClient(infra.settings.temporal);
    cleanup.add('Temporal client', () => connection.close());
    const ctx: Context = { infra, check, client, apiUrl: api.url, cleanup, workerPid, progress, o };
    const dbSize = (): Promise<number> => scalar(check, 'select pg_database_size(current_database()) as n');
    const idleRss = rssNow(ctx);

    const layout = fullLayout(o);
    const storming = stormDomains(o);
    const baselineLayout = restrict(layout, (m) => storming.has(m.domain));
    const baseline = await runOrganization(ctx, 'baseline', baselineLayout, storming);
    const baselineRss = rssNow(ctx);
    const baselineDb = await dbSize();

    const scaled = await runOrganization(ctx, 'scale', layout, storming);
    const endRss = rssNow(ctx);
    const peakRss = Math.max(rss.stop().worker ?? 0, memoryOf(workerPid() ?? -1)?.peakRssMiB ?? 0);
    const endDb = await dbSize();
    const allRuns = await scanHistories(client, '');
    const tables = await check.query<{ name: string; bytes: string }>(
      `select c.relname as name, pg_total_relation_size(c.oid) as bytes from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and n.nspname = 'public' order by 2 desc limit 6`,
    );

    const mib = (x: number): string => `${fmt.int(x)} MiB`;
    const sec = (ms: number | undefined): string => (ms === undefined ? 'not reached' : fmt.s(ms / 1000));
    const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '—' : fmt.ratio(a / b));
    const expected = { mailbox: scaled.mailboxes, campaign: scaled.campaigns, domain: scaled.domains };
    const liveText = (p: PhaseResult): string =>
      `${fmt.int(p.live.mailbox + p.live.campaign + p.live.domain)} (${fmt.int(p.live.mailbox)} mailbox, ${fmt.int(p.live.campaign)} campaign, ${fmt.int(p.live.domain)} domain)`;
    const s = scaled.storm;
    const b = baseline.storm;
    const cacheSize = Math.max(Math.floor((Math.max(v8.getHeapStatistics().heap_size_limit / 2 ** 20 - 200, 0) * 600) / 1024), 10);
    const rows: Row[] = [
      {
        metric: 'Live workflows (running)',
        value: liveText(scaled),
        baseline: liveText(baseline),
        ratio: '—',
        target: `${fmt.int(expected.mailbox + expected.campaign + expected.domain)}: every mailbox, campaign and domain`,
        met: scaled.live.mailbox >= expected.mailbox && scaled.live.campaign >= expected.campaign && scaled.live.domain >= expected.domain,
      },
      { metric: 'Worker RSS, peak (own process)', value: mib(peakRss), baseline: mib(baselineRss), ratio: ratio(peakRss, baselineRss), target: `≤ ${mib(TARGET_RSS_MIB)} (1.5 GiB)`, met: peakRss <= TARGET_RSS_MIB },
      { metric: 'Worker RSS at the end', value: mib(endRss), baseline: mib(baselineRss), ratio: ratio(endRss, baselineRss), target: `≤ ${mib(TARGET_RSS_MIB)}`, met: endRss <= TARGET_RSS_MIB },
      { metric: 'Database size (pg_database_size)', value: mib(endDb / 2 ** 20), baseline: mib(baselineDb / 2 ** 20), ratio: ratio(endDb, baselineDb), target: '—' },
      {
        metric: 'Largest history of any run',
        value: `${fmt.int(allRuns.max.length)} events (${allRuns.max.type})`,
        baseline: `${fmt.int(baseline.histories.max.length)} (${baseline.histories.max.type})`,
        ratio: ratio(allRuns.max.length, baseline.histories.max.length),
        target: `≤ ${fmt.int(TARGET_MAX_HISTORY)}`,
        met: allRuns.max.length > 0 && allRuns.max.length <= TARGET_MAX_HISTORY,
      },
      {
        metric: `Storm → last campaign paused at Smartlead (${s.targetCampaigns} campaigns of ${o.stormDomains} domains)`,
        value: sec(s.lastCampaignPausedMs),
        baseline: sec(b.lastCampaignPausedMs),
        ratio: ratio(s.lastCampaignPausedMs, b.lastCampaignPausedMs),
        target: 'every one paused, exactly once, no other',
        met: s.lastCampaignPausedMs !== undefined && s.otherCampaignsPaused === 0 && s.repeatedPauses === 0,
      },
      { metric: 'Storm → first campaign paused', value: sec(s.firstCampaignPausedMs), baseline: sec(b.firstCampaignPausedMs), ratio: ratio(s.firstCampaignPausedMs, b.firstCampaignPausedMs), target: '—' },
      {
        metric: `Storm → storm mailboxes suspended, first / last (${s.mailboxesSuspended} of ${s.stormMailboxes})`,
        value: `${sec(s.firstMailboxSuspendedMs)} / ${sec(s.lastMailboxSuspendedMs)}`,
        baseline: `${sec(b.firstMailboxSuspendedMs)} / ${sec(b.lastMailboxSuspendedMs)}`,
        ratio: ratio(s.lastMailboxSuspendedMs, b.lastMailboxSuspendedMs),
        target: '—',
      },
      {
        metric: 'Smartlead calls from the first webhook to the last pause, ÷ its 5/s limit',
        value: `${fmt.int(s.smartleadCalls)} calls: ≥ ${sec(s.rateLimitFloorMs)}`,
        baseline: `${fmt.int(b.smartleadCalls)}: ≥ ${sec(b.rateLimitFloorMs)}`,
        ratio: '—',
        target: 'no call over the limit',
        met: s.smartleadOverLimit === 0,
      },
    ];
    const setup = (p: PhaseResult): string =>
      `${p.label}: ${fmt.int(p.mailboxes)} mailboxes, ${fmt.int(p.domains)} domains, ${fmt.int(p.campaigns)} campaigns, ${fmt.int(p.links)} links; ` +
      `sync ${fmt.s(p.syncMs / 1000)} (${fmt.int(p.syncCalls)} Smartlead reads in the first ${fmt.s(p.syncReadMs / 1000)}, then its database transaction), campaign and domain workflows running ${fmt.s(p.entitiesLiveMs / 1000)} after it, ` +
      `${fmt.int(p.mailboxes)} mailbox workflows started in ${fmt.s(p.primeMs / 1000)} (${fmt.int(p.mailboxes / Math.max(0.001, p.primeMs / 1000))}/s; CPU ${describeSplit(p.primeCpu)}); worker RSS ${mib(p.workerRssMiB.afterSync)} after the sync, ` +
      `${mib(p.workerRssMiB.afterPrime)} with every workflow started, ${mib(p.workerRssMiB.afterStorm)} after the storm.`;
    const stormNote = (p: PhaseResult): string => {
      const st = p.storm;
      const holders = Object.entries(st.firstHolders).map(([h, n]) => `${n} by ${h === 'campaign' ? 'their own engine' : h === 'domain' ? 'a domain engine' : h}`).join(', ');
      const audit = st.auditByAction
        .filter((a) => a.entityType !== 'mailbox' || /pause|warn/.test(a.action))
        .map((a) => `${a.entityType} ${a.action} ×${a.count} at ${fmt.s(a.firstMs / 1000)}–${fmt.s(a.lastMs / 1000)}`)
        .join('; ');
      return (
        `${p.label} storm: ${fmt.int(st.webhooks)} webhooks (${o.sends} sends then ${o.bounces} hard bounces per mailbox) from ${st.stormMailboxes} mailboxes, posted in ${fmt.s(st.emitMs / 1000)}; ` +
        `${st.campaignsPaused} of ${st.targetCampaigns} campaigns paused (first held ${holders || 'by nobody'}), ${st.otherCampaignsPaused} other campaigns, ${st.repeatedPauses} repeated PAUSED calls; ` +
        `${st.smartleadCalls} Smartlead calls from ${sec(st.firstCallMs)} on (${Object.entries(st.callsByKind).map(([k, n]) => `${n} ${k}`).join(', ')}; ${st.smartleadOverLimit} over its limit, ${st.smartleadErrors} not 2xx). Audit (from the first webhook): ${audit}.` +
        (st.retryMessages.length === 0 ? '' : ` Retried actions said: ${st.retryMessages.map((m) => `"${m}"`).join(' / ')}.`) +
        ` CPU: ${describeSplit(st.cpu)}.`
      );
    };
    const byType = (h: HistoryScan): string => Object.entries(h.maxByType).map(([t, n]) => `${t} ${fmt.int(n)}`).join(', ');
    return {
      scenario: 'escalation',
      title: `Escalation at scale: ${fmt.int(o.mailboxes)} mailboxes, ${fmt.int(o.domains)} domains, ${fmt.int(o.campaigns)} campaigns live; a storm on ${o.stormDomains} domains`,
      measuredAt: new Date().toISOString(),
      workload:
        `One organization in enforce mode (sustainMinutes 0.25, minSample 10, other thresholds default) on the Smartlead simulator, seeded with ${fmt.int(o.mailboxes)} email accounts ` +
        `over ${fmt.int(o.domains)} domains and ${fmt.int(o.campaigns)} campaigns (1–3 campaigns per mailbox, ${fmt.int(scaled.links)} links) and synced by Drason (PUT /v1/integrations/smartlead); ` +
        'the sync\'s membership_changed commands start every campaign and domain workflow through the relay, and one hard bounce per mailbox (POST /v1/events, not measured, below minSample) starts every mailbox workflow. ' +
        `Then the storm: Smartlead webhooks from every mailbox of ${o.stormDomains} domains (${o.sends} sends, then ${o.bounces} "user unknown" bounces each, with their campaigns), ` +
        'timed from the first webhook to the last campaign those domains send for reaching PAUSED at the simulator. The worker runs in a process of its own (bench/workerProcess.ts, under ts-node); API and simulator in the bench process; Smartlead\'s limit of 10 requests per 2 s applies.',
      baseline:
        `the same storm, same settings, on an organization holding only the storm's mailboxes, their domains and campaigns, measured first on the same stack; worker RSS and database size as they were after that phase (before the ${fmt.int(o.mailboxes)} mailboxes were seeded).`,
      rows,
      notes: [
        setup(baseline),
        setup(scaled),
        stormNote(baseline),
        stormNote(scaled),
        `Histories: ${fmt.int(allRuns.runs)} runs in the namespace (${fmt.int(allRuns.open)} running, ${fmt.int(allRuns.closed)} closed, continued-as-new or finished); largest ${fmt.int(allRuns.max.length)} events in ${allRuns.max.workflowId}; ` +
          `largest per type: ${byType(allRuns)}; ${allRuns.over1000} runs over 1,000 events. Running runs are read with describe(), closed ones from visibility.`,
        `Worker RSS: ${mib(idleRss)} idle after start, ${mib(baselineRss)} after the baseline phase, peak ${mib(peakRss)} (the kernel's high-water mark and 0.5 s samples), ${mib(endRss)} at the end. ` +
          `Its Temporal workflow cache is the SDK default for this heap limit: ${fmt.int(cacheSize)} workflows` +
          (o.mailboxes + o.campaigns + o.domains > cacheSize
            ? `, so the ${fmt.int(o.mailboxes + o.campaigns + o.domains)} live workflows do not all stay cached (an evicted one is replayed from its history at its next task) and RSS is bounded by the cache, not by the number of workflows. `
            : `, more than the ${fmt.int(o.mailboxes + o.campaigns + o.domains)} live workflows. `) +
          'The worker runs under ts-node (swc, transpile-only) like the other scenarios\' worker processes; compiled `node dist/...` in production loads no transpiler.',
        `Largest tables at the end: ${tables.rows.map((t) => `${t.name} ${mib(Number(t.bytes) / 2 ** 20)}`).join(', ')}.`,
      ],
      data: { options: o, settings: SETTINGS, idleRssMiB: idleRss, baselineRssMiB: baselineRss, peakRssMiB: peakRss, endRssMiB: endRss, baselineDbBytes: baselineDb, endDbBytes: endDb, allRuns, workflowCache: cacheSize, baseline, scaled },
    };
  } finally {
    await cleanup.run();
  }
}
