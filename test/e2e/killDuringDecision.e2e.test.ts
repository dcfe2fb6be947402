/**
 * Exactly-once acting under the worst crash: the worker process (relay, Temporal worker, activities) is killed with
 * SIGKILL right after the engine decided to pause a mailbox — while it reads the account before suspending it, or
 * while the suspend itself is in flight — ten times, a different mailbox each time. Each time a new worker process
 * takes over, and Smartlead (the simulator) receives exactly one suspend for that mailbox and the audit log holds
 * exactly one pause entry for it.
 *
 * The API runs in this process; the worker is `src/workers/worker.ts` in a child process, as in production.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { generateEncryptionKeySpec } from '../../src/security/encryption';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { DEFAULT_RATE_LIMITS } from '../../src/config';
import { startApiComponent, type RuntimeSettings, type Stoppable } from '../../src/workers/components';
import { callJson, organizationOnSimulator, type Json } from '../support/api';
import { createTestDatabase, testTemporal, type TestDatabase } from '../support/stack';
import { runEntryPoint, until, type Running } from '../support/processes';


const ROUNDS = 10;
const CAMPAIGN = 2001;
const mailbox = (i: number): string => `sender${i}@kill-decision.test`;
const accountId = (i: number): number => 7000 + i;

describe('SIGKILL of the worker between a pause decision and its Smartlead call, 10 times (end to end)', function () {
  this.timeout(900_000);
  let database: TestDatabase;
  let api: Stoppable & { url: string };
  let sim: SmartleadSimulator;
  let settings: RuntimeSettings;
  let worker: Running | undefined;
  const platformToken = `platform-${crypto.randomUUID()}`;

  const startWorker = async (): Promise<Running> => {
    const running = runEntryPoint('src/workers/worker.ts', {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: settings.databaseUrl,
      DATABASE_OWNER_URL: '',
      TEMPORAL_ADDRESS: settings.temporal.address,
      TEMPORAL_NAMESPACE: settings.temporal.namespace,
      TEMPORAL_TASK_QUEUE: settings.temporal.taskQueue,
      DRASON_ENCRYPTION_KEYS: settings.encryptionKeys,
    });
    await running.waitFor(/worker polling task queue/, 120_000);
    return running;
  };
  const killWorker = async (): Promise<void> => {
    const w = worker;
    worker = undefined;
    if (w === undefined || w.child.exitCode !== null) return;
    w.child.kill('SIGKILL');
    await w.exited;
  };

  before(async () => {
    database = await createTestDatabase();
    const temporal = await testTemporal();
    settings = {
      databaseUrl: database.appUrl,
      poolMax: 5,
      temporal: { address: temporal.address, namespace: 'default', taskQueue: `kill-decision-${crypto.randomUUID()}` },
      adminToken: platformToken,
      host: '127.0.0.1',
      port: 0,
      encryptionKeys: generateEncryptionKeySpec('k1'),
      rateLimits: DEFAULT_RATE_LIMITS,
    };
    api = await startApiComponent(settings, { db: database.db });
    sim = createSmartleadSimulator({ rateLimit: false });
    sim.state.addCampaign({ id: CAMPAIGN, name: 'Kill test', status: 'ACTIVE' });
    for (let i = 0; i < ROUNDS; i += 1) sim.state.addEmailAccount({ id: accountId(i), fromEmail: mailbox(i), campaignIds: [CAMPAIGN] });
    await sim.start(0);
    worker = await startWorker();
  });

  after(async () => {
    await killWorker();
    await api?.stop();
    await sim?.stop();
    await database?.drop();
  });

  const call = (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Json }> => callJson(api.url, method, path, token, body);

  it('suspends each mailbox exactly once and audits its pause exactly once, whichever moment the worker dies', async () => {
    const { key } = await organizationOnSimulator(api.url, platformToken, sim, {
      name: 'Kill during decision',
      mailboxes: ROUNDS,
      settings: { mode: 'enforce', thresholds: { sustainMinutes: 0, minSample: 20 } },
    });

    for (let i = 0; i < ROUNDS; i += 1) {
      const email = mailbox(i);
      const account = accountId(i);
      // Even rounds die while the activity reads the account, before any suspend is sent (the read is slowed and
      // never answered). Odd rounds die after Smartlead has carried out the suspend but before its answer arrives
      // (Smartlead commits, the answer is held, then lost): the worst case for a retry.
      const duringSuspend = i % 2 === 1;
      const target = duringSuspend ? new RegExp(`^/email-accounts/suspend/${account}$`) : new RegExp(`^/email-accounts/${account}$`);
      if (duringSuspend) sim.faults.dropAfterCommit(1, { path: target, delayMs: 5000 });
      else sim.faults.latency(5000, 1, { path: target });
      const seen = sim.calls.length;

      const events = [];
      for (let n = 0; n < 30; n += 1) events.push({ type: 'EMAIL_SENT', fromEmail: email, toEmail: `lead${n}@prospect.example`, campaignId: CAMPAIGN });
      for (let n = 0; n < 10; n += 1) events.push({ type: 'EMAIL_BOUNCE', fromEmail: email, toEmail: `lead${n}@prospect.example`, campaignId: CAMPAIGN, bounce: 'hard' as const });
      const delivered = await sim.emitMany(events);
      assert.ok(delivered.every((d) => d.status === 202), `round ${i}: every webhook acknowledged`);

      // The moment: the slowed request has reached Smartlead.
      await until(async () => (sim.calls.slice(seen).some((c) => target.test(c.path)) ? true : undefined), 120_000, `round ${i}: the engine to call Smartlead`);
      await killWorker();
      worker = await startWorker();

      await until(async () => (sim.state.findEmailAccountByEmail(email)?.isSuspended === true ? true : undefined), 180_000, `round ${i}: ${email} suspended`);
      const audit = await until(
        async () => {
          const items = (await call('GET', `/v1/audit?entityType=mailbox&entityId=${encodeURIComponent(email)}&limit=100`, key)).json.items as { action: string }[];
          return items.some((a) => a.action === 'mailbox_paused') ? items : undefined;
        },
        180_000,
        `round ${i}: the pause audited`,
      );
      // Every suspend request that reached Smartlead for this account, answered or not.
      const suspends = sim.calls.filter((c) => c.method === 'PUT' && c.path === `/email-accounts/suspend/${account}` && c.key === 'valid');
      assert.equal(suspends.length, 1, `round ${i} (${duringSuspend ? 'during the suspend' : 'before it'}): exactly one suspend sent`);
      assert.equal(audit.filter((a) => a.action === 'mailbox_paused').length, 1, `round ${i}: exactly one pause entry`);
    }
    // Nobody else was touched.
    assert.deepEqual(
      sim.calls.filter((c) => c.path.startsWith('/email-accounts/unsuspend')),
      [],
      'no resume was sent (cooldowns are hours long)',
    );
  });
});
