/**
 * The ops CLI (issue 12 Must show): `drason` run as a child process (ts-node src/cli/main.ts, as `npx drason` runs
 * the built file), configured only by environment variables and flags, against a real stack — the API and worker
 * (relay, Temporal worker) on the suite's PostgreSQL and Temporal, and a Smartlead simulator the organization syncs
 * its mailbox from. The CLI creates the organization and an operator key, pauses the mailbox by override and shows
 * its state; the audit entry names the reason. Also: `--help` lists every command, `--json` parses, exit codes 1
 * (the API refused) and 2 (usage), and the database commands (audit verify, counters rebuild) on the same database.
 *
 * Every wait is on a condition (the next CLI run is the pace); no sleeps, no time bounds.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { createSmartleadSimulator, type SmartleadSimulator } from '../../src/smartlead/simulator';
import { callJson, startEngineStack, type EngineStack, type Json } from '../support/api';
import { ROOT } from '../support/processes';

const MAILBOX = 'casey@cli-sends.com';
const CAMPAIGN = 4101;
const REASON = 'Client asked us to stop this sender (ticket CLI-12)';
const TEMPORAL_UI = 'http://127.0.0.1:8233';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: Json;
}

/** Variables the CLI reads, never inherited from the test's own environment. */
const CLI_VARIABLES = ['DRASON_API_URL', 'DRASON_API_KEY', 'DRASON_ADMIN_TOKEN', 'DATABASE_URL', 'DATABASE_OWNER_URL', 'DRASON_DATA_DIR', 'DRASON_ENCRYPTION_KEYS'];

