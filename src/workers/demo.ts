/**
 * `npm run demo`: the mailbox engine's whole story, end to end against the local Smartlead simulator, with nothing
 * configured.
 *
 * It starts everything `npm start` starts (data under DRASON_DATA_DIR, default .data/demo so the demo never touches
 * your own data) and a seeded Smartlead simulator, creates a "Demo Agency" organization, saves the simulator as its
 * Smartlead integration (which syncs campaigns and mailboxes), switches it to enforce mode with short settings
 * (seconds instead of hours), points the simulator's webhooks at Drason and plays traffic in which one mailbox
 * hard-bounces. Then it narrates, step by step, what a user would see: warning → paused (the simulator's email
 * account suspended) → cooldown → recovering (unsuspended) → healthy again after probation, each step with its audit
 * sentence (GET /v1/audit), the mailbox as the API shows it (GET /v1/mailboxes/:email) and a link to its workflow in
 * the Temporal Web UI; the healthy mailboxes are never touched. Every step has a bound: a step that does not happen
 * in time fails the demo with a message naming it.
 *
 * `--once` stops by itself when the story is complete (used by test/e2e/demo.e2e.test.ts); without it everything
 * keeps running (clean traffic included) for exploring, until Ctrl-C.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { config, projectRoot } from '../config';
import { loadOrCreateSecrets } from '../embedded/secrets';
import { createSmartleadSimulator, type SimCall, type SmartleadSimulator, type TrafficHandle } from '../smartlead/simulator';
import { seedDemoState } from '../smartlead/simulator/seed';
import { mailboxWorkflowId } from '../workflows/ids';
import { startEverything } from './start';

const DEMO_CAMPAIGN = 1001;
const HEALTHY = ['alex@getdrason-mail.com', 'jordan@getdrason-mail.com', 'taylor@trydrason.io'];
const STORM = 'sam@getdrason-mail.com';
/** Clean sending: replies, no bounces (so the healthy mailboxes have nothing to be judged on, and sam's probation is clean). */
const CLEAN = { bounceRate: 0, failureRate: 0, replyRate: 0.03 };
/** Enforce, and seconds instead of hours: the story takes about a minute. */
const DEMO_SETTINGS = {
  mode: 'enforce',
  thresholds: { minSample: 20, sustainMinutes: 0.25, cooldownMinutes: 0.25, maxCooldownMinutes: 0.5, probationMinutes: 0.25 },
} as const;
/** The longest any one step may take before the demo gives up on it (each step takes 15 s or less when all is well). */
const STEP_TIMEOUT_MS = 60_000;

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    /** Sends per second of the bouncing mailbox (the three healthy ones share the same rate). */
    rate: { type: 'string', default: '4' },
  },
});

// The demo keeps its own data unless told otherwise. Set before the configuration is first read (config() is lazy).
process.env.DRASON_DATA_DIR ??= path.join(projectRoot(), '.data', 'demo');

