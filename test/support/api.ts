/**
 * The real API, in this process, on a free port, against a fresh test database and the shared Temporal dev server
 * (src/workers/components.ts `startApiComponent`). Every response body is kept so tests can check what the API
 * ever said.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { DEFAULT_RATE_LIMITS, type RateLimitSettings } from '../../src/config';
import { createIntegrations, type Integrations } from '../../src/db/repositories/integrations';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { resetSmartleadRegistries } from '../../src/smartlead';
import type { SmartleadSimulator } from '../../src/smartlead/simulator';
import { installTemporalRuntime, startApiComponent, startWorkerComponent, type RuntimeSettings } from '../../src/workers/components';
import { until } from './processes';
import { createTestDatabase, testTemporal, type TestDatabase } from './stack';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- responses are read as arbitrary JSON
export type Json = any;

export interface Reply {
  status: number;
  json: Json;
  text: string;
  headers: Headers;
}

export interface CallOptions {
  /** API key or platform token; sent as `Authorization: Bearer`. */
  token?: string;
  body?: unknown;
  /** Sent verbatim instead of JSON.stringify(body). */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestOrganization {
  id: string;
  /** The bootstrap admin key. */
  adminKey: string;
  adminKeyId: string;
}

export interface TestApi {
  url: string;
  database: TestDatabase;
  platformToken: string;
  encryptionKeys: string;
  integrations: Integrations;
  /** Every response body received so far, in order. */
  responses: string[];
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  createOrganization(name: string): Promise<TestOrganization>;
  createKey(adminKey: string, role: string, name?: string): Promise<{ id: string; key: string }>;
  stop(): Promise<void>;
}

