/**
 * `npm run demo`: Drason end to end against the local Smartlead simulator, with nothing configured.
 *
 * It starts everything `npm start` starts (data under DRASON_DATA_DIR, default .data/demo so the demo never touches
 * your own data), a seeded Smartlead simulator, creates a "Demo Agency" organization, saves the simulator as its
 * Smartlead integration (which syncs campaigns and mailboxes), points the simulator's webhooks at Drason, and plays
 * traffic in which one mailbox starts hard-bouncing. It narrates what Drason records and where to look in the
 * Temporal Web UI and the API. Ctrl-C stops it; `--once` stops by itself when the traffic ends (used by tests).
 *
 * The story grows with the product: pausing and recovery join it with the monitoring engine.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { config, projectRoot } from '../config';
import { loadOrCreateSecrets } from '../embedded/secrets';
import { createSmartleadSimulator } from '../smartlead/simulator';
import { seedDemoState } from '../smartlead/simulator/seed';
import { mailboxWorkflowId } from '../workflows/ids';
import { startEverything } from './start';

const DEMO_CAMPAIGN = 1001;
const HEALTHY = ['alex@getdrason-mail.com', 'jordan@getdrason-mail.com', 'taylor@trydrason.io'];
const BOUNCING = 'sam@getdrason-mail.com';

const { values: args } = parseArgs({
  options: {
    once: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '8' },
  },
});

// The demo keeps its own data unless told otherwise. Set before the configuration is first read (config() is lazy).
process.env.DRASON_DATA_DIR ??= path.join(projectRoot(), '.data', 'demo');

const say = (line: string): void => {
  process.stdout.write(`[demo ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the demo reads arbitrary JSON from its own API
type Json = any;

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

    say(`Smartlead simulator on ${sim.url} with 3 campaigns and 8 mailboxes on 3 domains.`);
    const org = await call('POST', '/v1/organizations', { name: `Demo Agency ${new Date().toISOString().slice(0, 16)}` }, adminToken);
    const key: string = org.apiKey.key;
    const organizationId: string = org.organization.id;
    say(`Created organization ${organizationId} (mode: ${org.organization.mode}). Its admin API key: ${key}`);

    const saved = await call('PUT', '/v1/integrations/smartlead', { apiKey: sim.apiKey, baseUrl: sim.url }, key);
    say('Saved the simulator as the Smartlead integration (the key is stored encrypted); a sync started.');
    for (let i = 0; i < 60; i += 1) {
      const synced = await call('GET', '/v1/audit?entityType=campaign&limit=100', undefined, key);
      if (synced.items.filter((a: { action: string }) => a.action === 'smartlead_campaign_added').length >= 3) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const audit = (await call('GET', '/v1/audit?limit=100', undefined, key)).items as { action: string; message: string }[];
    for (const a of audit.filter((x) => x.action === 'smartlead_campaign_added')) say(`  audit: ${a.message}`);
    say(`  audit: … and ${audit.filter((x) => x.action === 'smartlead_mailbox_added').length} mailboxes found and now monitored.`);

    sim.webhooks.setTarget(saved.webhookUrl, { secretKey: null });
    const seconds = Number(args.seconds);
    const rate = Number(args.rate);
    say(`Playing ${seconds} s of campaign ${DEMO_CAMPAIGN} traffic at ${rate} sends/s. ${BOUNCING} starts hard-bouncing (~30%); the others stay healthy (~1%).`);
    const traffic = sim.webhooks.startTraffic({
      campaignId: DEMO_CAMPAIGN,
      ratePerSecond: rate,
      durationMs: seconds * 1000,
      seed: 7,
      perMailbox: {
        ...Object.fromEntries(HEALTHY.map((m) => [m, { bounceRate: 0.01, failureRate: 0.01, replyRate: 0.03 }])),
        [BOUNCING]: { bounceRate: 0.3, failureRate: 0.05 },
      },
    });

    const ui = cfg.TEMPORAL_UI_URL ?? `http://127.0.0.1:${cfg.EMBEDDED_TEMPORAL_UI_PORT}`;
    const workflowUrl = `${ui}/namespaces/${cfg.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(mailboxWorkflowId(organizationId, BOUNCING))}`;
    say(`Watch ${BOUNCING}'s entity workflow receive bounce signals: ${workflowUrl}`);
    say(`Read the audit log: curl -s "${api}/v1/audit?entityType=mailbox&entityId=${BOUNCING}" -H "authorization: Bearer ${key}"`);

    const report = setInterval(() => {
      void call('GET', `/v1/audit?entityType=mailbox&entityId=${encodeURIComponent(BOUNCING)}&limit=1`, undefined, key)
        .then((page: Json) => {
          const latest = page.items[0];
          if (latest !== undefined) say(`  ${BOUNCING}: ${latest.message.replace(/^Recorded .*?; /, '')}`);
        })
        .catch(() => undefined);
    }, 10_000);
    const stats = await traffic.done;
    clearInterval(report);
    // Give the workflows a moment to audit the last signals.
    await new Promise((r) => setTimeout(r, 2000));
    say(`Traffic done: ${stats.sends} sends, ${stats.hardBounces} hard bounces, ${stats.failures} delivery failures, ${stats.replies} replies delivered to Drason as Smartlead webhooks.`);
    const final = await call('GET', `/v1/audit?entityType=mailbox&entityId=${encodeURIComponent(BOUNCING)}&limit=1`, undefined, key);
    if (final.items[0] !== undefined) say(`Last audit entry for ${BOUNCING}: ${final.items[0].message}`);
    const overview = await call('GET', '/v1/overview', undefined, key);
    say(`Overview: mode ${overview.mode}; Smartlead ${overview.integrations.smartlead.status}; ${overview.attention.length} item(s) need attention.`);
    say('Drason is in observe mode and the monitoring engine is not built yet, so it records and explains, and takes no action.');

    if (args.once) {
      await stop();
      return;
    }
    say('Everything keeps running so you can explore; press Ctrl-C to stop.');
  } catch (error) {
    await stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