const say = (line: string): void => {
  process.stdout.write(`[demo ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the demo reads arbitrary JSON from its own API
type Json = any;
interface AuditEntry {
  id: string;
  at: string;
  action: string;
  message: string;
}

/** Polls `check` every 250 ms until it returns a value; after `timeoutMs`, fails naming the step and what was last seen. */
async function waitFor<T>(step: string, check: () => Promise<T | undefined>, lastSeen: () => string, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`the step "${step}" did not happen within ${timeoutMs / 1000} s (last seen: ${lastSeen()})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const clock = (iso: string | null): string => (iso === null ? 'none' : `${iso.slice(11, 19)} UTC`);

/** Smartlead calls that reached the simulator and were carried out, for one email account. */
function accountCalls(sim: SmartleadSimulator, accountId: number): { suspends: SimCall[]; unsuspends: SimCall[] } {
  const ok = (c: SimCall): boolean => c.status !== null && c.status < 300;
  return {
    suspends: sim.calls.filter((c) => c.method === 'PUT' && c.path === `/email-accounts/suspend/${accountId}` && ok(c)),
    unsuspends: sim.calls.filter((c) => c.method === 'DELETE' && c.path === `/email-accounts/unsuspend/${accountId}` && ok(c)),
  };
}

async function main(): Promise<void> {
  const cfg = config();

  const drason = await startEverything();
  const sim = createSmartleadSimulator({ rateLimit: { maxRequests: 10, perMs: 2000 } });
  seedDemoState(sim.state);
  await sim.start(0);

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    await sim.webhooks.stopAllTraffic().catch(() => undefined);
    await sim.stop().catch(() => undefined);
    await drason.stop();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));

  try {
    const api = cfg.PUBLIC_URL ?? `http://${cfg.HOST}:${cfg.PORT}`;
    const adminToken = cfg.DRASON_ADMIN_TOKEN ?? loadOrCreateSecrets(cfg.dataDir).adminToken;
    const call = async (method: string, url: string, body: unknown, token: string): Promise<Json> => {
      const res = await fetch(`${api}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${url} answered ${res.status}: ${text}`);
      return text === '' ? undefined : JSON.parse(text);
    };

    // ---- The organization, its Smartlead integration, enforce mode with short settings ----
    say(`Smartlead simulator on ${sim.url} with 3 campaigns and 8 mailboxes on 3 domains.`);
    const org = await call('POST', '/v1/organizations', { name: `Demo Agency ${new Date().toISOString().slice(0, 16)}` }, adminToken);
    const key: string = org.apiKey.key;
    const organizationId: string = org.organization.id;
    say(`Created organization ${organizationId} (mode: ${org.organization.mode}). Its admin API key: ${key}`);

    const saved = await call('PUT', '/v1/integrations/smartlead', { apiKey: sim.apiKey, baseUrl: sim.url }, key);
    say('Saved the simulator as the Smartlead integration (the key is stored encrypted); a sync started.');
    const audit = await waitFor(
      'the first sync finds 3 campaigns and 8 mailboxes',
      async () => {
        const items = (await call('GET', '/v1/audit?limit=100', undefined, key)).items as AuditEntry[];
        const added = (action: string): number => items.filter((a) => a.action === action).length;
        return added('smartlead_campaign_added') >= 3 && added('smartlead_mailbox_added') >= 8 ? items : undefined;
      },
      () => 'fewer campaigns or mailboxes in the audit log',
    );
    for (const a of audit.filter((x) => x.action === 'smartlead_campaign_added')) say(`  audit: ${a.message}`);
    say(`  audit: … and ${audit.filter((x) => x.action === 'smartlead_mailbox_added').length} mailboxes found and now monitored.`);

    const settings = await call('PUT', '/v1/settings', DEMO_SETTINGS, key);
    say(`PUT /v1/settings: enforce mode, and seconds instead of hours so the story takes about a minute (settings version ${settings.settingsVersion}).`);
    const changes = ((await call('GET', '/v1/audit?entityType=settings&limit=10', undefined, key)).items as AuditEntry[]).reverse();
    for (const a of changes) say(`  audit: ${a.message}`);
    say('  Enforce: Drason suspends and unsuspends the mailbox in Smartlead by itself. In observe mode (the default) the same story');
    say('  plays with "Would have paused …" and no Smartlead call; in suggest mode each pause or resume waits as a recommendation');
    say('  for an operator (POST /v1/recommendations/:id/apply).');

    // ---- Traffic: three clean mailboxes, and a storm of hard bounces on one ----
    sim.webhooks.setTarget(saved.webhookUrl, { secretKey: null });
    const rate = Number(args.rate);
    if (!(rate > 0)) throw new Error(`--rate must be a positive number of sends per second, not ${args.rate}`);
    const started = Date.now();
    const elapsed = (): string => `+${Math.round((Date.now() - started) / 1000)} s`;
    const traffic: TrafficHandle[] = [sim.webhooks.startTraffic({ campaignId: DEMO_CAMPAIGN, ratePerSecond: rate, seed: 7, perMailbox: Object.fromEntries(HEALTHY.map((m) => [m, CLEAN])) })];
    const storm = sim.webhooks.startTraffic({ campaignId: DEMO_CAMPAIGN, ratePerSecond: rate, seed: 11, perMailbox: { [STORM]: { bounceRate: 0.3 } } });
    traffic.push(storm);
    say(`Campaign ${DEMO_CAMPAIGN} sends through Smartlead webhooks: ${HEALTHY.join(', ')} send cleanly (${rate}/s together, replies, no bounces);`);
    say(`${STORM} sends ${rate}/s and ~30% of them hard-bounce ("550 5.1.1 user unknown": a bad list).`);

    const stormAccount = sim.state.findEmailAccountByEmail(STORM);
    if (stormAccount === undefined) throw new Error(`the simulator has no email account ${STORM}`);
    const workflowId = mailboxWorkflowId(organizationId, STORM);
    const ui = cfg.TEMPORAL_UI_URL ?? `http://127.0.0.1:${cfg.EMBEDDED_TEMPORAL_UI_PORT}`;
    const workflowUrl = `${ui}/namespaces/${cfg.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(workflowId)}`;
    const mailboxPath = `/v1/mailboxes/${encodeURIComponent(STORM)}`;
    const mailboxShown = `/v1/mailboxes/${STORM}`;

    // ---- The story, one step at a time, each found in the audit log ----
    const seen = new Map<string, AuditEntry>();
    let lastState = 'not seen yet';
    const lastSeen = (): string => `${STORM} ${lastState}; simulator account ${stormAccount.id} is_suspended ${stormAccount.isSuspended}`;
    const after = (entry: AuditEntry | undefined): ((a: AuditEntry) => boolean) => (a) => entry === undefined || Number(a.id) > Number(entry.id);
    /** The first audit entry of `action` for the storm mailbox (newer than `since`), once there is one. */
    const entryOf = async (action: string, since?: AuditEntry): Promise<AuditEntry | undefined> => {
      const page = (await call('GET', `/v1/audit?entityType=mailbox&entityId=${encodeURIComponent(STORM)}&limit=100`, undefined, key)).items as AuditEntry[];
      for (const a of page) seen.set(a.id, a);
      const row = await call('GET', mailboxPath, undefined, key).catch(() => undefined);
      if (row !== undefined) lastState = `in state ${row.state}`;
      return [...seen.values()].filter((a) => a.action === action && after(since)(a)).sort((a, b) => Number(a.id) - Number(b.id))[0];
    };
    const showMailbox = async (): Promise<void> => {
      const row = await call('GET', mailboxPath, undefined, key);
      say(`  GET ${mailboxShown}: state ${row.state}, riskScore ${row.riskScore}, cooldownUntil ${clock(row.cooldownUntil)}`);
      say(`  Temporal Web UI: ${row.temporalUrl ?? workflowUrl}`);
    };
    say(`Watch ${STORM}'s workflow (its state is the search attribute DrasonState): ${workflowUrl}`);

    const warning = await waitFor('warning', () => entryOf('mailbox_warning'), lastSeen);
    say(`Step 1 of 4, warning (${elapsed()}): ${warning.message}`);
    await showMailbox();

    const paused = await waitFor('paused, with the email account suspended at the simulator', async () => {
      const entry = await entryOf('mailbox_paused', warning);
      return entry !== undefined && stormAccount.isSuspended ? entry : undefined;
    }, lastSeen);
    const stormSends = storm.stats.sends;
    say(`Step 2 of 4, paused (${elapsed()}): ${paused.message}`);
    say(`  At the simulator: email account ${stormAccount.id} (${STORM}) is suspended (is_suspended: ${stormAccount.isSuspended}). A suspended account`);
    say(`  sends nothing, so the storm stopped after ${stormSends} sends.`);
    await storm.stop();
    await showMailbox();
    say(`  Cooldown: ${DEMO_SETTINGS.thresholds.cooldownMinutes * 60} s (doubling for each pause within 7 days, up to ${DEMO_SETTINGS.thresholds.maxCooldownMinutes * 60} s here); then Drason resumes it under watch.`);

    const resumed = await waitFor('recovering, with the email account unsuspended at the simulator', async () => {
      const entry = await entryOf('mailbox_resumed', paused);
      return entry !== undefined && !stormAccount.isSuspended ? entry : undefined;
    }, lastSeen);
    const clean = sim.webhooks.startTraffic({ campaignId: DEMO_CAMPAIGN, ratePerSecond: rate / 2, seed: 13, perMailbox: { [STORM]: CLEAN } });
    traffic.push(clean);
    say(`Step 3 of 4, recovering (${elapsed()}): ${resumed.message}`);
    say(`  At the simulator: email account ${stormAccount.id} is unsuspended (is_suspended: ${stormAccount.isSuspended}); ${STORM} sends again, cleanly now (the list was fixed).`);
    await showMailbox();

    const healthy = await waitFor('healthy again (passed probation)', () => entryOf('mailbox_healthy', resumed), lastSeen);
    say(`Step 4 of 4, healthy (${elapsed()}): ${healthy.message}`);
    const since = clean.stats.perMailbox[STORM] ?? { sends: 0, hardBounces: 0, failures: 0 };
    say(`  No bounces since the resume: ${STORM} sent ${since.sends} emails after it and ${since.hardBounces + since.failures} bounced. Probation judges the`);
    say(`  5-minute counter buckets that start after the resume; a ${DEMO_SETTINGS.thresholds.probationMinutes * 60} s probation may see none, and one that ends with nothing against it is passed.`);
    await showMailbox();

    // ---- The healthy mailboxes: never judged, never suspended ----
    const others: string[] = [];
    let otherSuspends = 0;
    let otherUnsuspends = 0;
    for (const email of HEALTHY) {
      const row = await call('GET', `/v1/mailboxes/${encodeURIComponent(email)}`, undefined, key);
      const account = sim.state.findEmailAccountByEmail(email);
      const calls = account === undefined ? { suspends: [], unsuspends: [] } : accountCalls(sim, account.id);
      otherSuspends += calls.suspends.length;
      otherUnsuspends += calls.unsuspends.length;
      others.push(`${email} ${row.state} (riskScore ${row.riskScore}, ${row.windows['1h'].sent} sends in the last hour)`);
    }
    say(`The other mailboxes were untouched: ${others.join('; ')}.`);

    const stormCalls = accountCalls(sim, stormAccount.id);
    say(
      `Summary: ${STORM} went warning → paused → recovering → healthy in ${Math.round((Date.now() - started) / 1000)} s; ` +
        `the simulator received ${stormCalls.suspends.length} suspend and ${stormCalls.unsuspends.length} unsuspend for it; ` +
        `the ${HEALTHY.length} healthy mailboxes received ${otherSuspends} suspend and ${otherUnsuspends} unsuspend.`,
    );

    const temporalAddress = cfg.TEMPORAL_ADDRESS ?? `127.0.0.1:${cfg.EMBEDDED_TEMPORAL_PORT}`;
    say('Take over by hand at any time, in every mode (a manual pause holds until a manual resume; a manual resume starts a fresh probation):');
    say(
      `  curl -X POST ${api}${mailboxShown}/override -H "authorization: Bearer ${key}" -H 'content-type: application/json' -d '{"action":"pause","reason":"list looks bad"}'`,
    );
    say(
      `  .tools/venv/bin/temporal workflow signal --address ${temporalAddress} --workflow-id '${workflowId}' --name override \\\n` +
        `      --input '{"commandId":"'$(uuidgen)'","action":"resume","reason":"list cleaned","actor":"temporal-cli:you","requestedAt":'$(date +%s000)'}'`,
    );
    say(`Read the whole audit log: curl -s "${api}/v1/audit?entityType=mailbox&entityId=${STORM}" -H "authorization: Bearer ${key}"`);

    if (args.once) {
      await stop();
      return;
    }
    say('Everything keeps running (clean traffic included) so you can explore; press Ctrl-C to stop.');
  } catch (error) {
    await stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