export async function startTestApi(options: { rateLimits?: Partial<RateLimitSettings>; encryptionKeys?: string } = {}): Promise<TestApi> {
  const database = await createTestDatabase();
  const temporal = await testTemporal();
  const platformToken = `test-platform-${crypto.randomBytes(12).toString('hex')}`;
  const encryptionKeys = options.encryptionKeys ?? generateEncryptionKeySpec('k1');
  const api = await startApiComponent(
    {
      databaseUrl: database.appUrl,
      poolMax: 5,
      temporal: { address: temporal.address, namespace: 'default', taskQueue: `test-${crypto.randomUUID()}` },
      adminToken: platformToken,
      host: '127.0.0.1',
      port: 0,
      encryptionKeys,
      rateLimits: { ...DEFAULT_RATE_LIMITS, ...options.rateLimits },
    },
    { db: database.db },
  );
  const responses: string[] = [];

  const call = async (method: string, path: string, o: CallOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...(o.token === undefined ? {} : { authorization: `Bearer ${o.token}` }), ...o.headers };
    let body: string | undefined = o.rawBody;
    if (body === undefined && o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${api.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    responses.push(text);
    let json: Json;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  };

  return {
    url: api.url,
    database,
    platformToken,
    encryptionKeys,
    integrations: createIntegrations(new Keyring(encryptionKeys)),
    responses,
    call,
    async createOrganization(name) {
      const created = await call('POST', '/v1/organizations', { token: platformToken, body: { name } });
      if (created.status !== 201) throw new Error(`could not create organization: ${created.status} ${created.text}`);
      return { id: created.json.organization.id, adminKey: created.json.apiKey.key, adminKeyId: created.json.apiKey.id };
    },
    async createKey(adminKey, role, name = `${role} key`) {
      const created = await call('POST', '/v1/api-keys', { token: adminKey, body: { name, role } });
      if (created.status !== 201) throw new Error(`could not create key: ${created.status} ${created.text}`);
      return { id: created.json.id, key: created.json.key };
    },
    async stop() {
      await api.stop();
      await database.drop();
    },
  };
}

/** A JSON call against an API at `baseUrl` with a bearer token: the status and the parsed body (undefined when empty). */
export async function callJson(baseUrl: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

/** `callJson`, asserting the status (200 unless `expected` says otherwise; the body is in the message); returns the body. */
export async function expectJson(baseUrl: string, token: string, method: string, path: string, body?: unknown, expected = 200): Promise<Json> {
  const reply = await callJson(baseUrl, method, path, token, body);
  assert.equal(reply.status, expected, `${method} ${path}: ${JSON.stringify(reply.json)}`);
  return reply.json;
}

/**
 * An organization wired to a Smartlead simulator, as a customer would wire it: created with the platform token, the
 * simulator saved as its Smartlead integration and synced until `mailboxes` mailboxes are linked, `settings` saved,
 * and the simulator's webhooks pointed at Drason. Returns its admin key and id.
 */
export async function organizationOnSimulator(
  apiUrl: string,
  platformToken: string,
  sim: SmartleadSimulator,
  o: { name: string; mailboxes: number; settings: unknown },
): Promise<{ key: string; organizationId: string }> {
  const created = await callJson(apiUrl, 'POST', '/v1/organizations', platformToken, { name: o.name });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const key: string = created.json.apiKey.key;
  const saved = await callJson(apiUrl, 'PUT', '/v1/integrations/smartlead', key, { apiKey: sim.apiKey, baseUrl: sim.url });
  assert.equal(saved.status, 200, JSON.stringify(saved.json));
  await until(
    async () => {
      const audit = (await callJson(apiUrl, 'GET', '/v1/audit?entityType=mailbox&limit=100', key)).json.items as { action: string }[];
      return audit.filter((a) => a.action === 'smartlead_mailbox_added').length >= o.mailboxes ? true : undefined;
    },
    120_000,
    'the sync to link every mailbox',
  );
  const put = await callJson(apiUrl, 'PUT', '/v1/settings', key, o.settings);
  assert.equal(put.status, 200, JSON.stringify(put.json));
  sim.webhooks.setTarget(saved.json.webhookUrl, { secretKey: null });
  return { key, organizationId: created.json.organization.id };
}

export interface EngineStack {
  database: TestDatabase;
  /** The shared Temporal dev server's address (the worker polls `taskQueue` there). */
  temporalAddress: string;
  taskQueue: string;
  apiUrl: string;
  /** Stops the API and the worker, then drops the database. */
  stop(): Promise<void>;
}

/**
 * What the engine suites run against: a fresh test database, the worker (relay and Temporal worker) and the API in
 * this process on a task queue of their own, with Smartlead's own rate limit as the client's budget (the simulator's
 * default limit). `temporalUiUrl`: the Temporal Web UI address the API links entities' workflows to (none by default).
 */
export async function startEngineStack(platformToken: string, taskQueuePrefix: string, options: { temporalUiUrl?: string } = {}): Promise<EngineStack> {
  installTemporalRuntime('ERROR');
  resetSmartleadRegistries();
  const database = await createTestDatabase();
  const temporal = await testTemporal();
  const taskQueue = `${taskQueuePrefix}-${crypto.randomUUID()}`;
  const settings: RuntimeSettings = {
    databaseUrl: database.appUrl,
    poolMax: 5,
    temporal: { address: temporal.address, namespace: 'default', taskQueue },
    adminToken: platformToken,
    host: '127.0.0.1',
    port: 0,
    encryptionKeys: generateEncryptionKeySpec('k1'),
    rateLimits: DEFAULT_RATE_LIMITS,
    smartleadRateLimit: { maxRequests: 10, perMs: 2000 },
    ...(options.temporalUiUrl === undefined ? {} : { temporalUiUrl: options.temporalUiUrl }),
  };
  const worker = await startWorkerComponent(settings, { db: database.db });
  const api = await startApiComponent(settings, { db: database.db });
  return {
    database,
    temporalAddress: temporal.address,
    taskQueue,
    apiUrl: api.url,
    async stop() {
      await api.stop();
      await worker.stop();
      await database.drop();
    },
  };
}