/** Runs `drason …args` with exactly `env` as its configuration; resolves with its exit code and output. */
function drason(args: string[], env: Record<string, string>): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !CLI_VARIABLES.includes(name)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register', 'src/cli/main.ts', ...args],
      { cwd: ROOT, env: { ...base, LOG_LEVEL: 'warn', ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        let json: Json;
        try {
          json = args.includes('--json') && stdout !== '' ? JSON.parse(stdout) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}

const show = (run: Run): string => `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;

/** Runs `drason` again and again until `accept` returns a value (each run is the pace: no sleep, no deadline). */
async function drasonUntil<T>(args: string[], env: Record<string, string>, accept: (run: Run) => T | undefined): Promise<T> {
  for (;;) {
    const value = accept(await drason(args, env));
    if (value !== undefined) return value;
  }
}

describe('the ops CLI (`npx drason`) against a real stack with the Smartlead simulator', function () {
  this.timeout(0);
  let stack: EngineStack;
  let sim: SmartleadSimulator;
  const platformToken = `platform-${crypto.randomUUID()}`;
  let api: Record<string, string> = {};
  let organizationId = '';
  let adminKey = '';
  let operator = { id: '', key: '' };

  before(async () => {
    stack = await startEngineStack(platformToken, 'cli-e2e', { temporalUiUrl: TEMPORAL_UI });
    sim = createSmartleadSimulator({ rateLimit: { maxRequests: 10, perMs: 2000 } });
    sim.state.addCampaign({ id: CAMPAIGN, name: 'CLI campaign', status: 'ACTIVE' });
    sim.state.addEmailAccount({ id: 6101, fromEmail: MAILBOX, campaignIds: [CAMPAIGN] });
    await sim.start(0);
    api = { DRASON_API_URL: stack.apiUrl };
  });

  after(async () => {
    await stack?.stop();
    await sim?.stop();
  });

  it('--help lists every command, and each command has its own --help', async () => {
    const help = await drason(['--help'], {});
    assert.equal(help.code, 0, show(help));
    const commands = [
      'organizations create <name>',
      'keys create --role <role>',
      'keys list',
      'keys revoke <id>',
      ...['mailboxes', 'domains', 'campaigns'].flatMap((g) => [`${g} show`, `${g} pause`, `${g} resume`]),
      'counters rebuild',
      'audit verify --organization <id>',
      'secrets rotate',
    ];
    for (const command of commands) assert.ok(help.stdout.includes(`drason ${command}`), `--help lists \`drason ${command}\`:\n${help.stdout}`);
    for (const variable of ['DRASON_API_URL', 'DRASON_API_KEY', 'DRASON_ADMIN_TOKEN', 'DATABASE_URL']) assert.ok(help.stdout.includes(variable), `--help names ${variable}`);

    const pauseHelp = await drason(['mailboxes', 'pause', '--help'], {});
    assert.equal(pauseHelp.code, 0, show(pauseHelp));
    for (const flag of ['--reason <text>', '--key <key>', '--api-url <url>', '--json']) assert.ok(pauseHelp.stdout.includes(flag), `mailboxes pause --help shows ${flag}:\n${pauseHelp.stdout}`);
  });

  it('a usage or configuration error exits 2 and says what was wrong; nothing reaches the API', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['bogus'], api, /unknown command 'bogus'/],
      [['keys', 'create', '--role', 'boss'], { ...api, DRASON_API_KEY: 'whatever' }, /Allowed choices are admin, operator, viewer, ingest/],
      [['mailboxes', 'pause', MAILBOX], { ...api, DRASON_API_KEY: 'whatever' }, /required option '--reason <text>'/],
      [['mailboxes', 'show', MAILBOX, 'extra'], { ...api, DRASON_API_KEY: 'whatever' }, /too many arguments/],
      [['keys', 'list'], api, /set DRASON_API_KEY or pass --key/],
      [['organizations', 'create', 'Nobody'], api, /set DRASON_ADMIN_TOKEN or pass --admin-token/],
      [['keys', 'list', '--api-url', 'ftp://example.com'], { DRASON_API_KEY: 'whatever' }, /DRASON_API_URL \(or --api-url\): must be an http/],
      [['audit', 'verify', '--organization', 'not-a-uuid'], {}, /--organization must be an organization id/],
    ];
    for (const [args, env, message] of cases) {
      const run = await drason(args, env);
      assert.equal(run.code, 2, `drason ${args.join(' ')}: ${show(run)}`);
      assert.match(run.stderr, message, `drason ${args.join(' ')}`);
      assert.equal(run.stdout, '', 'nothing on stdout');
    }
  });

  it('creates an organization and an operator key, pauses a mailbox by override and shows it paused with the reason; the audit entry names it', async () => {
    // The platform token in the environment: the organization, with its admin key shown once.
    const created = await drason(['organizations', 'create', 'CLI Agency', '--json'], { ...api, DRASON_ADMIN_TOKEN: platformToken });
    assert.equal(created.code, 0, show(created));
    assert.equal(created.json.organization.name, 'CLI Agency');
    assert.equal(created.json.apiKey.role, 'admin');
    organizationId = created.json.organization.id;
    adminKey = created.json.apiKey.key;
    assert.match(organizationId, /^[0-9a-f-]{36}$/);

    // Wired to the simulator as a customer would; the sync brings the mailbox in (shown by the CLI once it is there).
    const saved = await callJson(stack.apiUrl, 'PUT', '/v1/integrations/smartlead', adminKey, { apiKey: sim.apiKey, baseUrl: sim.url });
    assert.equal(saved.status, 200, JSON.stringify(saved.json));

    // The admin key (variable) creates an operator key; the list shows it, never a key itself.
    const key = await drason(['keys', 'create', '--role', 'operator', '--name', 'CLI operator', '--json'], { ...api, DRASON_API_KEY: adminKey });
    assert.equal(key.code, 0, show(key));
    assert.deepEqual([key.json.role, key.json.name], ['operator', 'CLI operator']);
    operator = { id: key.json.id, key: key.json.key };
    const listed = await drason(['keys', 'list', '--json'], { ...api, DRASON_API_KEY: adminKey });
    assert.equal(listed.code, 0, show(listed));
    assert.deepEqual(listed.json.items.map((k: Json) => k.role).sort(), ['admin', 'operator']);
    assert.ok(!listed.stdout.includes(operator.key) && !listed.stdout.includes(adminKey), 'the list never shows a key');
    const table = await drason(['keys', 'list'], { ...api, DRASON_API_KEY: adminKey });
    assert.match(table.stdout, /^2 API key\(s\)\.\nid +name +role/);
    assert.ok(table.stdout.includes(operator.id) && table.stdout.includes('CLI operator'), table.stdout);

    const before = await drasonUntil(['mailboxes', 'show', MAILBOX, '--json'], { ...api, DRASON_API_KEY: operator.key }, (run) => (run.code === 0 ? run.json : undefined));
    assert.equal(before.state, 'healthy');

    // The operator key as a flag pauses the mailbox through the override endpoint.
    const paused = await drason(['mailboxes', 'pause', MAILBOX, '--reason', REASON, '--key', operator.key], api);
    assert.equal(paused.code, 0, show(paused));
    assert.match(paused.stdout, new RegExp(`^Pause of mailbox ${MAILBOX} accepted \\(command [0-9a-f-]{36}\\)`));

    // The relay delivers it and the workflow pauses the mailbox: shown by the CLI, in JSON and in words.
    const shown = await drasonUntil(['mailboxes', 'show', MAILBOX, '--json', '--key', operator.key], api, (run) => (run.code === 0 && run.json.state === 'paused' ? run.json : undefined));
    assert.equal(shown.email, MAILBOX);
    assert.ok(String(shown.pauseReason).includes(REASON), `the pause reason carries the operator's reason: ${shown.pauseReason}`);
    assert.equal(typeof shown.riskScore, 'number');
    assert.equal(shown.cooldownUntil, null, 'a manual pause has no cooldown: it holds until a manual resume');
    assert.equal(shown.workflowId, `mailbox/${organizationId}/${MAILBOX}`);
    const temporalUrl = `${TEMPORAL_UI}/namespaces/default/workflows/${encodeURIComponent(shown.workflowId)}`;
    assert.equal(shown.temporalUrl, temporalUrl);
    const words = await drason(['mailboxes', 'show', MAILBOX], { ...api, DRASON_API_KEY: operator.key });
    assert.equal(words.code, 0, show(words));
    assert.match(words.stdout, new RegExp(`^Mailbox ${MAILBOX} is paused \\(risk score \\d+\\)\\.\n`));
    for (const part of [REASON, 'Cooldown until:  none', `Temporal:        ${temporalUrl}`]) assert.ok(words.stdout.includes(part), `the sentence shows ${part}:\n${words.stdout}`);
    assert.match(words.stdout, /window +sent +hard bounces +failures +reputation blocks\n +1h +0 +0 \(0%\)/);

    // The audit entry the workflow wrote names the mailbox, the operator key and the reason.
    const audit = await callJson(stack.apiUrl, 'GET', `/v1/audit?entityType=mailbox&entityId=${encodeURIComponent(MAILBOX)}&action=mailbox_paused_manually`, adminKey);
    assert.equal(audit.status, 200, JSON.stringify(audit.json));
    assert.equal(audit.json.items.length, 1, JSON.stringify(audit.json.items));
    const entry = audit.json.items[0];
    assert.equal(entry.actor, `api-key:${operator.id}`);
    assert.ok(entry.message.includes(REASON) && entry.message.includes(MAILBOX), `the audit entry names the mailbox and the reason: ${entry.message}`);
  });

  it('exits 1 when the API refuses: a viewer may not pause, an unknown mailbox is not found (with --json, the error as JSON)', async () => {
    const viewer = await drason(['keys', 'create', '--role', 'viewer', '--json'], { ...api, DRASON_API_KEY: adminKey });
    assert.equal(viewer.code, 0, show(viewer));
    assert.equal(viewer.json.name, 'viewer key (drason CLI)');
    const refused = await drason(['mailboxes', 'resume', MAILBOX, '--reason', 'not mine to do', '--json'], { ...api, DRASON_API_KEY: viewer.json.key });
    assert.equal(refused.code, 1, show(refused));
    assert.equal(JSON.parse(refused.stderr).error.status, 403);
    const missing = await drason(['mailboxes', 'show', 'nobody@cli-sends.com'], { ...api, DRASON_API_KEY: viewer.json.key });
    assert.equal(missing.code, 1, show(missing));
    assert.match(missing.stderr, /^drason: GET \/v1\/mailboxes\/nobody%40cli-sends\.com answered 404: There is no mailbox nobody@cli-sends\.com/);
  });

  it('verifies the audit chain and rebuilds counters on DATABASE_URL', async () => {
    const database = { DATABASE_URL: stack.database.appUrl };
    const verified = await drason(['audit', 'verify', '--organization', organizationId, '--json'], database);
    assert.equal(verified.code, 0, show(verified));
    assert.deepEqual([verified.json.ok, verified.json.organizationId, verified.json.organization], [true, organizationId, 'CLI Agency']);
    const unknown = await drason(['audit', 'verify', '--organization', crypto.randomUUID()], database);
    assert.equal(unknown.code, 2, show(unknown));

    const rebuilt = await drason(['counters', 'rebuild', '--organization', organizationId, '--json'], database);
    assert.equal(rebuilt.code, 0, show(rebuilt));
    assert.deepEqual([rebuilt.json.organizations, rebuilt.json.drifted], [1, 0]);
    const sentence = await drason(['counters', 'rebuild', '--organization', organizationId], database);
    assert.match(sentence.stdout, /^Rebuilt \d+ counter bucket\(s\) for 1 organization\(s\) from the stored events; 0 bucket\(s\) differed/);
  });
});
