/**
 * End to end: the real `npm start` entry point with nothing configured (embedded Postgres, Temporal dev server
 * with Web UI, migrations, worker, API on free ports), driven over HTTP exactly as the README shows.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedStackEnv, processesMatching, runEntryPoint, until, type Running } from '../support/processes';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- responses are read as arbitrary JSON
type Json = any;

describe('npm start (end to end)', function () {
  this.timeout(240_000);
  // Made in before(), not when the file loads: a run that skips this suite (--grep) leaves no folder behind.
  let dataDir = '';
  let env: NodeJS.ProcessEnv;
  let app: Running | undefined;
  let api = '';
  let adminToken = '';
  let key = '';

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-e2e-'));
    env = await embeddedStackEnv(dataDir, 'warn');
  });

  after(async () => {
    if (app !== undefined && app.child.exitCode === null) {
      app.child.kill('SIGINT');
      await app.exited;
    }
    if (dataDir !== '') fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<void> {
    app = runEntryPoint('src/workers/start.ts', env);
    await app.waitFor(/Drason is running\./, 180_000);
    api = (await app.waitFor(/API:\s+(http\S+)/, 1000))[1]!;
    adminToken = (await app.waitFor(/Platform admin token: (\S+)/, 1000))[1]!;
  }

  const call = async (method: string, url: string, body?: unknown, token = key): Promise<{ status: number; json: Json; headers: Headers }> => {
    const res = await fetch(`${api}${url}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token === '' ? {} : { authorization: `Bearer ${token}` }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  };

  it('starts everything with nothing configured and reports ready', async () => {
    await start();
    assert.equal((await call('GET', '/readyz')).status, 200);
    assert.equal((await call('GET', '/healthz')).status, 200);
    const ui = await fetch(`http://127.0.0.1:${env.EMBEDDED_TEMPORAL_UI_PORT}/`);
    assert.equal(ui.status, 200, 'Temporal Web UI answers');
    assert.match(adminToken, /^drason_admin_/);
    assert.ok(fs.existsSync(path.join(dataDir, 'postgres', 'PG_VERSION')), 'Postgres data lives in the data folder');
    assert.ok(fs.existsSync(path.join(dataDir, 'temporal.sqlite')), 'Temporal state lives in the data folder');
    // SQLite's header says how the file is journaled: bytes 18 and 19 are 2 in WAL mode, 1 with a rollback journal.
    const header = fs.readFileSync(path.join(dataDir, 'temporal.sqlite'));
    assert.deepEqual([header[18], header[19]], [2, 2], 'the Temporal file is journaled write-ahead');
  });

  it('creates an organization with the platform token and rejects anything else', async () => {
    assert.equal((await call('POST', '/v1/organizations', { name: 'Acme' }, '')).status, 401);
    assert.equal((await call('POST', '/v1/organizations', { name: 'Acme' }, 'not-the-token')).status, 401);
    const created = await call('POST', '/v1/organizations', { name: 'Acme' }, adminToken);
    assert.equal(created.status, 201);
    assert.equal(created.json.organization.mode, 'observe');
    key = created.json.apiKey.key;
  });

  it('stores events, counts them, signals the bounce to the mailbox workflow, and shows its audit row', async () => {
    const now = new Date().toISOString();
    const posted = await call('POST', '/v1/events', {
      events: [
        { id: 'evt-1', type: 'EmailSent', occurredAt: now, mailbox: 'Sam@Acme-Mail.com', campaignId: 42 },
        { id: 'evt-2', type: 'HardBounce', occurredAt: now, mailbox: 'sam@acme-mail.com', campaignId: '42' },
      ],
    });
    assert.equal(posted.status, 202);
    assert.deepEqual(posted.json, { accepted: 2, duplicates: 0 });
    assert.ok(posted.headers.get('x-request-id'));

    const row = await until(
      async () => {
        const audit = await call('GET', '/v1/audit?entityType=mailbox&entityId=SAM@acme-mail.com');
        return audit.json.items.find((i: { action: string }) => i.action === 'events_observed');
      },
      30_000,
      'the mailbox workflow to audit the events',
    );
    assert.equal(row.entityId, 'sam@acme-mail.com');
    // The bounce was signalled; the send only counted, and shows in the window the workflow read from the counters.
    assert.match(row.message, /Recorded 1 hard bounce for mailbox sam@acme-mail\.com — 1 bad address .*; last hour: 1 send, 1 hard bounce/);
    assert.deepEqual(row.trigger.observed, { sent: 1, hardBounces: 1, failures: 0, reputationBlocks: 0 });

    const repeat = await call('POST', '/v1/events', {
      events: [{ id: 'evt-1', type: 'EmailSent', occurredAt: now, mailbox: 'sam@acme-mail.com' }],
    });
    assert.deepEqual(repeat.json, { accepted: 0, duplicates: 1 });
  });

  it('answers bad input with problem+json and never a 5xx', async () => {
    const invalid = await call('POST', '/v1/events', { events: [{ id: 'x', type: 'Opened' }] });
    assert.equal(invalid.status, 422);
    assert.ok(invalid.json.errors.some((e: { path: string }) => e.path === 'events.0.type'));
    const malformed = await fetch(`${api}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"events": [' });
    assert.equal(malformed.status, 400);
    assert.match(malformed.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal((await call('GET', '/v1/nope')).status, 404);
    assert.equal((await call('GET', '/v1/audit', undefined, 'drk_unknown')).status, 401);
  });

  it('serves an OpenAPI document generated from the request schemas', async () => {
    const doc = await call('GET', '/v1/openapi.json', undefined, '');
    assert.equal(doc.status, 200);
    assert.ok(doc.json.paths['/v1/events'].post);
    assert.ok(doc.json.components.schemas.NormalizedEvent);
  });

  it('stops every child process on Ctrl-C', async () => {
    assert.ok(processesMatching(dataDir).length > 0, 'children are running before the stop');
    app!.child.kill('SIGINT');
    assert.equal(await app!.exited, 0);
    await until(async () => (processesMatching(dataDir).length === 0 ? true : undefined), 15_000, 'children to exit');
    assert.deepEqual(processesMatching(`--port ${env.EMBEDDED_TEMPORAL_PORT}`), []);
  });

  it('keeps events and audit rows across a restart, and keeps processing', async () => {
    await start();
    const audit = await call('GET', '/v1/audit?entityType=mailbox');
    assert.equal(audit.status, 200, 'the same key works after restart');
    assert.ok(audit.json.items.some((i: { action: string }) => i.action === 'events_observed'));
    const again = await call('POST', '/v1/events', {
      events: [{ id: 'evt-1', type: 'EmailSent', occurredAt: new Date().toISOString(), mailbox: 'sam@acme-mail.com' }],
    });
    assert.deepEqual(again.json, { accepted: 0, duplicates: 1 }, 'the event store survived the restart');
    await call('POST', '/v1/events', {
      events: [{ id: 'evt-3', type: 'DeliveryFailure', occurredAt: new Date().toISOString(), mailbox: 'sam@acme-mail.com' }],
    });
    await until(
      async () => {
        const a = await call('GET', '/v1/audit?entityType=mailbox&entityId=sam@acme-mail.com');
        return a.json.items.find((i: { message: string }) => /1 delivery failure for mailbox/.test(i.message));
      },
      30_000,
      'the restarted worker to process a new event',
    );
  });
});
